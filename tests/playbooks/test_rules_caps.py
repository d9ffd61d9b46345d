"""Caps against alert fatigue, and a dry run that writes nothing."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from django.apps import apps

sys.path.insert(0, str(Path(__file__).parent))

from playbook_store import at, in_english, make_account, make_people, only_rules, usage_drop  # noqa: F401

from kizuna.crm.models import Task
from kizuna.playbooks.models import ActionLog, Alert, Outcome, PlaybookSettings, Rule
from kizuna.playbooks.runner import run_playbooks

AS_OF = date(2024, 7, 12)


@pytest.mark.django_db
def test_daily_cap_per_owner_keeps_the_rest_for_the_next_day() -> None:
    people = make_people()
    accounts = [make_account(f"A{n}", people.aiko) for n in range(3)]
    for account in accounts:
        usage_drop(account, AS_OF)
    only_rules("usage-drop")
    PlaybookSettings.objects.create(daily_cap_per_owner=2)

    report = run_playbooks(AS_OF, now=at(AS_OF))

    assert (Alert.objects.count(), report.counts["capped"]) == (2, 1)
    capped = ActionLog.objects.get(outcome=Outcome.CAPPED)
    assert (capped.action, capped.message) == ("match", "daily cap per owner")
    # The next day the signal is still there and the cap is fresh: the third account's turn.
    run_playbooks(date(2024, 7, 13), now=at(date(2024, 7, 13)))
    assert Alert.objects.count() == 3
    assert Task.objects.count() == 3


@pytest.mark.django_db
# The owners of the matched accounts are read by key, or in one pass over all accounts when
# more accounts matched than the threshold (0 here): the same owners either way.
@pytest.mark.parametrize("scan_above", [20_000, 0])
def test_rule_daily_cap_per_owner(scan_above: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kizuna.playbooks.runner.SCAN_ACCOUNTS_ABOVE", scan_above)
    people = make_people()
    for n in range(3):
        usage_drop(make_account(f"A{n}", people.aiko), AS_OF)
    usage_drop(make_account("B", people.ben), AS_OF)
    only_rules("usage-drop")
    Rule.objects.filter(key="usage-drop").update(daily_cap_per_owner=1)

    run_playbooks(AS_OF, now=at(AS_OF))

    assert sorted(Alert.objects.values_list("owner__username", flat=True)) == ["aiko", "ben"]


@pytest.mark.django_db
def test_re_enrolment_cap_per_account() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    only_rules("usage-drop")  # at most 1 alert per account in 30 days
    usage_drop(acme, AS_OF)
    run_playbooks(AS_OF, now=at(AS_OF))
    # 5 August: a new month, so a new occurrence, but only 24 days after the last alert.
    report = run_playbooks(date(2024, 8, 5), now=at(date(2024, 8, 5)))
    assert Alert.objects.count() == 1
    assert report.counts["capped"] == 1
    assert ActionLog.objects.get(outcome=Outcome.CAPPED).message == "re-enrolment cap"


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"playbooks", "crm", "pipeline"}
    }


@pytest.mark.django_db
def test_dry_run_writes_nothing_and_says_what_it_would_do() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    usage_drop(acme, AS_OF)
    only_rules("usage-drop")
    before = _row_counts()
    lines: list[str] = []

    report = run_playbooks(AS_OF, dry_run=True, now=at(AS_OF), out=lines.append)

    assert _row_counts() == before
    assert report.counts["alerts"] == 1
    assert lines[0] == "would raise: usage-drop · Acme · Usage drop (2024-07)"
    assert lines[3] == (
        "  - task “Follow up on the usage drop at Acme” for aiko, due 2024-07-18 · "
        "escalated on 2024-07-22 if still open"
    )
    assert lines[-1].startswith("Dry run as of 2024-07-12: 1 matches, would raise 1 alerts")
