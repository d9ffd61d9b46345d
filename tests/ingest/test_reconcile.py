"""Reconciliation (SPEC R8) on a store with hand-made disagreements between billing and CRM."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from kizuna.billing.models import (
    FxRate,
    Invoice,
    Plan,
    Product,
    Subscription,
    SubscriptionItem,
)
from kizuna.crm.models import Account, Profile, Role
from kizuna.ingest.reconcile import committed_term_end, reconcile
from kizuna.sources.recompute import run_subject

AS_OF = date(2025, 3, 31)


def account(name: str, plan: str, renewal: date | None, **extra: object) -> Account:
    return Account.objects.create(
        external_id=name.split()[0].upper(),
        name=name,
        plan=plan,
        renewal_date=renewal,
        status="customer",
        created_at=timezone.make_aware(datetime(2024, 1, 1)),
        **extra,
    )


def subscribe(
    owner: Account,
    plan: Plan,
    start: date,
    *,
    term: int,
    price: str,
    quantity: int = 1,
    interval: str = "month",
) -> Subscription:
    subscription = Subscription.objects.create(
        external_id=f"{owner.external_id}-S",
        account=owner,
        currency=plan.currency,
        started_on=start,
        term_months=term,
    )
    SubscriptionItem.objects.create(
        subscription=subscription,
        product=plan.product,
        plan=plan,
        quantity=quantity,
        unit_price=Decimal(price),
        currency=plan.currency,
        interval=interval,
        start_date=start,
    )
    return subscription


def paid(subscription: Subscription, day: date, amount: str) -> None:
    Invoice.objects.create(
        external_id=f"{subscription.external_id}-{day}",
        account=subscription.account,
        subscription=subscription,
        issued_on=day,
        paid_on=day,
        amount=Decimal(amount),
        currency=subscription.currency,
        status="paid",
    )


@pytest.fixture
def store() -> None:
    core = Product.objects.create(code="core", name="Core", kind="plan")
    pro = Plan.objects.create(
        product=core, code="core:pro", name="Professional", tier="professional"
    )
    ent = Plan.objects.create(product=core, code="core:ent", name="Enterprise", tier="enterprise")
    pro_usd = Plan.objects.create(
        product=core, code="core:pro-usd", name="Professional USD", tier="professional",
        currency="USD",
    )  # fmt: skip
    FxRate.objects.create(date=date(2024, 1, 1), currency="USD", rate=Decimal(150))

    # Agrees on everything: annual plan, renewal at the end of the second term.
    agreed = account("Agreed Co", "Professional", date(2026, 1, 10))
    annual = subscribe(agreed, pro, date(2024, 1, 10), term=12, price="600000", interval="year")
    paid(annual, date(2025, 1, 10), "600000")
    # Sold as Starter in the CRM, billed Enterprise; renewal typed wrong; invoice short.
    drifted = account("Drifted Co", "Starter", date(2025, 6, 30))
    monthly = subscribe(drifted, ent, date(2024, 9, 1), term=12, price="100000")
    paid(monthly, date(2025, 2, 1), "100000")
    paid(monthly, date(2025, 3, 1), "80000")
    # Month to month, last invoiced in January.
    silent = account("Silent Co", "professional", None)
    quiet = subscribe(silent, pro, date(2024, 6, 1), term=1, price="5000", quantity=2)
    paid(quiet, date(2025, 1, 1), "10000")
    # Billed in dollars; the CRM has no plan.
    dollars = account("USD Co", "", None)
    usd = subscribe(dollars, pro_usd, date(2024, 11, 1), term=1, price="100")
    paid(usd, date(2025, 3, 5), "100")
    # A plan in the CRM, nothing in billing.
    account("No Billing Co", "Enterprise", date(2025, 12, 1))
    run_subject("revenue", AS_OF)


def found() -> list[tuple[str, str, str, str, str]]:
    return [
        (item.kind, item.account, item.subscription, item.crm_value, item.billing_value)
        for item in reconcile(Account.objects.all(), AS_OF)
    ]


@pytest.mark.django_db
def test_every_kind_of_disagreement_is_found_and_nothing_else(store: None) -> None:
    assert found() == [
        ("plan", "Drifted Co", "DRIFTED-S", "Starter", "Enterprise"),
        ("renewal_date", "Drifted Co", "DRIFTED-S", "2025-06-30", "2025-09-01"),
        ("mrr", "Drifted Co", "", "100000", "80000"),
        ("plan", "No Billing Co", "", "Enterprise", ""),
        ("missing_invoices", "Silent Co", "SILENT-S", "", "2025-01-01"),
        ("plan", "USD Co", "USD-S", "", "Professional USD"),
    ]


@pytest.mark.django_db
def test_fixing_the_crm_and_billing_clears_the_list(store: None) -> None:
    Account.objects.filter(name="Drifted Co").update(plan="enterprise", renewal_date="2025-09-01")
    Account.objects.filter(name="USD Co").update(plan="Professional")
    Account.objects.filter(name="No Billing Co").update(plan="")
    quiet = Subscription.objects.get(external_id="SILENT-S")
    paid(quiet, date(2025, 3, 1), "10000")
    drifted = Subscription.objects.get(external_id="DRIFTED-S")
    Invoice.objects.filter(subscription=drifted, issued_on=date(2025, 3, 1)).update(amount=100000)
    assert found() == []


@pytest.mark.django_db
def test_one_off_charges_on_a_subscription_invoice_are_not_mrr(store: None) -> None:
    # Drifted Co's March invoice: 80,000 billed; with a 30,000 setup fee on it the recurring
    # part is 50,000; the plan bills 100,000 a month.
    drifted = Subscription.objects.get(external_id="DRIFTED-S")
    march = Invoice.objects.filter(subscription=drifted, issued_on=date(2025, 3, 1))
    march.update(amount=Decimal(80000), one_off_amount=Decimal(30000))
    assert ("mrr", "Drifted Co", "", "100000", "50000") in found()
    # 130,000 with the same 30,000 fee: the recurring 100,000 agrees with the plan.
    march.update(amount=Decimal(130000), one_off_amount=Decimal(30000))
    assert [row for row in found() if row[0] == "mrr"] == []


@pytest.mark.parametrize(
    ("start", "term", "expected"),
    [
        (date(2024, 1, 10), 12, date(2026, 1, 10)),
        (date(2025, 3, 31), 12, date(2026, 3, 31)),
        (date(2024, 3, 31), 12, date(2026, 3, 31)),  # a term ending on the day renews
        (date(2024, 1, 31), 1, date(2025, 4, 30)),  # month ends clamp
        (date(2023, 5, 15), 36, date(2026, 5, 15)),
    ],
)
def test_committed_term_end(start: date, term: int, expected: date) -> None:
    subscription = Subscription(started_on=start, term_months=term)
    assert committed_term_end(subscription, AS_OF) == expected


@pytest.mark.django_db
def test_the_command_writes_json_and_csv(store: None) -> None:
    out = StringIO()
    call_command("reconcile", "--format", "json", "--as-of", "2025-03-31", stdout=out)
    rows = json.loads(out.getvalue())
    assert [row["kind"] for row in rows] == [
        "plan",
        "renewal_date",
        "mrr",
        "plan",
        "missing_invoices",
        "plan",
    ]
    assert rows[2]["message"] == (
        "MRR billed by the last paid invoices is not the MRR of the subscriptions"
    )
    out = StringIO()
    call_command("reconcile", "--format", "csv", "--as-of", "2025-03-31", stdout=out)
    table = list(csv.DictReader(StringIO(out.getvalue())))
    assert table[1] == {
        "kind": "renewal_date",
        "customer_id": "DRIFTED",
        "account": "Drifted Co",
        "subscription": "DRIFTED-S",
        "crm_value": "2025-06-30",
        "billing_value": "2025-09-01",
        "message": "the account's renewal date is not the end of the committed term (2025-09-01)",
    }


@pytest.mark.django_db
def test_the_page_lists_only_the_accounts_a_user_may_see(store: None) -> None:
    admin = User.objects.create_superuser("boss", password="x")
    csm = User.objects.create_user("csm", password="x")
    Profile.objects.create(user=csm, role=Role.CSM)
    Account.objects.filter(name="Silent Co").update(cs_owner=csm)
    client = Client()
    assert client.get("/data/reconcile/").status_code == 302  # to the login page
    client.force_login(admin)
    page = client.get("/data/reconcile/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Drifted Co" in page and "Silent Co" in page and "USD Co" in page
    client.force_login(csm)
    page = client.get("/data/reconcile/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Silent Co" in page and "Drifted Co" not in page
