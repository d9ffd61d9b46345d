"""Two playbook runs at the same moment, on separate connections, act exactly once."""

from __future__ import annotations

import sys
import threading
from datetime import date
from pathlib import Path

import pytest
from django.db import connection, connections

sys.path.insert(0, str(Path(__file__).parent))

from playbook_store import at, in_english, make_account, make_people, only_rules, usage_drop  # noqa: F401

from kizuna.crm.models import Task
from kizuna.playbooks.models import Alert, Escalation, Notification, RunLog
from kizuna.playbooks.runner import RunReport, run_playbooks

AS_OF = date(2024, 7, 12)
ACCOUNTS = 40


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_create_each_task_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (runs in the PostgreSQL pass of make test)")
    people = make_people()
    for n in range(ACCOUNTS):
        usage_drop(make_account(f"A{n:02d}", people.aiko if n % 2 else people.ben), AS_OF)
    only_rules("usage-drop", "nps-drop")
    from kizuna.playbooks.models import PlaybookSettings

    PlaybookSettings.objects.create(daily_cap_per_owner=None)
    start = threading.Barrier(2)
    reports: list[RunReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            reports.append(run_playbooks(AS_OF, now=at(AS_OF)))
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert RunLog.objects.filter(status="done").count() == 2
    assert Alert.objects.count() == ACCOUNTS
    assert Task.objects.count() == ACCOUNTS
    assert Escalation.objects.count() == ACCOUNTS
    assert Notification.objects.count() == ACCOUNTS
    # Between them the two runs raised every alert once.
    assert sum(report.counts["alerts"] for report in reports) == ACCOUNTS
