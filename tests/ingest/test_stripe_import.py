"""Stripe import on recorded API responses, served by a real local HTTP server (no network)."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from stripe_server import API_KEY, StripeServer, serve

from kizuna.billing.models import (
    CustomerMrr,
    FxRate,
    Invoice,
    Plan,
    Product,
    Subscription,
    SubscriptionItem,
)
from kizuna.crm.models import Account
from kizuna.ingest.models import SyncCursor
from kizuna.ingest.stripe_import import import_stripe, stripe_client
from kizuna.sources.recompute import run_subject

FIXTURES = Path(__file__).parent / "stripe_fixtures"


def noon(day: str) -> int:
    """The recorded objects were created at 03:00 UTC (noon in Tokyo) of their day."""
    year, month, dd = map(int, day.split("-"))
    return calendar.timegm((year, month, dd, 3, 0, 0))


@pytest.fixture
def stripe_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
    return API_KEY


@pytest.fixture
def initial() -> Iterator[StripeServer]:
    with serve(FIXTURES / "initial") as server:
        yield server


def run(server: StripeServer, *args: str) -> str:
    out = StringIO()
    call_command("import-stripe", "--api-base", server.url, *args, stdout=out, stderr=out)
    return out.getvalue()


def iso(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Dates as ISO text, so expected rows fit on a line."""
    return tuple(value.isoformat() if isinstance(value, date) else value for value in row)


def items_of(subscription: str) -> list[tuple[Any, ...]]:
    rows = (
        SubscriptionItem.objects.filter(subscription__external_id=subscription)
        .order_by("external_id")
        .values_list(
            "external_id",
            "plan__code",
            "quantity",
            "unit_price",
            "interval",
            "interval_count",
            "discount_percent",
            "discount_amount",
            "start_date",
            "end_date",
            "trial_end_date",
        )
    )
    return [iso(row) for row in rows]


def store_rows() -> dict[str, list[tuple[Any, ...]]]:
    return {
        "accounts": list(Account.objects.order_by("pk").values_list()),
        "products": list(Product.objects.order_by("pk").values_list()),
        "plans": list(Plan.objects.order_by("pk").values_list()),
        "subscriptions": list(Subscription.objects.order_by("pk").values_list()),
        "items": list(SubscriptionItem.objects.order_by("pk").values_list()),
        "invoices": list(Invoice.objects.order_by("pk").values_list()),
    }


@pytest.mark.django_db
def test_first_run_maps_every_object_exactly(stripe_key: str, initial: StripeServer) -> None:
    output = run(initial)

    assert "sub_D: subscription 'incomplete_expired' never started; not imported" in output
    accounts = Account.objects.order_by("external_id").values_list(
        "external_id", "name", "country", "status", "created_at"
    )
    assert [row[:4] for row in accounts] == [
        ("cus_A", "株式会社アルファ", "JP", "customer"),
        ("cus_B", "Beta Inc.", "US", "customer"),
        ("cus_C", "ops@gamma.example", "JP", "customer"),
    ]
    assert accounts[0][4].timestamp() == noon("2024-01-10")
    assert list(Product.objects.order_by("code").values_list("code", "name", "kind")) == [
        ("prod_core", "Kizuna Core", "plan"),
        ("prod_onboard", "Onboarding package", "service"),
        ("prod_storage", "Extra storage", "addon"),
    ]
    usd = Plan.objects.get(code="price_pro_q_usd")
    assert (usd.unit_price, usd.currency, usd.interval, usd.interval_count, usd.tier) == (
        Decimal("149"),
        "USD",
        "month",
        3,
        "professional",
    )
    assert Plan.objects.get(code="price_ent_y").tier == "enterprise"

    # A 20 % coupon for three months splits each item where the discount ends.
    sub_a = Subscription.objects.get(external_id="sub_A")
    assert (sub_a.account.external_id, sub_a.status, sub_a.source, sub_a.term_months) == (
        "cus_A",
        "active",
        "stripe",
        1,
    )
    assert items_of("sub_A") == [
        ("si_A1", "price_pro_m", 10, 5000, "month", 1, 20, 0, "2024-01-15", "2024-04-15", None),
        ("si_A1@2024-04-15", "price_pro_m", 10, 5000, "month", 1, 0, 0, "2024-04-15", None, None),
        ("si_A2", "price_storage", 2, 1200, "month", 1, 20, 0, "2024-03-01", "2024-04-15", None),
        ("si_A2@2024-04-15", "price_storage", 2, 1200, "month", 1, 0, 0, "2024-04-15", None, None),
    ]
    # Trial, cancellation and end; a quarterly price in dollars.
    sub_b = Subscription.objects.get(external_id="sub_B")
    assert iso((sub_b.status, sub_b.currency, sub_b.canceled_at, sub_b.ended_on)) == (
        "canceled",
        "USD",
        "2024-06-20",
        "2024-08-01",
    )
    assert sub_b.term_months == 3
    assert items_of("sub_B") == [
        (
            "si_B1",
            "price_pro_q_usd",
            3,
            Decimal("149"),
            "month",
            3,
            0,
            0,
            "2024-02-01",
            "2024-08-01",
            "2024-02-15",
        ),
    ]
    # A fixed amount off the subscription reduces its largest item; a once-only coupon no MRR;
    # the second page of items is fetched; a scheduled cancellation ends the items.
    sub_c = Subscription.objects.get(external_id="sub_C")
    assert iso((sub_c.term_months, sub_c.canceled_at, sub_c.ended_on)) == (
        12,
        "2025-06-01",
        "2026-03-01",
    )
    assert items_of("sub_C") == [
        ("si_C1", "price_ent_y", 1, 600000, "year", 1, 0, 5000, "2025-03-01", "2026-03-01", None),
        ("si_C2", "price_storage", 5, 1200, "month", 1, 0, 0, "2025-03-01", "2026-03-01", None),
    ]
    assert not Subscription.objects.filter(external_id="sub_D").exists()

    invoices = Invoice.objects.order_by("external_id").values_list(
        "external_id",
        "account__external_id",
        "subscription__external_id",
        "issued_on",
        "due_on",
        "paid_on",
        "amount",
        "tax",
        "currency",
        "status",
    )
    assert [iso(row) for row in invoices] == [
        ("in_A1", "cus_A", "sub_A", "2024-01-15", None, "2024-01-16", 40000, 4000, "JPY", "paid"),
        (
            "in_B1",
            "cus_B",
            "sub_B",
            "2024-02-15",
            None,
            "2024-02-15",
            Decimal("447"),
            0,
            "USD",
            "paid",
        ),
        ("in_C1", "cus_C", "sub_C", "2025-03-01", "2025-04-01", None, 601000, 60100, "JPY", "open"),
        ("in_X", "cus_B", None, "2024-06-01", None, None, Decimal("100"), 0, "USD", "void"),
    ]

    # Invoices that list no lines: a subscription's is recurring, a manual one one-off.
    one_off = dict(Invoice.objects.values_list("external_id", "one_off_amount"))
    assert one_off == {"in_A1": 0, "in_B1": 0, "in_C1": 0, "in_X": Decimal("100")}

    # Pages were followed, subscriptions of every status asked for with discounts expanded.
    assert [query.get("starting_after") for query in initial.asked("/v1/customers")] == [
        None,
        ["cus_B"],
    ]
    first = initial.asked("/v1/subscriptions")[0]
    assert first["status"] == ["all"] and first["created[gt]"] == ["0"]
    assert initial.asked("/v1/subscription_items") == [
        {
            "subscription": ["sub_C"],
            "limit": ["100"],
            "starting_after": ["si_C1"],
            "expand[0]": ["data.discounts"],
        }
    ]
    assert dict(SyncCursor.objects.values_list("object_type", "position")) == {
        "products": noon("2024-01-03"),
        "prices": noon("2024-01-05"),
        "customers": noon("2024-03-01"),
        "subscriptions": noon("2025-03-01"),
        "invoices": noon("2025-03-01"),
    }


@pytest.mark.django_db
def test_importing_everything_again_changes_nothing(stripe_key: str, initial: StripeServer) -> None:
    run(initial)
    before = store_rows()
    output = run(initial, "--since", "0")
    assert store_rows() == before
    assert "customers: 3 rows, 0 created, 0 updated, 3 unchanged, 0 rejected" in output
    assert "invoices: 4 rows, 0 created, 0 updated, 4 unchanged, 0 rejected" in output


@pytest.mark.django_db
def test_a_later_run_asks_only_for_objects_created_since_the_last(
    stripe_key: str, initial: StripeServer
) -> None:
    run(initial)
    with serve(FIXTURES / "later") as later:
        run(later)
    assert later.asked("/v1/customers")[0]["created[gt]"] == [str(noon("2024-03-01"))]
    assert later.asked("/v1/invoices")[0]["created[gt]"] == [str(noon("2025-03-01"))]
    assert later.asked("/v1/products")[0]["created[gt]"] == [str(noon("2024-01-03"))]
    assert Account.objects.get(external_id="cus_D").name == "デルタ合同会社"
    sub_e = Subscription.objects.get(external_id="sub_E")
    assert (sub_e.status, sub_e.account.external_id) == ("trialing", "cus_D")
    assert items_of("sub_E") == [
        ("si_E1", "price_pro_m", 4, 5000, "month", 1, 0, 0, "2025-05-02", None, "2025-05-16"),
    ]
    assert Invoice.objects.get(external_id="in_E1").status == "draft"
    assert Subscription.objects.count() == 4
    assert SyncCursor.objects.get(object_type="customers").position == noon("2025-05-01")
    assert SyncCursor.objects.get(object_type="products").position == noon("2024-01-03")


@pytest.mark.django_db
def test_a_changed_quantity_or_price_ends_the_old_span_and_starts_a_new_one(
    stripe_key: str, initial: StripeServer
) -> None:
    run(initial)
    with serve(FIXTURES / "later") as later:
        run(later)
    with serve(FIXTURES / "changed") as changed:
        run(changed, "--since", "0")
        rows = store_rows()
        run(changed, "--since", "0")
        assert store_rows() == rows  # importing the same state again changes nothing
    today = timezone.localdate().isoformat()

    # sub_A went from 10 to 12 seats on 10 June and from the 100 GB to the 500 GB storage
    # price on 20 June (the days its prorations start); the history before stays.
    assert items_of("sub_A") == [
        ("si_A1", "price_pro_m", 10, 5000, "month", 1, 20, 0, "2024-01-15", "2024-04-15", None),
        (
            "si_A1@2024-04-15",
            "price_pro_m",
            10,
            5000,
            "month",
            1,
            0,
            0,
            "2024-04-15",
            "2024-06-10",
            None,
        ),
        ("si_A1@2024-06-10", "price_pro_m", 12, 5000, "month", 1, 0, 0, "2024-06-10", None, None),
        ("si_A2", "price_storage", 2, 1200, "month", 1, 20, 0, "2024-03-01", "2024-04-15", None),
        (
            "si_A2@2024-04-15",
            "price_storage",
            2,
            1200,
            "month",
            1,
            0,
            0,
            "2024-04-15",
            "2024-06-20",
            None,
        ),
        (
            "si_A2@2024-06-20",
            "price_storage_xl",
            2,
            2000,
            "month",
            1,
            0,
            0,
            "2024-06-20",
            None,
            None,
        ),
    ]
    # sub_E's change has no proration: it starts on the day the import first sees it.
    assert items_of("sub_E") == [
        ("si_E1", "price_pro_m", 4, 5000, "month", 1, 0, 0, "2025-05-02", today, "2025-05-16"),
        (f"si_E1@{today}", "price_pro_m", 6, 5000, "month", 1, 0, 0, today, None, None),
    ]
    # Each run fetched the invoice's second page of lines; its one-off part is the proration
    # lines (11,667 + 2,400) and the data migration less its discount (30,000 − 3,000).
    assert (
        changed.asked("/v1/invoices/in_A2/lines")
        == [{"limit": ["100"], "starting_after": ["il_A2_3"]}] * 2
    )
    in_a2 = Invoice.objects.get(external_id="in_A2")
    assert (in_a2.amount, in_a2.one_off_amount, in_a2.tax) == (
        Decimal("105067"),
        Decimal("41067"),
        Decimal("10507"),
    )

    # The revenue engine sees the change in its month: 52,400 in May, 64,000 from June.
    FxRate.objects.create(date=date(2024, 1, 1), currency="USD", rate=Decimal(150))
    run_subject("revenue", date(2024, 7, 31))
    months = CustomerMrr.objects.filter(
        account__external_id="cus_A", month__range=(date(2024, 5, 1), date(2024, 7, 1))
    ).order_by("month")
    assert [(row.month.month, row.mrr, row.movement, row.delta) for row in months] == [
        (5, Decimal(52400), "none", Decimal(0)),
        (6, Decimal(64000), "expansion", Decimal(11600)),
        (7, Decimal(64000), "none", Decimal(0)),
    ]


@pytest.mark.django_db
def test_objects_kizuna_cannot_represent_import_nothing_by_default(
    stripe_key: str, initial: StripeServer
) -> None:
    run(initial)
    before = store_rows()
    cursors = dict(SyncCursor.objects.values_list("object_type", "position"))
    with serve(FIXTURES / "unsupported") as server:
        out = StringIO()
        with pytest.raises(CommandError, match="3 objects cannot be imported; nothing was"):
            call_command(
                "import-stripe", "--api-base", server.url, "--since", "0", stdout=out, stderr=out
            )
    assert out.getvalue().splitlines()[:3] == [
        "price_tiered: tiered prices have no single unit price and are not imported",
        "price_api: metered prices are billed after use and are not imported",
        "sub_Z: unknown customer cus_Unknown",
    ]
    assert store_rows() == before
    assert dict(SyncCursor.objects.values_list("object_type", "position")) == cursors


@pytest.mark.django_db
def test_skip_invalid_imports_the_rest_and_retires_items_gone_from_stripe(
    stripe_key: str, initial: StripeServer
) -> None:
    run(initial)
    with serve(FIXTURES / "unsupported") as server:
        report = import_stripe(stripe_client(API_KEY, server.url), since=0, skip_invalid=True)
    assert report.committed
    assert len(report.problems) == 3
    assert not Subscription.objects.filter(external_id="sub_Z").exists()
    assert not Plan.objects.filter(code__in=["price_tiered", "price_api"]).exists()
    # sub_A now lists only si_A1 and no coupon: the discount part is folded back, and the
    # storage add-on, gone from the subscription, ends today with its history kept.
    today = timezone.localdate().isoformat()
    assert items_of("sub_A") == [
        ("si_A1", "price_pro_m", 10, 5000, "month", 1, 0, 0, "2024-01-15", None, None),
        ("si_A2", "price_storage", 2, 1200, "month", 1, 20, 0, "2024-03-01", "2024-04-15", None),
        ("si_A2@2024-04-15", "price_storage", 2, 1200, "month", 1, 0, 0, "2024-04-15", today, None),
    ]
    assert report.counts["subscriptions"].removed == 1


@pytest.mark.django_db
def test_a_refused_key_or_a_missing_one_is_said_plainly(
    monkeypatch: pytest.MonkeyPatch, initial: StripeServer
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    with pytest.raises(CommandError, match="set the environment variable STRIPE_API_KEY"):
        run(initial)
    monkeypatch.setenv("OTHER_KEY", "sk_test_wrong")
    with pytest.raises(CommandError, match="Stripe refused the request: Invalid API Key"):
        run(initial, "--api-key-env", "OTHER_KEY")
    assert Account.objects.count() == 0
