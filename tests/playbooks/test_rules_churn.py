"""Churn records need a reason; the post-mortem shows health, signals and alert handling."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from playbook_store import at, in_english, make_account, make_people, only_rules, usage_drop  # noqa: F401

from kizuna.crm.models import Task, TaskStatus
from kizuna.health.models import HealthScore, Scorecard
from kizuna.playbooks import actions
from kizuna.playbooks.backtest import churn_post_mortem
from kizuna.playbooks.runner import run_playbooks

AS_OF = date(2024, 7, 12)


@pytest.mark.django_db
def test_a_churn_needs_a_reason() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    with pytest.raises(actions.PlaybookError, match="needs a reason"):
        actions.record_churn(acme, churned_on=AS_OF, reason="", detail="", user=people.aiko)
    record = actions.record_churn(
        acme, churned_on=AS_OF, reason="missing_features", detail=" No SSO ", user=people.aiko
    )
    acme.refresh_from_db()
    assert (acme.status, acme.churned_on) == ("churned", AS_OF)
    assert (record.reason, record.detail, record.recorded_by) == (
        "missing_features",
        "No SSO",
        people.aiko,
    )


@pytest.mark.django_db
def test_post_mortem_health_signals_and_alerts() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    usage_drop(acme, AS_OF)
    scorecard = Scorecard.objects.create(name="B", is_default=True, definition={})
    for day, score, status in (
        (date(2024, 6, 1), "72.0", "caution"),
        (date(2024, 7, 1), "48.0", "risk"),
    ):
        HealthScore.objects.create(
            account=acme,
            scorecard=scorecard,
            date=day,
            score=Decimal(score),
            status=status,
            coverage=Decimal(1),
        )
    only_rules("usage-drop")
    run_playbooks(AS_OF, now=at(AS_OF, 9))
    task = Task.objects.get()
    task.status = TaskStatus.DONE
    task.completed_at = at(date(2024, 7, 16), 15)
    task.save()
    run_playbooks(date(2024, 7, 16), now=at(date(2024, 7, 16), 18))
    record = actions.record_churn(
        acme, churned_on=date(2024, 8, 31), reason="cost", detail="", user=None
    )

    review = churn_post_mortem(record)

    assert review.since == date(2024, 2, 29)
    assert review.health == [(date(2024, 6, 1), 72.0, "Caution"), (date(2024, 7, 1), 48.0, "Risk")]
    assert "usage_drop" in {signal for _first, _last, signal in review.signals}
    [alert] = review.alerts
    assert (alert.signal, alert.status, alert.tasks_done, alert.tasks) == (
        "usage_drop",
        "Handled",
        1,
        1,
    )
    assert alert.hours_to_handle == 4 * 24 + 6  # Friday 09:00 → Tuesday 15:00
