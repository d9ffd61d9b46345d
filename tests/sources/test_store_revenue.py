"""The revenue recompute over the store fills the result tables with exact figures."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from kizuna.billing.models import (
    CohortCell,
    CustomerMrr,
    Interval,
    PeriodKind,
    Product,
    ProductKind,
    ProductMrr,
    RevenueKpi,
    Subscription,
    SubscriptionItem,
)
from kizuna.crm.models import Account
from kizuna.sources.models import ComputeRun, RunStatus
from kizuna.sources.recompute import run_subject


def subscribe(
    account: Account,
    product: Product,
    price: str,
    start: date,
    end: date | None = None,
    interval: str = Interval.MONTH,
    quantity: str = "1",
) -> None:
    subscription = Subscription.objects.create(account=account, started_on=start)
    SubscriptionItem.objects.create(
        subscription=subscription,
        product=product,
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        interval=interval,
        start_date=start,
        end_date=end,
    )


@pytest.mark.django_db
def test_recompute_writes_movements_kpis_and_cohorts() -> None:
    core = Product.objects.create(code="core", name="Core", kind=ProductKind.PLAN)
    addon = Product.objects.create(code="api", name="API add-on", kind=ProductKind.ADDON)
    now = timezone.now()
    a = Account.objects.create(name="A", created_at=now)
    b = Account.objects.create(name="B", created_at=now)
    # A: 10,000/month from January; API add-on 2,000/month from February.
    subscribe(a, core, "10000", date(2024, 1, 1))
    subscribe(a, addon, "2000", date(2024, 2, 1))
    # B: annual 120,000 (10,000/month) from January, cancelled from 1 March.
    subscribe(b, core, "120000", date(2024, 1, 1), end=date(2024, 3, 1), interval=Interval.YEAR)

    run = run_subject("revenue", date(2024, 3, 31))

    assert run.status == RunStatus.DONE
    assert ComputeRun.objects.get().rows_written == run.rows_written > 0
    movements = {
        (row.account_id, row.month): (row.mrr, row.movement, row.delta)
        for row in CustomerMrr.objects.all()
    }
    assert movements[(a.pk, date(2024, 1, 1))] == (Decimal(10000), "new", Decimal(10000))
    assert movements[(a.pk, date(2024, 2, 1))] == (Decimal(12000), "expansion", Decimal(2000))
    assert movements[(b.pk, date(2024, 1, 1))] == (Decimal(10000), "new", Decimal(10000))
    assert movements[(b.pk, date(2024, 3, 1))] == (Decimal(0), "churned", Decimal(-10000))
    march = RevenueKpi.objects.get(period_kind=PeriodKind.MONTH, period_start=date(2024, 3, 1))
    assert Decimal(march.values["mrr"]) == 12000
    assert Decimal(march.values["churned_mrr"]) == 10000
    assert march.values["customers"] == 1
    assert march.values["logo_churn_rate"] == 0.5
    api = ProductMrr.objects.get(account=a, product="api", month=date(2024, 2, 1))
    assert (api.mrr, api.movement) == (Decimal(2000), "new")
    january_cohort = CohortCell.objects.get(cohort=date(2024, 1, 1), months_since=2)
    assert january_cohort.customers == 1
    assert january_cohort.logo_retention == Decimal("0.5")


@pytest.mark.django_db
def test_recompute_replaces_previous_results() -> None:
    core = Product.objects.create(code="core", name="Core", kind=ProductKind.PLAN)
    account = Account.objects.create(name="A", created_at=timezone.now())
    subscribe(account, core, "5000", date(2024, 1, 1), end=date(2024, 3, 1))
    run_subject("revenue", date(2024, 3, 31))
    first = CustomerMrr.objects.count()
    run_subject("revenue", date(2024, 3, 31))
    assert CustomerMrr.objects.count() == first == 3
