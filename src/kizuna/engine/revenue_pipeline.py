"""Full revenue recompute on one backend: validate, build the expressions, materialise.

The definitions are in :mod:`kizuna.engine.revenue`, :mod:`kizuna.engine.revenue_kpis` and
:mod:`kizuna.engine.cohorts`; this module wires them together, runs the few small queries that
size the computation (calendar bounds, interval counts, rate coverage) and stores the shared
intermediate tables on the backend once so that every result reads them instead of
recomputing the item × month expansion.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from kizuna.engine.cohorts import cohort_retention
from kizuna.engine.revenue import (
    MoneyScale,
    RevenueInputError,
    RevenueRules,
    customer_month_mrr,
    item_months,
    item_mrr,
    lcm_of,
    month_calendar,
    month_end_of_index,
    month_index,
    month_rates,
    mrr_movements,
    product_month_mrr,
)
from kizuna.engine.revenue_currency import is_currency
from kizuna.engine.revenue_kpis import (
    Period,
    cac_by_channel,
    kpi_table,
    monthly_components,
    period_components,
    spend_in_reporting_currency,
    trial_conversion,
)

# Names of the intermediate tables are made unique per recompute so that several recomputes
# (tests, parity runs) can share one connection.
_run_numbers = itertools.count(1)


@dataclass(frozen=True)
class RevenueInputs:
    """Engine inputs as Ibis tables, columns as in ``docs/import-format.md``."""

    subscriptions: ir.Table
    customers: ir.Table | None = None
    fx_rates: ir.Table | None = None
    spend: ir.Table | None = None


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
    product_months: ir.Table
    customer_movements: ir.Table
    product_movements: ir.Table
    components: ir.Table
    kpis: ir.Table
    cohorts: ir.Table
    trials: ir.Table
    channel_cac: ir.Table | None

    def period_kpis(self, period: Period, first_idx: int, last_idx: int) -> ir.Table:
        """KPIs per quarter or year over the months ``first_idx..last_idx``."""
        months = self.components.filter(self.components.month_idx.between(first_idx, last_idx))
        return kpi_table(period_components(months, period), self.rules, key="period_idx")


def compute_revenue(
    backend: BaseBackend,
    inputs: RevenueInputs,
    currency: str = "JPY",
    rules: RevenueRules | None = None,
    since: date | None = None,
    through: date | None = None,
) -> RevenueResult:
    """Recompute every revenue table from ``inputs`` in reporting ``currency``.

    The calendar runs from the first month any recurring item starts (or ``since``) to the last
    month in which any input date falls (or ``through``). Raises :class:`RevenueInputError` for
    an unknown currency or a missing exchange rate.
    """
    rules = rules or RevenueRules()
    _check_currencies(backend, inputs, currency)
    subscriptions = inputs.subscriptions
    intervals = _column_values(backend, subscriptions.select("interval_count").distinct())
    scale = MoneyScale(lcm_of(int(value) for value in intervals["interval_count"]))
    first_idx, last_idx = _calendar_bounds(backend, inputs, rules, since, through)
    calendar = month_calendar(first_idx, last_idx)
    rates = month_rates(inputs.fx_rates, calendar, currency)
    items = item_mrr(subscriptions, rules, scale)
    spend = (
        None if inputs.spend is None else spend_in_reporting_currency(inputs.spend, rates, scale)
    )
    _check_rates(backend, items, inputs.spend, rates, currency, first_idx, last_idx)

    run = next(_run_numbers)

    def store(expression: ir.Table, name: str) -> ir.Table:
        return materialise(backend, expression, f"kizuna_revenue_{name}_{run}")

    calendar = store(calendar, "calendar")
    product_months = store(
        product_month_mrr(item_months(items, calendar, store(rates, "rates"))), "product_months"
    )
    customer_movements = store(
        mrr_movements(customer_month_mrr(product_months), ["customer_id"], last_idx, rules),
        "customer_movements",
    )
    product_movements = mrr_movements(product_months, ["customer_id", "product"], last_idx, rules)
    if spend is not None:
        spend = store(spend, "spend")
    components = store(monthly_components(customer_movements, calendar, spend), "components")
    return RevenueResult(
        backend=backend,
        currency=currency,
        rules=rules,
        scale=scale,
        first_idx=first_idx,
        last_idx=last_idx,
        calendar=calendar,
        product_months=product_months,
        customer_movements=customer_movements,
        product_movements=product_movements,
        components=components,
        kpis=kpi_table(components, rules),
        cohorts=cohort_retention(customer_movements, calendar),
        trials=trial_conversion(subscriptions, rules, scale, last_idx),
        channel_cac=(
            None if spend is None else cac_by_channel(customer_movements, inputs.customers, spend)
        ),
    )


def materialise(
    backend: BaseBackend, expression: ir.Table, name: str, cache: bool = True
) -> ir.Table:
    """Compute ``expression`` once into a session-scoped table ``name`` on ``backend``.

    ``cache=False`` is for data already held in memory (an uploaded memtable): Spark then only
    names it, which saves a job per input.
    """
    if backend.name == "pyspark":
        # Spark has no temporary tables: a temporary view, cached eagerly, is the equivalent.
        view = backend.create_view(name, expression)
        if cache:
            backend.raw_sql(f"CACHE TABLE `{name}`")
        return view
    return backend.create_table(name, expression, temp=True)


def _column_values(backend: BaseBackend, expression: ir.Table) -> dict[str, list[Any]]:
    return dict(backend.to_pyarrow(expression).to_pydict())


def _check_currencies(backend: BaseBackend, inputs: RevenueInputs, currency: str) -> None:
    if not is_currency(currency):
        raise RevenueInputError([f"unknown reporting currency {currency!r} (not an ISO 4217 code)"])
    sources = [
        table.select("currency").distinct().mutate(source=ibis.literal(name))
        for name, table in (
            ("subscriptions", inputs.subscriptions),
            ("fx_rates", inputs.fx_rates),
            ("spend", inputs.spend),
        )
        if table is not None
    ]
    # One query for all inputs: on Spark every query costs a second or more.
    found = _column_values(backend, ibis.union(*sources))
    problems = [
        f"{source}: unknown currency {code!r} (not an ISO 4217 code)"
        for source, code in sorted(zip(found["source"], found["currency"], strict=True))
        if not is_currency(code)
    ]
    if problems:
        raise RevenueInputError(problems)


def _calendar_bounds(
    backend: BaseBackend,
    inputs: RevenueInputs,
    rules: RevenueRules,
    since: date | None,
    through: date | None,
) -> tuple[int, int]:
    items = inputs.subscriptions.filter(inputs.subscriptions.recurring)
    date_columns = ["start_date", "end_date", "trial_end_date"]
    if rules.churn_at == "cancellation_request":
        date_columns.append("canceled_at")
    aggregates = {
        "first": items.start_date.min(),
        **{f"last_{name}": items[name].max() for name in date_columns},
    }
    for name, table, column in (("fx", inputs.fx_rates, "date"), ("spend", inputs.spend, "month")):
        if table is not None:
            aggregates[f"last_{name}"] = table[column].max().as_scalar()
    summary = _column_values(backend, items.aggregate(**aggregates))
    firsts = _present([summary["first"][0], since])
    lasts = _present([summary[name][0] for name in summary if name.startswith("last_")])
    lasts += _present([through])
    if not firsts:
        # Nothing recurring and no range asked for: an empty one-month calendar.
        today = month_index(date.today())
        return today, today
    first = month_index(min(firsts))
    last = max(month_index(max(lasts)) if lasts else first, first)
    return first, last


def _present(values: Iterable[date | None]) -> list[date]:
    return [value for value in values if value is not None]


def _check_rates(
    backend: BaseBackend,
    items: ir.Table,
    spend: ir.Table | None,
    rates: ir.Table,
    currency: str,
    first_idx: int,
    last_idx: int,
) -> None:
    """Every foreign currency needs a rate from the first month it is used in.

    Rates only ever become available from some month onwards (the latest rate on or before a
    month-end stays valid), so checking the first month each currency is needed suffices.
    """
    paying = items.filter(
        (items.mrr_native > 0)
        & (items.first_idx <= items.last_idx)
        & (items.first_idx <= last_idx)
        & (items.last_idx >= first_idx)
    )
    needed = paying.group_by("currency").agg(month_idx=lambda t: t.first_idx.min())
    if spend is not None:
        spend_months = spend.mutate(
            month_idx=spend.month.year().cast("int64") * 12 + spend.month.month().cast("int64") - 1
        )
        needed = needed.union(
            spend_months.group_by("currency").agg(month_idx=lambda t: t.month_idx.min())
        )
    available = rates.group_by("currency").agg(month_idx=lambda t: t.month_idx.min())
    need = _column_values(backend, needed)
    have = _column_values(backend, available)
    have_from = dict(zip(have["currency"], have["month_idx"], strict=True))
    first_needed: dict[str, int] = {}
    for code, month in zip(need["currency"], need["month_idx"], strict=True):
        month = max(int(month), first_idx)
        first_needed[code] = min(first_needed.get(code, month), month)
    problems = [
        f"fx_rates: no {code} rate on or before {month_end_of_index(month).isoformat()}"
        for code, month in sorted(first_needed.items())
        if code != currency and (code not in have_from or have_from[code] > month)
    ]
    if problems:
        raise RevenueInputError(problems)
