"""Override actions: what they write, what they refuse, and that a refusal writes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from store_builders import account

from kizuna.health.actions import ActionError, clear_override, override_score
from kizuna.health.models import HealthOverride


def author() -> User:
    return User.objects.create_user("sato")


@pytest.mark.django_db
def test_override_takes_the_band_of_its_score() -> None:
    customer, person = account("Alpha"), author()
    expires = timezone.localdate() + timedelta(days=30)

    override = override_score(customer, 45, " CEO left ", person, expires)

    stored = HealthOverride.objects.get()
    assert stored == override
    assert (stored.score, stored.status, stored.reason) == (Decimal("45.0"), "risk", "CEO left")
    assert (stored.author, stored.expires_on) == (person, expires)
    assert stored.facts().is_active(timezone.localdate())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("score", "status"),
    [(80, "healthy"), (79.9, "caution"), (60, "caution"), (59.9, "risk"), (39.9, "critical")],
)
def test_override_status_follows_the_default_bands(score: float, status: str) -> None:
    override = override_score(account("Alpha"), score, "checked by hand", author())
    assert (override.score, override.status) == (Decimal(str(score)), status)


@pytest.mark.django_db
def test_override_with_an_explicit_status() -> None:
    override = override_score(account("Alpha"), None, "renewal lost", author(), status="critical")
    assert (override.score, override.status, override.expires_on) == (None, "critical", None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("score", "reason", "expires_in", "status", "message"),
    [
        (101, "reason", None, None, "The score must be between 0 and 100."),
        (-1, "reason", None, None, "The score must be between 0 and 100."),
        (50, "  ", None, None, "An override needs a reason."),
        (50, "reason", 0, None, "The expiry date must be after today."),
        (None, "reason", None, None, "Give a score or a status."),
        (50, "reason", None, "great", "Unknown health status great."),
    ],
)
def test_refused_override_writes_nothing(
    score: int | None, reason: str, expires_in: int | None, status: str | None, message: str
) -> None:
    expires = None if expires_in is None else timezone.localdate() + timedelta(days=expires_in)
    with pytest.raises(ActionError, match=f"^{message}$"):
        override_score(account("Alpha"), score, reason, author(), expires, status=status)
    assert not HealthOverride.objects.exists()


@pytest.mark.django_db
def test_clear_ends_live_overrides_today_and_keeps_them() -> None:
    customer, other, person = account("Alpha"), account("Beta"), author()
    today = timezone.localdate()
    override_score(customer, 30, "outage", person)
    override_score(customer, 50, "new champion", person, today + timedelta(days=10))
    ended = HealthOverride.objects.create(
        account=customer,
        score=20,
        status="critical",
        reason="old",
        author=person,
        expires_on=date(2020, 1, 1),
    )
    kept = override_score(other, 30, "outage", person)

    assert clear_override(customer) == 2

    assert set(
        HealthOverride.objects.filter(account=customer).values_list("expires_on", flat=True)
    ) == {
        today,
        date(2020, 1, 1),
    }
    assert not any(item.facts().is_active(today) for item in customer.health_overrides.all())
    ended.refresh_from_db()
    assert ended.expires_on == date(2020, 1, 1)
    kept.refresh_from_db()
    assert kept.expires_on is None
    assert clear_override(customer) == 0
    assert isinstance(kept.created_at, datetime)
