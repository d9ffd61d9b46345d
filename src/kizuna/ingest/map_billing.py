"""Subscriptions (with their products, plans and items), invoices, FX rates and spend."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from kizuna.billing.models import (
    FxRate,
    Invoice,
    MarketingSpend,
    Plan,
    PlanTier,
    Product,
    ProductKind,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from kizuna.ingest.context import Duplicates, ImportContext, check_fits, currency
from kizuna.ingest.map_crm import rows
from kizuna.ingest.report import FileReport
from kizuna.ingest.source import SourceRows
from kizuna.ingest.upsert import Write, upsert

# Months in one billing interval, for a subscription's committed term; shorter intervals
# commit to one month at most.
MONTHS_PER_INTERVAL = {"day": 1, "week": 1, "month": 1, "quarter": 3, "year": 12}


def _item_key(row: dict[str, Any]) -> str:
    """An item's identity inside its subscription: product, plan and first day in service."""
    return f"{row['product']}/{row['plan'] or ''}/{row['start_date']:%Y-%m-%d}"


def import_subscriptions(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, gettext("subscription item"))
    owners: dict[str, tuple[str, str, int]] = {}
    good: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    incomplete: set[str] = set()
    for line, row in rows(source):
        before = len(file.problems)
        subscription_id = row["subscription_id"]
        key = (subscription_id, _item_key(row))
        if not duplicates.repeated(line, key):
            _check_item(ctx, file, line, row, owners)
        if len(file.problems) == before:
            good[subscription_id].append((line, row))
        else:
            incomplete.add(subscription_id)
    products = _products(good)
    plans = _plans(good, products)
    subscription_writes = [
        Write(items[0][0], (subscription_id,), _subscription_fields(ctx, items))
        for subscription_id, items in good.items()
    ]
    subscription_pks = upsert(
        Subscription,
        ("external_id",),
        subscription_writes,
        file,
        defaults={"source": "csv"},
    )
    # Items are counted in the file report; subscriptions are their containers.
    file.created = file.updated = file.unchanged = 0
    item_writes: list[Write] = []
    for subscription_id, items in good.items():
        subscription_pk = subscription_pks[(subscription_id,)]
        for line, row in items:
            plan_code = _plan_code(row)
            fields = {
                "product_id": products[row["product"]],
                "plan_id": plans[plan_code] if plan_code else None,
                "quantity": row["quantity"],
                "unit_price": row["unit_price"],
                "currency": row["currency"].upper(),
                "interval": row["interval"],
                "interval_count": row["interval_count"],
                "discount_percent": row["discount_percent"],
                "discount_amount": row["discount_amount"],
                "end_date": row["end_date"],
                "trial_end_date": row["trial_end_date"],
                "recurring": row["recurring"],
                "start_date": row["start_date"],
            }
            item_writes.append(Write(line, (subscription_pk, _item_key(row)), fields))
    upsert(SubscriptionItem, ("subscription_id", "external_id"), item_writes, file)
    # The file is the whole of a subscription it lists: items no longer in it are removed,
    # unless some of the subscription's rows were rejected (then nothing is removed).
    for subscription_id, items in good.items():
        if subscription_id in incomplete:
            continue
        keep = {_item_key(row) for _line, row in items}
        stale = SubscriptionItem.objects.filter(
            subscription_id=subscription_pks[(subscription_id,)]
        ).exclude(external_id__in=keep)
        removed, _ = stale.delete()
        file.removed += removed


def _check_item(
    ctx: ImportContext,
    file: FileReport,
    line: int,
    row: dict[str, Any],
    owners: dict[str, tuple[str, str, int]],
) -> None:
    account_id = ctx.account_id(file, line, row["customer_id"])
    code = currency(file, line, row["currency"])
    if row["discount_percent"] > 100:
        file.problem(
            line,
            gettext("'discount_percent' must be ≤ 100, got %(value)s")
            % {"value": row["discount_percent"]},
        )
    if row["end_date"] is not None and row["end_date"] < row["start_date"]:
        file.problem(
            line,
            gettext("'end_date' %(end)s is before 'start_date' %(start)s")
            % {"end": row["end_date"], "start": row["start_date"]},
        )
    if account_id is None or code is None:
        return
    first = owners.setdefault(row["subscription_id"], (row["customer_id"], code, line))
    if first[0] != row["customer_id"]:
        file.problem(
            line,
            gettext("subscription '%(id)s' belongs to customer '%(customer)s' on line %(line)d")
            % {"id": row["subscription_id"], "customer": first[0], "line": first[2]},
        )
    elif first[1] != code:
        file.problem(
            line,
            gettext("subscription '%(id)s' is in %(currency)s on line %(line)d")
            % {"id": row["subscription_id"], "currency": first[1], "line": first[2]},
        )
    check_fits(
        file,
        line,
        SubscriptionItem,
        {
            "external_id": _item_key(row),
            "quantity": row["quantity"],
            "unit_price": row["unit_price"],
            "discount_percent": row["discount_percent"],
            "discount_amount": row["discount_amount"],
            "interval_count": row["interval_count"],
        },
    )
    check_fits(file, line, Subscription, {"external_id": row["subscription_id"]})
    check_fits(file, line, Product, {"code": row["product"]})
    plan_code = _plan_code(row)
    if plan_code:
        check_fits(file, line, Plan, {"code": plan_code, "name": row["plan"]})


def _plan_code(row: dict[str, Any]) -> str:
    return f"{row['product']}:{row['plan']}" if row["plan"] else ""


def _products(good: dict[str, list[tuple[int, dict[str, Any]]]]) -> dict[str, int]:
    """Products by code, created from the first row that names each one."""
    wanted: dict[str, dict[str, Any]] = {}
    for items in good.values():
        for _line, row in items:
            wanted.setdefault(row["product"], row)
    found = dict(Product.objects.filter(code__in=wanted).values_list("code", "pk"))
    for code, row in wanted.items():
        if code in found:
            continue
        if row["plan"]:
            kind = ProductKind.PLAN
        else:
            kind = ProductKind.ADDON if row["recurring"] else ProductKind.SERVICE
        product = Product.objects.create(
            code=code, name=code, kind=kind, is_recurring=row["recurring"]
        )
        found[code] = product.pk
    return found


def _plans(
    good: dict[str, list[tuple[int, dict[str, Any]]]], products: dict[str, int]
) -> dict[str, int]:
    """Plans by code (``product:plan``), created with the price of the first row naming each."""
    wanted: dict[str, dict[str, Any]] = {}
    for items in good.values():
        for _line, row in items:
            if row["plan"]:
                wanted.setdefault(_plan_code(row), row)
    found = dict(Plan.objects.filter(code__in=wanted).values_list("code", "pk"))
    for code, row in wanted.items():
        if code in found:
            continue
        tier = row["plan"].lower()
        plan = Plan.objects.create(
            product_id=products[row["product"]],
            code=code,
            name=row["plan"],
            tier=tier if tier in PlanTier.values else "",
            unit_price=row["unit_price"],
            currency=row["currency"].upper(),
            interval=row["interval"],
            interval_count=row["interval_count"],
        )
        found[code] = plan.pk
    return found


def _subscription_fields(
    ctx: ImportContext, items: list[tuple[int, dict[str, Any]]]
) -> dict[str, Any]:
    first = items[0][1]
    ends = [row["end_date"] for _line, row in items]
    cancels = [row["canceled_at"] for _line, row in items if row["canceled_at"] is not None]
    recurring = [row for _line, row in items if row["recurring"]] or [first]
    term_row = next((row for row in recurring if row["plan"]), recurring[0])
    ended_on: date | None = (
        None if any(end is None for end in ends) else max(end for end in ends if end is not None)
    )
    today = timezone.localdate()
    trial_ends = [row["trial_end_date"] for _line, row in items if row["trial_end_date"]]
    if ended_on is not None and ended_on <= today:
        status = SubscriptionStatus.CANCELED
    elif trial_ends and max(trial_ends) > today:
        status = SubscriptionStatus.TRIALING
    else:
        status = SubscriptionStatus.ACTIVE
    return {
        "account_id": ctx.accounts()[first["customer_id"]],
        "currency": first["currency"].upper(),
        "started_on": min(row["start_date"] for _line, row in items),
        "ended_on": ended_on,
        "canceled_at": max(cancels) if cancels else None,
        "term_months": min(
            MONTHS_PER_INTERVAL[term_row["interval"]] * term_row["interval_count"], 32_767
        ),
        "status": status,
    }


def import_invoices(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, "invoice_id")
    subscriptions = dict(
        Subscription.objects.exclude(external_id="").values_list("external_id", "pk")
    )
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        if duplicates.repeated(line, row["invoice_id"]):
            continue
        subscription_pk = None
        if row["subscription_id"] is not None:
            subscription_pk = subscriptions.get(row["subscription_id"])
            if subscription_pk is None:
                file.problem(
                    line,
                    gettext("unknown subscription_id '%(id)s'") % {"id": row["subscription_id"]},
                )
        if row["one_off_amount"] > row["amount"]:
            file.problem(
                line,
                gettext("'one_off_amount' %(one_off)s is more than 'amount' %(amount)s")
                % {"one_off": row["one_off_amount"], "amount": row["amount"]},
            )
        fields = {
            "account_id": ctx.account_id(file, line, row["customer_id"]),
            "subscription_id": subscription_pk,
            "issued_on": row["issued_on"],
            "due_on": row["due_on"],
            "paid_on": row["paid_on"],
            "amount": row["amount"],
            "one_off_amount": row["one_off_amount"],
            "tax": row["tax"],
            "currency": currency(file, line, row["currency"]),
            "status": row["status"],
        }
        check_fits(file, line, Invoice, {"external_id": row["invoice_id"]} | fields)
        if len(file.problems) == before:
            writes.append(Write(line, (row["invoice_id"],), fields))
    upsert(Invoice, ("external_id",), writes, file)


def import_fx_rates(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, gettext("rate"))
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        code = currency(file, line, row["currency"])
        if code is not None and duplicates.repeated(line, (row["date"], code)):
            continue
        if row["rate"] == 0:
            file.problem(line, gettext("'rate' must be > 0"))
        check_fits(file, line, FxRate, {"rate": row["rate"]})
        if len(file.problems) == before:
            writes.append(Write(line, (row["date"], code), {"rate": row["rate"]}))
    upsert(FxRate, ("date", "currency"), writes, file)


def import_spend(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, gettext("spend"))
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        key = (row["month"], row["channel"])
        if duplicates.repeated(line, key):
            continue
        fields: dict[str, Any] = {
            "amount": row["amount"],
            "currency": currency(file, line, row["currency"]),
        }
        check_fits(file, line, MarketingSpend, {"channel": row["channel"]} | fields)
        if len(file.problems) == before:
            writes.append(Write(line, key, fields))
    upsert(MarketingSpend, ("month", "channel"), writes, file)
