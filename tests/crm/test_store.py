"""The store keeps money exact and enforces the uniqueness rules, on SQLite and PostgreSQL."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from kizuna.billing.models import Product, ProductKind, Subscription, SubscriptionItem
from kizuna.crm.models import Account, Task


@pytest.mark.django_db
def test_money_round_trips_exactly() -> None:
    account = Account.objects.create(name="株式会社テスト", created_at=timezone.now())
    product = Product.objects.create(code="core", name="Core", kind=ProductKind.PLAN)
    subscription = Subscription.objects.create(
        account=account, currency="USD", started_on=date(2024, 1, 1)
    )
    SubscriptionItem.objects.create(
        subscription=subscription,
        product=product,
        quantity=Decimal("3"),
        unit_price=Decimal("0.100001"),
        currency="USD",
        start_date=date(2024, 1, 1),
    )
    item = SubscriptionItem.objects.get()
    assert item.unit_price == Decimal("0.100001")
    assert item.quantity * item.unit_price == Decimal("0.300003")
    print(f"store vendor: {connection.vendor}")


@pytest.mark.django_db
def test_a_dedupe_key_allows_one_task_only() -> None:
    Task.objects.create(title="Call", dedupe_key="w1:acct-1:2024-05")
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(title="Call again", dedupe_key="w1:acct-1:2024-05")
    Task.objects.create(title="No key 1")
    Task.objects.create(title="No key 2")
    assert Task.objects.count() == 3
