"""Where billing data and CRM contract data disagree (SPEC R8).

Billing is the system of record for revenue; the CRM fields on an account (plan, renewal date)
are typed by people and drift. Four checks, each over the accounts a user may see:

- **plan**: the account's plan vs the plan of the base-plan item in service today;
- **renewal date**: the account's renewal date vs the end of the current committed term of
  its subscription (start + whole terms); a month-to-month subscription needs none;
- **MRR**: MRR billed (the recurring part of the last paid invoice of each subscription in
  service, divided by the months of its billing period, in the reporting currency) vs MRR
  computed from the subscription items (the account's latest month of the revenue results);
- **missing invoices**: a subscription in service with no invoice in its last two billing
  periods.

The recurring part of an invoice is its amount less its ``one_off_amount`` (setup fees,
services and prorations billed with the subscription), so a one-off charge on the same invoice
is not an MRR difference.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.utils.translation import gettext, gettext_lazy

from kizuna.billing.models import (
    CustomerMrr,
    FxRate,
    Invoice,
    InvoiceStatus,
    ProductKind,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from kizuna.crm.models import Account

# An MRR difference below this share of the item MRR is rounding (invoices are rounded to the
# currency's minor unit, FX rates differ by a day), not a disagreement.
MRR_TOLERANCE = Decimal("0.01")
# A subscription is missing invoices when none was issued in this many of its billing periods.
MISSING_INVOICE_PERIODS = 2

# Months per unit of each billing interval; weeks and days in average months.
MONTHS_PER_UNIT = {
    "day": Decimal(12) / Decimal(365),
    "week": Decimal(12) / Decimal(52),
    "month": Decimal(1),
    "quarter": Decimal(3),
    "year": Decimal(12),
}

KINDS = {
    "plan": gettext_lazy("Plan"),
    "renewal_date": gettext_lazy("Renewal date"),
    "mrr": gettext_lazy("MRR"),
    "missing_invoices": gettext_lazy("Missing invoices"),
}


@dataclass(frozen=True)
class Disagreement:
    kind: str
    """One of :data:`KINDS`."""
    account_id: int
    account: str
    customer_id: str
    subscription: str
    crm_value: str
    billing_value: str
    message: str

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind])


@dataclass(frozen=True)
class _InService:
    """An account's subscription in service on the as-of day, with what the checks need."""

    subscription: Subscription
    items: list[SubscriptionItem]

    @property
    def base(self) -> SubscriptionItem | None:
        plans = [item for item in self.items if item.product.kind == ProductKind.PLAN]
        return plans[0] if plans else None

    @property
    def period_months(self) -> Decimal:
        item = self.base or self.items[0]
        return MONTHS_PER_UNIT[item.interval] * item.interval_count


def reconcile(accounts: QuerySet[Account], as_of: date) -> list[Disagreement]:
    """Every disagreement for ``accounts`` on ``as_of``, by account name then check."""
    in_service = _in_service(accounts, as_of)
    found: list[Disagreement] = []
    mrr = _latest_item_mrr(accounts, as_of)
    billed = _billed_mrr(in_service, as_of)
    last_invoiced = _last_invoiced(
        [entry.subscription.pk for entries in in_service.values() for entry in entries], as_of
    )
    for account in accounts.order_by("name", "pk"):
        subscriptions = in_service.get(account.pk, [])
        found += _plan(account, subscriptions)
        found += _renewal(account, subscriptions, as_of)
        found += _mrr(account, subscriptions, mrr.get(account.pk), billed.get(account.pk))
        for entry in subscriptions:
            last = last_invoiced.get(entry.subscription.pk)
            found += _missing_invoices(account, entry, last, as_of)
    return found


def _in_service(accounts: QuerySet[Account], as_of: date) -> dict[int, list[_InService]]:
    items = (
        SubscriptionItem.objects.filter(
            subscription__account__in=accounts,
            recurring=True,
            start_date__lte=as_of,
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=as_of))
        .exclude(
            subscription__status=SubscriptionStatus.CANCELED, subscription__ended_on__lte=as_of
        )
        .select_related("subscription", "product", "plan")
        .order_by("subscription__started_on", "subscription_id", "start_date", "pk")
    )
    grouped: dict[int, dict[int, list[SubscriptionItem]]] = defaultdict(dict)
    for item in items:
        grouped[item.subscription.account_id].setdefault(item.subscription_id, []).append(item)
    return {
        account_id: [_InService(lines[0].subscription, lines) for lines in by_sub.values()]
        for account_id, by_sub in grouped.items()
    }


def _disagreement(
    kind: str,
    account: Account,
    subscription: Subscription | None,
    crm_value: object,
    billing_value: object,
    message: str,
) -> Disagreement:
    return Disagreement(
        kind=kind,
        account_id=account.pk,
        account=account.name,
        customer_id=account.external_id,
        subscription=(subscription.external_id or str(subscription.pk)) if subscription else "",
        crm_value="" if crm_value is None else str(crm_value),
        billing_value="" if billing_value is None else str(billing_value),
        message=message,
    )


def _plan(account: Account, subscriptions: list[_InService]) -> list[Disagreement]:
    bases = [entry for entry in subscriptions if entry.base is not None]
    if not bases:
        if account.plan:
            return [
                _disagreement(
                    "plan",
                    account,
                    None,
                    account.plan,
                    "",
                    gettext("the account has a plan, but no base plan is in service in billing"),
                )
            ]
        return []
    entry = bases[0]
    base = entry.base
    assert base is not None
    plan = base.plan
    names = {base.product.code.lower()}
    if plan is not None:
        names |= {plan.name.lower(), plan.code.lower(), plan.tier.lower()}
    if account.plan.strip().lower() in names - {""}:
        return []
    shown = plan.name if plan is not None else base.product.name
    return [
        _disagreement(
            "plan",
            account,
            entry.subscription,
            account.plan,
            shown,
            gettext("the account's plan is not the plan billed"),
        )
    ]


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def committed_term_end(subscription: Subscription, as_of: date) -> date:
    """The first day after the committed term running on ``as_of`` (whole terms from start)."""
    term = max(subscription.term_months, 1)
    terms = 1
    while add_months(subscription.started_on, terms * term) <= as_of:
        terms += 1
    return add_months(subscription.started_on, terms * term)


def _renewal(account: Account, subscriptions: list[_InService], as_of: date) -> list[Disagreement]:
    entry = next((e for e in subscriptions if e.base is not None), None)
    entry = entry or (subscriptions[0] if subscriptions else None)
    if entry is None:
        return []
    subscription = entry.subscription
    if subscription.ended_on is not None:
        return []  # ending, not renewing: there is no renewal date to agree on
    if subscription.term_months <= 1 and account.renewal_date is None:
        return []  # month to month: nothing committed, a CRM renewal date is optional
    term_end = committed_term_end(subscription, as_of)
    if account.renewal_date == term_end:
        return []
    message = (
        gettext("the account has no renewal date; the committed term ends on %(end)s")
        if account.renewal_date is None
        else gettext("the account's renewal date is not the end of the committed term (%(end)s)")
    )
    return [
        _disagreement(
            "renewal_date",
            account,
            subscription,
            account.renewal_date,
            term_end,
            message % {"end": term_end.isoformat()},
        )
    ]


def _latest_item_mrr(accounts: QuerySet[Account], as_of: date) -> dict[int, Decimal]:
    month = as_of.replace(day=1)
    latest: dict[int, Decimal] = {}
    rows = (
        CustomerMrr.objects.filter(account__in=accounts, month__lte=month)
        .order_by("account_id", "month")
        .values_list("account_id", "mrr")
    )
    for account_id, mrr in rows:
        latest[account_id] = mrr  # ordered by month: the last one stays
    return latest


def _rate(currency: str, day: date, rates: dict[str, list[tuple[date, Decimal]]]) -> Decimal | None:
    if currency == settings.KIZUNA_CURRENCY:
        return Decimal(1)
    known = [rate for start, rate in rates.get(currency, []) if start <= day]
    return known[-1] if known else None


def _billed_mrr(in_service: dict[int, list[_InService]], as_of: date) -> dict[int, Decimal | None]:
    """Per account, the MRR the recurring part of its last paid invoices bills; ``None`` when a
    rate is missing."""
    rates: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for start, currency, rate in FxRate.objects.order_by("date").values_list(
        "date", "currency", "rate"
    ):
        rates[currency].append((start, rate))
    subscription_ids = [e.subscription.pk for entries in in_service.values() for e in entries]
    last_paid: dict[int, Invoice] = {}
    invoices = Invoice.objects.filter(
        subscription_id__in=subscription_ids, status=InvoiceStatus.PAID, issued_on__lte=as_of
    ).order_by("issued_on", "pk")
    for invoice in invoices:
        assert invoice.subscription_id is not None
        last_paid[invoice.subscription_id] = invoice
    billed: dict[int, Decimal | None] = {}
    for account_id, entries in in_service.items():
        total: Decimal | None = Decimal(0)
        for entry in entries:
            paid = last_paid.get(entry.subscription.pk)
            if paid is None or total is None:
                continue
            fx = _rate(paid.currency, paid.issued_on, rates)
            recurring = paid.amount - paid.one_off_amount
            total = None if fx is None else total + recurring * fx / entry.period_months
        billed[account_id] = total
    return billed


def _mrr(
    account: Account,
    subscriptions: list[_InService],
    item_mrr: Decimal | None,
    billed: Decimal | None,
) -> list[Disagreement]:
    if not subscriptions or billed is None:
        return []
    computed = item_mrr or Decimal(0)
    billed = billed.quantize(Decimal(1))
    if abs(billed - computed) <= abs(computed) * MRR_TOLERANCE:
        return []
    return [
        _disagreement(
            "mrr",
            account,
            None,
            computed.quantize(Decimal(1)),
            billed,
            gettext("MRR billed by the last paid invoices is not the MRR of the subscriptions"),
        )
    ]


def _last_invoiced(subscription_ids: list[int], as_of: date) -> dict[int, date]:
    """The day each subscription was last invoiced on or before ``as_of`` (void and draft
    invoices do not count)."""
    rows = (
        Invoice.objects.filter(subscription_id__in=subscription_ids, issued_on__lte=as_of)
        .exclude(status__in=[InvoiceStatus.VOID, InvoiceStatus.DRAFT])
        .values("subscription_id")
        .annotate(last=Max("issued_on"))
        .values_list("subscription_id", "last")
    )
    return {subscription_id: last for subscription_id, last in rows}


def _missing_invoices(
    account: Account, entry: _InService, last_invoiced: date | None, as_of: date
) -> list[Disagreement]:
    subscription = entry.subscription
    service_start = max(
        [subscription.started_on]
        + [item.trial_end_date for item in entry.items if item.trial_end_date is not None]
    )
    # Average month length, so two periods of any interval span whole calendar periods.
    window_days = int(MISSING_INVOICE_PERIODS * entry.period_months * Decimal("30.4375"))
    window_start = as_of - timedelta(days=window_days)
    if service_start > window_start:
        return []  # not in service for two whole periods yet
    if last_invoiced is not None and last_invoiced > window_start:
        return []
    return [
        _disagreement(
            "missing_invoices",
            account,
            subscription,
            "",
            last_invoiced,
            gettext("no invoice since %(since)s, two billing periods ago")
            % {"since": window_start.isoformat()},
        )
    ]
