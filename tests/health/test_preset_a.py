"""Preset A (100 points): accounts exactly on every band edge, end to end from inputs."""

from __future__ import annotations

from datetime import timedelta

import ibis
import pytest
from health_builders import Inputs, T

from kizuna.engine.health import AccountHealth, band_points, score_accounts
from kizuna.health.scorecards import load_preset

PRESET_A = load_preset("A")


def scores(inputs: Inputs) -> dict[str, AccountHealth]:
    results = score_accounts(inputs.build(), PRESET_A, T, ibis.duckdb.connect())
    return {result.customer_id: result for result in results}


def points(account: AccountHealth) -> dict[str, float | None]:
    return {component.name: component.points for component in account.components}


@pytest.mark.parametrize(
    ("component", "value", "expected"),
    [
        ("login_frequency", 3.0, 25),
        ("login_frequency", 2.99, 15),
        ("login_frequency", 1.0, 15),
        ("login_frequency", 0.99, 5),
        ("login_frequency", 0.0, 5),
        ("core_features", 3, 20),
        ("core_features", 2, 10),
        ("core_features", 1, 10),
        ("core_features", 0, 0),
        ("nps", 9, 15),
        ("nps", 8.99, 10),
        ("nps", 7, 10),
        ("nps", 6.99, 0),
        ("cs_meetings", 3, 10),
        ("cs_meetings", 2, 5),
        ("cs_meetings", 1, 5),
        ("cs_meetings", 0, 0),
        ("days_to_renewal", 180, 15),
        ("days_to_renewal", 179, 10),
        ("days_to_renewal", 90, 10),
        ("days_to_renewal", 89, 5),
        ("upsell_signals", "pricing_page_view", 15),
        ("upsell_signals", "upgrade_inquiry", 10),
        ("upsell_signals", "none", 0),
        ("upsell_signals", "unknown", None),
        ("nps", None, None),
    ],
)
def test_band_points_on_every_edge(
    component: str, value: float | str | None, expected: float | None
) -> None:
    assert band_points(PRESET_A.component(component), value) == expected


def build_edges() -> Inputs:
    inputs = Inputs()
    # On the upper edge of every top band: 12 login days in 28 = 3.0 a week, 3 core features,
    # NPS 9, 3 meetings in 90 days, renewal in exactly 180 days, a pricing page view.
    inputs.renewing_in("top", 180)
    inputs.login_days("top", 12)
    inputs.usage("top", T - timedelta(days=20), logins=0, pricing_page_views=2)
    inputs.features_used("top", 3)
    inputs.nps("top", 9)
    inputs.meetings("top", 3)
    # Just below: 11 days = 2.75 a week, 2 features, NPS (9 + 8) / 2 = 8.5, 2 meetings,
    # 179 days, an upgrade inquiry.
    inputs.renewing_in("below_top", 179)
    inputs.login_days("below_top", 11)
    inputs.features_used("below_top", 2)
    inputs.nps("below_top", 9, 8)
    inputs.meetings("below_top", 2)
    inputs.ticket("below_top", "upgrade_inquiry")
    # On the lower edge of the middle bands: 4 days = 1.0 a week, 1 feature, NPS 7, 1 meeting,
    # 90 days, no signal.
    inputs.renewing_in("middle", 90)
    inputs.login_days("middle", 4)
    inputs.features_used("middle", 1)
    inputs.nps("middle", 7)
    inputs.meetings("middle", 1)
    # Below every middle band: 3 days = 0.75 a week, no feature, NPS (7 + 6) / 2 = 6.5,
    # no meeting, 89 days.
    inputs.renewing_in("bottom", 89)
    inputs.login_days("bottom", 3)
    inputs.nps("bottom", 7, 6)
    return inputs


def test_points_and_totals_on_band_edges() -> None:
    results = scores(build_edges())

    assert points(results["top"]) == {
        "login_frequency": 25,
        "core_features": 20,
        "nps": 15,
        "cs_meetings": 10,
        "days_to_renewal": 15,
        "upsell_signals": 15,
    }
    assert (results["top"].score, results["top"].status) == (100.0, "healthy")

    assert points(results["below_top"]) == {
        "login_frequency": 15,
        "core_features": 10,
        "nps": 10,
        "cs_meetings": 5,
        "days_to_renewal": 10,
        "upsell_signals": 10,
    }
    assert (results["below_top"].score, results["below_top"].status) == (60.0, "caution")

    assert points(results["middle"]) == {
        "login_frequency": 15,
        "core_features": 10,
        "nps": 10,
        "cs_meetings": 5,
        "days_to_renewal": 10,
        "upsell_signals": 0,
    }
    assert (results["middle"].score, results["middle"].status) == (50.0, "risk")

    assert points(results["bottom"]) == {
        "login_frequency": 5,
        "core_features": 0,
        "nps": 0,
        "cs_meetings": 0,
        "days_to_renewal": 5,
        "upsell_signals": 0,
    }
    assert (results["bottom"].score, results["bottom"].status) == (10.0, "critical")


def test_measure_values_on_band_edges() -> None:
    results = scores(build_edges())
    values = {
        customer: {c.name: c.value for c in result.components}
        for customer, result in results.items()
    }
    assert values["top"] == {
        "login_frequency": 3.0,
        "core_features": 3.0,
        "nps": 9.0,
        "cs_meetings": 3.0,
        "days_to_renewal": 180.0,
        "upsell_signals": "pricing_page_view",
    }
    assert values["below_top"]["login_frequency"] == 2.75
    assert values["below_top"]["nps"] == 8.5
    assert values["bottom"]["login_frequency"] == 0.75
    assert values["bottom"]["nps"] == 6.5
    assert values["bottom"]["days_to_renewal"] == 89.0
