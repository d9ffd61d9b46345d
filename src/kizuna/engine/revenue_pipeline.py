"""Full revenue recompute on one backend: validate, build the expressions, materialise.

The definitions are in :mod:`kizuna.engine.revenue`, :mod:`kizuna.engine.revenue_kpis`,
:mod:`kizuna.engine.cohorts` and :mod:`kizuna.engine.revenue_past_due`; this module wires them
together. A recompute costs six round trips to the backend: one survey query that sizes and
validates the inputs (currencies, interval counts, calendar bounds, decimals used and
magnitudes, which choose the :class:`MoneyScale`), the items with their billing-period amounts
(materialised), a small query for the months foreign rates are first needed, the rate of each
currency and month (materialised: a few rows that both movement queries would otherwise
recompute), and two materialised tables (per-customer movements, and the monthly KPI
components read from them), which every result reads instead of recomputing. Per-product
movements are computed from the items when read; KPIs, cohorts, trial conversion and CAC are
built when first read.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from kizuna.core.money import UnknownCurrency, check_currency
from kizuna.engine.cohorts import cohort_retention
from kizuna.engine.revenue import (
    PERCENT,
    PERIODS_PER_YEAR,
    WIDE,
    InputPlaces,
    MoneyScale,
    RevenueInputError,
    RevenueRules,
    integer_scale,
    item_periods,
    lcm_of,
    month_calendar,
    month_end_of_index,
    month_index,
    month_index_expr,
    mrr_movements,
    native_mrr,
)
from kizuna.engine.revenue_kpis import (
    cac_by_channel,
    kpi_table,
    monthly_components,
    report_kpis,
    spend_in_reporting_currency,
    trial_conversion,
)
from kizuna.engine.revenue_levels import Pricing, month_rates, service_rows
from kizuna.engine.revenue_past_due import suspension_flags

# Each recompute names its tables apart, so that results computed on one connection (tests,
# parity runs, several currencies) stay independent of each other.
_run_numbers = itertools.count(1)


@dataclass(frozen=True)
class RevenueInputs:
    """Engine inputs as Ibis tables, columns as in ``docs/import-format.md``."""

    subscriptions: ir.Table
    customers: ir.Table | None = None
    fx_rates: ir.Table | None = None
    spend: ir.Table | None = None
    invoices: ir.Table | None = None
    """Only read under the past-due rule (``RevenueRules.past_due_churn_days``)."""


@dataclass(frozen=True)
class RevenueResult:
    """Result tables (bound to ``backend``); money columns are numerators over
    ``scale.denominator`` in ``currency``."""

    backend: BaseBackend
    currency: str
    rules: RevenueRules
    scale: MoneyScale
    first_idx: int
    last_idx: int
    calendar: ir.Table
    customer_movements: ir.Table
    product_movements: ir.Table
    components: ir.Table
    trial_items: ir.Table
    """Items as :func:`kizuna.engine.revenue_kpis.trial_conversion` reads them."""
    spend: ir.Table | None
    """Spend per month and channel as money numerators."""
    customers: ir.Table | None
    """The customer list (channels, for CAC per channel)."""

    # The tables below are built when first read: building an expression costs Python time
    # (a few hundredths of a second each) that a caller reading only some of them need not pay.

    @cached_property
    def kpis(self) -> ir.Table:
        """Every KPI of every month of the calendar."""
        return kpi_table(self.components, self.rules)

    @cached_property
    def cohorts(self) -> ir.Table:
        """Revenue cohorts (:func:`kizuna.engine.cohorts.cohort_retention`)."""
        return cohort_retention(self.customer_movements, self.calendar)

    @cached_property
    def trials(self) -> ir.Table:
        """Trial → paid conversion by trial start month."""
        return trial_conversion(self.trial_items, self.last_idx)

    @cached_property
    def channel_cac(self) -> ir.Table | None:
        """CAC per month and channel, when there is spend."""
        if self.spend is None:
            return None
        return cac_by_channel(self.customer_movements, self.customers, self.spend)

    @property
    def product_months(self) -> ir.Table:
        """Month-end MRR and its FX part per customer × product, for the months it is > 0."""
        table = self.product_movements
        paying = table.filter(table.mrr_end > 0)
        return paying.select("customer_id", "product", "month_idx", mrr=paying.mrr_end, fx="fx")

    def report_kpis(self, first_idx: int, last_idx: int) -> ir.Table:
        """KPIs of every month, quarter and year of ``first_idx..last_idx`` in one table."""
        return report_kpis(self.components, self.rules, first_idx, last_idx)


def compute_revenue(
    backend: BaseBackend,
    inputs: RevenueInputs,
    currency: str = "JPY",
    rules: RevenueRules | None = None,
    since: date | None = None,
    through: date | None = None,
    integer_money: bool = True,
) -> RevenueResult:
    """Recompute every revenue table from ``inputs`` in reporting ``currency``.

    The calendar runs from the first month any recurring item starts (or ``since``) to the last
    month in which any input date falls (or ``through``). Raises :class:`RevenueInputError` for
    an unknown currency or a missing exchange rate. Money is carried as 64-bit integers when
    the survey proves that exact (see :func:`kizuna.engine.revenue.integer_scale`);
    ``integer_money=False`` keeps it in decimals throughout (same results, slower).
    """
    rules = rules or RevenueRules()
    try:
        check_currency(currency)
    except UnknownCurrency:
        raise RevenueInputError(
            [f"unknown reporting currency {currency!r} (not an ISO 4217 code)"]
        ) from None
    run = next(_run_numbers)

    def store(expression: ir.Table, name: str) -> ir.Table:
        return materialise(backend, expression, f"kizuna_revenue_{name}_{run}")

    survey = _survey(backend, inputs, rules, currency)
    first_idx, last_idx = survey.calendar_bounds(since, through)
    survey.check_currencies()
    scale = survey.money_scale(rules) if integer_money else MoneyScale(survey.interval_lcm)
    items = store(item_periods(inputs.subscriptions, rules, scale), "items")
    survey.check_rates(currency, first_idx, _rates_needed(backend, items, inputs, currency))
    calendar = month_calendar(first_idx, last_idx)
    rates = store(month_rates(inputs.fx_rates, calendar, currency, scale.rate_scale), "rates")
    pricing = Pricing(rates, currency, scale.rate_scale, first_idx, last_idx)
    suspended = None
    if rules.past_due_churn_days is not None and inputs.invoices is not None:
        suspended = suspension_flags(inputs.invoices, calendar, rules.past_due_churn_days)
    spend = (
        None if inputs.spend is None else spend_in_reporting_currency(inputs.spend, rates, scale)
    )

    priced_items = native_mrr(items, scale)
    product_keys = ["customer_id", "product"]
    product_rows = service_rows(priced_items, product_keys, pricing, suspended)
    # Read once by whoever needs it (the store recompute, --detail tests): not materialised.
    product_movements = mrr_movements(product_rows, product_keys, rules)
    customer_keys = ["customer_key", "customer_id"]
    customer_rows = service_rows(priced_items, customer_keys, pricing, suspended)
    customer_movements = store(
        mrr_movements(customer_rows, customer_keys, rules), "customer_movements"
    )
    free = None
    if rules.free_plans_are_customers:
        free = _free_plan_customers(priced_items, customer_movements, last_idx)
    components = store(monthly_components(customer_movements, calendar, spend, free), "components")
    trial_items = items
    if rules.trials_carry_mrr:
        trial_items = item_periods(
            inputs.subscriptions, replace(rules, trials_carry_mrr=False), scale
        )
    return RevenueResult(
        backend=backend,
        currency=currency,
        rules=rules,
        scale=scale,
        first_idx=first_idx,
        last_idx=last_idx,
        calendar=calendar,
        product_movements=product_movements,
        customer_movements=customer_movements,
        components=components,
        trial_items=trial_items,
        spend=spend,
        customers=inputs.customers,
    )


def materialise(
    backend: BaseBackend, expression: ir.Table, name: str, cache: bool = True
) -> ir.Table:
    """Compute ``expression`` once into a session-scoped table ``name`` on ``backend``.

    ``cache=False`` is for data already held in memory (an uploaded memtable): Spark then only
    names it, which saves a job per input.
    """
    if backend.name == "pyspark":
        # Spark has no temporary tables. The equivalent is a temporary view of the data
        # computed once (a local checkpoint) rather than of the query: a view of the query,
        # even cached, makes every later query re-analyse the whole chain of expressions
        # behind it, which costs seconds per query once a few tables build on each other.
        view = backend.create_view(name, expression)
        if cache:
            session = backend._session  # type: ignore[attr-defined]  # the PySpark backend
            session.table(f"`{name}`").localCheckpoint(eager=True).createOrReplaceTempView(name)
        return view
    return backend.create_table(name, expression, temp=True)


def _free_plan_customers(items: ir.Table, movements: ir.Table, last_idx: int) -> ir.Table:
    """Per month: customers with an in-service recurring item at month-end but no MRR."""
    free = items.filter((items.mrr_native == 0) & (items.first_idx <= items.last_idx))
    months = free.select(
        "customer_id",
        month_idx=ibis.range(free.first_idx, ibis.least(free.last_idx, last_idx) + 1).unnest(),
    ).distinct()
    paying = movements.filter(movements.mrr_end > 0)
    only_free = months.anti_join(
        paying,
        [months.customer_id == paying.customer_id, months.month_idx == paying.month_idx],
    )
    return only_free.group_by("month_idx").agg(free_customers=lambda t: t.customer_id.count())


@dataclass
class _Survey:
    """What one query learns about the inputs before anything is computed."""

    currencies: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    interval_counts: set[int] = field(default_factory=set)
    first_day: date | None = None
    last_days: list[date] = field(default_factory=list)
    # Per currency: the first month the spend needs a rate, and the first month a rate is
    # available (rates stay valid until a later one, so the first month suffices).
    spend_rate_from: dict[str, int] = field(default_factory=dict)
    rate_available_from: dict[str, int] = field(default_factory=dict)
    # Decimal places used and magnitudes, for the choice of integer money (MoneyScale).
    places: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, float] = field(default_factory=dict)

    @property
    def interval_lcm(self) -> int:
        return lcm_of(self.interval_counts)

    def calendar_bounds(self, since: date | None, through: date | None) -> tuple[int, int]:
        firsts = _present([self.first_day, since])
        lasts = [*self.last_days, *_present([through])]
        if not firsts:
            # Nothing recurring and no range asked for: an empty one-month calendar.
            today = month_index(date.today())
            return today, today
        first = month_index(min(firsts))
        last = max(month_index(max(lasts)) if lasts else first, first)
        return first, last

    def money_scale(self, rules: RevenueRules) -> MoneyScale:
        places = InputPlaces(
            **{name: self.places.get(name, 0) for name in _PLACES_COLUMNS},
        )
        return integer_scale(
            self.interval_lcm,
            rules,
            places,
            spend_places=self.places.get("spend", 0),
            rate_places=self.places.get("rate", 0),
            items_bound=self.sizes.get("items", 0.0),
            spend_bound=self.sizes.get("spend", 0.0),
            largest_rate=self.sizes.get("rate", 1.0),
            largest_operand=self.sizes.get("operand", 0.0),
        )

    def check_currencies(self) -> None:
        problems = [
            f"{source}: unknown currency {code!r} (not an ISO 4217 code)"
            for source, codes in sorted(self.currencies.items())
            for code in sorted(codes)
            if not _is_currency(code)
        ]
        if problems:
            raise RevenueInputError(problems)

    def check_rates(self, currency: str, first_idx: int, item_rate_from: dict[str, int]) -> None:
        needed: dict[str, int] = {}
        for source in (item_rate_from, self.spend_rate_from):
            for code, month in source.items():
                month = max(month, first_idx)
                needed[code] = min(needed.get(code, month), month)
        problems = [
            f"fx_rates: no {code} rate on or before {month_end_of_index(month).isoformat()}"
            for code, month in sorted(needed.items())
            if code != currency
            and (code not in self.rate_available_from or self.rate_available_from[code] > month)
        ]
        if problems:
            raise RevenueInputError(problems)


# Columns of the survey query: every fact is one row of (fact, code, number, size, day).
_PLACES_COLUMNS = ("quantity", "unit_price", "discount_percent", "discount_amount")


def _fact(
    table: ir.Table,
    fact: str,
    code: ir.Value | None = None,
    number: ir.Value | None = None,
    day: ir.Value | None = None,
    size: ir.Value | None = None,
) -> ir.Table:
    return table.select(
        fact=ibis.literal(fact),
        code=ibis.null("string") if code is None else code.cast("string"),
        number=ibis.null("int64") if number is None else number.cast("int64"),
        size=ibis.null("float64") if size is None else size.cast("float64"),
        day=ibis.null("date") if day is None else day.cast("date"),
    )


def _places(value: ir.DecimalValue) -> ir.IntegerValue:
    """Decimal places a 6-place decimal uses, rounded up to 0, 2, 4 or 6 (0 for 12.000000, 2 for
    0.990000 and 0.5): more places than used are still exact, and fewer cases keep the survey
    cheap to build. 6 for magnitudes of 10¹² or more, which integer money does not take."""
    small = value.abs() < 10**12
    # Scaled in 128 bits: 10¹² × 10⁶ does not fit a 64-bit decimal's 18 digits.
    millionths = (ibis.cases((small, value), else_=0).cast(WIDE) * 10**6).cast("int64")
    used = ibis.cases(
        *[(millionths % 10 ** (6 - places) == 0, places) for places in (0, 2, 4)], else_=6
    )
    return ibis.cases((small, used), else_=6)


def _survey(
    backend: BaseBackend, inputs: RevenueInputs, rules: RevenueRules, currency: str
) -> _Survey:
    """One query (on Spark every query costs a second or more) for everything the recompute
    must know before building its expressions."""
    subscriptions = inputs.subscriptions
    recurring = subscriptions.filter(subscriptions.recurring)
    date_columns = ["start_date", "end_date", "trial_end_date"]
    if rules.churn_at == "cancellation_request":
        date_columns.append("canceled_at")
    per_year = recurring.interval.cases(*PERIODS_PER_YEAR.items(), else_=None)
    quantity, price = recurring.quantity.cast("float64"), recurring.unit_price.cast("float64")
    kept = (PERCENT - recurring.discount_percent).cast("float64").abs()
    off = recurring.discount_amount.cast("float64").abs()
    bounds = recurring.aggregate(
        first_day=recurring.start_date.min(),
        **{name: recurring[name].max() for name in date_columns},
        items=(
            ((quantity * price).abs() * ibis.greatest(kept, 1) + off * PERCENT)
            * per_year
            / recurring.interval_count
        ).sum(),
        operand=ibis.greatest(quantity.abs(), price.abs(), kept, off).max(),
    )
    # Decimal places over the distinct amounts only: few, and each costs 128-bit arithmetic.
    amounts = recurring.select(*_PLACES_COLUMNS).distinct()
    places = amounts.aggregate(**{name: _places(amounts[name]).max() for name in _PLACES_COLUMNS})
    parts = [
        _fact(subscriptions, "currency:subscriptions", code=subscriptions.currency).distinct(),
        _fact(subscriptions, "interval_count", number=subscriptions.interval_count).distinct(),
        _fact(bounds, "first", day=bounds["first_day"]),
        *[_fact(bounds, "last", day=bounds[name]) for name in date_columns],
        *[_fact(places, f"places:{name}", number=places[name]) for name in _PLACES_COLUMNS],
        _fact(bounds, "size:items", size=bounds["items"]),
        _fact(bounds, "size:operand", size=bounds["operand"]),
    ]
    if inputs.fx_rates is not None:
        fx = inputs.fx_rates
        parts.append(_fact(fx, "currency:fx_rates", code=fx.currency).distinct())
        foreign = fx.filter(fx.currency != currency)
        available = foreign.group_by("currency").agg(first_day=lambda t: t.date.min())
        parts.append(
            _fact(available, "rate_from", code=available.currency, day=available["first_day"])
        )
        latest = fx.aggregate(last_day=fx.date.max())
        parts.append(_fact(latest, "last", day=latest["last_day"]))
        used = foreign.aggregate(
            places=_places(foreign.rate).max(), largest=foreign.rate.cast("float64").max()
        )
        parts.append(_fact(used, "places:rate", number=used.places))
        parts.append(_fact(used, "size:rate", size=used.largest))
    if inputs.spend is not None:
        spend = inputs.spend
        parts.append(_fact(spend, "currency:spend", code=spend.currency).distinct())
        months = spend.group_by("currency").agg(
            first_day=lambda t: t.month.min(), last_day=lambda t: t.month.max()
        )
        parts.append(
            _fact(
                months,
                "spend_rate",
                code=months.currency,
                number=month_index_expr(months["first_day"]),
            )
        )
        parts.append(_fact(months, "last", day=months["last_day"]))
        spent = spend.aggregate(
            places=_places(spend.amount).max(), total=spend.amount.cast("float64").abs().sum()
        )
        parts.append(_fact(spent, "places:spend", number=spent.places))
        parts.append(_fact(spent, "size:spend", size=spent.total))
    if rules.past_due_churn_days is not None and inputs.invoices is not None:
        invoices = inputs.invoices
        dates = invoices.aggregate(due=invoices.due_on.max(), paid=invoices.paid_on.max())
        parts.append(_fact(dates, "last_due", day=dates["due"]))
        parts.append(_fact(dates, "last", day=dates["paid"]))
    rows = backend.to_pyarrow(ibis.union(*parts)).to_pylist()
    return _read_survey(rows, rules)


def _read_survey(rows: Iterable[dict[str, Any]], rules: RevenueRules) -> _Survey:
    survey = _Survey()
    for row in rows:
        fact, code, number, size, day = (
            row["fact"],
            row["code"],
            row["number"],
            row["size"],
            row["day"],
        )
        if fact.startswith("currency:"):
            survey.currencies[fact.removeprefix("currency:")].add(code)
        elif fact == "interval_count":
            survey.interval_counts.add(int(number))
        elif fact == "first":
            survey.first_day = day
        elif fact == "last" and day is not None:
            survey.last_days.append(day)
        elif fact == "last_due" and day is not None and rules.past_due_churn_days is not None:
            # The first month-end at which the last invoice can be past due.
            survey.last_days.append(day + timedelta(days=rules.past_due_churn_days + 1))
        elif fact.startswith("places:") and number is not None:
            survey.places[fact.removeprefix("places:")] = int(number)
        elif fact.startswith("size:") and size is not None:
            survey.sizes[fact.removeprefix("size:")] = float(size)
        elif fact == "spend_rate":
            survey.spend_rate_from[code] = int(number)
        elif fact == "rate_from":
            survey.rate_available_from[code] = month_index(day)
    return survey


def _rates_needed(
    backend: BaseBackend, items: ir.Table, inputs: RevenueInputs, currency: str
) -> dict[str, int]:
    """Per foreign currency, the first month a paying item needs its rate (a second, small
    query: it reads the items, whose amounts depend on the survey). Skipped when every item is
    in the reporting currency."""
    paying = items.filter(
        (items.period > 0) & (items.first_idx <= items.last_idx) & (items.currency != currency)
    )
    needed = paying.group_by("currency").agg(month_idx=lambda t: t.first_idx.min())
    return {
        row["currency"]: int(row["month_idx"]) for row in backend.to_pyarrow(needed).to_pylist()
    }


def _is_currency(code: str) -> bool:
    try:
        check_currency(code)
    except UnknownCurrency:
        return False
    return True


def _present(values: Iterable[date | None]) -> list[date]:
    return [value for value in values if value is not None]
