"""Manual overrides: which one applies on a day (the pure part)."""

from __future__ import annotations

from datetime import date, datetime

from kizuna.health.overrides import OverrideFacts, active_override, shown_health


def override(created: datetime, expires: date | None, status: str = "risk") -> OverrideFacts:
    return OverrideFacts(
        score=45.0,
        status=status,
        reason="CEO left",
        author="sato",
        created_at=created,
        expires_on=expires,
    )


def test_override_applies_until_the_day_before_expiry() -> None:
    item = override(datetime(2024, 6, 1, 9), date(2024, 6, 30))
    assert not item.is_active(date(2024, 5, 31))
    assert item.is_active(date(2024, 6, 1))
    assert item.is_active(date(2024, 6, 29))
    assert not item.is_active(date(2024, 6, 30))


def test_override_without_expiry_stays() -> None:
    assert override(datetime(2024, 6, 1), None).is_active(date(2030, 1, 1))


def test_latest_live_override_wins_and_computed_score_stays_visible() -> None:
    older = override(datetime(2024, 6, 1), None, status="caution")
    newer = override(datetime(2024, 6, 10), date(2024, 6, 20), status="critical")
    assert active_override([older, newer], date(2024, 6, 15)) == newer
    assert active_override([older, newer], date(2024, 6, 20)) == older
    shown = shown_health(88.0, "healthy", [older, newer], date(2024, 6, 15))
    assert (shown.score, shown.status) == (45.0, "critical")
    assert (shown.computed_score, shown.computed_status) == (88.0, "healthy")
    plain = shown_health(88.0, "healthy", [], date(2024, 6, 15))
    assert (plain.score, plain.status, plain.override) == (88.0, "healthy", None)
