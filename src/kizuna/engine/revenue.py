"""Subscription revenue: item MRR, month-end MRR per customer and product, and MRR movements.

Pure functions from Ibis tables to Ibis tables (no Django, no backend-specific SQL), so the same
definitions run on DuckDB, PostgreSQL and Spark. KPIs live in :mod:`kizuna.engine.revenue_kpis`,
cohorts in :mod:`kizuna.engine.cohorts`, the past-due rule in
:mod:`kizuna.engine.revenue_past_due`, orchestration in :mod:`kizuna.engine.revenue_pipeline`.

Movements need each series' MRR at two consecutive month-ends. Rather than computing month-end
MRR and then pairing each month with the one before (a sort per series), every item contributes
to both ends directly: an item in service at the end of months f..l yields one row per month
f..l+1 carrying its share of that month's closing MRR and of the opening MRR (the previous
month's closing), so one grouped sum gives both ends of every month at once.

Money is exact. Normalising a billing period to a month divides by 3, 12, 52/12 … and some
engines (DuckDB) turn decimal division into floating point, so the engine never divides money:
every amount is carried as an exact decimal numerator over one integer denominator shared by the
whole computation (:class:`MoneyScale`), and the division happens once, in exact decimal
arithmetic, when a figure is rounded to the reporting currency's minor unit for output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

# Exact decimal type of every money numerator. Scale 6 matches the input reader (money keeps 6
# places); precision 38 is the widest every backend supports.
UNITS = "decimal(38, 6)"
# Operands are narrowed before a decimal × decimal product so that the product fits 38 digits on
# every engine (Spark would otherwise round the scale down silently). The two factors of
# quantity × price differ in width on purpose: DuckDB multiplies two DECIMAL(18) values in 64
# bits and overflows, one DECIMAL(19) makes it use 128.
NARROW = "decimal(18, 6)"
PRICE = "decimal(19, 6)"
WIDE = "decimal(38, 12)"

# Billing periods per year, by interval: item MRR = period amount × periods per year ÷ 12.
PERIODS_PER_YEAR: dict[str, int] = {"day": 365, "week": 52, "month": 12, "quarter": 4, "year": 1}

# Exchange rates carry 6 decimal places (the input format); as integers in millionths they can
# multiply money without widening the decimal scale.
RATE_SCALE = 1_000_000
# Percent discounts are applied as × (100 − percent) without the ÷ 100, which joins the
# denominator instead.
PERCENT = 100
MONTHS_PER_YEAR = 12
# Month index used for "ongoing" (no end date): later than any calendar month.
OPEN_END_INDEX = 10**7

MOVEMENTS = ("new", "expansion", "contraction", "churned", "reactivation", "none")


class RevenueInputError(ValueError):
    """Input the engine cannot compute from; ``problems`` are one message per line."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class RevenueRules:
    """Rules on which subscription-analytics tools disagree; the defaults are Kizuna's.

    Changing a rule recomputes the whole history with it.
    """

    churn_at: Literal["end_of_service", "cancellation_request"] = "end_of_service"
    """When a cancelled item stops counting: at ``end_date`` (service really ends) or at
    ``canceled_at`` (the day the customer asked to cancel)."""
    discounts: Literal["subtract", "ignore"] = "subtract"
    """Subtract discounts from MRR (net MRR), or report list-price MRR."""
    reactivation_window_months: int | None = None
    """``None``: any return after a gap is a reactivation. ``N``: a return after more than N
    months without MRR counts as new business again."""
    trials_carry_mrr: bool = False
    """Trials carry no MRR by default; ``True`` counts an item from its start date."""
    gross_margin: Decimal = Decimal(1)
    """Gross margin as a fraction (0.8 = 80 %) for LTV and payback."""
    free_plans_are_customers: bool = False
    """``False``: a customer whose in-service items are all free (MRR 0) is not a customer: it
    is absent from ``customers``, the movements and the cohorts, and its first paid month is
    ``new``. ``True``: it also counts in ``customers`` (hence in ARPA and the logo-churn base)
    while the movements stay MRR-based."""
    past_due_churn_days: int | None = None
    """``None``: a customer who does not pay stays in MRR until its items end. ``N``: a customer
    with an invoice unpaid more than N days after its due date at a month-end has no MRR that
    month (churned), until the invoice is paid (reactivation). Needs the invoices input."""

    def __post_init__(self) -> None:
        if self.churn_at not in ("end_of_service", "cancellation_request"):
            raise ValueError(
                f"churn_at must be end_of_service or cancellation_request, not {self.churn_at!r}"
            )
        if self.discounts not in ("subtract", "ignore"):
            raise ValueError(f"discounts must be subtract or ignore, not {self.discounts!r}")
        if self.reactivation_window_months is not None and self.reactivation_window_months < 0:
            raise ValueError("reactivation_window_months must be ≥ 0")
        if not Decimal(0) < self.gross_margin <= Decimal(1):
            raise ValueError("gross_margin must be a fraction in (0, 1]")
        if self.past_due_churn_days is not None and self.past_due_churn_days < 0:
            raise ValueError("past_due_churn_days must be ≥ 0")


def rules_from_settings(settings: Mapping[str, object], source: str) -> RevenueRules:
    """:class:`RevenueRules` from a mapping of field names to values (a parsed TOML file);
    ``gross_margin`` may be a number or a decimal string. Every problem is reported as
    ``source: message`` in a :class:`RevenueInputError`."""
    known = {item.name: item for item in fields(RevenueRules)}
    problems = [f"{source}: unknown setting {name!r}" for name in settings if name not in known]
    values: dict[str, Any] = {}
    for name, value in settings.items():
        if name not in known:
            continue
        if (
            name == "gross_margin"
            and isinstance(value, int | float | str)
            and not isinstance(value, bool)
        ):
            values[name] = Decimal(str(value))
        elif name in _INTEGER_SETTINGS and not (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            problems.append(f"{source}: {name} must be a whole number, got {value!r}")
        elif name in _BOOLEAN_SETTINGS and not isinstance(value, bool):
            problems.append(f"{source}: {name} must be true or false, got {value!r}")
        elif name in _TEXT_SETTINGS and not isinstance(value, str):
            problems.append(f"{source}: {name} must be text, got {value!r}")
        else:
            values[name] = value
    if problems:
        raise RevenueInputError(problems)
    try:
        return RevenueRules(**values)
    except (ValueError, ArithmeticError) as error:
        raise RevenueInputError([f"{source}: {error}"]) from None


_INTEGER_SETTINGS = ("reactivation_window_months", "past_due_churn_days")
_BOOLEAN_SETTINGS = ("trials_carry_mrr", "free_plans_are_customers")
_TEXT_SETTINGS = ("churn_at", "discounts")


@dataclass(frozen=True)
class MoneyScale:
    """The integer every money numerator is divided by to give reporting-currency amounts.

    ``interval_lcm`` is the least common multiple of the items' ``interval_count`` values, so
    that ÷ (12 × interval_count) becomes a multiplication by an integer for every item.
    """

    interval_lcm: int = 1

    @property
    def native_denominator(self) -> int:
        """Denominator of item MRR in the item's own currency."""
        return PERCENT * MONTHS_PER_YEAR * self.interval_lcm

    @property
    def denominator(self) -> int:
        """Denominator of money in the reporting currency (after × rate in millionths)."""
        return self.native_denominator * RATE_SCALE

    def to_money(self, units: Decimal | int) -> Decimal:
        """Exact reporting-currency amount of a numerator (rounding is the caller's job)."""
        from decimal import localcontext

        with localcontext() as context:
            context.prec = 60
            return Decimal(units) / Decimal(self.denominator)


def lcm_of(values: Iterable[int]) -> int:
    return math.lcm(1, *values)


def month_index(day: date) -> int:
    """Months since year 0: consecutive months differ by exactly 1 on every engine."""
    return day.year * MONTHS_PER_YEAR + day.month - 1


def month_of_index(index: int) -> date:
    return date(index // MONTHS_PER_YEAR, index % MONTHS_PER_YEAR + 1, 1)


def month_end_of_index(index: int) -> date:
    return month_of_index(index + 1) - timedelta(days=1)


def month_index_expr(day: ir.DateValue) -> ir.IntegerValue:
    return day.year().cast("int64") * MONTHS_PER_YEAR + day.month().cast("int64") - 1


def zero_units() -> ir.DecimalScalar:
    return ibis.literal(Decimal(0), type=UNITS)


def month_calendar(first_index: int, last_index: int) -> ir.Table:
    """One row per month: ``month_idx``, ``month`` (first day) and ``month_end`` (last day)."""
    indexes = list(range(first_index, last_index + 1))
    table = pa.table(
        {
            "month_idx": pa.array(indexes, pa.int64()),
            "month": pa.array([month_of_index(i) for i in indexes], pa.date32()),
            "month_end": pa.array([month_end_of_index(i) for i in indexes], pa.date32()),
        }
    )
    return ibis.memtable(table)


def item_service(subscriptions: ir.Table, rules: RevenueRules) -> ir.Table:
    """Recurring items with the months whose last day they are in service on.

    An item is in service on day d when ``service_start ≤ d < service_end``, where
    ``service_start`` is the start date, or the trial end date if later (trials carry no MRR),
    and ``service_end`` is the end date (exclusive), or under the cancellation-request rule the
    cancellation date if earlier. It therefore counts for month M exactly when
    ``first_idx ≤ M ≤ last_idx``: the last day of M is on or after ``service_start`` (so M is not
    before the start month) and before ``service_end`` (so M is before the end month: an item
    ending on the 31st is not in service on the 31st).
    """
    items = subscriptions.filter(subscriptions.recurring)
    start = items.start_date
    if not rules.trials_carry_mrr:
        trial = items.trial_end_date
        start = ibis.cases((trial.notnull() & (trial > start), trial), else_=start)
    end = items.end_date
    if rules.churn_at == "cancellation_request":
        canceled = items.canceled_at
        end = ibis.cases(
            (canceled.notnull() & (end.isnull() | (canceled < end)), canceled), else_=end
        )
    return items.mutate(
        service_start=start,
        service_end=end,
        first_idx=month_index_expr(start),
        last_idx=(month_index_expr(end) - 1).fill_null(OPEN_END_INDEX),
    )


def item_period_amount(items: ir.Table, rules: RevenueRules) -> ir.DecimalValue:
    """100 × the amount of one billing period in the item's currency, never below zero:
    quantity × unit_price × (100 − discount_percent) − discount_amount × 100 (discounts ignored
    under ``discounts="ignore"``), carried to 10⁻⁶. Positive exactly when the item carries MRR.
    """
    gross = items.quantity.cast(NARROW) * items.unit_price.cast(PRICE)
    if rules.discounts == "subtract":
        kept = (PERCENT - items.discount_percent).cast(NARROW)
        off = (items.discount_amount.cast(UNITS) * PERCENT).cast(UNITS)
        period = (gross * kept).cast(UNITS) - off
    else:
        period = (gross.cast(WIDE) * PERCENT).cast(UNITS)
    # GREATEST evaluates its argument once; rounding a 38-digit decimal is costly.
    return ibis.greatest(period, zero_units()).cast(UNITS)


ITEM_COLUMNS = (
    "customer_id",
    "subscription_id",
    "product",
    "currency",
    "interval",
    "interval_count",
    "start_date",
    "trial_end_date",
    "service_start",
    "service_end",
    "first_idx",
    "last_idx",
)


def item_periods(subscriptions: ir.Table, rules: RevenueRules) -> ir.Table:
    """Recurring items with their service months (:func:`item_service`) and ``period``
    (:func:`item_period_amount`): everything about an item that does not depend on the other
    items, computed once per recompute."""
    items = item_service(subscriptions, rules)
    return items.select(*ITEM_COLUMNS, period=item_period_amount(items, rules))


def native_mrr(items: ir.Table, scale: MoneyScale) -> ir.Table:
    """Adds ``mrr_native`` to :func:`item_periods` rows: the item's MRR in its own currency,
    as a numerator over ``scale.native_denominator``.

    Item MRR = (quantity × unit_price × (1 − discount_percent/100) − discount_amount) ÷ months per
    billing cycle (month 1, quarter 3, year 12, week 12/52, day 12/365, times interval_count),
    never below zero. Numerator = (quantity × unit_price × (100 − discount_percent) −
    discount_amount × 100) × periods per year × (lcm ÷ interval_count).
    """
    per_year = items.interval.cases(*PERIODS_PER_YEAR.items(), else_=None)
    multiplier = per_year * (scale.interval_lcm // items.interval_count)
    return items.mutate(mrr_native=(items.period * multiplier).cast(UNITS))


def item_mrr(subscriptions: ir.Table, rules: RevenueRules, scale: MoneyScale) -> ir.Table:
    """:func:`item_periods` with :func:`native_mrr`, straight from the subscription items."""
    return native_mrr(item_periods(subscriptions, rules), scale)


def month_rates(fx_rates: ir.Table | None, calendar: ir.Table, reporting_currency: str) -> ir.Table:
    """Rate per currency and month: the latest rate dated on or before the month's last day.

    Columns ``currency, month_idx, rate`` (reporting-currency millionths per unit) and
    ``prev_rate`` (the previous month's). The reporting currency itself is always 1.
    """
    own = calendar.select(
        "month_idx",
        currency=ibis.literal(reporting_currency),
        rate=ibis.literal(RATE_SCALE, type="int64"),
    )
    if fx_rates is not None:
        fx = fx_rates.filter(fx_rates.currency != reporting_currency)
        latest = (
            fx.join(calendar, fx.date <= calendar.month_end)
            .group_by(["currency", "month_idx"])
            .agg(rate_date=lambda t: t.date.max())
        )
        dated = latest.join(
            fx, [latest.currency == fx.currency, latest.rate_date == fx.date]
        ).select(latest.currency, latest.month_idx, rate=fx.rate)
        foreign = dated.group_by(["currency", "month_idx"]).agg(
            rate=lambda t: (t.rate.max() * RATE_SCALE).cast("int64")
        )
        own = own.union(foreign.select("month_idx", "currency", "rate"))
    window = ibis.window(group_by="currency", order_by="month_idx")
    return own.mutate(prev_rate=own.rate.lag().over(window))


def service_rows(
    items: ir.Table, rates: ir.Table, last_idx: int, suspended: ir.Table | None = None
) -> ir.Table:
    """Each paying item's share of the opening and closing MRR of the months it touches.

    An item in service at the end of months ``first_idx..last_idx`` gives one row per month M
    from ``first_idx`` to ``last_idx + 1`` (at most the calendar's last month) with, in the
    reporting currency: ``mrr_end`` = native MRR × rate of M when it is in service at the end
    of M; ``mrr_start`` = native MRR × rate of M−1 when it was in service at the end of M−1;
    ``fx`` = native MRR × (rate of M − rate of M−1) when both, else 0 (the part of the change
    that comes from exchange rates alone). ``suspended`` (see
    :func:`kizuna.engine.revenue_past_due.suspension_flags`) marks the customer-months whose MRR
    is withheld for non-payment: an item counts at no month-end its customer is suspended at.

    Without suspensions a series' first month with MRR is its items' earliest first month, so
    the rows also carry ``first_idx`` (per customer × product) and ``customer_first_idx``.
    """
    paying = items.filter((items.mrr_native > 0) & (items.first_idx <= items.last_idx))
    if suspended is None:
        paying = paying.mutate(
            series_first_idx=paying.first_idx.min().over(
                ibis.window(group_by=["customer_id", "product"])
            ),
            customer_first_idx=paying.first_idx.min().over(ibis.window(group_by="customer_id")),
        )
    firsts = [] if suspended is not None else ["series_first_idx", "customer_first_idx"]
    stop = ibis.least(paying.last_idx + 1, last_idx)
    months = paying.select(
        "customer_id",
        "product",
        "currency",
        "mrr_native",
        "first_idx",
        "last_idx",
        *firsts,
        month_idx=ibis.range(paying.first_idx, stop + 1).unnest(),
    )
    priced = months.left_join(
        rates, [months.currency == rates.currency, months.month_idx == rates.month_idx]
    ).select(months, rates.rate, rates.prev_rate)
    in_end = priced.month_idx <= priced.last_idx
    in_start = priced.month_idx > priced.first_idx
    if suspended is not None:
        priced = priced.left_join(
            suspended,
            [
                priced.customer_id == suspended.customer_id,
                priced.month_idx == suspended.month_idx,
            ],
        ).select(priced, suspended.suspended_end, suspended.suspended_start)
        in_end = (priced.month_idx <= priced.last_idx) & ~priced.suspended_end.fill_null(False)
        in_start = (priced.month_idx > priced.first_idx) & ~priced.suspended_start.fill_null(False)
    native = priced.mrr_native
    carried = (
        {}
        if suspended is not None
        else {
            "first_idx": priced.series_first_idx,
            "customer_first_idx": priced.customer_first_idx,
        }
    )
    return priced.select(
        "customer_id",
        "product",
        "month_idx",
        **carried,
        mrr_start=ibis.cases(
            (in_start, (native * priced.prev_rate).cast(UNITS)), else_=zero_units()
        ),
        mrr_end=ibis.cases((in_end, (native * priced.rate).cast(UNITS)), else_=zero_units()),
        fx=ibis.cases(
            (in_start & in_end, (native * (priced.rate - priced.prev_rate)).cast(UNITS)),
            else_=zero_units(),
        ),
    )


def month_sums(rows: ir.Table, keys: Sequence[str], carried: Sequence[str] = ()) -> ir.Table:
    """Opening MRR, closing MRR and FX part per series (``keys``) and month; months with MRR
    at neither end are left out. ``carried`` columns are constant per series."""
    sums = rows.group_by([*keys, "month_idx", *carried]).agg(
        mrr_start=lambda t: t.mrr_start.sum().cast(UNITS),
        mrr_end=lambda t: t.mrr_end.sum().cast(UNITS),
        fx=lambda t: t.fx.sum().cast(UNITS),
    )
    return sums.filter((sums.mrr_start > 0) | (sums.mrr_end > 0))


def mrr_movements(
    sums: ir.Table, keys: Sequence[str], rules: RevenueRules, carried: Sequence[str] = ()
) -> ir.Table:
    """Classifies each month of each series (a customer, or a customer × product).

    With a = MRR at the end of M−1 and b = at the end of M, and fx the exchange-rate part:
    a = 0 < b → ``new`` (first month with MRR) or ``reactivation`` (had MRR before; with a
    reactivation window, only if the gap was at most that many months); a > 0 = b →
    ``churned`` (a); both > 0 → ``expansion`` or ``contraction`` by the sign of b − a − fx, or
    ``none``. Every row satisfies ``mrr_end = mrr_start + delta + fx`` where ``delta`` is the
    signed movement, so the MRR identity holds per series and in any sum.

    ``sums`` are :func:`month_sums` rows, with the series' first month with MRR as
    ``first_idx`` when known (else it is found here). Columns: keys, ``month_idx``,
    ``first_idx``, ``mrr_start``, ``mrr_end``, ``fx``, ``delta``, ``movement`` and ``carried``.
    """
    ranked = sums
    if "first_idx" not in sums.columns:
        paid_month = ibis.cases((sums.mrr_end > 0, sums.month_idx), else_=ibis.null("int64"))
        ranked = sums.mutate(first_idx=paid_month.min().over(ibis.window(group_by=list(keys))))
    start, end = ranked.mrr_start, ranked.mrr_end
    continuing = (start > 0) & (end > 0)
    delta = (end - start - ranked.fx).cast(UNITS)
    returning = ranked.month_idx > ranked.first_idx
    if rules.reactivation_window_months is not None:
        # Every month after a paid month has a row (it opens with MRR), so the last paid month
        # before M is the latest earlier row that opened with MRR, minus one.
        opened_paid = ibis.cases((start > 0, ranked.month_idx - 1), else_=ibis.null("int64"))
        last_paid = opened_paid.max().over(
            ibis.cumulative_window(group_by=list(keys), order_by="month_idx")
        )
        gap = ranked.month_idx - last_paid - 1
        returning = returning & (gap <= rules.reactivation_window_months)
    movement = ibis.cases(
        (continuing & (delta > 0), "expansion"),
        (continuing & (delta < 0), "contraction"),
        (continuing, "none"),
        (start > 0, "churned"),
        (returning, "reactivation"),
        else_="new",
    )
    return ranked.select(
        *keys,
        "month_idx",
        "first_idx",
        "mrr_start",
        "mrr_end",
        "fx",
        *carried,
        delta=delta,
        movement=movement,
    )
