"""A small hand-made store for the health recompute: accounts, subscriptions and behaviour."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from django.utils import timezone

from kizuna.billing.models import (
    Interval,
    Plan,
    Product,
    ProductKind,
    Subscription,
    SubscriptionItem,
)
from kizuna.crm.models import Account, Contact
from kizuna.usage.models import NpsResponse, Ticket, UsageDaily

T = date(2024, 6, 30)
"""The as-of date of the store tests."""


def account(name: str, employees: int | None = None) -> Account:
    return Account.objects.create(
        name=name, employees=employees, created_at=timezone.make_aware(datetime(2023, 1, 1))
    )


def subscribe(
    customer: Account,
    price: str,
    start: date,
    *,
    seats: int = 1,
    interval: str = Interval.MONTH,
    product: str = "core",
) -> SubscriptionItem:
    item_product, _ = Product.objects.get_or_create(
        code=product, defaults={"name": product.title(), "kind": ProductKind.PLAN}
    )
    plan, _ = Plan.objects.get_or_create(
        code=f"{product}-{interval}",
        defaults={"product": item_product, "name": "Professional", "interval": interval},
    )
    subscription = Subscription.objects.create(account=customer, started_on=start)
    return SubscriptionItem.objects.create(
        subscription=subscription,
        product=item_product,
        plan=plan,
        quantity=Decimal(seats),
        unit_price=Decimal(price),
        interval=interval,
        start_date=start,
    )


def used(customer: Account, day: date, *, active_users_30d: int | None = None) -> None:
    UsageDaily.objects.create(
        account=customer,
        date=day,
        logins=3,
        active_users=2,
        active_users_30d=active_users_30d,
    )


def nps(customer: Account, day: date, *scores: int) -> None:
    for index, score in enumerate(scores):
        contact = Contact.objects.create(account=customer, name=f"{customer.name} {index}")
        NpsResponse.objects.create(account=customer, contact=contact, responded_on=day, score=score)


def ticket(customer: Account, day: date, kind: str, severity: str = "normal") -> None:
    Ticket.objects.create(
        account=customer,
        opened_at=timezone.make_aware(datetime.combine(day, time(12))),
        type=kind,
        severity=severity,
    )
