"""Revenue KPIs per month, quarter and year; CAC per channel; trial → paid conversion.

Each KPI is a named function whose docstring is its definition, registered in :data:`KPIS`
(insertion order is the output order). A KPI reads one row of a *components* table: the month's
(or period's) MRR at start and end, the summed movements, counts, spend and the trailing
figures. Money is an exact numerator over :attr:`MoneyScale.denominator` (kind ``money``) or,
for averages, a float numerator over the same denominator (kind ``money_avg``); a ratio with a
zero or missing denominator is null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from kizuna.engine.revenue import (
    MONTHS_PER_YEAR,
    PERCENT,
    MoneyScale,
    RevenueRules,
    money_total,
    month_index_expr,
    zero_of,
)

KpiKind = Literal["money", "money_avg", "count", "ratio", "months"]
Period = Literal["quarter", "year"]

# Trailing window of the average monthly logo churn used by LTV: a year smooths seasonality.
LTV_CHURN_WINDOW_MONTHS = 12
# NRR/GRR over a year compare each customer with itself this many months earlier.
COHORT_LOOKBACK_MONTHS = 12

FLOW_COLUMNS = (
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "fx_mrr",
)
MOVEMENT_NAMES = ("new", "expansion", "contraction", "churned", "reactivation")
COUNT_FLOW_COLUMNS = ("new_customers", "churned_customers", "reactivated_customers")
END_COLUMNS = ("mrr", "customers", "avg_logo_churn_12m", "base_12m", "now_12m", "capped_12m")
START_COLUMNS = ("mrr_prev", "customers_prev")
# What a KPI may read: the monthly components and their quarter and year roll-ups share these.
COMPONENT_COLUMNS = (
    "mrr",
    "mrr_prev",
    "customers",
    "customers_prev",
    *FLOW_COLUMNS,
    *COUNT_FLOW_COLUMNS,
    "spend",
    "avg_logo_churn_12m",
    "base_12m",
    "now_12m",
    "capped_12m",
)
PERIODS: tuple[Period, ...] = ("quarter", "year")


@dataclass(frozen=True)
class Kpi:
    name: str
    kind: KpiKind
    compute: Callable[[ir.Table, RevenueRules], ir.Value]

    @property
    def definition(self) -> str:
        return (self.compute.__doc__ or "").strip()


KPIS: dict[str, Kpi] = {}


def kpi(
    name: str, kind: KpiKind
) -> Callable[
    [Callable[[ir.Table, RevenueRules], ir.Value]], Callable[[ir.Table, RevenueRules], ir.Value]
]:
    """Registers a KPI under ``name``."""

    def register(
        compute: Callable[[ir.Table, RevenueRules], ir.Value],
    ) -> Callable[[ir.Table, RevenueRules], ir.Value]:
        if name in KPIS:
            raise ValueError(f"KPI {name!r} is registered twice")
        KPIS[name] = Kpi(name, kind, compute)
        return compute

    return register


def ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator ÷ denominator as a float; null when the denominator is zero or missing.

    Both sides become floats before dividing so that every engine does the same IEEE division.
    """
    return ibis.cases(
        (denominator.isnull() | (denominator == 0), ibis.null("float64")),
        else_=numerator.cast("float64") / denominator.cast("float64"),
    )


def _margin(rules: RevenueRules) -> ir.FloatingScalar:
    # A fraction, not money: LTV and payback are estimates, reported rounded.
    return ibis.literal(float(rules.gross_margin), type="float64")


@kpi("mrr", "money")
def mrr(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Monthly recurring revenue at the end of the month: Σ of every paying customer's MRR."""
    return c.mrr


@kpi("arr", "money")
def arr(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Annual run rate: ARR = 12 × MRR."""
    return (c.mrr * MONTHS_PER_YEAR).cast(c.mrr.type())


@kpi("customers", "count")
def customers(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Paying customers: customers with MRR > 0 at the end of the month."""
    return c.customers


def _flow(column: str, doc: str) -> None:
    def compute(c: ir.Table, rules: RevenueRules) -> ir.Value:
        return c[column]

    compute.__doc__ = doc
    kind: KpiKind = "money" if column.endswith("_mrr") else "count"
    kpi(column, kind)(compute)


_flow("new_mrr", "MRR of customers paying for the first time this month.")
_flow("expansion_mrr", "Increase of continuing customers' MRR, exchange-rate effect excluded.")
_flow("contraction_mrr", "Decrease of continuing customers' MRR, exchange-rate effect excluded.")
_flow("churned_mrr", "Previous month's MRR of customers whose MRR fell to 0.")
_flow("reactivation_mrr", "MRR of customers paying again after at least one month at 0.")
_flow(
    "fx_mrr",
    "Signed exchange-rate effect: native MRR × (rate now − rate last month), summed over the "
    "items in service at both month-ends.",
)


@kpi("net_new_mrr", "money")
def net_new_mrr(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """new + expansion + reactivation − contraction − churned (so MRR − previous MRR =
    net_new_mrr + fx_mrr)."""
    return (
        c.new_mrr + c.expansion_mrr + c.reactivation_mrr - c.contraction_mrr - c.churned_mrr
    ).cast(c.new_mrr.type())


_flow("new_customers", "Customers paying for the first time this month.")
_flow("churned_customers", "Customers whose MRR fell from > 0 to 0 this month.")
_flow("reactivated_customers", "Customers paying again after at least one month at 0.")


@kpi("arpa", "money_avg")
def arpa(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Average revenue per account: MRR ÷ paying customers."""
    return ratio(c.mrr, c.customers)


@kpi("logo_churn_rate", "ratio")
def logo_churn_rate(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Churned customers ÷ paying customers at the end of the previous month."""
    return ratio(c.churned_customers, c.customers_prev)


@kpi("gross_mrr_churn_rate", "ratio")
def gross_mrr_churn_rate(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """(contraction + churned) ÷ previous month's MRR."""
    return ratio(c.contraction_mrr + c.churned_mrr, c.mrr_prev)


@kpi("nrr", "ratio")
def nrr(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Net revenue retention: (previous MRR + expansion − contraction − churned) ÷ previous MRR."""
    return ratio(c.mrr_prev + c.expansion_mrr - c.contraction_mrr - c.churned_mrr, c.mrr_prev)


@kpi("grr", "ratio")
def grr(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Gross revenue retention: (previous MRR − contraction − churned) ÷ previous MRR."""
    return ratio(c.mrr_prev - c.contraction_mrr - c.churned_mrr, c.mrr_prev)


@kpi("expansion_rate", "ratio")
def expansion_rate(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Expansion MRR ÷ previous month's MRR."""
    return ratio(c.expansion_mrr, c.mrr_prev)


@kpi("quick_ratio", "ratio")
def quick_ratio(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """(new + expansion + reactivation) ÷ (contraction + churned)."""
    return ratio(
        c.new_mrr + c.expansion_mrr + c.reactivation_mrr, c.contraction_mrr + c.churned_mrr
    )


@kpi("nrr_12m", "ratio")
def nrr_12m(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Customers paying 12 months earlier: their MRR now ÷ their MRR then."""
    return ratio(c.now_12m, c.base_12m)


@kpi("grr_12m", "ratio")
def grr_12m(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """As nrr_12m, with each customer's MRR now capped at its MRR then."""
    return ratio(c.capped_12m, c.base_12m)


@kpi("ltv", "money_avg")
def ltv(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Lifetime value: ARPA × gross margin ÷ average monthly logo churn rate of the trailing
    12 months (fewer at the start of the history)."""
    return ratio(ratio(c.mrr, c.customers) * _margin(rules), c.avg_logo_churn_12m)


@kpi("cac", "money_avg")
def cac(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """Customer acquisition cost: sales & marketing spend ÷ new customers."""
    return ratio(c.spend, c.new_customers)


@kpi("ltv_cac", "ratio")
def ltv_cac(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """LTV ÷ CAC."""
    return ratio(ltv(c, rules), cac(c, rules))


@kpi("payback_months", "months")
def payback_months(c: ir.Table, rules: RevenueRules) -> ir.Value:
    """CAC ÷ (new customers' ARPA × gross margin) = spend ÷ (new MRR × gross margin)."""
    return ratio(c.spend, c.new_mrr.cast("float64") * _margin(rules))


def monthly_components(
    movements: ir.Table,
    calendar: ir.Table,
    spend: ir.Table | None,
    free_customers: ir.Table | None = None,
) -> ir.Table:
    """Per month: MRR at both month-ends, summed movements and counts, spend and the trailing
    figures the KPIs need. ``movements`` are customer-level :func:`mrr_movements` rows (with
    the items' ``customer_key``); ``spend`` has ``month_idx, channel, spend`` (money
    numerators) or is ``None``; ``free_customers`` (``month_idx, free_customers``) are
    customers on free plans only, added to the customer counts when free plans count as
    customers.
    """

    def moved(t: ir.Table, name: str) -> ir.NumericValue:
        total = money_total(t.delta, where=t.movement == name)
        size = -total if name in ("contraction", "churned") else total
        return size.cast(total.type())

    flows = movements.group_by("month_idx").agg(
        mrr=lambda t: money_total(t.mrr_end),
        mrr_prev=lambda t: money_total(t.mrr_start),
        customers=lambda t: t.customer_id.count(where=t.mrr_end > 0),
        customers_prev=lambda t: t.customer_id.count(where=t.mrr_start > 0),
        **{f"{name}_mrr": (lambda t, n=name: moved(t, n)) for name in MOVEMENT_NAMES},
        fx_mrr=lambda t: money_total(t.fx),
        new_customers=lambda t: t.customer_id.count(where=t.movement == "new"),
        churned_customers=lambda t: t.customer_id.count(where=t.movement == "churned"),
        reactivated_customers=lambda t: t.customer_id.count(where=t.movement == "reactivation"),
    )
    retained = _twelve_month_retention(movements)
    base = calendar.left_join(flows, calendar.month_idx == flows.month_idx).select(
        calendar.month_idx,
        calendar.month,
        *[flows[name].fill_null(zero_of(flows[name])).name(name) for name in ("mrr", "mrr_prev")],
        *[flows[name].fill_null(0).name(name) for name in ("customers", "customers_prev")],
        *[flows[name].fill_null(zero_of(flows[name])).name(name) for name in FLOW_COLUMNS],
        *[flows[name].fill_null(0).name(name) for name in COUNT_FLOW_COLUMNS],
    )
    if free_customers is not None:
        # A month's free-plan customers are also the next month's opening ones.
        free = free_customers.select("month_idx", now="free_customers")
        before = free_customers.select(
            month_idx=free_customers.month_idx + 1, then="free_customers"
        )
        counted = base.left_join(free, base.month_idx == free.month_idx).select(base, free.now)
        counted = counted.left_join(before, counted.month_idx == before.month_idx).select(
            counted, before.then
        )
        base = counted.mutate(
            customers=counted.customers + counted.now.fill_null(0),
            customers_prev=counted.customers_prev + counted.then.fill_null(0),
        ).drop("now", "then")
    base = base.left_join(retained, base.month_idx == retained.month_idx).select(
        base, retained.base_12m, retained.now_12m, retained.capped_12m
    )
    if spend is None:
        base = base.mutate(spend=ibis.null(base.mrr.type()))
    else:
        per_month = spend.group_by("month_idx").agg(total=lambda t: money_total(t.spend))
        base = base.left_join(per_month, base.month_idx == per_month.month_idx).select(
            base, spend=per_month.total.fill_null(zero_of(per_month.total))
        )
    trailing = ibis.window(order_by="month_idx", preceding=LTV_CHURN_WINDOW_MONTHS - 1, following=0)
    churn = ratio(base.churned_customers, base.customers_prev)
    return base.mutate(avg_logo_churn_12m=churn.mean().over(trailing))


def _twelve_month_retention(movements: ir.Table) -> ir.Table:
    """Per month M: Σ MRR at M−12 of the customers paying then (``base_12m``), Σ of their MRR
    at M (``now_12m``) and Σ of min(MRR at M, MRR at M−12) (``capped_12m``)."""
    paying = movements.filter(movements.mrr_end > 0).select("customer_key", "month_idx", "mrr_end")
    later = paying.view()
    pairs = paying.left_join(
        later,
        [
            paying.customer_key == later.customer_key,
            later.month_idx == paying.month_idx + COHORT_LOOKBACK_MONTHS,
        ],
    ).select(
        month_idx=paying.month_idx + COHORT_LOOKBACK_MONTHS,
        then=paying.mrr_end,
        now=later.mrr_end.fill_null(zero_of(later.mrr_end)),
    )
    return pairs.group_by("month_idx").agg(
        base_12m=lambda t: money_total(t.then),
        now_12m=lambda t: money_total(t.now),
        capped_12m=lambda t: money_total(ibis.cases((t.now < t.then, t.now), else_=t.then)),
    )


def kpi_table(
    components: ir.Table, rules: RevenueRules, keys: Sequence[str] = ("month_idx",)
) -> ir.Table:
    """Every registered KPI, one column each, for each row of ``components``."""
    return components.select(
        *keys, **{name: definition.compute(components, rules) for name, definition in KPIS.items()}
    )


def report_kpis(monthly: ir.Table, rules: RevenueRules, first_idx: int, last_idx: int) -> ir.Table:
    """The KPIs of every month, quarter and year of the months ``first_idx..last_idx``, in one
    table (one query): ``period`` (``month``, ``quarter`` or ``year``), ``period_idx`` (the
    period's first month; partial periods cover only the selected months) and one column per
    KPI."""
    months = monthly.filter(monthly.month_idx.between(first_idx, last_idx))
    parts = [
        months.select(*COMPONENT_COLUMNS, period=ibis.literal("month"), period_idx=months.month_idx)
    ]
    for period in PERIODS:
        rolled = period_components(monthly, period, first_idx, last_idx)
        parts.append(
            rolled.select(
                *COMPONENT_COLUMNS, period=ibis.literal(period), period_idx=rolled.period_idx
            )
        )
    return kpi_table(ibis.union(*parts), rules, keys=("period", "period_idx"))


def period_components(monthly: ir.Table, period: Period, first_idx: int, last_idx: int) -> ir.Table:
    """Roll the monthly components of months ``first_idx..last_idx`` up to quarters or years.

    Movements, counts and spend are summed over the period's months; MRR and customers at the
    start are those before its first month, at the end those of its last month (so the period's
    logo churn rate is customers churned in the period ÷ customers at its start); partial
    periods cover only the selected months. ``period_idx`` is the period's first month index;
    ``months`` counts the months present. One aggregation, no joins: the first and last month
    of each period follow from the range.
    """
    size = 3 if period == "quarter" else MONTHS_PER_YEAR
    months = monthly.filter(monthly.month_idx.between(first_idx, last_idx))
    period_idx = months.month_idx - months.month_idx % size
    keyed = months.mutate(
        period_idx=period_idx,
        opens=months.month_idx == ibis.greatest(period_idx, first_idx),
        closes=months.month_idx == ibis.least(period_idx + size - 1, last_idx),
    )
    return keyed.group_by("period_idx").agg(
        months=lambda t: t.month_idx.count(),
        spend=lambda t: money_total(t.spend),
        **{name: (lambda t, n=name: money_total(t[n])) for name in FLOW_COLUMNS},
        **{name: (lambda t, n=name: t[n].sum()) for name in COUNT_FLOW_COLUMNS},
        **{name: (lambda t, n=name: t[n].max(where=t.opens)) for name in START_COLUMNS},
        **{name: (lambda t, n=name: t[n].max(where=t.closes)) for name in END_COLUMNS},
    )


def spend_in_reporting_currency(spend: ir.Table, rates: ir.Table, scale: MoneyScale) -> ir.Table:
    """Spend per month and channel as money numerators (rate of the month's last day)."""
    keyed = spend.mutate(month_idx=month_index_expr(spend.month))
    priced = keyed.left_join(
        rates, [keyed.currency == rates.currency, keyed.month_idx == rates.month_idx]
    ).select(keyed.month_idx, keyed.channel, keyed.amount, rates.rate)
    per_month = PERCENT * MONTHS_PER_YEAR * scale.interval_lcm
    units = (scale.amount(priced.amount) * (priced.rate * per_month)).cast(scale.money_type)
    return (
        priced.mutate(units=units)
        .group_by(["month_idx", "channel"])
        .agg(spend=lambda t: money_total(t.units))
    )


def cac_by_channel(movements: ir.Table, customers: ir.Table | None, spend: ir.Table) -> ir.Table:
    """CAC per month and channel: the channel's spend ÷ new customers whose ``channel`` (from
    the customer list) is that channel. Columns ``month_idx, channel, spend, new_customers,
    cac``."""
    if customers is None:
        counts = spend.select("month_idx", "channel", new_customers=ibis.literal(0, "int64"))
    else:
        new = movements.filter(movements.movement == "new")
        tagged = new.join(customers, new.customer_id == customers.customer_id).select(
            new.month_idx, customers.channel
        )
        counts = tagged.group_by(["month_idx", "channel"]).agg(
            new_customers=lambda t: t.month_idx.count()
        )
    joined = spend.left_join(
        counts, [spend.month_idx == counts.month_idx, spend.channel == counts.channel]
    ).select(spend.month_idx, spend.channel, spend.spend, counts.new_customers)
    filled = joined.mutate(new_customers=joined.new_customers.fill_null(0))
    return filled.mutate(cac=ratio(filled.spend, filled.new_customers))


def trial_conversion(items: ir.Table, as_of_idx: int) -> ir.Table:
    """Trial → paid conversion by trial start month.

    A trial is a subscription with a recurring item whose ``trial_end_date`` is after its
    ``start_date``; it converted when such an item is in paid service (positive MRR) for at
    least one day by the end of month ``as_of_idx``; it is pending when its trial ends after
    that month and it has not converted. Rate = converted ÷ (trials − pending). ``items`` are
    :func:`kizuna.engine.revenue.item_periods` rows computed with trials carrying no MRR.
    """
    trials = items.filter(
        items.trial_end_date.notnull() & (items.trial_end_date > items.start_date)
    )
    paid = (
        (trials.period > 0)
        & (trials.service_end.isnull() | (trials.service_end > trials.service_start))
        & (trials.first_idx <= as_of_idx)
    )
    flagged = trials.mutate(
        paid=ibis.cases((paid, 1), else_=0),
        trial_start_idx=month_index_expr(trials.start_date),
        trial_end_idx=month_index_expr(trials.trial_end_date),
    )
    per_subscription = flagged.group_by(["customer_id", "subscription_id"]).agg(
        trial_start_idx=lambda t: t.trial_start_idx.min(),
        trial_end_idx=lambda t: t.trial_end_idx.min(),
        converted=lambda t: t.paid.max(),
    )
    pending = ibis.cases(
        ((per_subscription.converted == 0) & (per_subscription.trial_end_idx > as_of_idx), 1),
        else_=0,
    )
    marked = per_subscription.mutate(pending=pending)
    by_month = marked.group_by(month_idx=marked.trial_start_idx).agg(
        trials=lambda t: t.converted.count(),
        converted=lambda t: t.converted.sum(),
        pending=lambda t: t.pending.sum(),
    )
    return by_month.mutate(
        conversion_rate=ratio(by_month.converted, by_month.trials - by_month.pending)
    )
