"""``kizuna import-stripe``: customers, products, prices, subscriptions and invoices from Stripe.

Objects are read through the official ``stripe`` library, page by page, and written to the
same models as the CSV import, keyed by their Stripe id (so importing again changes nothing
that did not change in Stripe). Each run asks only for objects created after the newest one
the previous run read (a cursor per object type, kept in :class:`SyncCursor`); ``since``
reads from an earlier moment instead, ``since=0`` reads everything again.

Everything is fetched first and written afterwards in one transaction: by default any object
Kizuna cannot represent faithfully rolls the whole run back (the store and the cursors stay as
they were); with ``skip_invalid`` the others are written and the skipped ones reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import stripe
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from kizuna.billing.models import Invoice, Plan, Product, Subscription, SubscriptionItem
from kizuna.crm.models import Account, AccountStatus
from kizuna.ingest import stripe_history, stripe_map
from kizuna.ingest.models import SyncCursor
from kizuna.ingest.report import FileReport
from kizuna.ingest.stripe_map import StripeDataError, StripeObject
from kizuna.ingest.upsert import Write, upsert

SOURCE = "stripe"
# Stripe's largest page: fewest round trips.
PAGE_SIZE = 100
OBJECT_TYPES = ("products", "prices", "customers", "subscriptions", "invoices")


@dataclass
class StripeReport:
    counts: dict[str, FileReport] = field(
        default_factory=lambda: {name: FileReport(name) for name in OBJECT_TYPES}
    )
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    committed: bool = False
    cursors: dict[str, int] = field(default_factory=dict)
    """The cursor each object type starts from next time."""


@dataclass
class StripeData:
    """Everything one run read from Stripe, in Stripe's shape."""

    coupons: dict[str, StripeObject] = field(default_factory=dict)
    products: list[StripeObject] = field(default_factory=list)
    prices: list[StripeObject] = field(default_factory=list)
    customers: list[StripeObject] = field(default_factory=list)
    subscriptions: list[tuple[StripeObject, list[StripeObject]]] = field(default_factory=list)
    invoices: list[StripeObject] = field(default_factory=list)
    invoice_lines: dict[str, list[StripeObject]] = field(default_factory=dict)
    """Every line of the invoices with more lines than their first page, by invoice id."""


class _RollBack(Exception):
    pass


def stripe_client(api_key: str, api_base: str | None = None) -> stripe.StripeClient:
    """A client for the Stripe API (or a server speaking it at ``api_base``)."""
    addresses: Any = {"api": api_base} if api_base else None
    return stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=2)


def stored_cursors() -> dict[str, int]:
    return dict(SyncCursor.objects.filter(source=SOURCE).values_list("object_type", "position"))


def _pages(listing: Any) -> Iterator[StripeObject]:
    """Every object of a list, page after page (Stripe objects are dictionaries)."""
    yield from listing.auto_paging_iter()


def fetch(client: stripe.StripeClient, cursors: Mapping[str, int]) -> StripeData:
    """Read every object created after its type's cursor (coupons: all of them, they are few
    and a new subscription may use an old one)."""
    v1 = client.v1

    def params(object_type: str, **extra: Any) -> Any:  # the typed dicts of each list call
        return {"limit": PAGE_SIZE, "created": {"gt": cursors.get(object_type, 0)}, **extra}

    data = StripeData()
    data.coupons = {c["id"]: c for c in _pages(v1.coupons.list({"limit": PAGE_SIZE}))}
    data.products = list(_pages(v1.products.list(params("products"))))
    data.prices = list(_pages(v1.prices.list(params("prices"))))
    data.customers = list(_pages(v1.customers.list(params("customers"))))
    subscriptions = v1.subscriptions.list(
        params(
            "subscriptions", status="all", expand=["data.discounts", "data.items.data.discounts"]
        )
    )
    for subscription in _pages(subscriptions):
        items = subscription["items"]
        lines = list(items["data"])
        if items.get("has_more"):
            more = v1.subscription_items.list(
                {
                    "subscription": subscription["id"],
                    "limit": PAGE_SIZE,
                    "starting_after": lines[-1]["id"],
                    "expand": ["data.discounts"],
                }
            )
            lines.extend(_pages(more))
        data.subscriptions.append((subscription, lines))
    data.invoices = list(_pages(v1.invoices.list(params("invoices"))))
    for invoice in data.invoices:
        if (invoice.get("lines") or {}).get("has_more"):
            first = stripe_map.invoice_lines(invoice)
            rest = v1.invoices.line_items.list(
                invoice["id"], {"limit": PAGE_SIZE, "starting_after": first[-1]["id"]}
            )
            data.invoice_lines[invoice["id"]] = first + list(_pages(rest))
    return data


def import_stripe(
    client: stripe.StripeClient, *, since: int | None = None, skip_invalid: bool = False
) -> StripeReport:
    """Fetch from Stripe and write to the store; see the module docstring."""
    cursors = stored_cursors() if since is None else dict.fromkeys(OBJECT_TYPES, since)
    data = fetch(client, cursors)
    return write_stripe_data(data, cursors, skip_invalid=skip_invalid)


def write_stripe_data(
    data: StripeData, cursors: Mapping[str, int], *, skip_invalid: bool = False
) -> StripeReport:
    report = StripeReport()
    listed: dict[str, Sequence[object]] = {
        "products": data.products,
        "prices": data.prices,
        "customers": data.customers,
        "subscriptions": data.subscriptions,
        "invoices": data.invoices,
    }
    for object_type, objects in listed.items():
        report.counts[object_type].rows = len(objects)
    try:
        with transaction.atomic():
            _write_products(data, report)
            _write_plans(data, report)
            _write_customers(data, report)
            _write_subscriptions(data, report)
            _write_invoices(data, report)
            report.cursors = _advance_cursors(data, cursors)
            if report.problems and not skip_invalid:
                raise _RollBack
    except _RollBack:
        for counts in report.counts.values():
            counts.created = counts.updated = counts.unchanged = counts.removed = 0
        report.cursors = dict(cursors)
        return report
    report.committed = True
    return report


def _attempt(report: StripeReport, objects: Iterable[StripeObject], convert: Any) -> list[Any]:
    """``convert`` of each object; an object it cannot represent is reported and left out."""
    converted: list[Any] = []
    for obj in objects:
        try:
            converted.append((obj, convert(obj)))
        except StripeDataError as error:
            report.problems.append(str(error))
    return converted


def _write_products(data: StripeData, report: StripeReport) -> None:
    rows = _attempt(report, data.products, stripe_map.product_fields)
    writes = [Write(n, (p["id"],), fields) for n, (p, fields) in enumerate(rows, 1)]
    upsert(Product, ("code",), writes, report.counts["products"])


def _all_prices(data: StripeData) -> dict[str, StripeObject]:
    """Prices listed, and those of subscription items (a price can predate the cursor)."""
    prices = {price["id"]: price for price in data.prices}
    for _subscription, items in data.subscriptions:
        for item in items:
            prices.setdefault(item["price"]["id"], item["price"])
    return prices


def _write_plans(data: StripeData, report: StripeReport) -> None:
    prices = _all_prices(data)
    product_ids = {str(stripe_map.ref(price["product"])) for price in prices.values()}
    products = dict(Product.objects.filter(code__in=product_ids).values_list("code", "pk"))

    def convert(price: StripeObject) -> dict[str, Any]:
        product_pk = products.get(str(stripe_map.ref(price["product"])))
        if product_pk is None:
            raise StripeDataError(
                gettext("%(id)s: unknown product %(product)s")
                % {"id": price["id"], "product": stripe_map.ref(price["product"])}
            )
        return stripe_map.plan_fields(price, product_pk)

    rows = _attempt(report, prices.values(), convert)
    writes = [Write(n, (p["id"],), fields) for n, (p, fields) in enumerate(rows, 1)]
    listed = {price["id"] for price in data.prices}
    counts = report.counts["prices"]
    upsert(Plan, ("code",), [w for w in writes if w.key[0] in listed], counts)
    upsert(Plan, ("code",), [w for w in writes if w.key[0] not in listed], FileReport("items"))


def _write_customers(data: StripeData, report: StripeReport) -> None:
    writes = [
        Write(
            n,
            (customer["id"],),
            stripe_map.customer_fields(customer),
            on_create={"created_at": stripe_map.customer_created(customer)},
        )
        for n, customer in enumerate(data.customers, 1)
    ]
    upsert(
        Account,
        ("external_id",),
        writes,
        report.counts["customers"],
        defaults={"status": AccountStatus.CUSTOMER},
    )


def _accounts(customer_ids: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    rows = Account.objects.filter(external_id__in=set(customer_ids)).order_by("-pk")
    for external_id, pk in rows.values_list("external_id", "pk"):
        found[external_id] = pk  # the oldest record wins, as in the CSV import
    return found


def _write_subscriptions(data: StripeData, report: StripeReport) -> None:
    counts = report.counts["subscriptions"]
    rows: list[stripe_map.SubscriptionRow] = []
    listed: dict[str, tuple[StripeObject, list[StripeObject]]] = {}
    for subscription, items in data.subscriptions:
        try:
            row = stripe_map.subscription_row(subscription, items, data.coupons)
        except StripeDataError as error:
            report.problems.append(str(error))
            continue
        if row is None:
            report.notes.append(
                gettext("%(id)s: subscription '%(status)s' never started; not imported")
                % {"id": subscription["id"], "status": subscription["status"]}
            )
            continue
        rows.append(row)
        listed[row.external_id] = (subscription, items)
    accounts = _accounts(row.customer_id for row in rows)
    price_ids = {span.price_id for row in rows for span in row.items}
    plans = {
        code: (pk, product_id)
        for code, pk, product_id in Plan.objects.filter(code__in=price_ids).values_list(
            "code", "pk", "product_id"
        )
    }
    writable: list[stripe_map.SubscriptionRow] = []
    for row in rows:
        if row.customer_id not in accounts:
            report.problems.append(
                gettext("%(id)s: unknown customer %(customer)s")
                % {"id": row.external_id, "customer": row.customer_id}
            )
        elif any(span.price_id not in plans for span in row.items):
            continue  # the price's own problem is reported already
        else:
            writable.append(row)
    writes = [
        Write(n, (row.external_id,), row.fields | {"account_id": accounts[row.customer_id]})
        for n, row in enumerate(writable, 1)
    ]
    pks = upsert(Subscription, ("external_id",), writes, counts, defaults={"source": SOURCE})
    stored = _stored_parts([pks[(row.external_id,)] for row in writable])
    prorated = stripe_map.proration_days(_all_invoice_lines(data))
    today = timezone.localdate()
    item_writes: list[Write] = []
    kept_ids: dict[int, set[str]] = {}
    for n, row in enumerate(writable, 1):
        subscription_pk = pks[(row.external_id,)]
        parts = stored.get(subscription_pk, {})
        since: dict[str, date] = {}
        for span in row.items:
            history = parts.get(span.external_id)
            if history and span.external_id not in since:
                day = stripe_history.current_since(
                    history,
                    plans[span.price_id][0],
                    span.quantity,
                    prorated.get(span.external_id),
                    today,
                )
                if day is not None:
                    since[span.external_id] = day
        if since:
            subscription, items = listed[row.external_id]
            rebuilt = stripe_map.subscription_row(subscription, items, data.coupons, since)
            assert rebuilt is not None  # the same objects converted above
            row.items = rebuilt.items
        kept = kept_ids.setdefault(subscription_pk, set())
        for item_id, day in since.items():
            for part in stripe_history.kept_history(parts[item_id], day):
                kept.add(part.external_id)
                item_writes.append(
                    Write(n, (subscription_pk, part.external_id), {"end_date": part.end_date})
                )
        for span in row.items:
            plan_pk, product_pk = plans[span.price_id]
            item_writes.append(
                Write(
                    n, (subscription_pk, span.external_id), _item_fields(span, plan_pk, product_pk)
                )
            )
    upsert(SubscriptionItem, ("subscription_id", "external_id"), item_writes, FileReport("items"))
    for row in writable:
        subscription_pk = pks[(row.external_id,)]
        counts.removed += _retire_items(subscription_pk, row, kept_ids.get(subscription_pk, set()))


def _stored_parts(
    subscription_pks: Sequence[int],
) -> dict[int, dict[str, list[stripe_history.StoredPart]]]:
    """The stored item parts of each subscription, by Stripe item id."""
    found: dict[int, dict[str, list[stripe_history.StoredPart]]] = {}
    rows = SubscriptionItem.objects.filter(subscription_id__in=subscription_pks).values_list(
        "subscription_id", "external_id", "plan_id", "quantity", "start_date", "end_date"
    )
    for subscription_pk, external_id, plan_pk, quantity, start, end in rows:
        found.setdefault(subscription_pk, {}).setdefault(
            stripe_history.stripe_item_id(external_id), []
        ).append(stripe_history.StoredPart(external_id, plan_pk, quantity, start, end))
    return found


def _all_invoice_lines(data: StripeData) -> Iterator[StripeObject]:
    for invoice in data.invoices:
        yield from data.invoice_lines.get(invoice["id"]) or stripe_map.invoice_lines(invoice)


def _item_fields(span: stripe_map.ItemSpan, plan_pk: int, product_pk: int) -> dict[str, Any]:
    return {
        "product_id": product_pk,
        "plan_id": plan_pk,
        "quantity": span.quantity,
        "unit_price": span.terms.unit_price,
        "currency": span.terms.currency,
        "interval": span.terms.interval,
        "interval_count": span.terms.interval_count,
        "discount_percent": span.discount_percent,
        "discount_amount": span.discount_amount,
        "start_date": span.start,
        "end_date": span.end,
        "trial_end_date": span.trial_end,
        "recurring": span.terms.recurring,
    }


def _retire_items(subscription_pk: int, row: stripe_map.SubscriptionRow, kept: set[str]) -> int:
    """Items stored for a subscription that Stripe no longer lists.

    Parts of a current item cut at a discount day that no longer applies are removed (they are
    derived from the item); ``kept`` parts are the item's history before a change. An item that
    left the subscription keeps its history and ends today, the first day it is known to be
    gone. Returns the number of parts removed.
    """
    current = {span.external_id for span in row.items} | kept
    current_items = {span.external_id.split("@")[0] for span in row.items}
    today = timezone.localdate()
    removed = 0
    stale = SubscriptionItem.objects.filter(subscription_id=subscription_pk).exclude(
        external_id__in=current
    )
    for item in stale:
        if item.external_id.split("@")[0] in current_items:
            item.delete()
            removed += 1
        elif item.end_date is None or item.end_date > today:
            item.end_date = max(today, item.start_date)
            item.save(update_fields=["end_date"])
    return removed


def _write_invoices(data: StripeData, report: StripeReport) -> None:
    accounts = _accounts(str(stripe_map.ref(invoice["customer"])) for invoice in data.invoices)
    wanted = {stripe_map.invoice_subscription_id(invoice) for invoice in data.invoices}
    subscriptions = dict(
        Subscription.objects.filter(external_id__in=wanted - {None}).values_list(
            "external_id", "pk"
        )
    )
    writes: list[Write] = []
    for n, invoice in enumerate(data.invoices, 1):
        customer_id = str(stripe_map.ref(invoice["customer"]))
        try:
            fields = stripe_map.invoice_fields(invoice, data.invoice_lines.get(invoice["id"]))
        except StripeDataError as error:
            report.problems.append(str(error))
            continue
        if customer_id not in accounts:
            report.problems.append(
                gettext("%(id)s: unknown customer %(customer)s")
                % {"id": invoice["id"], "customer": customer_id}
            )
            continue
        subscription_id = stripe_map.invoice_subscription_id(invoice)
        if subscription_id is not None and subscription_id not in subscriptions:
            report.notes.append(
                gettext("%(id)s: subscription %(subscription)s is not in the store")
                % {"id": invoice["id"], "subscription": subscription_id}
            )
        fields |= {
            "account_id": accounts[customer_id],
            "subscription_id": subscriptions.get(subscription_id or ""),
        }
        writes.append(Write(n, (invoice["id"],), fields))
    upsert(Invoice, ("external_id",), writes, report.counts["invoices"])


def _advance_cursors(data: StripeData, cursors: Mapping[str, int]) -> dict[str, int]:
    newest: dict[str, list[StripeObject]] = {
        "products": data.products,
        "prices": data.prices,
        "customers": data.customers,
        "subscriptions": [subscription for subscription, _items in data.subscriptions],
        "invoices": data.invoices,
    }
    now = timezone.now()
    advanced: dict[str, int] = {}
    for object_type, objects in newest.items():
        position = max([cursors.get(object_type, 0), *(obj["created"] for obj in objects)])
        SyncCursor.objects.update_or_create(
            source=SOURCE,
            object_type=object_type,
            defaults={"position": position, "updated_at": now},
        )
        advanced[object_type] = position
    return advanced


def parse_since(text: str) -> int:
    """Unix seconds, or an ISO date or date-time (in the company's time zone unless it says)."""
    if text.isdigit():
        return int(text)
    moment = datetime.fromisoformat(text)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return int(moment.timestamp())
