"""Subscription revenue: item MRR, month-end MRR per customer and product, and MRR movements.

Pure functions from Ibis tables to Ibis tables (no Django, no backend-specific SQL), so the same
definitions run on DuckDB, PostgreSQL and Spark. KPIs live in :mod:`kizuna.engine.revenue_kpis`,
cohorts in :mod:`kizuna.engine.cohorts`, the past-due rule in
:mod:`kizuna.engine.revenue_past_due`, orchestration in :mod:`kizuna.engine.revenue_pipeline`.

Movements need each series' MRR at two consecutive month-ends. Rather than summing every item
over every month and then pairing each month with the one before,
:func:`kizuna.engine.revenue_levels.service_rows` works with levels: a series' native MRR
changes only in the months an item starts or stops counting, so a running sum over those
change months gives the level, and each month up to the next change repeats it, with its
opening (the month before's level) and closing MRR side by side.

Money is exact. Normalising a billing period to a month divides by 3, 12, 52/12 … and some
engines (DuckDB) turn decimal division into floating point, so the engine never divides money:
every amount is carried as an exact numerator (a decimal, or a 64-bit integer when the data
allows) over one integer denominator shared by the whole computation (:class:`MoneyScale`),
and the division happens once, in exact decimal arithmetic, when a figure is rounded to the
reporting currency's minor unit for output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from datetime import date, timedelta
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa

from kizuna.core.revenue_rules import RevenueRules

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
# Integer numerators (see MoneyScale) and their exact totals.
INTEGER = "int64"
TOTAL = "decimal(38, 0)"

# Billing periods per year, by interval: item MRR = period amount × periods per year ÷ 12.
PERIODS_PER_YEAR: dict[str, int] = {"day": 365, "week": 52, "month": 12, "quarter": 4, "year": 1}

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
class InputPlaces:
    """Decimal places the item amounts actually use (at most 6, the input format's)."""

    quantity: int = 6
    unit_price: int = 6
    discount_percent: int = 6
    discount_amount: int = 6


@dataclass(frozen=True)
class MoneyScale:
    """How money numerators are carried, and the integer they are divided by to give
    reporting-currency amounts.

    ``interval_lcm`` is the least common multiple of the items' ``interval_count`` values, so
    that ÷ (12 × interval_count) becomes a multiplication by an integer for every item.

    With ``places`` unset, numerators are exact ``DECIMAL(38, 6)`` values and rates are
    integers in millionths. With ``places`` (the decimals the inputs use, see
    :func:`integer_scale`), numerators are exact 64-bit integers counting
    10^-``amount_places`` of a unit and rates are integers in 10^-``rate_places``: the same
    exact values, much cheaper to compute with. Monthly totals are carried on as
    ``DECIMAL(38, 0)`` (:func:`money_total`), so roll-ups need not fit 64 bits.
    """

    interval_lcm: int = 1
    places: InputPlaces | None = None
    amount_places: int = 0
    rate_places: int = 6

    @property
    def integer(self) -> bool:
        return self.places is not None

    @property
    def money_type(self) -> str:
        """Type of the per-item and per-customer numerators."""
        return INTEGER if self.integer else UNITS

    @property
    def rate_scale(self) -> int:
        """Rates are integers: units of reporting currency per unit × this."""
        return 10**self.rate_places

    @property
    def native_denominator(self) -> int:
        """Denominator of item MRR in the item's own currency."""
        amount = 10**self.amount_places if self.integer else 1
        return PERCENT * MONTHS_PER_YEAR * self.interval_lcm * amount

    @property
    def denominator(self) -> int:
        """Denominator of money in the reporting currency (after × the integer rate)."""
        return self.native_denominator * self.rate_scale

    def to_money(self, units: Decimal | int) -> Decimal:
        """Exact reporting-currency amount of a numerator (rounding is the caller's job)."""
        from decimal import localcontext

        with localcontext() as context:
            context.prec = 60
            return Decimal(units) / Decimal(self.denominator)

    def amount(self, value: ir.DecimalValue) -> ir.NumericValue:
        """An input money amount (6 decimal places) in numerator units before the rate and
        the native denominator: the decimal itself, or the exact integer count of
        10^-``amount_places``."""
        if not self.integer:
            return value
        return whole(value, self.amount_places)


# Largest bound allowed on Σ of every item's MRR numerator at the highest rate: every month's
# opening, closing and FX totals are below it, and their movements below three times it,
# with a margin for the floating-point estimate of the bound.
INTEGER_LIMIT = 2**63 // 8


def integer_scale(
    interval_lcm: int,
    rules: RevenueRules,
    places: InputPlaces,
    spend_places: int,
    rate_places: int,
    items_bound: float,
    spend_bound: float,
    largest_rate: float,
    largest_operand: float,
) -> MoneyScale:
    """The integer :class:`MoneyScale` when it represents every amount exactly and every
    monthly total provably fits 64 bits, else the decimal one.

    ``items_bound`` is Σ over recurring items of (|quantity × unit_price| ×
    max(|100 − discount_percent|, 1) + |discount_amount| × 100) × periods per year ÷
    interval_count, ``spend_bound`` Σ |spend amount|, ``largest_rate`` the largest rate (at
    least 1), ``largest_operand`` the largest |quantity|, |unit_price| or |discount|. Period
    amounts are exact integers when their decimals (quantity's + price's + discount percent's,
    or the discount amount's) are at most 6: beyond that the decimal path rounds to 10⁻⁶.
    """
    decimal = MoneyScale(interval_lcm)
    if rules.discounts == "subtract":
        item_places = max(
            places.quantity + places.unit_price + places.discount_percent,
            places.discount_amount,
        )
    else:
        item_places = places.quantity + places.unit_price
    amount_places = max(item_places, spend_places)
    if item_places > 6:
        return decimal
    scale = MoneyScale(interval_lcm, places, amount_places, rate_places)
    rate = max(largest_rate, 1.0) * scale.rate_scale
    amounts = 10**amount_places * interval_lcm
    # :func:`whole` scales an operand held with 6 decimals by 10^places in 64 bits.
    widest = 10 ** (6 + max(amount_places, *astuple(places)))
    bound = max(
        items_bound * amounts * rate,
        spend_bound * PERCENT * MONTHS_PER_YEAR * amounts * rate,
        largest_operand * widest * PERCENT,
        spend_bound * widest,
    )
    return scale if bound < INTEGER_LIMIT else decimal


def whole(value: ir.DecimalValue, places: int) -> ir.IntegerValue:
    """A decimal that has at most ``places`` decimals as the exact integer count of
    10^-``places``. Narrowed to 18 digits first (the bound of :func:`integer_scale` keeps
    every operand × 10^(6 + places) within 64 bits): scaling a 64-bit decimal is about 25
    times faster than a 128-bit one on DuckDB."""
    return (value.cast(NARROW) * 10**places).cast(INTEGER)


def money_total(value: ir.NumericValue, where: ir.BooleanValue | None = None) -> ir.NumericValue:
    """Σ of a money numerator over rows of one month (those ``where`` holds), exact.

    Integers stay 64-bit while summed (their sum over any one month is within the bound
    :func:`integer_scale` proved) and the total is carried on as DECIMAL(38, 0), so that
    roll-ups over quarters and years and ARR never need to fit 64 bits."""
    kind = value.type()
    if kind.is_integer():
        return value.sum(where=where).cast(INTEGER).cast(TOTAL)
    return value.sum(where=where).cast(kind)


def as_type(value: ir.Value, kind: dt.DataType) -> ir.Value:
    """``value`` cast to ``kind``, even when Ibis already types it so. Ibis types a sum of
    64-bit integers as 64-bit, but DuckDB sums them into 128-bit integers (PostgreSQL into
    numerics), and every operation on the result then pays for the width. The sums this is
    used on are within the bound :func:`integer_scale` proved."""
    return ops.Cast(value, to=kind).to_expr()


def zero_of(value: ir.Value) -> ir.Scalar:
    """0 of the type of ``value`` (a money column)."""
    return ibis.literal(0, type=value.type())


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


def item_period_amount(items: ir.Table, rules: RevenueRules, scale: MoneyScale) -> ir.NumericValue:
    """100 × the amount of one billing period in the item's currency, never below zero:
    quantity × unit_price × (100 − discount_percent) − discount_amount × 100 (discounts ignored
    under ``discounts="ignore"``), carried to 10⁻⁶ (or as an exact integer, see
    :class:`MoneyScale`). Positive exactly when the item carries MRR.
    """
    if scale.places is not None:
        return _whole_period_amount(items, rules, scale.places, scale.amount_places)
    gross = items.quantity.cast(NARROW) * items.unit_price.cast(PRICE)
    if rules.discounts == "subtract":
        kept = (PERCENT - items.discount_percent).cast(NARROW)
        off = (items.discount_amount.cast(UNITS) * PERCENT).cast(UNITS)
        period = (gross * kept).cast(UNITS) - off
    else:
        period = (gross.cast(WIDE) * PERCENT).cast(UNITS)
    # GREATEST evaluates its argument once; rounding a 38-digit decimal is costly.
    return ibis.greatest(period, zero_units()).cast(UNITS)


def _whole_period_amount(
    items: ir.Table, rules: RevenueRules, places: InputPlaces, amount_places: int
) -> ir.IntegerValue:
    """:func:`item_period_amount` as an exact integer count of 10^-``amount_places``."""
    quantity = whole(items.quantity, places.quantity)
    price = whole(items.unit_price, places.unit_price)
    gross_places = places.quantity + places.unit_price
    if rules.discounts == "subtract":
        kept = whole(PERCENT - items.discount_percent, places.discount_percent)
        gross = (
            quantity * price * kept * 10 ** (amount_places - gross_places - places.discount_percent)
        )
        off = whole(items.discount_amount, places.discount_amount) * (
            PERCENT * 10 ** (amount_places - places.discount_amount)
        )
        period = gross - off
    else:
        period = quantity * price * (PERCENT * 10 ** (amount_places - gross_places))
    return ibis.greatest(period, ibis.literal(0, type=INTEGER)).cast(INTEGER)


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


def item_periods(subscriptions: ir.Table, rules: RevenueRules, scale: MoneyScale) -> ir.Table:
    """Recurring items with their service months (:func:`item_service`) and ``period``
    (:func:`item_period_amount`): everything about an item that does not depend on the other
    items, computed once per recompute. ``customer_key`` numbers the customers (0, 1, …, in
    the order of their ids): joins and windows on an integer are cheaper than on a text id."""
    items = item_service(subscriptions, rules)
    return items.select(
        *ITEM_COLUMNS,
        customer_key=ibis.dense_rank().over(order_by="customer_id"),
        period=item_period_amount(items, rules, scale),
    )


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
    return items.mutate(mrr_native=(items.period * multiplier).cast(scale.money_type))


def mrr_movements(sums: ir.Table, keys: Sequence[str], rules: RevenueRules) -> ir.Table:
    """Classifies each month of each series (a customer, or a customer × product).

    With a = MRR at the end of M−1 and b = at the end of M, and fx the exchange-rate part:
    a = 0 < b → ``new`` (first month with MRR) or ``reactivation`` (had MRR before; with a
    reactivation window, only if the gap was at most that many months); a > 0 = b →
    ``churned`` (a); both > 0 → ``expansion`` or ``contraction`` by the sign of b − a − fx, or
    ``none``. Every row satisfies ``mrr_end = mrr_start + delta + fx`` where ``delta`` is the
    signed movement, so the MRR identity holds per series and in any sum.

    ``sums`` are :func:`kizuna.engine.revenue_levels.service_rows` rows, with the series'
    first month with MRR as ``first_idx`` when known (else it is found here). Columns: keys,
    ``month_idx``, ``first_idx``, ``mrr_start``, ``mrr_end``, ``fx``, ``delta`` and
    ``movement``.
    """
    ranked = sums
    if "first_idx" not in sums.columns:
        paid_month = ibis.cases((sums.mrr_end > 0, sums.month_idx), else_=ibis.null("int64"))
        ranked = sums.mutate(first_idx=paid_month.min().over(ibis.window(group_by=list(keys))))
    start, end = ranked.mrr_start, ranked.mrr_end
    continuing = (start > 0) & (end > 0)
    delta = (end - start - ranked.fx).cast(end.type())
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
        delta=delta,
        movement=movement,
    )
