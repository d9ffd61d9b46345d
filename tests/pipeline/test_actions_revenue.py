"""Won deals through the revenue engine: upsell mid-month, renewal deals, renew and churn.

Hikari starts on 1 January 2024 at 100,000 yen a month for a 12-month term, so the term ends
on 1 January 2025 (exclusive) and its renewal deal is due 90 days before: 3 October 2024.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from pipeline_people import People, aware, negotiating_deal

from kizuna.billing.models import (
    BillingRecord,
    CustomerMrr,
    MrrCategory,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from kizuna.crm.actions import ActionError
from kizuna.crm.models import Account, ChurnRecord
from kizuna.pipeline.actions import create_deal, lose_deal, win_deal
from kizuna.pipeline.models import Deal, DealStageChange
from kizuna.pipeline.renewals import create_renewal_deals
from kizuna.pipeline.revenue_effects import current_term_end
from kizuna.pipeline.stage_rules import StageMoveRefused
from kizuna.sources.recompute import run_subject

pytestmark = pytest.mark.django_db


def _customer(people: People) -> Subscription:
    deal = negotiating_deal(people, Decimal(100000))
    win_deal(
        deal,
        people.sales,
        {"plan": "Professional", "contract_months": "12", "effective_date": "2024-01-01"},
        at=aware(2023, 12, 20),
    )
    return Subscription.objects.get(account=people.hikari)


def _mrr_by_month(account: Account) -> dict[str, tuple[Decimal, str, Decimal]]:
    return {
        f"{row.month:%Y-%m}": (row.mrr, row.movement, row.delta)
        for row in CustomerMrr.objects.filter(account=account).order_by("month")
    }


def test_an_upsell_effective_mid_month_is_an_expansion_in_that_month(people: People) -> None:
    subscription = _customer(people)
    upsell = create_deal(
        account=people.hikari,
        pipeline="upsell",
        stage="negotiation_approval",
        title="Hikari: 10 more seats",
        close_date=date(2024, 3, 15),
        owner=people.sales,
        amount_mrr=Decimal(20000),
        values={"approval_status": "approved"},
        at=aware(2024, 3, 1),
    )
    with pytest.raises(StageMoveRefused) as refused:
        win_deal(upsell, people.sales)
    assert refused.value.missing == ["effective_date"]
    win_deal(upsell, people.sales, {"effective_date": "2024-03-15"}, at=aware(2024, 3, 12))

    items = list(
        SubscriptionItem.objects.filter(subscription=subscription)
        .order_by("start_date")
        .values_list("unit_price", "start_date", "end_date")
    )
    assert items == [
        (Decimal(100000), date(2024, 1, 1), date(2024, 3, 15)),
        (Decimal(120000), date(2024, 3, 15), None),
    ]
    billing = dict(
        BillingRecord.objects.filter(subscription=subscription).values_list(
            "target_month", "mrr_category"
        )
    )
    amounts = dict(
        BillingRecord.objects.filter(subscription=subscription).values_list(
            "target_month", "amount"
        )
    )
    assert (amounts[date(2024, 2, 1)], billing[date(2024, 2, 1)]) == (
        Decimal(100000),
        MrrCategory.RECURRING,
    )
    assert (amounts[date(2024, 3, 1)], billing[date(2024, 3, 1)]) == (
        Decimal(120000),
        MrrCategory.EXPANSION,
    )
    assert (amounts[date(2024, 12, 1)], billing[date(2024, 12, 1)]) == (
        Decimal(120000),
        MrrCategory.RECURRING,
    )

    run_subject("revenue", date(2024, 4, 30))
    months = _mrr_by_month(people.hikari)
    assert months["2024-01"] == (Decimal(100000), "new", Decimal(100000))
    assert months["2024-02"][:2] == (Decimal(100000), "none")
    assert months["2024-03"] == (Decimal(120000), "expansion", Decimal(20000))


def test_a_cross_sell_adds_an_item_for_the_new_product(people: People) -> None:
    subscription = _customer(people)
    deal = create_deal(
        account=people.hikari,
        pipeline="upsell",
        title="Hikari: analytics",
        close_date=date(2024, 5, 1),
        amount_mrr=Decimal(30000),
        at=aware(2024, 4, 1),
    )
    deal.product = "analytics"
    deal.save()
    win_deal(
        deal,
        people.sales,
        {"approval_status": "ok", "effective_date": "2024-05-01"},
        at=aware(2024, 4, 25),
    )
    rows = list(
        SubscriptionItem.objects.filter(subscription=subscription)
        .order_by("pk")
        .values_list("product__code", "unit_price", "start_date", "end_date")
    )
    assert rows[1:] == [("analytics", Decimal(30000), date(2024, 5, 1), None)]
    assert rows[0][3] is None
    may = BillingRecord.objects.get(subscription=subscription, target_month=date(2024, 5, 1))
    assert (may.amount, may.mrr_category) == (Decimal(130000), MrrCategory.EXPANSION)


def test_an_upsell_without_a_subscription_is_refused(people: People) -> None:
    deal = create_deal(
        account=people.hikari,
        pipeline="upsell",
        title="Hikari: more seats",
        close_date=date(2024, 5, 1),
        amount_mrr=Decimal(30000),
        at=aware(2024, 4, 1),
    )
    with pytest.raises(ActionError, match="no subscription"):
        win_deal(deal, people.sales, {"approval_status": "ok", "effective_date": "2024-05-01"})
    deal.refresh_from_db()
    assert deal.status == "open"


def test_the_renewal_deal_is_created_once_90_days_before_the_term_end(people: People) -> None:
    _customer(people)
    assert create_renewal_deals(date(2024, 10, 2)).created == []
    first = create_renewal_deals(date(2024, 10, 3))
    second = create_renewal_deals(date(2024, 10, 3))
    assert len(first.created) == 1 and second.created == []
    deal = Deal.objects.get(pipeline__key="renewal")
    assert (
        deal.account,
        deal.renewal_of_term_end,
        deal.close_date,
        deal.created_on,
        deal.stage.key,
        deal.amount_mrr,
        deal.contract_months,
        deal.plan,
        deal.owner,
    ) == (
        people.hikari,
        date(2025, 1, 1),
        date(2025, 1, 1),
        date(2024, 10, 3),
        "renewal_prep",
        Decimal(100000),
        12,
        "Professional",
        people.csm,
    )
    # A later run in the window still finds the one deal of this term.
    assert create_renewal_deals(date(2024, 10, 20)).created == []
    assert Deal.objects.filter(pipeline__key="renewal").count() == 1


def test_the_store_allows_one_renewal_deal_per_term(people: People) -> None:
    _customer(people)
    create_renewal_deals(date(2024, 10, 3))
    with pytest.raises(IntegrityError), transaction.atomic():
        create_deal(
            account=people.hikari,
            pipeline="renewal",
            title="Duplicate",
            close_date=date(2025, 1, 1),
            renewal_of_term_end=date(2025, 1, 1),
        )
    assert Deal.objects.filter(pipeline__key="renewal").count() == 1


def test_renewal_deals_move_through_the_60_and_30_day_stages(people: People) -> None:
    _customer(people)
    create_renewal_deals(date(2024, 10, 3))
    assert create_renewal_deals(date(2024, 11, 1)).moved == []
    moved = create_renewal_deals(date(2024, 11, 2)).moved
    assert [deal.stage.key for deal in moved] == ["renewal_proposal"]
    assert [deal.stage.key for deal in create_renewal_deals(date(2024, 12, 2)).moved] == [
        "negotiation"
    ]
    assert create_renewal_deals(date(2024, 12, 20)).moved == []
    history = list(
        DealStageChange.objects.filter(deal__pipeline__key="renewal")
        .order_by("pk")
        .values_list("to_stage__key", "changed_by")
    )
    assert history == [
        ("renewal_prep", None),
        ("renewal_proposal", None),
        ("negotiation", None),
    ]


def test_a_late_first_run_creates_the_deal_in_the_stage_the_calendar_reached(
    people: People,
) -> None:
    _customer(people)
    run = create_renewal_deals(date(2024, 12, 10))
    assert len(run.created) == 1
    deal = Deal.objects.get(pipeline__key="renewal")
    assert deal.stage.key == "negotiation"


def test_monthly_contracts_get_no_renewal_deal(people: People) -> None:
    deal = negotiating_deal(people, Decimal(50000))
    win_deal(
        deal,
        people.sales,
        {"plan": "Starter", "contract_months": "1", "effective_date": "2024-01-01"},
        at=aware(2023, 12, 20),
    )
    assert create_renewal_deals(date(2024, 10, 3)).created == []


def test_renewing_at_a_higher_price_starts_the_next_term(people: People) -> None:
    subscription = _customer(people)
    create_renewal_deals(date(2024, 10, 3))
    deal = Deal.objects.get(pipeline__key="renewal")
    win_deal(
        deal,
        people.csm,
        {"amount_mrr": "110000", "contract_months": "12"},
        at=aware(2024, 12, 10),
    )
    items = list(
        SubscriptionItem.objects.filter(subscription=subscription)
        .order_by("start_date")
        .values_list("unit_price", "start_date", "end_date")
    )
    assert items == [
        (Decimal(100000), date(2024, 1, 1), date(2025, 1, 1)),
        (Decimal(110000), date(2025, 1, 1), None),
    ]
    records = BillingRecord.objects.filter(subscription=subscription, target_month__year=2025)
    assert records.count() == 12
    assert {record.amount for record in records} == {Decimal(110000)}
    assert records.get(target_month=date(2025, 1, 1)).mrr_category == MrrCategory.EXPANSION
    people.hikari.refresh_from_db()
    assert people.hikari.renewal_date == date(2026, 1, 1)
    subscription.refresh_from_db()
    assert current_term_end(subscription, date(2025, 6, 1)) == date(2025, 1, 1).replace(year=2026)
    # The next term's renewal deal comes 90 days before 1 January 2026, once.
    assert create_renewal_deals(date(2025, 10, 3)).created[0].renewal_of_term_end == date(
        2026, 1, 1
    )

    run_subject("revenue", date(2025, 2, 28))
    months = _mrr_by_month(people.hikari)
    assert months["2025-01"] == (Decimal(110000), "expansion", Decimal(10000))


def test_churning_on_renewal_ends_the_subscription_at_the_term_end(people: People) -> None:
    subscription = _customer(people)
    create_renewal_deals(date(2024, 10, 3))
    deal = Deal.objects.get(pipeline__key="renewal")
    with pytest.raises(StageMoveRefused) as refused:
        lose_deal(deal, people.csm, "")
    assert refused.value.missing == ["churn_reason"]
    lose_deal(deal, people.csm, "cost", "Budget cut after the merger", at=aware(2024, 11, 20))

    subscription.refresh_from_db()
    assert (subscription.ended_on, subscription.canceled_at, subscription.status) == (
        date(2025, 1, 1),
        date(2024, 11, 20),
        SubscriptionStatus.ACTIVE,
    )
    assert list(SubscriptionItem.objects.values_list("end_date", flat=True)) == [date(2025, 1, 1)]
    churn = ChurnRecord.objects.get(account=people.hikari)
    assert (churn.churned_on, churn.reason, churn.detail, churn.recorded_by) == (
        date(2025, 1, 1),
        "cost",
        "Budget cut after the merger",
        people.csm,
    )
    assert not BillingRecord.objects.filter(target_month__gte=date(2025, 1, 1)).exists()
    assert BillingRecord.objects.filter(subscription=subscription).count() == 12
    # No renewal deal for a term that will not be renewed.
    assert create_renewal_deals(date(2025, 10, 3)).created == []

    run_subject("revenue", date(2025, 2, 28))
    months = _mrr_by_month(people.hikari)
    assert months["2024-12"][:2] == (Decimal(100000), "none")
    assert months["2025-01"] == (Decimal(0), "churned", Decimal(-100000))


def test_the_daily_command_opens_renewals_and_moves_lifecycle_stages(people: People) -> None:
    from io import StringIO

    from django.core.management import call_command

    _customer(people)
    out = StringIO()
    call_command("renewals", "--as-of", "2024-10-03", stdout=out)
    assert out.getvalue() == (
        "1 renewal deals opened, 0 moved, 0 waiting for fields; 1 lifecycle stage changes.\n"
    )
    people.hikari.refresh_from_db()
    assert people.hikari.lifecycle_stage == "renewal"
