"""Holdout evaluation: metrics by hand, the time split, and no leakage past the cutoff."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from kizuna.engine.churn_evaluation import (
    calibration_table,
    evaluate,
    metrics,
    precision_at,
    split_snapshots,
    train,
)
from kizuna.engine.churn_features import known_on, labelled_snapshots
from kizuna.engine.health_inputs import HealthInputs
from kizuna.health.scorecards import load_preset


def test_auc_and_precision_at_top_k_by_hand() -> None:
    # 20 rows, risk 20 … 1; churned: the rows of risk 20, 18 and 13.
    risk = [float(value) for value in range(20, 0, -1)]
    churned = [value in (20.0, 18.0, 13.0) for value in risk]
    result = metrics(risk, churned)
    # Negatives below each positive: 17, 16 and 12 of 17 → 45 / 51.
    assert result.auc == pytest.approx(45 / 51)
    # Top 5 % = 1 row (churned); top 10 % = 2 rows (one churned).
    assert result.precision == ((0.05, 1.0), (0.10, 0.5))
    assert (result.rows, result.churned) == (20, 3)
    assert result.churn_rate == pytest.approx(0.15)


def test_precision_counts_ties_at_the_boundary_by_expectation() -> None:
    # The top 2 of 4: one row above the tie, then one of the two tied rows (one churned).
    assert precision_at([9.0, 5.0, 5.0, 1.0], [False, True, False, True], 0.5) == 0.25
    assert precision_at([], [], 0.1) is None


def test_calibration_groups_by_predicted_probability() -> None:
    probabilities = [0.9, 0.1, 0.2, 0.8, 0.3]
    churned = [True, False, True, True, False]
    groups = calibration_table(probabilities, churned, groups=2)
    # Sorted: 0.1, 0.2, 0.3 | 0.8, 0.9 (the first group takes the extra row).
    assert [(group.rows, group.observed) for group in groups] == [(3, 1 / 3), (2, 1.0)]
    assert [group.mean_predicted for group in groups] == pytest.approx([0.2, 0.85])


def test_split_keeps_training_horizons_before_the_cutoff() -> None:
    dates = [date(2024, month, 1) for month in range(1, 9)]
    cutoff, train_dates, test_dates = split_snapshots(dates, 90, test_months=2)
    assert cutoff == date(2024, 7, 1)
    assert test_dates == [date(2024, 7, 1), date(2024, 8, 1)]
    # 1 April + 90 days = 30 June ≤ 1 July; 1 May would look past the cutoff.
    assert train_dates == [date(2024, month, 1) for month in range(1, 5)]
    with pytest.raises(ValueError, match="no training snapshot"):
        split_snapshots(dates, 90, 0, cutoff=date(2024, 2, 1))


START, END = date(2023, 1, 1), date(2024, 12, 31)
CUTOFF = date(2024, 7, 2)


def _company(after_cutoff: bool) -> HealthInputs:
    """Twelve monthly customers; every third one logs in rarely and leaves. With
    ``after_cutoff`` only what happens after the cutoff differs: another customer leaves, a new
    one signs, the active ones log in more and open tickets."""
    ends = {0: date(2023, 8, 1), 3: date(2023, 12, 1), 6: date(2024, 3, 1), 9: date(2024, 5, 1)}
    if after_cutoff:
        ends[1] = date(2024, 8, 15)
    subscriptions: list[dict[str, Any]] = []
    usage: list[dict[str, Any]] = []
    tickets: list[dict[str, Any]] = []
    for index in range(12):
        customer = f"c{index}"
        end = ends.get(index)
        subscriptions.append(
            {
                "customer_id": customer,
                "plan": "Standard",
                "quantity": 5.0,
                "interval": "month",
                "start_date": START,
                "end_date": end,
            }
        )
        every = 10 if index % 3 == 0 else 1 + index % 4
        day = START
        while day <= (end or END):
            if not after_cutoff or day <= CUTOFF or day.day % 2:
                usage.append({"customer_id": customer, "date": day, "logins": 1, "active_users": 1})
            day += timedelta(days=every)
        if after_cutoff and end is None:
            tickets.append(
                {
                    "ticket_id": f"t{index}",
                    "customer_id": customer,
                    "opened_at": CUTOFF + timedelta(days=10 + index),
                    "type": "bug",
                    "severity": "critical",
                }
            )
    if after_cutoff:
        subscriptions.append(
            {
                "customer_id": "new",
                "plan": "Standard",
                "quantity": 3.0,
                "interval": "month",
                "start_date": CUTOFF + timedelta(days=20),
                "end_date": None,
            }
        )
    tables = {
        "subscriptions": pa.Table.from_pylist(subscriptions),
        "usage_daily": pa.Table.from_pylist(usage),
    }
    if tickets:
        tables["tickets"] = pa.Table.from_pylist(tickets)
    return HealthInputs.from_tables(tables)


def test_changing_data_after_the_cutoff_does_not_change_the_trained_model() -> None:
    backend = ibis.duckdb.connect()
    dates = [
        day for day in labelled_snapshots(START, END, 90) if day + timedelta(days=90) <= CUTOFF
    ]
    before = train(known_on(_company(False), CUTOFF), dates, backend)
    after = train(known_on(_company(True), CUTOFF), dates, backend)
    assert before.positives > 0
    assert after == before


def test_evaluation_trains_before_the_cutoff_and_tests_after_it() -> None:
    backend = ibis.duckdb.connect()
    plain = evaluate(_company(False), backend, cutoff=CUTOFF)
    changed = evaluate(
        _company(True), backend, cutoff=CUTOFF, scorecards={"simple": load_preset("simple")}
    )
    assert changed.trained == plain.trained
    assert plain.cutoff == CUTOFF
    assert all(day + timedelta(days=90) <= CUTOFF for day in plain.train_snapshots)
    assert all(day >= CUTOFF for day in plain.test_snapshots)
    # Nobody in the plain company leaves after the cutoff; in the changed one c1 does.
    assert (plain.model.churned, plain.model.auc) == (0, None)
    assert changed.model.churned == 2  # c1 on the 2 July and 2 August snapshots
    (comparison,) = changed.comparisons
    assert comparison.scorecard == "simple"
    assert comparison.health.rows == comparison.model.rows
