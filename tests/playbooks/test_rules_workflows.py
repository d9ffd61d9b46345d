"""Each seed workflow end to end over the store: signal → rule → alert → actions → escalation."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail

sys.path.insert(0, str(Path(__file__).parent))

from playbook_store import at, in_english, make_account, make_people, only_rules, usage, usage_drop  # noqa: F401

from kizuna.billing.models import Interval
from kizuna.crm.models import AccountStatus, ChurnReason, ChurnRecord, Task, TaskStatus
from kizuna.health.models import HealthScore, HealthStatus, Scorecard
from kizuna.pipeline.models import Deal, DealStageChange, Stage
from kizuna.playbooks.models import (
    ActionLog,
    Alert,
    Escalation,
    EscalationStatus,
    Notification,
    Outcome,
    RunLog,
)
from kizuna.playbooks.runner import run_playbooks
from kizuna.usage.models import NpsResponse

# Friday 12 July 2024; Monday 15 July is Marine Day (海の日), a Japanese public holiday.
FRIDAY_BEFORE_HOLIDAY = date(2024, 7, 12)


@pytest.mark.django_db
def test_usage_drop_before_a_holiday_task_escalation_and_rerun() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    usage_drop(acme, FRIDAY_BEFORE_HOLIDAY)
    only_rules("usage-drop")

    report = run_playbooks(FRIDAY_BEFORE_HOLIDAY, now=at(FRIDAY_BEFORE_HOLIDAY))

    alert = Alert.objects.get()
    assert (alert.account, alert.signal, alert.level, alert.occurrence) == (
        acme,
        "usage_drop",
        "high",
        "2024-07",
    )
    assert alert.owner == people.aiko
    assert alert.detail["drop_percent"] == 40.0
    task = Task.objects.get()
    # 3 business days after Friday 12 July, skipping the weekend and Marine Day.
    assert task.due_on == date(2024, 7, 18)
    assert (task.assignee, task.kind, task.status) == (people.aiko, "usage_follow_up", "open")
    assert list(alert.tasks.all()) == [task]
    assert task.context["summary"]["usage"][-1]["active_users_per_day"] == 6.0
    escalation = Escalation.objects.get()
    assert (escalation.task, escalation.deadline) == (task, date(2024, 7, 22))
    assert Notification.objects.get().user == people.aiko
    assert [m.to for m in mail.outbox] == [["aiko@example.com"]]
    acme.refresh_from_db()
    assert acme.custom_properties == {"risk_status": "usage_drop"}
    assert report.counts["alerts"] == 1

    # Run twice (same day, and the next business day): still one alert, one task, one mail.
    run_playbooks(FRIDAY_BEFORE_HOLIDAY, now=at(FRIDAY_BEFORE_HOLIDAY, 10))
    run_playbooks(date(2024, 7, 16), now=at(date(2024, 7, 16)))
    assert (Alert.objects.count(), Task.objects.count(), len(mail.outbox)) == (1, 1, 1)

    # Not done by the 4th business day (Friday 19 July): nothing yet.
    run_playbooks(date(2024, 7, 19), now=at(date(2024, 7, 19)))
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.PENDING
    # Still open at the end of the 5th business day (Monday 22 July): escalated to the lead.
    report = run_playbooks(date(2024, 7, 22), now=at(date(2024, 7, 22)))
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.ESCALATED
    assert escalation.escalated_to == people.lead
    lead_task = Task.objects.get(assignee=people.lead)
    assert lead_task.kind == "escalation"
    assert lead_task.due_on == date(2024, 7, 23)
    assert Notification.objects.filter(user=people.lead).count() == 1
    assert report.counts["escalated"] == 1
    # Escalated once only.
    run_playbooks(date(2024, 7, 23), now=at(date(2024, 7, 23)))
    assert Task.objects.filter(assignee=people.lead).count() == 1
    assert ActionLog.objects.filter(action="escalation").count() == 1


@pytest.mark.django_db
def test_a_task_done_in_time_is_not_escalated_and_closes_the_alert() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    usage_drop(acme, FRIDAY_BEFORE_HOLIDAY)
    only_rules("usage-drop")
    run_playbooks(FRIDAY_BEFORE_HOLIDAY, now=at(FRIDAY_BEFORE_HOLIDAY))
    task = Task.objects.get()
    task.status = TaskStatus.DONE
    task.completed_at = at(date(2024, 7, 17), 14)
    task.save()

    run_playbooks(date(2024, 7, 22), now=at(date(2024, 7, 22)))

    assert Escalation.objects.get().status == EscalationStatus.RESOLVED
    assert Task.objects.count() == 1
    alert = Alert.objects.get()
    assert (alert.status, alert.handled_at) == ("handled", at(date(2024, 7, 17), 14))


@pytest.mark.django_db
def test_open_task_of_same_type_and_reason_is_updated_not_duplicated() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    only_rules("usage-drop")
    # A drop in July and another in August: two alerts (different months), one open task.
    usage_drop(acme, FRIDAY_BEFORE_HOLIDAY)
    run_playbooks(FRIDAY_BEFORE_HOLIDAY, now=at(FRIDAY_BEFORE_HOLIDAY))
    usage(acme, date(2024, 7, 13), date(2024, 8, 11), 6)
    usage(acme, date(2024, 8, 12), date(2024, 9, 10), 3)
    from kizuna.playbooks.models import Rule

    Rule.objects.filter(key="usage-drop").update(max_enrolments=None)
    run_playbooks(date(2024, 9, 10), now=at(date(2024, 9, 10)))

    assert Alert.objects.count() == 2
    task = Task.objects.get(kind="usage_follow_up")
    assert task.context["occurrences"] == ["2024-07", "2024-09"]
    assert task.due_on == date(2024, 7, 18)
    assert sorted(
        ActionLog.objects.filter(action="create_task").values_list("outcome", flat=True)
    ) == [
        Outcome.DONE,
        Outcome.UPDATED,
    ]


@pytest.mark.django_db
def test_renewal_90_60_30_with_deal_once_per_term_and_lead_review_when_unhealthy() -> None:
    people = make_people()
    # Yearly from 1 October 2023: the term ends (renews) on 1 October 2024.
    acme = make_account(
        "Acme", people.aiko, owner=people.sato, interval=Interval.YEAR, price="1200000"
    )
    globex = make_account(
        "Globex", people.ben, owner=people.sato, interval=Interval.YEAR, price="600000"
    )
    scorecard = Scorecard.objects.create(name="B", is_default=True, definition={})
    for account, score in ((acme, "55.0"), (globex, "85.0")):
        for day in (date(2024, 7, 2), date(2024, 7, 3)):
            HealthScore.objects.create(
                account=account,
                scorecard=scorecard,
                date=day,
                score=Decimal(score),
                status=HealthStatus.RISK if score < "60" else HealthStatus.HEALTHY,
                coverage=Decimal(1),
            )
    only_rules("renewal-90", "renewal-90-health-review", "renewal-60", "renewal-30")

    day_90 = date(2024, 7, 3)  # 90 days before 1 October
    run_playbooks(day_90, now=at(day_90))

    deals = Deal.objects.order_by("account__name")
    assert [
        (d.account.name, d.pipeline.key, d.stage.key, d.renewal_of_term_end) for d in deals
    ] == [
        ("Acme", "renewal", "renewal_prep", date(2024, 10, 1)),
        ("Globex", "renewal", "renewal_prep", date(2024, 10, 1)),
    ]
    assert sorted(Task.objects.values_list("account__name", "kind", "assignee__username")) == [
        ("Acme", "renewal_prep", "aiko"),
        ("Acme", "renewal_review", "lena"),
        ("Globex", "renewal_prep", "ben"),
    ]
    # The next days change nothing: one deal per term, one alert per step.
    run_playbooks(day_90 + timedelta(days=1), now=at(day_90 + timedelta(days=1)))
    assert (Deal.objects.count(), Task.objects.count()) == (2, 3)

    day_60 = date(2024, 8, 2)
    run_playbooks(day_60, now=at(day_60))
    assert Task.objects.filter(kind="renewal_proposal").count() == 2
    day_30 = date(2024, 9, 1)
    run_playbooks(day_30, now=at(day_30))
    contract = Task.objects.filter(kind="renewal_contract")
    assert sorted(contract.values_list("assignee__username", flat=True)) == ["sato", "sato"]
    assert Deal.objects.count() == 2


@pytest.mark.django_db
def test_nps_drop_meeting_within_48_business_hours_summary_and_template() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    NpsResponse.objects.create(account=acme, responded_on=date(2024, 4, 2), score=9)
    NpsResponse.objects.create(
        account=acme, responded_on=FRIDAY_BEFORE_HOLIDAY, score=5, comment="Too slow"
    )
    only_rules("nps-drop")

    run_playbooks(FRIDAY_BEFORE_HOLIDAY, now=at(FRIDAY_BEFORE_HOLIDAY, 15))

    task = Task.objects.get()
    # Friday 15:00 + 48 business hours (weekend and Marine Day do not count) = Wed 15:00.
    assert task.due_on == date(2024, 7, 17)
    assert task.context["due_at"] == "2024-07-17T15:00:00"
    assert "Improvement plan" in task.description
    assert [row["score"] for row in task.context["summary"]["nps"]] == [5, 9]
    assert sorted(Notification.objects.values_list("user__username", flat=True)) == [
        "aiko",
        "lena",
    ]
    assert mail.outbox[0].subject == "Improvement plan template: Acme"
    assert "Improvement plan for Acme" in mail.outbox[0].body


@pytest.mark.django_db
def test_expansion_playbook_opens_an_upsell_deal_and_follows_its_stages() -> None:
    people = make_people()
    # A single-product customer at 150,000/month, and a product it does not have.
    acme = make_account("Acme", people.aiko, owner=people.sato, price="150000")
    make_account("Globex", people.ben, product_code="analytics", price="10000")
    only_rules(
        "expansion-identify",
        "expansion-prepare",
        "expansion-propose",
        "expansion-close",
        "expansion-onboard",
    )
    as_of = date(2024, 7, 1)

    run_playbooks(as_of, now=at(as_of))

    deal = Deal.objects.get()
    assert (deal.account, deal.pipeline.key, deal.stage.key, deal.owner) == (
        acme,
        "upsell",
        "opportunity_detected",
        people.aiko,
    )
    assert Task.objects.get().kind == "expansion_needs"

    needs = Stage.objects.get(pipeline__key="upsell", key="needs_confirmed")
    DealStageChange.objects.create(
        deal=deal, from_stage=deal.stage, to_stage=needs, changed_at=at(date(2024, 7, 3))
    )
    deal.stage = needs
    deal.save()
    run_playbooks(date(2024, 7, 4), now=at(date(2024, 7, 4)))

    assert Deal.objects.count() == 1  # still one upsell deal
    assert Task.objects.get(kind="expansion_needs_confirmed").assignee == people.aiko


@pytest.mark.django_db
def test_win_back_three_to_six_months_after_churn_by_reason() -> None:
    people = make_people()
    gone = make_account("Gone", people.aiko, owner=people.sato, status=AccountStatus.CHURNED)
    ChurnRecord.objects.create(account=gone, churned_on=date(2024, 3, 10), reason=ChurnReason.COST)
    only_rules("win-back-cost", "win-back-features", "win-back-other")

    run_playbooks(date(2024, 6, 9), now=at(date(2024, 6, 9)))
    assert not Alert.objects.exists()  # not yet 3 months
    run_playbooks(date(2024, 6, 10), now=at(date(2024, 6, 10)))
    alert = Alert.objects.get()
    assert (alert.rule.key, alert.occurrence) == ("win-back-cost", "2024-03-10")
    task = Task.objects.get()
    assert (task.assignee, task.title) == (people.sato, "Offer Gone the new plan")


@pytest.mark.django_db
def test_every_run_is_logged() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    usage_drop(acme, FRIDAY_BEFORE_HOLIDAY)
    only_rules("usage-drop")
    run_playbooks(FRIDAY_BEFORE_HOLIDAY, now=at(FRIDAY_BEFORE_HOLIDAY))

    run = RunLog.objects.get()
    assert (run.status, run.as_of) == ("done", FRIDAY_BEFORE_HOLIDAY)
    assert run.counts["alerts"] == 1
    assert list(ActionLog.objects.filter(run=run).values_list("action", "outcome")) == [
        ("match", "enrolled"),
        ("notify", "done"),
        ("email", "done"),
        ("create_task", "done"),
        ("attach_summary", "done"),
        ("update_property", "done"),
    ]
