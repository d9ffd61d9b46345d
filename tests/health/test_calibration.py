"""Calibration: exact rank AUC, and churn vs retained on a hand-made history."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pytest
from health_builders import Inputs

from kizuna.engine.health_calibration import calibrate, roc_auc, snapshot_dates
from kizuna.health.scorecards import load_preset


def test_auc_perfect_inverted_and_tied() -> None:
    assert roc_auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert roc_auc([1, 2, 3, 4], [True, True, False, False]) == 0.0
    # Positives {2, 3} vs negatives {1, 2}: 1 + 0.5 + 1 + 1 = 3.5 of 4 pairs.
    assert roc_auc([1, 2, 2, 3], [False, True, False, True]) == 0.875
    assert roc_auc([5, 5, 5], [True, False, True]) == 0.5
    assert roc_auc([1, 2], [True, True]) is None


def test_snapshot_dates_leave_room_for_the_horizon() -> None:
    assert snapshot_dates(date(2024, 1, 1), date(2024, 5, 1), 30, 90) == [
        date(2024, 1, 1),
        date(2024, 1, 31),
    ]


def test_calibration_on_hand_made_history() -> None:
    inputs = Inputs()
    start = date(2023, 1, 1)
    snapshot = date(2024, 3, 1)
    # Four accounts: two log in often and stay; two rarely log in and leave within 90 days.
    for customer, login_every, churn_on in (
        ("loyal1", 1, None),
        ("loyal2", 2, None),
        ("leaver1", 10, snapshot + timedelta(days=30)),
        ("leaver2", 14, snapshot + timedelta(days=60)),
    ):
        inputs.yearly(customer, start, end=churn_on)
        day = snapshot - timedelta(days=27)
        while day <= snapshot:
            inputs.usage(customer, day)
            day += timedelta(days=login_every)
    inputs.usage("loyal1", snapshot + timedelta(days=90))
    report = calibrate(inputs.build(), load_preset("simple"), [snapshot], ibis.duckdb.connect())
    assert (report.churned, report.retained) == (2, 2)
    usage = {item.name: item for item in report.components}["usage"]
    # Loyal: 28 and 14 login days (7.0 and 3.5 a week) → 100; leavers 3 and 2 days → 20.
    assert (usage.mean_points_retained, usage.mean_points_churned) == (100.0, 20.0)
    assert usage.difference == 80.0
    assert usage.auc == 1.0
    assert report.score_auc == 1.0
    # NPS has no data: no AUC, no lift, so all proposed weight goes to usage.
    nps = {item.name: item for item in report.components}["nps"]
    assert nps.auc is None
    assert (usage.proposed_weight, nps.proposed_weight) == (1.0, 0.0)


def test_calibration_needs_snapshots() -> None:
    with pytest.raises(ValueError, match="no snapshot date"):
        calibrate(Inputs().build(), load_preset("A"), [], ibis.duckdb.connect())
