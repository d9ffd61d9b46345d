"""What a closed deal does to the customer's subscription and billing records (SPEC P6, R2).

These run inside the transaction of the deal action that closed the deal
(:mod:`kizuna.pipeline.actions`); they are not meant to be called on their own.

Rules (``docs/pipelines.md`` repeats them with examples):

* A subscription item is in service from ``start_date`` up to, but not including,
  ``end_date`` — the revenue engine's rule. A change effective on day D therefore ends the old
  item *on* D and starts the new one on D, and the month of D shows the change at month end.
* A term of N months starting on day S bills the N calendar months starting with S's month,
  each at the subscription's MRR on that month's last day (no proration).
* Billing records are written with status ``scheduled``; invoicing is the billing system's job
  (an invoice import or Stripe moves them to invoiced/paid). Records that are no longer
  scheduled are history and are never rewritten.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from kizuna.billing.models import (
    BillingRecord,
    BillingStatus,
    Interval,
    MrrCategory,
    Plan,
    Product,
    ProductKind,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from kizuna.core.money import round_money
from kizuna.crm.actions import ActionError
from kizuna.crm.models import Account
from kizuna.engine.revenue import PERIODS_PER_YEAR
from kizuna.pipeline.models import Deal, DealStatus, PipelineKind

MONTHS_PER_YEAR = 12
# The product a won deal is booked on when it names none and the catalogue has no base plan:
# a fresh install can close its first deal before anyone has set up products.
FALLBACK_PRODUCT_CODE = "subscription"
ONE_DAY = timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the 31st becomes the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def term_months(start: date, months: int) -> list[date]:
    """First days of the ``months`` calendar months a term starting on ``start`` bills."""
    first = month_start(start)
    return [add_months(first, offset) for offset in range(months)]


def item_mrr(item: SubscriptionItem) -> Decimal:
    """The item's MRR in its own currency, exact — the revenue engine's formula.

    (quantity × unit price × (1 − discount % ÷ 100) − discount amount) × periods per year
    ÷ 12 ÷ interval count, never below zero; one-off items have none.
    """
    if not item.recurring:
        return Decimal(0)
    period = item.quantity * item.unit_price * (100 - item.discount_percent) / 100
    period -= item.discount_amount
    if period <= 0:
        return Decimal(0)
    return period * PERIODS_PER_YEAR[item.interval] / MONTHS_PER_YEAR / item.interval_count


def in_service(items: QuerySet[SubscriptionItem], day: date) -> QuerySet[SubscriptionItem]:
    return items.filter(start_date__lte=day).filter(Q(end_date__isnull=True) | Q(end_date__gt=day))


def subscription_mrr(subscription: Subscription, day: date) -> Decimal:
    """Σ MRR of the recurring items in service on ``day``, rounded to the currency."""
    items = in_service(subscription.items.filter(recurring=True), day)
    total = sum((item_mrr(item) for item in items), Decimal(0))
    return round_money(total, subscription.currency)


def schedule_billing(
    subscription: Subscription, months: list[date], first_category: str, plan: str = ""
) -> int:
    """Write the scheduled billing record of each month (first day) at its month-end MRR.

    The first month gets ``first_category`` (new, expansion, …), the others ``recurring``.
    Months already invoiced, paid or unpaid are left as they are. Returns records written.
    """
    existing = {
        record.target_month: record
        for record in BillingRecord.objects.filter(
            subscription=subscription, target_month__in=months
        )
    }
    written = 0
    for index, month in enumerate(months):
        record = existing.get(month)
        if record is not None and record.status != BillingStatus.SCHEDULED:
            continue
        values = {
            "account_id": subscription.account_id,
            "amount": subscription_mrr(subscription, month_end(month)),
            "currency": subscription.currency,
            "mrr_category": first_category if index == 0 else MrrCategory.RECURRING,
            "status": BillingStatus.SCHEDULED,
            "plan": plan,
        }
        if record is None:
            BillingRecord.objects.create(subscription=subscription, target_month=month, **values)
        else:
            for name, value in values.items():
                setattr(record, name, value)
            record.save()
        written += 1
    return written


def resolve_catalogue(deal: Deal) -> tuple[Product, Plan | None]:
    """The product and plan a won deal is booked on.

    The deal's ``plan`` is matched against plan codes, then plan names, then (with the deal's
    product and currency) plan tiers; its ``product`` against product codes. With neither, the
    catalogue's first recurring base-plan product is used, created when the catalogue is empty.
    """
    plan: Plan | None = None
    if deal.plan:
        plans = Plan.objects.select_related("product")
        if deal.product:
            plans = plans.filter(product__code=deal.product)
        plan = (
            plans.filter(code=deal.plan).first()
            or plans.filter(name=deal.plan).first()
            or plans.filter(tier=deal.plan.lower(), currency=deal.currency)
            .order_by("interval", "pk")
            .first()
        )
    if plan is not None:
        return plan.product, plan
    if deal.product:
        product = Product.objects.filter(code=deal.product).first()
        if product is not None:
            return product, None
    base = Product.objects.filter(kind=ProductKind.PLAN, is_recurring=True).order_by("pk").first()
    if base is not None and not deal.product:
        return base, None
    code = deal.product or FALLBACK_PRODUCT_CODE
    product, _ = Product.objects.get_or_create(
        code=code, defaults={"name": code, "kind": ProductKind.PLAN, "is_recurring": True}
    )
    return product, None


def _plan_label(deal: Deal, plan: Plan | None) -> str:
    return plan.name if plan is not None else deal.plan


def _monthly_item(
    subscription: Subscription,
    product: Product,
    plan: Plan | None,
    mrr: Decimal,
    start: date,
) -> SubscriptionItem:
    return SubscriptionItem.objects.create(
        subscription=subscription,
        product=product,
        plan=plan,
        quantity=1,
        unit_price=mrr,
        currency=subscription.currency,
        interval=Interval.MONTH,
        interval_count=1,
        start_date=start,
    )


def start_subscription(deal: Deal, start: date) -> Subscription:
    """A won new-business deal: a subscription at the deal's MRR for its contract term.

    One monthly item (quantity 1, unit price = the deal's MRR) from ``start``, open-ended: the
    committed term is ``term_months``, and the contract continues until a renewal deal churns
    it. Billing records for every month of the term; the first month is ``new``, or
    ``reactivation`` for a customer that had a subscription before.
    """
    months = deal.contract_months
    if not months:
        raise ActionError(gettext("a won deal needs its contract term in months"))
    returning = Subscription.objects.filter(account_id=deal.account_id).exists()
    product, plan = resolve_catalogue(deal)
    subscription = Subscription.objects.create(
        account_id=deal.account_id,
        status=SubscriptionStatus.ACTIVE,
        currency=deal.currency,
        started_on=start,
        term_months=months,
        source="deal",
    )
    _monthly_item(subscription, product, plan, deal.amount_mrr, start)
    category = MrrCategory.REACTIVATION if returning else MrrCategory.NEW
    schedule_billing(subscription, term_months(start, months), category, _plan_label(deal, plan))
    return subscription


def active_subscription(account: Account | int, day: date) -> Subscription | None:
    """The account's most recently started subscription that is in force on ``day``."""
    account_id = account if isinstance(account, int) else account.pk
    return (
        Subscription.objects.filter(account_id=account_id, started_on__lte=day)
        .exclude(status=SubscriptionStatus.CANCELED, ended_on__lte=day)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day))
        .order_by("-started_on", "-pk")
        .first()
    )


def _billed_until(subscription: Subscription) -> date | None:
    """First day of the last month the subscription has a billing record for."""
    last = (
        BillingRecord.objects.filter(subscription=subscription)
        .order_by("-target_month")
        .values_list("target_month", flat=True)
        .first()
    )
    return last


def _months_between(first: date, last: date) -> list[date]:
    months: list[date] = []
    month = month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def change_subscription(deal: Deal, effective: date) -> Subscription:
    """A won upsell or cross-sell, from ``effective`` on.

    Cross-sell (the deal names a product the subscription does not have): a new monthly item
    at the deal's MRR starts on ``effective``. Upsell: the item being upgraded (the one of the
    deal's product, else the largest) ends on ``effective`` and a monthly item at its MRR plus
    the deal's added MRR starts on that same day, on the deal's plan when it names one. The
    billed months from ``effective``'s month to the end of the billed term are rewritten; the
    first is an ``expansion``.
    """
    subscription = active_subscription(deal.account_id, effective)
    if subscription is None:
        raise ActionError(
            gettext("%(account)s has no subscription in force on %(day)s to change")
            % {"account": deal.account, "day": effective.isoformat()}
        )
    current = list(in_service(subscription.items.filter(recurring=True), effective))
    same_product = [item for item in current if deal.product and item.product.code == deal.product]
    product, plan = resolve_catalogue(deal)
    if deal.product and not same_product:
        _monthly_item(subscription, product, plan, deal.amount_mrr, effective)
    else:
        candidates = same_product or current
        if not candidates:
            _monthly_item(subscription, product, plan, deal.amount_mrr, effective)
        else:
            old = max(candidates, key=item_mrr)
            old.end_date = effective
            old.save(update_fields=["end_date"])
            new_plan = plan if deal.plan and plan is not None else old.plan
            mrr = round_money(item_mrr(old), subscription.currency) + deal.amount_mrr
            _monthly_item(subscription, old.product, new_plan, mrr, effective)
    last = _billed_until(subscription)
    if last is not None and last >= month_start(effective):
        schedule_billing(
            subscription,
            _months_between(effective, last),
            MrrCategory.EXPANSION,
            _plan_label(deal, plan) or subscription_plan_name(subscription, effective),
        )
    return subscription


def subscription_plan_name(subscription: Subscription, day: date) -> str:
    item = (
        in_service(subscription.items.filter(recurring=True), day)
        .select_related("plan")
        .order_by("-unit_price")
        .first()
    )
    return item.plan.name if item is not None and item.plan is not None else ""


# --- committed terms ---------------------------------------------------------------------


def latest_renewals(account_ids: list[int] | None = None) -> dict[int, tuple[date, int | None]]:
    """Per account: the term end its latest renewed deal renewed and that deal's term length."""
    deals = Deal.objects.filter(
        pipeline__kind=PipelineKind.RENEWAL,
        status=DealStatus.WON,
        renewal_of_term_end__isnull=False,
    )
    if account_ids is not None:
        deals = deals.filter(account_id__in=account_ids)
    latest: dict[int, tuple[date, int | None]] = {}
    for account_id, term_end, months in deals.order_by("renewal_of_term_end").values_list(
        "account_id", "renewal_of_term_end", "contract_months"
    ):
        if term_end is not None:
            latest[account_id] = (term_end, months)
    return latest


def current_term_end(
    subscription: Subscription, as_of: date, renewed: tuple[date, int | None] | None = None
) -> date:
    """End (exclusive) of the committed term in force on ``as_of``: the first term end after it.

    Terms run ``term_months`` from the start, or from the term end the account's latest
    renewed deal renewed, for that deal's length; a term that ended without a renewal deal
    renewed tacitly for ``term_months`` more.
    """
    start, months = subscription.started_on, subscription.term_months
    if renewed is not None and renewed[0] > subscription.started_on:
        start, months = renewed[0], renewed[1] or subscription.term_months
    end = add_months(start, max(1, months))
    while end <= as_of:
        end = add_months(end, max(1, subscription.term_months))
    return end


@dataclass(frozen=True)
class TermChange:
    subscription: Subscription
    term_end: date
    next_term_end: date


def _subscription_for_term(deal: Deal) -> tuple[Subscription, date]:
    term_end = deal.renewal_of_term_end
    day = (term_end or deal.close_date) - ONE_DAY
    subscription = active_subscription(deal.account_id, day)
    if subscription is None:
        raise ActionError(
            gettext("%(account)s has no subscription in force to renew or end")
            % {"account": deal.account}
        )
    if term_end is None:
        term_end = current_term_end(subscription, day)
    return subscription, term_end


def renew_subscription(deal: Deal) -> TermChange:
    """A renewed renewal deal: the next term starts at the term end, for the deal's length.

    When the deal's MRR differs from the MRR at the end of the old term, the items in service
    end at the term end and one monthly item at the deal's MRR starts on it. The new term's
    months are billed; the first is ``expansion`` or ``contraction`` when the price changed.
    """
    subscription, term_end = _subscription_for_term(deal)
    months = deal.contract_months or subscription.term_months
    before = subscription_mrr(subscription, term_end - ONE_DAY)
    category: str = MrrCategory.RECURRING
    plan_name = subscription_plan_name(subscription, term_end - ONE_DAY)
    if deal.amount_mrr != before:
        category = MrrCategory.EXPANSION if deal.amount_mrr > before else MrrCategory.CONTRACTION
        current = list(in_service(subscription.items.filter(recurring=True), term_end))
        product, plan = resolve_catalogue(deal)
        if current and not deal.plan and not deal.product:
            old = max(current, key=item_mrr)
            product, plan = old.product, old.plan
        for item in current:
            item.end_date = term_end
            item.save(update_fields=["end_date"])
        _monthly_item(subscription, product, plan, deal.amount_mrr, term_end)
        plan_name = _plan_label(deal, plan) or plan_name
    subscription.term_months = months
    subscription.save(update_fields=["term_months"])
    schedule_billing(subscription, term_months(term_end, months), category, plan_name)
    return TermChange(subscription, term_end, add_months(term_end, months))


def end_at_term_end(deal: Deal, closed_on: date) -> TermChange:
    """A churned renewal deal: service ends at the term end (exclusive), billing stops there.

    Every item still in service at the term end ends on it; the subscription records the end
    and the day the cancellation was decided; scheduled billing records from the term end's
    month on are removed.
    """
    subscription, term_end = _subscription_for_term(deal)
    for item in subscription.items.filter(Q(end_date__isnull=True) | Q(end_date__gt=term_end)):
        item.end_date = max(term_end, item.start_date)
        item.save(update_fields=["end_date"])
    subscription.ended_on = term_end
    subscription.canceled_at = closed_on
    if term_end <= closed_on:
        subscription.status = SubscriptionStatus.CANCELED
    subscription.save(update_fields=["ended_on", "canceled_at", "status"])
    BillingRecord.objects.filter(
        subscription=subscription,
        target_month__gte=month_start(term_end),
        status=BillingStatus.SCHEDULED,
    ).delete()
    return TermChange(subscription, term_end, term_end)
