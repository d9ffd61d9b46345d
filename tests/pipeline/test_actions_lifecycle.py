"""Lifecycle stages by hand and by rule, onboarding progress and Time-to-Value, QBRs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pipeline_people import People, aware, negotiating_deal

from kizuna.crm.actions import ActionError
from kizuna.crm.models import Account, LifecycleStage, LifecycleStageChange, OnboardingItem, Task
from kizuna.pipeline.actions import win_deal
from kizuna.pipeline.lifecycle import (
    ExpansionNeed,
    QbrAction,
    advance_lifecycle,
    complete_onboarding_item,
    onboarding_progress,
    onboarding_summary,
    record_qbr,
    set_lifecycle_stage,
)
from kizuna.pipeline.models import DealStageChange

pytestmark = pytest.mark.django_db


def _won_customer(people: People) -> Account:
    deal = negotiating_deal(people, Decimal(100000))
    win_deal(
        deal,
        people.sales,
        {"plan": "Professional", "contract_months": "12", "effective_date": "2024-01-01"},
        at=aware(2023, 12, 20),
    )
    return Account.objects.get(pk=people.hikari.pk)


def _history(account: Account) -> list[tuple[str, str]]:
    return list(
        LifecycleStageChange.objects.filter(account=account)
        .order_by("changed_at", "pk")
        .values_list("from_stage", "to_stage")
    )


def test_setting_a_stage_by_hand_keeps_who_when_and_why(people: People) -> None:
    change = set_lifecycle_stage(
        people.hikari, LifecycleStage.ADVOCACY, people.csm, "Case study published"
    )
    assert change is not None
    assert (change.from_stage, change.to_stage, change.changed_by, change.reason) == (
        "",
        "advocacy",
        people.csm,
        "Case study published",
    )
    assert set_lifecycle_stage(people.hikari, LifecycleStage.ADVOCACY, people.csm) is None
    with pytest.raises(ActionError):
        set_lifecycle_stage(people.hikari, "champion", people.csm)
    people.hikari.refresh_from_db()
    assert people.hikari.lifecycle_stage == "advocacy"


def test_the_rules_move_a_customer_through_its_first_year_and_renewal(people: People) -> None:
    account = _won_customer(people)
    assert advance_lifecycle(date(2024, 3, 31)) == []
    assert [c.to_stage for c in advance_lifecycle(date(2024, 4, 1))] == ["adoption"]
    assert advance_lifecycle(date(2024, 6, 30)) == []
    assert [c.to_stage for c in advance_lifecycle(date(2024, 7, 1))] == ["maturity"]
    assert advance_lifecycle(date(2024, 10, 2)) == []
    assert [c.to_stage for c in advance_lifecycle(date(2024, 10, 3))] == ["renewal"]
    # Renewed: the renewal date moves a year on, and the account is back in maturity.
    Account.objects.filter(pk=account.pk).update(renewal_date=date(2026, 1, 1))
    assert [c.to_stage for c in advance_lifecycle(date(2025, 1, 5))] == ["maturity"]
    assert _history(account) == [
        ("", "onboarding"),
        ("onboarding", "adoption"),
        ("adoption", "maturity"),
        ("maturity", "renewal"),
        ("renewal", "maturity"),
    ]
    rule_change = LifecycleStageChange.objects.filter(account=account).last()
    assert rule_change is not None and rule_change.changed_by is None
    assert rule_change.reason == "Lifecycle rule as of 2025-01-05"


def test_the_rules_keep_a_stage_set_by_hand(people: People) -> None:
    account = _won_customer(people)
    set_lifecycle_stage(account, LifecycleStage.MATURITY, people.csm, "Fast adopter")
    assert advance_lifecycle(date(2024, 4, 1)) == []
    set_lifecycle_stage(account, LifecycleStage.ADVOCACY, people.csm, "Reference customer")
    assert advance_lifecycle(date(2024, 10, 3)) == []
    account.refresh_from_db()
    assert account.lifecycle_stage == "advocacy"


def test_onboarding_completion_and_time_to_value(people: People) -> None:
    account = _won_customer(people)
    items = list(OnboardingItem.objects.filter(account=account).order_by("order"))
    complete_onboarding_item(items[0], date(2024, 1, 8))
    progress = onboarding_progress(account, date(2024, 2, 1))
    assert (progress.total, progress.done, progress.overdue) == (7, 1, 3)
    assert progress.completion_rate == Decimal(1) / Decimal(7)
    assert progress.time_to_value_days is None
    first_value = next(item for item in items if item.is_first_value)
    complete_onboarding_item(first_value, date(2024, 2, 9))
    assert onboarding_progress(account, date(2024, 2, 10)).time_to_value_days == 39
    summary = onboarding_summary(Account.objects.all(), date(2024, 2, 10))
    assert (summary.accounts, summary.reached_value, summary.median_time_to_value_days) == (
        1,
        1,
        39,
    )
    assert summary.completion_rate == Decimal(2) / Decimal(7)


def test_a_qbr_turns_next_actions_into_tasks_and_expansion_into_a_deal(people: People) -> None:
    account = _won_customer(people)
    outcome = record_qbr(
        account=account,
        held_on=date(2024, 8, 20),
        user=people.csm,
        outcomes="Cycle time down 30 %",
        issues="Reports are slow",
        actions=[
            QbrAction("Train the finance team", due_on=date(2024, 9, 15)),
            QbrAction("Review report performance", assignee=people.sales),
        ],
        expansion=ExpansionNeed("Analytics for finance", Decimal(30000), product="analytics"),
    )
    assert outcome.qbr.quarter == "2024-Q3"
    assert outcome.qbr.next_actions == "Train the finance team\nReview report performance"
    tasks = list(Task.objects.filter(kind="qbr_action").order_by("pk"))
    assert [(t.title, t.assignee, t.due_on) for t in tasks] == [
        ("Train the finance team", people.csm, date(2024, 9, 15)),
        ("Review report performance", people.sales, None),
    ]
    deal = outcome.deal
    assert deal is not None
    assert (
        deal.pipeline.key,
        deal.stage.key,
        deal.amount_mrr,
        deal.product,
        deal.source,
        deal.owner,
        deal.close_date,
    ) == (
        "upsell",
        "opportunity_detected",
        Decimal(30000),
        "analytics",
        "qbr",
        people.sales,
        date(2024, 11, 20),
    )
    assert DealStageChange.objects.filter(deal=deal, changed_by=people.csm).count() == 1
    with pytest.raises(ActionError, match="already has a QBR"):
        record_qbr(account=account, held_on=date(2024, 9, 1), user=people.csm)
