"""Deal actions: required fields, won → subscription and billing, handoff, onboarding, lost."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pipeline_people import People, aware, negotiating_deal

from kizuna.billing.models import (
    BillingRecord,
    BillingStatus,
    Interval,
    MrrCategory,
    Subscription,
    SubscriptionItem,
)
from kizuna.crm.actions import ActionError
from kizuna.crm.models import (
    AccountStatus,
    HandoffRecord,
    LifecycleStage,
    LifecycleStageChange,
    OnboardingItem,
    Task,
)
from kizuna.pipeline.actions import (
    InvalidDealValues,
    install_default_pipelines,
    lose_deal,
    move_deal,
    win_deal,
)
from kizuna.pipeline.defaults import DEFAULT_PIPELINES
from kizuna.pipeline.lifecycle import complete_handoff
from kizuna.pipeline.models import Deal, DealStageChange, DealStatus, Pipeline, Stage
from kizuna.pipeline.stage_rules import StageMoveRefused

pytestmark = pytest.mark.django_db

WON_VALUES = {"plan": "Professional", "contract_months": "12", "effective_date": "2024-04-01"}


def test_installing_the_defaults_twice_creates_them_once_and_keeps_edits(people: People) -> None:
    Stage.objects.filter(pipeline__key="new_business", key="lead").update(name="Inbound lead")
    assert install_default_pipelines() == []
    assert list(Pipeline.objects.values_list("key", flat=True)) == list(DEFAULT_PIPELINES)
    stages = Stage.objects.filter(pipeline__key="new_business").order_by("order")
    assert [stage.key for stage in stages] == list(DEFAULT_PIPELINES["new_business"].stage_keys())
    assert stages[0].name == "Inbound lead"
    assert list(Stage.objects.filter(is_trial=True).values_list("key", flat=True)) == ["demo_trial"]
    renewal = Stage.objects.filter(pipeline__key="renewal").order_by("order")
    assert [stage.days_before_renewal for stage in renewal] == [90, 60, 30, 0, None]


def test_a_move_missing_required_fields_is_refused_naming_them(people: People) -> None:
    deal = negotiating_deal(people)
    changes = DealStageChange.objects.count()
    with pytest.raises(StageMoveRefused) as refused:
        move_deal(deal, "won", people.sales, {"plan": "Professional"})
    assert refused.value.missing == ["contract_months"]
    assert "Contract term (months)" in str(refused.value)
    deal.refresh_from_db()
    assert (deal.stage.key, deal.status, deal.plan) == ("final_negotiation", DealStatus.OPEN, "")
    assert DealStageChange.objects.count() == changes
    assert not Subscription.objects.exists()


def test_unreadable_values_are_all_reported(people: People) -> None:
    deal = negotiating_deal(people)
    with pytest.raises(InvalidDealValues) as invalid:
        move_deal(deal, "won", people.sales, {"contract_months": "twelve", "amount_mrr": "-5"})
    assert set(invalid.value.errors) == {"contract_months", "amount_mrr"}


def test_a_won_new_deal_creates_the_subscription_and_twelve_scheduled_months(
    people: People,
) -> None:
    deal = negotiating_deal(people)
    win_deal(deal, people.sales, WON_VALUES, at=aware(2024, 3, 28))

    deal.refresh_from_db()
    assert (deal.status, deal.stage.key, deal.closed_on) == ("won", "won", date(2024, 3, 28))
    subscription = Subscription.objects.get(account=people.hikari)
    assert (subscription.started_on, subscription.term_months, subscription.currency) == (
        date(2024, 4, 1),
        12,
        "JPY",
    )
    item = SubscriptionItem.objects.get(subscription=subscription)
    assert (item.unit_price, item.quantity, item.interval, item.start_date, item.end_date) == (
        Decimal(120000),
        Decimal(1),
        Interval.MONTH,
        date(2024, 4, 1),
        None,
    )
    records = list(BillingRecord.objects.filter(subscription=subscription).order_by("target_month"))
    assert [r.target_month for r in records] == [
        date(2024 + (3 + m) // 12, (3 + m) % 12 + 1, 1) for m in range(12)
    ]
    assert records[-1].target_month == date(2025, 3, 1)
    assert {r.amount for r in records} == {Decimal(120000)}
    assert {r.status for r in records} == {BillingStatus.SCHEDULED}
    assert [r.mrr_category for r in records] == [MrrCategory.NEW] + [MrrCategory.RECURRING] * 11
    assert {r.plan for r in records} == {"Professional"}

    account = deal.account
    account.refresh_from_db()
    assert (account.status, account.contract_start, account.renewal_date, account.plan) == (
        AccountStatus.CUSTOMER,
        date(2024, 4, 1),
        date(2025, 4, 1),
        "Professional",
    )
    change = LifecycleStageChange.objects.get(account=account)
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        "",
        LifecycleStage.ONBOARDING,
        people.sales,
    )
    assert account.lifecycle_stage == LifecycleStage.ONBOARDING


def test_a_won_new_deal_opens_the_handoff_and_the_onboarding_checklist(people: People) -> None:
    deal = negotiating_deal(people)
    win_deal(deal, people.sales, WON_VALUES, at=aware(2024, 3, 28))

    handoff = HandoffRecord.objects.get(deal=deal)
    assert handoff.account == people.hikari
    assert handoff.contract_background == "Plan Professional, MRR 120,000 JPY, 12-month term."
    assert handoff.completed_at is None
    task = Task.objects.get(dedupe_key=f"handoff:{handoff.pk}")
    # Five business days after Thursday 28 March 2024 (no holidays in between).
    assert (task.assignee, task.due_on, task.status) == (people.sales, date(2024, 4, 4), "open")

    with pytest.raises(ActionError, match="background and challenge"):
        complete_handoff(handoff, people.sales, {"key_persons": "Tanaka (CIO)"})
    complete_handoff(
        handoff,
        people.sales,
        {
            "background": "Spreadsheets",
            "success_definition": "Close in 3 days",
            "key_persons": "Tanaka (CIO)",
        },
    )
    handoff.refresh_from_db()
    task.refresh_from_db()
    assert handoff.completed_at is not None and task.status == "done"

    items = list(OnboardingItem.objects.filter(account=people.hikari).order_by("order"))
    assert len(items) == 7
    assert [item.title for item in items if item.is_first_value] == [
        "First success milestone reached"
    ]
    assert items[0].due_on == date(2024, 4, 8) and items[-1].due_on == date(2024, 6, 30)


def test_a_lost_deal_needs_its_reason(people: People) -> None:
    deal = negotiating_deal(people)
    with pytest.raises(StageMoveRefused) as refused:
        lose_deal(deal, people.sales, "  ")
    assert refused.value.missing == ["lost_reason"]
    with pytest.raises(InvalidDealValues):
        lose_deal(deal, people.sales, "too expensive")
    lose_deal(deal, people.sales, "price", "Chose to wait a year", at=aware(2024, 3, 20))
    deal.refresh_from_db()
    assert (deal.status, deal.stage.key, deal.lost_reason, deal.closed_on) == (
        "lost",
        "lost",
        "price",
        date(2024, 3, 20),
    )
    assert deal.details["reason_detail"] == "Chose to wait a year"
    assert not Subscription.objects.exists()


def test_a_closed_deal_is_not_moved_again(people: People) -> None:
    deal = negotiating_deal(people)
    win_deal(deal, people.sales, WON_VALUES, at=aware(2024, 3, 28))
    with pytest.raises(ActionError, match="closed"):
        move_deal(deal, "proposal", people.sales)
    assert Subscription.objects.count() == 1


def test_every_stage_change_is_recorded_with_who_and_when(people: People) -> None:
    deal = negotiating_deal(people)
    win_deal(deal, people.sales, WON_VALUES, at=aware(2024, 3, 28))
    changes = list(
        DealStageChange.objects.filter(deal=deal).values_list(
            "from_stage__key", "to_stage__key", "changed_by__username", "changed_at"
        )
    )
    assert changes == [
        (None, "final_negotiation", "sato", aware(2024, 3, 1)),
        ("final_negotiation", "won", "sato", aware(2024, 3, 28)),
    ]


def test_a_returning_customer_starts_with_a_reactivation(people: People) -> None:
    first = negotiating_deal(people)
    win_deal(first, people.sales, WON_VALUES, at=aware(2024, 3, 28))
    Subscription.objects.update(ended_on=date(2024, 6, 1), status="canceled")
    again = negotiating_deal(people, Decimal(80000))
    win_deal(
        again,
        people.sales,
        {"plan": "Starter", "contract_months": "12", "effective_date": "2025-01-01"},
        at=aware(2024, 12, 20),
    )
    latest = Subscription.objects.get(started_on=date(2025, 1, 1))
    first_month = BillingRecord.objects.get(subscription=latest, target_month=date(2025, 1, 1))
    assert (first_month.mrr_category, first_month.amount) == (
        MrrCategory.REACTIVATION,
        Decimal(80000),
    )
    assert Deal.objects.filter(status="won").count() == 2
