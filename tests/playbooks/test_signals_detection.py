"""Detection as a whole: registry, stable dedupe keys across days, customer universe."""

from __future__ import annotations

from datetime import date

import pytest
from signal_data import AS_OF, daily, detect, inputs, subscription

from kizuna.engine.signals import (
    SIGNAL_DETECTORS,
    SIGNAL_SCHEMA,
    SignalInputs,
    SignalSettings,
    applicable_detectors,
    detect_signals,
    signal_table,
)


def test_every_default_signal_is_registered_with_its_spec_item() -> None:
    assert {name: d.spec for name, d in SIGNAL_DETECTORS.items()} == {
        "usage_drop": "S1",
        "login_decline": "S1",
        "core_features_unused": "S2",
        "critical_bugs": "S3",
        "slow_resolution": "S3",
        "ticket_spike": "S3",
        "nps_drop": "S4",
        "key_contact_left": "S5",
        "renewal_due": "S6",
        "communication_gap": "S7",
        "competitor_interest": "S8",
        "high_value_inactive": "S9",
        "seats_nearly_full": "S10",
        "api_surge": "S11",
        "enterprise_trial_requested": "S12",
        "renewal_upsell": "S13",
        "nps_promoter": "S14",
        "new_feature_interest": "S15",
        "usage_spreading": "S15",
        "success_goal_achieved": "S15",
        "cross_sell_whitespace": "S16",
    }


def test_detectors_without_their_inputs_are_skipped() -> None:
    data = inputs(subscriptions=[subscription("c1")], tickets=[])
    assert [d.name for d in applicable_detectors(data)] == [
        "critical_bugs",
        "slow_resolution",
        "ticket_spike",
        "renewal_due",
        "enterprise_trial_requested",
        "renewal_upsell",
        "cross_sell_whitespace",
    ]
    with pytest.raises(ValueError, match="unknown signals: nope"):
        applicable_detectors(data, ["nope"])


def test_no_inputs_gives_an_empty_table_of_the_signal_schema() -> None:
    table = detect_signals(SignalInputs(), AS_OF)
    assert table.num_rows == 0
    assert table.schema.names == list(SIGNAL_SCHEMA.names)


def test_settings_from_mapping_reject_unknown_names() -> None:
    assert SignalSettings.from_mapping({"usage_drop_percent": 25.0}).usage_drop_percent == 25.0
    with pytest.raises(ValueError, match="unknown signal settings: usage_drop"):
        SignalSettings.from_mapping({"usage_drop": 25.0})


def test_customers_without_a_subscription_in_service_get_no_signal() -> None:
    nps = [
        {"response_id": f"{c}-1", "customer_id": c, "responded_on": "2024-01-10", "score": 9}
        for c in ("stays", "left")
    ] + [
        {"response_id": f"{c}-2", "customer_id": c, "responded_on": "2024-06-10", "score": 3}
        for c in ("stays", "left")
    ]
    data = inputs(
        subscriptions=[subscription("stays"), subscription("left", end_date="2024-06-30")],
        nps=nps,
    )
    assert [r["customer_id"] for r in detect("nps_drop", data)] == ["stays"]


STABILITY_DATA = inputs(
    subscriptions=[
        subscription("c1", interval="year", start_date="2023-07-20"),  # renews 2024-07-20
    ],
    usage_daily=daily("c1", "2024-04-01", "2024-05-31", active_users=10, logins=5)
    + daily("c1", "2024-06-01", "2024-06-30", active_users=5, logins=2),
    tickets=[
        {
            "ticket_id": f"t{n}",
            "customer_id": "c1",
            "opened_at": f"2024-06-0{n}T10:00:00",
            "resolved_at": f"2024-06-0{n}T11:00:00",
            "type": "bug",
            "severity": "critical",
        }
        for n in (1, 2, 3)
    ],
    nps=[
        {"response_id": "r1", "customer_id": "c1", "responded_on": "2024-02-01", "score": 10},
        {"response_id": "r2", "customer_id": "c1", "responded_on": "2024-06-05", "score": 4},
    ],
    activities=[
        {"activity_id": "a1", "customer_id": "c1", "type": "qbr", "occurred_at": "2024-04-01"}
    ],
)


@pytest.mark.parametrize(
    ("signal", "first", "later"),
    [
        ("usage_drop", date(2024, 6, 28), date(2024, 6, 30)),
        ("critical_bugs", date(2024, 6, 3), date(2024, 6, 30)),
        ("nps_drop", date(2024, 6, 5), date(2024, 6, 30)),
        ("renewal_due", date(2024, 6, 21), date(2024, 7, 10)),  # both in the 30-day window
        ("communication_gap", date(2024, 5, 31), date(2024, 6, 30)),
        ("high_value_inactive", date(2024, 7, 30), date(2024, 8, 15)),
    ],
)
def test_dedupe_key_is_stable_across_days(signal: str, first: date, later: date) -> None:
    def keys(as_of: date) -> set[tuple[str, str]]:
        rows = detect(signal, STABILITY_DATA, as_of=as_of, high_mrr=1.0)
        return {(row["customer_id"], row["occurrence"]) for row in rows}

    assert keys(first), f"{signal} should fire on {first}"
    assert keys(first) == keys(later)


def test_renewal_windows_are_distinct_occurrences_of_one_term() -> None:
    def occurrences(as_of: date) -> list[str]:
        return [r["occurrence"] for r in detect("renewal_due", STABILITY_DATA, as_of=as_of)]

    assert occurrences(date(2024, 4, 21)) == ["2024-07-20:90d"]
    assert occurrences(date(2024, 5, 21)) == ["2024-07-20:60d"]
    assert occurrences(date(2024, 6, 20)) == ["2024-07-20:30d"]
    assert occurrences(date(2024, 4, 20)) == []


def test_signal_table_is_one_ordered_ibis_expression() -> None:
    table = signal_table(STABILITY_DATA, AS_OF)
    assert table.schema() == SIGNAL_SCHEMA
    rows = table.to_pyarrow().to_pylist()
    keys = [(r["customer_id"], r["signal"], r["occurrence"]) for r in rows]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
