"""Success goals (SPEC S15): from ``success_goals.csv`` into the store, read back for detection."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kizuna.crm.models import Account
from kizuna.engine.backends import connect
from kizuna.engine.signals import detect_signals
from kizuna.ingest.csv_import import import_folder
from kizuna.playbooks.store_inputs import StoreSnapshot
from kizuna.sources.csv_reader import InputError
from kizuna.sources.csv_usage import read_signal_folder
from kizuna.usage.models import SuccessGoal

CUSTOMERS = (
    "customer_id,name,country,industry,employees,channel,owner,created_at\n"
    "C1,Alpha,JP,software,10,web,,2024-01-01\n"
    "C2,Beta,JP,retail,20,web,,2024-01-01\n"
)
GOALS = (
    "goal_id,customer_id,goal,target,set_on,achieved_on\n"
    "G1,C1,Month-end close in 3 days,3 days,2024-01-15,2024-06-01\n"
    "G2,C2,Paperless invoicing,,2024-02-01,\n"
    "G3,C2,Every branch onboarded,12 branches,2024-02-01,2024-05-31\n"
)


def _folder(tmp_path: Path, goals: str) -> Path:
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "success_goals.csv").write_text(goals, encoding="utf-8")
    return tmp_path


@pytest.mark.django_db
def test_success_goals_import_and_fire_from_the_store(tmp_path: Path) -> None:
    report = import_folder(_folder(tmp_path, GOALS))
    assert report.committed, [str(problem) for problem in report.problems]
    alpha = Account.objects.get(external_id="C1")
    goal = SuccessGoal.objects.get(external_id="G1")
    assert (goal.account, goal.goal, goal.target, goal.set_on, goal.achieved_on) == (
        alpha,
        "Month-end close in 3 days",
        "3 days",
        date(2024, 1, 15),
        date(2024, 6, 1),
    )
    assert SuccessGoal.objects.get(external_id="G2").achieved_on is None
    # Re-importing changes nothing.
    import_folder(_folder(tmp_path, GOALS))
    assert SuccessGoal.objects.count() == 3

    inputs = StoreSnapshot(date(2024, 6, 30)).signal_inputs()
    rows = detect_signals(
        inputs, date(2024, 6, 30), names=["success_goal_achieved"], backend=connect("duckdb")
    ).to_pylist()
    # G1 (1 June) is within the 30 days ending 30 June; G3 (31 May) is a day too early.
    assert [(row["customer_id"], row["occurrence"], row["occurred_on"]) for row in rows] == [
        (str(alpha.pk), str(goal.pk), date(2024, 6, 1))
    ]
    assert json.loads(rows[0]["detail"])["goal"] == "Month-end close in 3 days"


@pytest.mark.django_db
def test_a_goal_achieved_before_it_was_set_is_rejected(tmp_path: Path) -> None:
    bad = GOALS.replace("2024-02-01,2024-05-31", "2024-02-01,2024-01-31")
    report = import_folder(_folder(tmp_path, bad))
    assert not report.committed
    assert [str(problem) for problem in report.problems] == [
        "success_goals.csv:4: 'achieved_on' is before 'set_on'"
    ]
    assert SuccessGoal.objects.count() == 0


def test_the_signals_folder_reader_checks_goal_ids(tmp_path: Path) -> None:
    twice = GOALS + "G1,C1,Again,,,\n"
    with pytest.raises(InputError) as error:
        read_signal_folder(_folder(tmp_path, twice))
    assert error.value.problems == ["success_goals.csv:5: duplicate row for (G1), first on line 2"]
