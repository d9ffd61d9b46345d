"""The runner writes alerts and their actions a batch at a time, with the per-alert guarantees."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from playbook_store import at, in_english, make_account, make_people, only_rules, usage_drop  # noqa: F401

from kizuna.api.models import WebhookDelivery, WebhookEndpoint
from kizuna.crm.models import Task, TaskStatus
from kizuna.playbooks import action_types
from kizuna.playbooks.action_types import ActionResult, ActionType
from kizuna.playbooks.actions import TaskRequest, open_or_update_tasks
from kizuna.playbooks.context import ActionContext
from kizuna.playbooks.models import ActionLog, Alert, Outcome, Rule, RunLog
from kizuna.playbooks.runner import run_playbooks

FRIDAY = date(2024, 7, 12)


@pytest.mark.django_db
def test_each_new_alert_is_raised_once_with_its_webhook_and_its_run() -> None:
    WebhookEndpoint.objects.create(
        url="https://hooks.example.com/kizuna", secret="whsec_test", events=["alert.created"]
    )
    people = make_people()
    accounts = [make_account(name, people.aiko) for name in ("Acme", "Globex", "Initech")]
    for account in accounts:
        usage_drop(account, FRIDAY)
    only_rules("usage-drop")

    first = run_playbooks(FRIDAY, now=at(FRIDAY))
    again = run_playbooks(FRIDAY, now=at(FRIDAY, 10))

    assert (first.counts["alerts"], again.counts["alerts"]) == (3, 0)
    alerts = list(Alert.objects.order_by("account__name"))
    assert [alert.account for alert in alerts] == accounts
    assert {alert.run_id for alert in alerts} == {first.run_id}
    announced = sorted(d.payload["data"]["alert_id"] for d in WebhookDelivery.objects.all())
    assert announced == sorted(alert.pk for alert in alerts)
    # Per alert: the enrolment and each of the rule's six actions, in the rule's order.
    first_alert_log = ActionLog.objects.filter(alert=alerts[0]).order_by("pk")
    assert list(first_alert_log.values_list("action", flat=True)) == [
        "match",
        "notify",
        "email",
        "create_task",
        "attach_summary",
        "update_property",
    ]
    assert first.lines[:7] == [
        "alert: usage-drop · Acme · Usage drop (2024-07)",
        "  - notify: Usage drop: Acme (Done)",
        "  - email: Usage drop: Acme (Waiting to be delivered)",
        "  - create_task: Follow up on the usage drop at Acme (Done)",
        "  - attach_summary: summary attached (Done)",
        "  - update_property: custom:risk_status = usage_drop (Done)",
        "alert: usage-drop · Globex · Usage drop (2024-07)",
    ]
    assert Task.objects.count() == 3
    assert first.run_id is not None
    assert RunLog.objects.get(pk=first.run_id).counts == first.counts


@pytest.mark.django_db
def test_requests_with_one_key_in_a_batch_share_one_task() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    closed = Task.objects.create(
        account=acme,
        title="Old",
        kind="renewal_prep",
        status=TaskStatus.DONE,
        dedupe_key=f"playbook:{acme.pk}:renewal_prep:renewal-90",
    )

    def request(occurrence: str) -> TaskRequest:
        return TaskRequest(
            account=acme,
            assignee_id=people.aiko.pk,
            title="Prepare the renewal",
            kind="renewal_prep",
            reason="renewal-90",
            due_on=date(2024, 7, 26),
            description="",
            context={"occurrence": occurrence},
            alert=None,
        )

    (task, created), (same, created_again) = open_or_update_tasks(
        [request("2024-10-01:90d"), request("2025-01-01:90d")]
    )

    assert (created, created_again, same.pk) == (True, False, task.pk)
    task.refresh_from_db()
    assert task.context["occurrences"] == ["2024-10-01:90d", "2025-01-01:90d"]
    # The done task gave up its key; the new one holds it.
    closed.refresh_from_db()
    assert closed.dedupe_key == f"playbook:{acme.pk}:renewal_prep:renewal-90#{closed.pk}"
    assert task.dedupe_key == f"playbook:{acme.pk}:renewal_prep:renewal-90"
    assert Task.objects.count() == 2


@pytest.mark.django_db
def test_a_failing_batch_is_retried_alert_by_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    def flaky_many(contexts: Sequence[ActionContext], params: dict[str, Any]) -> list[ActionResult]:
        if any(context.account.name == "Globex" for context in contexts):
            raise RuntimeError(f"cannot handle {contexts[0].account.name}")
        return [ActionResult(Outcome.DONE, context.account.name) for context in contexts]

    def flaky_one(context: ActionContext, params: dict[str, Any]) -> ActionResult:
        return flaky_many([context], params)[0]

    monkeypatch.setitem(
        action_types.ACTION_TYPES,
        "flaky",
        ActionType("flaky", lambda params: [], flaky_one, lambda c, p: "flaky", flaky_many),
    )
    people = make_people()
    for name in ("Acme", "Globex", "Initech"):
        usage_drop(make_account(name, people.aiko), FRIDAY)
    only_rules("usage-drop")
    Rule.objects.filter(key="usage-drop").update(
        actions=[{"type": "flaky"}, {"type": "notify", "to": ["cs_owner"]}]
    )

    report = run_playbooks(FRIDAY, now=at(FRIDAY))

    outcomes = dict(
        ActionLog.objects.filter(action="flaky").values_list("account__name", "outcome")
    )
    assert outcomes == {"Acme": "done", "Globex": "failed", "Initech": "done"}
    assert ActionLog.objects.get(action="flaky", outcome="failed").message == (
        "RuntimeError: cannot handle Globex"
    )
    # The other actions still ran for every alert.
    assert ActionLog.objects.filter(action="notify", outcome="done").count() == 3
    assert report.counts["action_failed"] == 1
