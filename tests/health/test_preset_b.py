"""Preset B (weighted): accounts on every band edge, missing data, stale data, coverage."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import ibis
import pytest
from health_builders import Inputs, T

from kizuna.engine.health import (
    AccountHealth,
    Guardrail,
    Scorecard,
    band_points,
    date_batches,
    score_accounts,
    score_history,
)
from kizuna.health.scorecards import load_preset

PRESET_B = load_preset("B")


def scores(inputs: Inputs, scorecard: Scorecard = PRESET_B) -> dict[str, AccountHealth]:
    results = score_accounts(inputs.build(), scorecard, T, ibis.duckdb.connect())
    return {result.customer_id: result for result in results}


def points(account: AccountHealth) -> dict[str, float | None]:
    return {component.name: component.points for component in account.components}


@pytest.mark.parametrize(
    ("component", "value", "expected"),
    [
        ("usage", 80.0, 100),
        ("usage", 79.9, 70),
        ("usage", 60.0, 70),
        ("usage", 59.9, 40),
        ("usage", 40.0, 40),
        ("usage", 39.9, 10),
        ("nps", 9, 100),
        ("nps", 8.5, 50),
        ("nps", 7, 50),
        ("nps", 6.5, 10),
        ("support", "none_or_minor", 100),
        ("support", "feature_requests", 60),
        ("support", "critical_bug", 20),
        ("renewal_timing", 6, 100),
        ("renewal_timing", 5, 70),
        ("renewal_timing", 3, 70),
        ("renewal_timing", 2, 40),
        ("renewal_timing", 1, 40),
        ("renewal_timing", 0, 20),
        ("expansion", 5.0, 100),
        ("expansion", 4.99, 50),
        ("expansion", -5.0, 50),
        ("expansion", -5.01, 10),
    ],
)
def test_band_points_on_every_edge(component: str, value: float | str, expected: float) -> None:
    assert band_points(PRESET_B.component(component), value) == expected


def account(
    inputs: Inputs,
    customer: str,
    *,
    active_users: int,
    renewal_days: int,
    seats_before: int,
    seats_now: int,
    nps: tuple[int, ...] = (),
    feature_requests: int = 0,
    critical: bool = False,
) -> None:
    # 1,000 contracted seats so that 799 active users are exactly 79.9 %.
    inputs.renewing_in(customer, renewal_days, seats=1000)
    # Seats in use are read from the 30 days up to T − 90 (and up to T).
    inputs.usage(customer, T - timedelta(days=100), seats_in_use=seats_before)
    inputs.usage(customer, T, active_users_30d=active_users, seats_in_use=seats_now)
    inputs.nps(customer, *nps)
    # A minor question: the tickets file exists, so support is measured (and "minor").
    inputs.ticket(customer, "question", "low")
    for _ in range(feature_requests):
        inputs.ticket(customer, "feature_request")
    if critical:
        inputs.ticket(customer, "bug", "critical", T - timedelta(days=29))


def test_points_and_totals_on_band_edges() -> None:
    inputs = Inputs()
    # T = 2024-06-30; renewal on 2024-12-27 is 6 calendar months away, 2024-11-xx 5, …
    account(
        inputs, "top", active_users=800, renewal_days=180, seats_before=100, seats_now=105, nps=(9,)
    )
    account(
        inputs,
        "edge1",
        active_users=799,
        renewal_days=150,
        seats_before=100,
        seats_now=104,
        nps=(9, 8),
        feature_requests=3,
    )
    account(
        inputs,
        "edge2",
        active_users=600,
        renewal_days=70,
        seats_before=100,
        seats_now=95,
        nps=(7,),
        feature_requests=2,
    )
    account(
        inputs,
        "edge3",
        active_users=599,
        renewal_days=60,
        seats_before=100,
        seats_now=94,
        nps=(7, 6),
        critical=True,
    )
    account(
        inputs,
        "edge4",
        active_users=400,
        renewal_days=1,
        seats_before=100,
        seats_now=100,
        nps=(10,),
    )
    account(
        inputs,
        "edge5",
        active_users=399,
        renewal_days=0,
        seats_before=100,
        seats_now=100,
        nps=(10,),
    )
    results = scores(inputs)

    assert points(results["top"]) == {
        "usage": 100,
        "nps": 100,
        "support": 100,
        "renewal_timing": 100,
        "expansion": 100,
    }
    assert (results["top"].score, results["top"].status) == (100.0, "healthy")
    # 0.4 × 70 + 0.2 × 50 + 0.15 × 60 + 0.15 × 70 + 0.1 × 50 = 62.5
    assert points(results["edge1"]) == {
        "usage": 70,
        "nps": 50,
        "support": 60,
        "renewal_timing": 70,
        "expansion": 50,
    }
    assert (results["edge1"].score, results["edge1"].status) == (62.5, "caution")
    # 0.4 × 70 + 0.2 × 50 + 0.15 × 100 + 0.15 × 70 (3 months: September) + 0.1 × 50 = 68.5
    assert points(results["edge2"]) == {
        "usage": 70,
        "nps": 50,
        "support": 100,
        "renewal_timing": 70,
        "expansion": 50,
    }
    assert results["edge2"].score == 68.5
    # 0.4 × 40 + 0.2 × 10 + 0.15 × 20 + 0.15 × 40 (2 months: August) + 0.1 × 10 = 28
    assert points(results["edge3"]) == {
        "usage": 40,
        "nps": 10,
        "support": 20,
        "renewal_timing": 40,
        "expansion": 10,
    }
    assert (results["edge3"].score, results["edge3"].status) == (28.0, "critical")
    # 40 % → 40; renewal tomorrow (July) = 1 month → 40:
    # 0.4 × 40 + 0.2 × 100 + 0.15 × 100 + 0.15 × 40 + 0.1 × 50 = 62
    assert points(results["edge4"])["usage"] == 40
    assert points(results["edge4"])["renewal_timing"] == 40
    assert results["edge4"].score == 62.0
    # 39.9 % → 10; renewal today = renewal month → 20:
    # 0.4 × 10 + 0.2 × 100 + 0.15 × 100 + 0.15 × 20 + 0.1 × 50 = 47
    assert points(results["edge5"])["usage"] == 10
    assert points(results["edge5"])["renewal_timing"] == 20
    assert (results["edge5"].score, results["edge5"].status) == (47.0, "risk")


def test_missing_component_is_left_out_and_weights_renormalised() -> None:
    inputs = Inputs()
    account(inputs, "no_nps", active_users=800, renewal_days=180, seats_before=100, seats_now=100)
    account(
        inputs,
        "with_nps",
        active_users=800,
        renewal_days=180,
        seats_before=100,
        seats_now=100,
        nps=(6,),
    )
    results = scores(inputs)
    no_nps = results["no_nps"]
    assert no_nps.missing == ["nps"]
    # (0.4 × 100 + 0.15 × 100 + 0.15 × 100 + 0.1 × 50) / 0.8 = 75 / 0.8 = 93.75 → 93.8
    assert no_nps.score == 93.8
    assert no_nps.coverage == 0.8
    assert results["with_nps"].missing == []
    assert results["with_nps"].coverage == 1.0


def test_configured_default_replaces_a_missing_component() -> None:
    nps = dataclasses.replace(PRESET_B.component("nps"), missing_points=50.0)
    scorecard = dataclasses.replace(
        PRESET_B, components=tuple(nps if c.name == "nps" else c for c in PRESET_B.components)
    )
    inputs = Inputs()
    account(inputs, "no_nps", active_users=800, renewal_days=180, seats_before=100, seats_now=100)
    result = scores(inputs, scorecard)["no_nps"]
    assert result.missing == ["nps"]
    assert points(result)["nps"] == 50
    # 0.4 × 100 + 0.2 × 50 + 0.15 × 100 + 0.15 × 100 + 0.1 × 50 = 85; coverage counts real data.
    assert result.score == 85.0
    assert result.coverage == 0.8


def test_usage_older_than_max_age_counts_as_missing() -> None:
    for feed_age, usage_missing in ((7, False), (8, True)):
        inputs = Inputs()
        inputs.renewing_in("a", 180, seats=10)
        last = T - timedelta(days=feed_age)
        inputs.usage("a", last, active_users_30d=8, seats_in_use=10)
        inputs.usage("a", last - timedelta(days=95), seats_in_use=10)
        result = scores(inputs)["a"]
        assert ("usage" in result.missing) is usage_missing
        assert ("expansion" in result.missing) is usage_missing


def test_below_minimum_coverage_there_is_no_score() -> None:
    inputs = Inputs()
    # Only contract data: renewal timing (0.15) and expansion from contracted seats (0.10).
    inputs.renewing_in("thin", 180)
    result = scores(inputs)["thin"]
    assert result.missing == ["usage", "nps", "support"]
    assert result.coverage == 0.25
    assert result.score is None
    assert result.status == "insufficient_data"


def test_new_account_is_in_onboarding_grace() -> None:
    inputs = Inputs()
    inputs.yearly("new", T - timedelta(days=29), seats=10)
    inputs.yearly("settled", T - timedelta(days=30), seats=10)
    for customer in ("new", "settled"):
        inputs.usage(customer, T, active_users_30d=10, seats_in_use=10)
        inputs.nps(customer, 10)
    results = scores(inputs)
    assert results["new"].status == "onboarding"
    assert results["new"].score is not None
    assert results["settled"].status == "healthy"


def test_guardrail_caps_status_on_critical_support() -> None:
    guarded = dataclasses.replace(
        PRESET_B,
        guardrails=(Guardrail("support", "risk", categories=("critical_bug",)),),
    )
    inputs = Inputs()
    account(
        inputs,
        "a",
        active_users=900,
        renewal_days=300,
        seats_before=100,
        seats_now=110,
        nps=(10,),
        critical=True,
    )
    # 0.4 × 100 + 0.2 × 100 + 0.15 × 20 + 0.15 × 100 + 0.1 × 100 = 88: healthy by score.
    assert scores(inputs)["a"].status == "healthy"
    capped = scores(inputs, guarded)["a"]
    assert (capped.score, capped.status) == (88.0, "risk")


def test_trend_and_component_deltas() -> None:
    inputs = Inputs()
    inputs.renewing_in("a", 300, seats=10)
    inputs.usage("a", T - timedelta(days=100), seats_in_use=10)
    inputs.usage("a", T - timedelta(days=30), active_users_30d=9, seats_in_use=10)
    inputs.usage("a", T - timedelta(days=7), active_users_30d=9, seats_in_use=10)
    inputs.usage("a", T, active_users_30d=5, seats_in_use=10)
    inputs.nps("a", 10)
    # The tickets feed starts before T − 30, so support is measured on all three dates.
    inputs.ticket("a", "question", day=T - timedelta(days=40))
    result = scores(inputs)["a"]
    # Today: 0.4 × 40 + 0.2 × 100 + 0.15 × 100 + 0.15 × 100 + 0.1 × 50 = 71
    assert result.score == 71.0
    by_days = {change.days: change for change in result.changes}
    # 7 days ago: 90 % usage → 100 points, score 95.
    assert by_days[7].score_delta == -24.0
    assert by_days[7].direction == "down"
    assert by_days[7].component_deltas == {"usage": -60.0}
    # 30 days ago neither the NPS response (T − 10) nor a seat count 90 days earlier existed:
    # (0.4 × 100 + 0.15 × 100 + 0.15 × 100) / 0.7 = 100.
    assert by_days[30].score_delta == -29.0
    assert by_days[30].component_deltas == {"usage": -60.0, "nps": 100.0, "expansion": 50.0}


def test_renewal_uses_end_date_when_set() -> None:
    inputs = Inputs()
    inputs.yearly("a", date(2023, 1, 1), end=T + timedelta(days=45))
    inputs.usage("a", T, active_users_30d=10, seats_in_use=10)
    values = {c.name: c.value for c in scores(inputs)["a"].components}
    # The term ends on end_date, 2024-08-14: 45 days, two calendar months after June.
    assert values["renewal_timing"] == 2.0


def test_before_a_feed_starts_its_components_are_missing() -> None:
    inputs = Inputs()
    account(inputs, "a", active_users=800, renewal_days=180, seats_before=100, seats_now=100)
    # The only ticket ever is opened the day after T: on T there is no support data at all.
    inputs.rows["tickets"].clear()
    inputs.ticket("a", "question", day=T + timedelta(days=1))
    assert scores(inputs)["a"].missing == ["nps", "support"]


def test_history_in_batches_equals_one_query() -> None:
    inputs = Inputs()
    account(inputs, "a", active_users=700, renewal_days=100, seats_before=100, seats_now=107)
    built = inputs.build()
    dates = [T - timedelta(days=offset) for offset in range(10)]
    con = ibis.duckdb.connect()

    def rows(batch: list[date]) -> list[tuple[object, ...]]:
        table = con.to_pyarrow(score_history(built, PRESET_B, batch))
        return sorted(
            zip(
                *(table.column(name).to_pylist() for name in ("as_of", "score", "status")),
                strict=True,
            )
        )

    assert [len(batch) for batch in date_batches(dates, 4)] == [4, 4, 2]
    batched = [row for batch in date_batches(dates, 4) for row in rows(batch)]
    assert sorted(batched) == rows(dates)
