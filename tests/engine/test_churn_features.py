"""Churn features on hand-made inputs: values, labels, points in time and snapshot dates."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from kizuna.engine.churn_features import (
    feature_table,
    known_on,
    labelled_feature_table,
    labelled_snapshots,
    monthly_snapshots,
    months_before,
)
from kizuna.engine.health_inputs import HealthInputs

T = date(2024, 1, 31)


def _subscription(customer: str, start: date, end: date | None, interval: str, seats: float) -> Any:
    return {
        "customer_id": customer,
        "plan": "Professional",
        "quantity": seats,
        "interval": interval,
        "interval_count": 1,
        "start_date": start,
        "end_date": end,
        "recurring": True,
    }


def _inputs(a_ends: date | None = date(2024, 2, 15)) -> HealthInputs:
    # a: yearly since 10 March 2023 (next anniversary 10 March 2024, 39 days after T), 10 seats,
    # cancelled to end on 15 February 2024; b: monthly since 1 December 2023, ends 1 March 2024;
    # c: yearly since 1 June 2022, stays.
    subscriptions = [
        _subscription("a", date(2023, 3, 10), a_ends, "year", 10.0),
        _subscription("b", date(2023, 12, 1), date(2024, 3, 1), "month", 2.0),
        _subscription("c", date(2022, 6, 1), None, "year", 5.0),
    ]
    # a logs in on 8 days of the 28 up to T and on 4 days of the 28 before; the feed runs to T.
    recent = [T - timedelta(days=3 * offset) for offset in range(8)]
    earlier = [T - timedelta(days=28 + 5 * offset + 1) for offset in range(4)]
    usage = [
        {"customer_id": "a", "date": day, "logins": 2, "active_users": 1, "seats_in_use": 8}
        for day in recent + earlier
    ]
    usage.append(
        {"customer_id": "a", "date": T + timedelta(days=1), "logins": 5, "active_users": 1}
    )
    tickets = [
        ("t1", "a", datetime(2024, 1, 20, 9), "bug", "critical"),
        ("t2", "a", datetime(2023, 11, 15, 9), "question", "normal"),
        ("t3", "a", datetime(2023, 10, 1, 9), "question", "normal"),  # outside the 90 days
    ]
    return HealthInputs.from_tables(
        {
            "subscriptions": pa.Table.from_pylist(subscriptions),
            "usage_daily": pa.Table.from_pylist(usage),
            "tickets": pa.Table.from_pylist(
                [
                    dict(
                        zip(
                            ("ticket_id", "customer_id", "opened_at", "type", "severity"),
                            row,
                            strict=True,
                        )
                    )
                    for row in tickets
                ]
            ),
        }
    )


def _rows(table: ibis.Table) -> dict[str, dict[str, Any]]:
    rows = ibis.duckdb.connect().to_pyarrow(table).to_pylist()
    return {row["customer_id"]: row for row in rows}


def test_feature_values_of_hand_made_accounts() -> None:
    rows = _rows(feature_table(_inputs(), [T]))
    assert sorted(rows) == ["a", "b", "c"]
    a = rows["a"]
    assert a["login_frequency"] == 2.0  # 8 days ÷ 4 weeks
    assert a["login_change"] == 1.0  # (8 − 4) days ÷ 4 weeks
    assert a["tickets"] == pytest.approx(math.log(3))  # log(1 + 2 tickets in 90 days)
    assert a["critical_bug"] == 1.0
    assert a["pricing_page_views"] == 0.0
    # The anniversary, not the end date set by the later cancellation (15 days away).
    assert (a["days_to_renewal"], a["renewal_due"]) == (39.0, 1.0)
    assert a["contracted_seats"] == pytest.approx(math.log(11))
    # Seats in use are reported now but not 90 days earlier: contracted seats, 10 then 10.
    assert a["seat_growth"] == 0.0
    assert a["tenure"] == pytest.approx(327 / 365.25)
    # No NPS, activity or feature data at all: missing, not zero.
    assert (a["nps"], a["cs_meetings"], a["core_features"]) == (None, None, None)
    # No rows carry active_users_30d: the rate is missing.
    assert a["active_user_rate"] is None
    b = rows["b"]
    # Monthly: no committed term, so no renewal features; no logins while the feed runs: zero.
    assert (b["days_to_renewal"], b["renewal_due"]) == (None, None)
    assert (b["login_frequency"], b["login_change"], b["tickets"]) == (0.0, 0.0, 0.0)
    assert rows["c"]["days_to_renewal"] == 122.0  # 1 June 2024


def test_stale_usage_is_missing() -> None:
    # Eight days after the last usage row the usage features are missing, not zero.
    day = T + timedelta(days=9)
    row = _rows(feature_table(known_on(_inputs(None), day), [day]))["a"]
    assert (row["login_frequency"], row["login_change"], row["pricing_page_views"]) == (
        None,
        None,
        None,
    )


def test_labels_follow_service_after_the_horizon() -> None:
    rows = _rows(labelled_feature_table(_inputs(), [T], horizon_days=90))
    assert {key: row["churned"] for key, row in rows.items()} == {"a": True, "b": True, "c": False}
    rows = _rows(labelled_feature_table(_inputs(), [T], horizon_days=14))
    assert {key: row["churned"] for key, row in rows.items()} == {
        "a": False,
        "b": False,
        "c": False,
    }


def test_known_on_hides_later_rows_and_end_dates() -> None:
    known = known_on(_inputs(), T)
    backend = ibis.duckdb.connect()
    assert known.subscriptions is not None and known.usage_daily is not None
    ends = backend.to_pyarrow(known.subscriptions.order_by("customer_id"))["end_date"].to_pylist()
    assert ends == [None, None, None]
    assert backend.to_pyarrow(known.usage_daily.date.max().as_table())[0][0].as_py() == T
    # Before b started it is not known at all.
    before = known_on(_inputs(), date(2023, 11, 30))
    assert before.subscriptions is not None
    customers = backend.to_pyarrow(before.subscriptions)["customer_id"].to_pylist()
    assert sorted(customers) == ["a", "c"]


def test_months_before_clamps_to_the_month_end() -> None:
    assert months_before(date(2024, 3, 31), 1) == date(2024, 2, 29)
    assert months_before(date(2024, 1, 15), 1) == date(2023, 12, 15)
    assert months_before(date(2024, 1, 15), 13) == date(2022, 12, 15)


def test_monthly_and_labelled_snapshots() -> None:
    assert monthly_snapshots(date(2024, 1, 1), date(2024, 3, 31)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
    ]
    # The latest labelled snapshot leaves the whole 90-day horizon inside the data:
    # 30 June − 90 days = 1 April, then whole months back.
    assert labelled_snapshots(date(2024, 1, 1), date(2024, 6, 30), 90) == [
        date(2024, 1, 1),
        date(2024, 2, 1),
        date(2024, 3, 1),
        date(2024, 4, 1),
    ]
