"""Users, accounts and tokens for the API tests: two CSMs with their own book, one executive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from kizuna.api.tokens import create_token
from kizuna.billing.models import Invoice, Product, ProductKind, Subscription, SubscriptionItem
from kizuna.crm.models import Account, Contact, Profile, Role
from kizuna.pipeline.actions import install_default_pipelines


@dataclass(frozen=True)
class World:
    executive_token: str
    csm_a_token: str
    csm_b_token: str
    account_a: Account
    account_b: Account


def make_world() -> World:
    tokens: dict[str, str] = {}
    users: dict[str, User] = {}
    for name, role in (("exec", Role.EXECUTIVE), ("csm_a", Role.CSM), ("csm_b", Role.CSM)):
        user = User.objects.create_user(name)
        Profile.objects.create(user=user, role=role)
        users[name] = user
        tokens[name] = create_token(user, "tests")[1]
    created = timezone.make_aware(datetime(2024, 1, 1))
    account_a = Account.objects.create(
        external_id="A", name="Alpha", cs_owner=users["csm_a"], created_at=created
    )
    account_b = Account.objects.create(
        external_id="B", name="Beta", cs_owner=users["csm_b"], created_at=created
    )
    Contact.objects.create(account=account_a, name="Ann", external_id="PA")
    product = Product.objects.create(code="core", name="Core", kind=ProductKind.PLAN)
    subscription = Subscription.objects.create(
        account=account_a, currency="USD", started_on=date(2024, 1, 1), external_id="SA"
    )
    SubscriptionItem.objects.create(
        subscription=subscription,
        product=product,
        quantity=Decimal("3"),
        unit_price=Decimal("49.9"),
        currency="USD",
        start_date=date(2024, 1, 1),
    )
    Invoice.objects.create(
        account=account_a,
        issued_on=date(2024, 2, 1),
        amount=Decimal("149.7"),
        currency="USD",
        status="paid",
    )
    install_default_pipelines()
    return World(tokens["exec"], tokens["csm_a"], tokens["csm_b"], account_a, account_b)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": "en"}
