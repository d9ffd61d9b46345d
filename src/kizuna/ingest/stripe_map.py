"""Stripe objects as Kizuna rows: pure functions, no store and no network.

Stripe states amounts in the currency's minor unit (cents; yen have none) and moments as Unix
seconds; Kizuna keeps money as exact decimals in major units and days in the company's time
zone. A subscription's line items become subscription items; a coupon that applies for a
while (``repeating``) splits an item at the days the discount starts and ends, so MRR before,
during and after the discount is each right. The whole mapping is documented in
``docs/import-format.md`` ("Stripe").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from kizuna.billing.models import PlanTier, ProductKind, SubscriptionStatus
from kizuna.core.money import UnknownCurrency, check_currency, minor_units
from kizuna.ingest.map_billing import MONTHS_PER_INTERVAL

StripeObject = Mapping[str, Any]

SUBSCRIPTION_STATUS = {
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "paused": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
}
"""Stripe subscription statuses Kizuna keeps; ``incomplete`` ones never started and are left out
(their first payment did not go through), ``incomplete_expired`` ones never will."""

PERCENT_PLACES = Decimal("0.01")

PRODUCT_KIND_KEY = "kizuna_kind"
"""Product metadata naming the product's kind (``plan``, ``addon`` or ``service``)."""
PLAN_TIER_KEY = "kizuna_tier"
"""Price metadata naming the plan tier (``free``, ``starter``, ``professional``, ``enterprise``)."""


class StripeDataError(ValueError):
    """An object Kizuna cannot represent faithfully; reported with the object's id."""


def day(moment: int | None) -> date | None:
    """The company-time-zone day of a Unix time."""
    if moment is None:
        return None
    return timezone.localdate(datetime.fromtimestamp(moment, tz=UTC))


def money(minor: int | str | None, currency: str) -> Decimal:
    """An amount in the currency's minor unit as an exact decimal in major units."""
    if minor is None:
        return Decimal(0)
    return Decimal(str(minor)).scaleb(-minor_units(currency)).normalize() + Decimal(0)


def currency_code(value: str | None, object_id: str) -> str:
    try:
        return check_currency(value or "")
    except UnknownCurrency:
        raise StripeDataError(
            gettext("%(id)s: unknown currency '%(code)s'") % {"id": object_id, "code": value}
        ) from None


def ref(value: Any) -> str | None:
    """The id of an expandable field, whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


def customer_fields(customer: StripeObject) -> dict[str, Any]:
    address = customer.get("address") or {}
    name = customer.get("name") or customer.get("email") or customer["id"]
    return {
        "name": str(name)[:200],
        "country": (address.get("country") or "")[:2],
    }


def customer_created(customer: StripeObject) -> datetime:
    return datetime.fromtimestamp(customer["created"], tz=UTC)


def product_fields(product: StripeObject) -> dict[str, Any]:
    kind = (product.get("metadata") or {}).get(PRODUCT_KIND_KEY, ProductKind.PLAN)
    if kind not in ProductKind.values:
        raise StripeDataError(
            gettext("%(id)s: metadata %(key)s must be one of %(kinds)s, got '%(kind)s'")
            % {
                "id": product["id"],
                "key": PRODUCT_KIND_KEY,
                "kinds": ", ".join(ProductKind.values),
                "kind": kind,
            }
        )
    return {
        "name": str(product.get("name") or product["id"])[:200],
        "kind": kind,
        "is_recurring": kind != ProductKind.SERVICE,
    }


@dataclass(frozen=True)
class PriceTerms:
    """What one Stripe price charges: per unit, per interval."""

    unit_price: Decimal
    currency: str
    interval: str
    interval_count: int
    recurring: bool


def price_terms(price: StripeObject) -> PriceTerms:
    currency = currency_code(price.get("currency"), price["id"])
    if price.get("billing_scheme") == "tiered" or (
        price.get("unit_amount_decimal") is None and price.get("unit_amount") is None
    ):
        raise StripeDataError(
            gettext("%(id)s: tiered prices have no single unit price and are not imported")
            % {"id": price["id"]}
        )
    recurring = price.get("recurring")
    if recurring and recurring.get("usage_type") == "metered":
        raise StripeDataError(
            gettext("%(id)s: metered prices are billed after use and are not imported")
            % {"id": price["id"]}
        )
    amount = price.get("unit_amount_decimal")
    if amount is None:
        amount = price.get("unit_amount")
    return PriceTerms(
        unit_price=money(amount, currency),
        currency=currency,
        interval=recurring["interval"] if recurring else "month",
        interval_count=int(recurring.get("interval_count") or 1) if recurring else 1,
        recurring=bool(recurring) and price.get("type", "recurring") == "recurring",
    )


def plan_fields(price: StripeObject, product_pk: int) -> dict[str, Any]:
    terms = price_terms(price)
    tier = str((price.get("metadata") or {}).get(PLAN_TIER_KEY) or price.get("nickname") or "")
    return {
        "product_id": product_pk,
        "name": str(price.get("nickname") or price["id"])[:100],
        "tier": tier.lower() if tier.lower() in PlanTier.values else "",
        "unit_price": terms.unit_price,
        "currency": terms.currency,
        "interval": terms.interval,
        "interval_count": terms.interval_count,
    }


@dataclass(frozen=True)
class Discount:
    """A coupon applied to a subscription or an item, from ``start`` until ``end``."""

    percent: Decimal
    amount: Decimal
    currency: str | None
    start: date | None
    end: date | None


def discounts(
    applied: Sequence[Any], coupons: Mapping[str, StripeObject], owner_id: str
) -> list[Discount]:
    """The discounts that change recurring revenue (``once`` coupons reduce one invoice only)."""
    found: list[Discount] = []
    for discount in applied:
        if isinstance(discount, str):
            raise StripeDataError(
                gettext("%(id)s: discount %(discount)s was not expanded")
                % {"id": owner_id, "discount": discount}
            )
        source = discount.get("source") or {}
        coupon = source.get("coupon") or discount.get("coupon")
        if isinstance(coupon, str):
            if coupon not in coupons:
                raise StripeDataError(
                    gettext("%(id)s: unknown coupon %(coupon)s")
                    % {"id": owner_id, "coupon": coupon}
                )
            coupon = coupons[coupon]
        if coupon is None or coupon.get("duration") == "once":
            continue
        coupon_currency = coupon.get("currency")
        found.append(
            Discount(
                percent=Decimal(str(coupon.get("percent_off") or 0)),
                amount=money(coupon.get("amount_off"), coupon_currency)
                if coupon_currency
                else Decimal(0),
                currency=coupon_currency.upper() if coupon_currency else None,
                start=day(discount.get("start")),
                end=day(discount.get("end")),
            )
        )
    return found


@dataclass
class ItemSpan:
    """One subscription item over the days one set of discounts applies to it."""

    external_id: str
    price_id: str
    product_id: str
    terms: PriceTerms
    quantity: Decimal
    start: date
    end: date | None
    trial_end: date | None
    discount_percent: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    origin: date | None = None
    """The Stripe item's first day when this span starts later (its price or quantity changed
    then); the part starting on the item's first day keeps the Stripe item id."""

    def part_id(self, start: date) -> str:
        """The id of the part starting on ``start``: later parts add their first day."""
        first = self.origin or self.start
        return self.external_id if start == first else f"{self.external_id}@{start}"


@dataclass
class SubscriptionRow:
    external_id: str
    customer_id: str
    fields: dict[str, Any]
    items: list[ItemSpan] = field(default_factory=list)


def subscription_row(
    subscription: StripeObject,
    items: Sequence[StripeObject],
    coupons: Mapping[str, StripeObject],
    current_since: Mapping[str, date] | None = None,
) -> SubscriptionRow | None:
    """The subscription and its item spans, or ``None`` for one that never started.

    ``current_since`` gives, by Stripe item id, the day an item's current price and quantity
    started when they changed after its first day: its spans then start on that day, and the
    days before are history the store keeps.
    """
    subscription_id = subscription["id"]
    status = SUBSCRIPTION_STATUS.get(subscription["status"])
    if status is None:
        return None
    currency = currency_code(subscription.get("currency"), subscription_id)
    started_on = day(subscription.get("start_date") or subscription["created"])
    assert started_on is not None
    ended_on = day(subscription.get("ended_at") or subscription.get("cancel_at"))
    if ended_on is None and status == SubscriptionStatus.CANCELED:
        ended_on = day(subscription.get("canceled_at"))
    trial_end = day(subscription.get("trial_end"))
    shared = discounts(subscription.get("discounts") or [], coupons, subscription_id)
    for discount in shared:
        if discount.amount and discount.currency != currency:
            raise StripeDataError(
                gettext(
                    "%(id)s: a coupon in %(coupon)s cannot reduce a subscription in %(currency)s"
                )
                % {"id": subscription_id, "coupon": discount.currency, "currency": currency}
            )
    since = current_since or {}
    spans = [
        _item_span(item, currency, started_on, ended_on, trial_end, since.get(item["id"]))
        for item in items
    ]
    recurring = [span for span in spans if span.terms.recurring]
    # A fixed amount off the whole subscription reduces its largest recurring item.
    base = max(recurring, key=lambda span: span.terms.unit_price * span.quantity, default=None)
    parts: list[ItemSpan] = []
    for span, item in zip(spans, items, strict=True):
        applied = discounts(item.get("discounts") or [], coupons, item["id"])
        applied += [d for d in shared if not d.amount or span is base]
        parts.extend(_split_by_discounts(span, applied))
    term = base or (spans[0] if spans else None)
    term_months = (
        MONTHS_PER_INTERVAL[term.terms.interval] * term.terms.interval_count if term else 1
    )
    fields = {
        "status": status,
        "currency": currency,
        "started_on": started_on,
        "ended_on": ended_on,
        "canceled_at": day(subscription.get("canceled_at")),
        "term_months": min(term_months, 32_767),
    }
    return SubscriptionRow(subscription_id, str(ref(subscription["customer"])), fields, parts)


def _item_span(
    item: StripeObject,
    currency: str,
    started_on: date,
    ended_on: date | None,
    trial_end: date | None,
    current_since: date | None = None,
) -> ItemSpan:
    price = item["price"]
    terms = price_terms(price)
    if terms.currency != currency:
        raise StripeDataError(
            gettext("%(id)s: the item is in %(item_currency)s, its subscription in %(currency)s")
            % {"id": item["id"], "item_currency": terms.currency, "currency": currency}
        )
    # Items added later start later; an item of a subscription that ended starts no later.
    start = max(started_on, day(item.get("created")) or started_on)
    if ended_on is not None:
        start = min(start, ended_on)
    origin = None
    if current_since is not None and current_since > start:
        origin, start = start, current_since
    quantity = item.get("quantity")
    return ItemSpan(
        external_id=item["id"],
        price_id=price["id"],
        product_id=str(ref(price["product"])),
        terms=terms,
        quantity=Decimal(1) if quantity is None else Decimal(str(quantity)),
        start=start,
        end=ended_on,
        trial_end=trial_end if trial_end is not None and trial_end > start else None,
        origin=origin,
    )


def _split_by_discounts(span: ItemSpan, applied: Sequence[Discount]) -> list[ItemSpan]:
    """``span`` cut at every day a discount starts or ends, each part with its discounts.

    Percentages apply one after the other (20 % and 10 % leave 72 %), as Stripe applies them;
    fixed amounts add up. The part starting on the item's first day keeps the Stripe item id,
    later parts add their day.
    """
    cuts = {span.start}
    for discount in applied:
        for moment in (discount.start, discount.end):
            if moment is None or moment <= span.start:
                continue
            if span.end is None or moment < span.end:
                cuts.add(moment)
    starts = sorted(cuts)
    parts: list[ItemSpan] = []
    for index, start in enumerate(starts):
        active = [
            d
            for d in applied
            if (d.start is None or d.start <= start) and (d.end is None or d.end > start)
        ]
        kept = Decimal(1)
        for d in active:
            kept *= 1 - d.percent / 100
        parts.append(
            ItemSpan(
                external_id=span.part_id(start),
                price_id=span.price_id,
                product_id=span.product_id,
                terms=span.terms,
                quantity=span.quantity,
                start=start,
                end=starts[index + 1] if index + 1 < len(starts) else span.end,
                trial_end=span.trial_end
                if span.trial_end is not None and span.trial_end > start
                else None,
                # Two places, as the column keeps them: only stacked coupons need more.
                discount_percent=((1 - kept) * 100).quantize(PERCENT_PLACES, ROUND_HALF_UP),
                discount_amount=sum((d.amount for d in active), Decimal(0)),
            )
        )
    return parts


def proration_days(lines: Iterable[StripeObject]) -> dict[str, date]:
    """The day of the latest proration of each subscription item among invoice ``lines``: a
    proration starts on the day the item's price or quantity changed."""
    days: dict[str, date] = {}
    for line in lines:
        parent = line.get("parent") or {}
        details = parent.get("subscription_item_details") or {}
        # API versions before 2025-03-31 put both on the line itself.
        item_id = details.get("subscription_item") or line.get("subscription_item")
        prorated = details.get("proration") if details else line.get("proration")
        start = day((line.get("period") or {}).get("start"))
        if not prorated or not isinstance(item_id, str) or start is None:
            continue
        days[item_id] = max(start, days.get(item_id, start))
    return days


def invoice_subscription_id(invoice: StripeObject) -> str | None:
    """The subscription an invoice bills: ``parent`` in current API versions, a field before."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return ref(details.get("subscription") or invoice.get("subscription"))


def line_is_recurring(line: StripeObject) -> bool:
    """A line charging a subscription item for a whole period. Invoice items (one-off prices,
    manual charges) and prorations (part periods after a change) are not recurring revenue."""
    parent = line.get("parent")
    if parent:
        details = parent.get(parent.get("type") or "") or {}
        return parent.get("type") == "subscription_item_details" and not details.get("proration")
    # API versions before 2025-03-31 say it on the line itself.
    return line.get("type") == "subscription" and not line.get("proration")


def _net_minor(line: StripeObject) -> int:
    """A line's amount less the discounts applied to it, in minor units."""
    discounts = sum(int(d.get("amount") or 0) for d in line.get("discount_amounts") or [])
    return int(line.get("amount") or 0) - discounts


def one_off_minor(invoice: StripeObject, lines: Sequence[StripeObject], excluding: int) -> int:
    """The part of an invoice's amount excluding tax that is not recurring: its one-off and
    proration lines, less their discounts (negative for a proration credit). An invoice that
    lists no lines is taken whole: recurring when it bills a subscription, one-off when not."""
    if not lines:
        return 0 if invoice_subscription_id(invoice) is not None else excluding
    return sum(_net_minor(line) for line in lines if not line_is_recurring(line))


def invoice_lines(invoice: StripeObject) -> list[StripeObject]:
    """The lines an invoice object carries (the first page; the importer fetches the rest)."""
    return list((invoice.get("lines") or {}).get("data") or [])


def invoice_fields(
    invoice: StripeObject, lines: Sequence[StripeObject] | None = None
) -> dict[str, Any]:
    """The invoice row; ``lines`` are all its lines when it has more than its first page."""
    currency = currency_code(invoice.get("currency"), invoice["id"])
    total = invoice.get("total") or 0
    if invoice.get("total_taxes") is not None:
        tax_minor = sum(int(tax.get("amount") or 0) for tax in invoice["total_taxes"])
    else:
        tax_minor = int(invoice.get("tax") or 0)
    excluding = invoice.get("total_excluding_tax")
    if excluding is None:
        excluding = total - tax_minor
    transitions = invoice.get("status_transitions") or {}
    status = invoice.get("status") or "draft"
    return {
        "issued_on": day(transitions.get("finalized_at") or invoice["created"]),
        "due_on": day(invoice.get("due_date")),
        "paid_on": day(transitions.get("paid_at")),
        "amount": money(excluding, currency),
        "one_off_amount": money(
            one_off_minor(invoice, invoice_lines(invoice) if lines is None else lines, excluding),
            currency,
        ),
        "tax": money(tax_minor, currency),
        "currency": currency,
        "status": status,
    }
