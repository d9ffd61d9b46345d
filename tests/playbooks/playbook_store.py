"""Builders of a tiny company in the store for the playbook tests.

One CS team (lead Lena, CSMs Aiko and Ben), one sales rep (Sato); accounts with a monthly
subscription (so signals watch them) and whatever usage, NPS or churn a test needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.utils import timezone, translation

from kizuna.billing.models import Interval, Product, ProductKind, Subscription, SubscriptionItem
from kizuna.crm.models import Account, AccountStatus, Profile, Role, Team
from kizuna.playbooks.defaults import install_defaults
from kizuna.playbooks.models import Rule
from kizuna.usage.models import UsageDaily

TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass
class People:
    lead: User
    aiko: User
    ben: User
    sato: User
    boss: User


def make_people() -> People:
    def user(name: str, role: str, team: Team | None) -> User:
        person = User.objects.create_user(name, email=f"{name}@example.com", password="x")
        Profile.objects.create(user=person, role=role, team=team)
        return person

    team = Team.objects.create(name="CS")
    lead = user("lena", Role.CS_MANAGER, team)
    team.lead = lead
    team.save()
    return People(
        lead=lead,
        aiko=user("aiko", Role.CSM, team),
        ben=user("ben", Role.CSM, team),
        sato=user("sato", Role.SALES, None),
        boss=user("boss", Role.EXECUTIVE, None),
    )


def product(code: str = "core") -> Product:
    found, _ = Product.objects.get_or_create(
        code=code, defaults={"name": code.title(), "kind": ProductKind.PLAN}
    )
    return found


def make_account(
    name: str,
    cs_owner: User | None,
    *,
    owner: User | None = None,
    start: date = date(2023, 10, 1),
    interval: str = Interval.MONTH,
    price: str = "50000",
    product_code: str = "core",
    status: str = AccountStatus.CUSTOMER,
) -> Account:
    account = Account.objects.create(
        name=name,
        cs_owner=cs_owner,
        owner=owner,
        status=status,
        created_at=timezone.make_aware(datetime(2023, 9, 1)),
    )
    subscription = Subscription.objects.create(account=account, started_on=start)
    SubscriptionItem.objects.create(
        subscription=subscription,
        product=product(product_code),
        quantity=Decimal(1),
        unit_price=Decimal(price),
        interval=interval,
        start_date=start,
    )
    return account


def usage(account: Account, first: date, last: date, active_users: int, logins: int = 5) -> None:
    day = first
    rows = []
    while day <= last:
        rows.append(UsageDaily(account=account, date=day, logins=logins, active_users=active_users))
        day += timedelta(days=1)
    UsageDaily.objects.bulk_create(rows)


def usage_drop(account: Account, as_of: date, before: int = 10, after: int = 6) -> None:
    """Active users ``before`` a day in the previous 30-day window, ``after`` in the current."""
    usage(account, as_of - timedelta(days=59), as_of - timedelta(days=30), before)
    usage(account, as_of - timedelta(days=29), as_of, after)


def only_rules(*keys: str) -> None:
    """Install the shipped rules and keep only ``keys`` enabled."""
    install_defaults()
    Rule.objects.exclude(key__in=keys).update(enabled=False)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOKYO)


@pytest.fixture(autouse=True)
def in_english(settings: Any) -> Iterator[None]:
    """Rules, tasks and pages in English, whatever the store's default language."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
