"""Month-end MRR per series (a customer, or a customer × product) as levels between changes.

A series' native MRR in one currency only changes in the months its items start or stop
counting, so :func:`service_rows` computes it as levels between those months rather than item
by item, and prices each month of a level at that month's exchange rate (:func:`month_rates`).
Movements are classified from these rows by :func:`kizuna.engine.revenue.mrr_movements`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from kizuna.engine.revenue import as_type


def month_rates(
    fx_rates: ir.Table | None, calendar: ir.Table, reporting_currency: str, rate_scale: int
) -> ir.Table:
    """Rate per currency and month: the latest rate dated on or before the month's last day.

    Columns ``currency, month_idx, rate`` (reporting-currency units per unit × ``rate_scale``,
    an integer) and ``prev_rate`` (the previous month's). The reporting currency itself is
    always 1.
    """
    own = calendar.select(
        "month_idx",
        currency=ibis.literal(reporting_currency),
        rate=ibis.literal(rate_scale, type="int64"),
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
            rate=lambda t: (t.rate.max() * rate_scale).cast("int64")
        )
        own = own.union(foreign.select("month_idx", "currency", "rate"))
    window = ibis.window(group_by="currency", order_by="month_idx")
    return own.mutate(prev_rate=own.rate.lag().over(window))


@dataclass(frozen=True)
class Pricing:
    """How native MRR becomes reporting-currency MRR in the months ``first_idx..last_idx``:
    ``rates`` are :func:`month_rates` rows; the reporting ``currency`` is always worth
    ``rate_scale`` (so its rows need no lookup)."""

    rates: ir.Table
    currency: str
    rate_scale: int
    first_idx: int
    last_idx: int

    def own_rate_known(self, month_idx: ir.IntegerValue) -> tuple[ir.BooleanValue, ir.BooleanValue]:
        """Whether :func:`month_rates` knows the reporting currency's ``rate`` and
        ``prev_rate`` in month ``month_idx``: in the calendar, and not in its first month."""
        return (
            month_idx.between(self.first_idx, self.last_idx),
            (month_idx > self.first_idx) & (month_idx <= self.last_idx),
        )

    def own_rates(self, month_idx: ir.IntegerValue) -> tuple[ir.IntegerValue, ir.IntegerValue]:
        """The reporting currency's ``rate`` and ``prev_rate`` in month ``month_idx``, as
        :func:`month_rates` gives them (null where unknown)."""
        scale = ibis.literal(self.rate_scale, type="int64")
        rate_known, prev_rate_known = self.own_rate_known(month_idx)
        return ibis.cases((rate_known, scale)), ibis.cases((prev_rate_known, scale))


def service_rows(
    items: ir.Table,
    keys: Sequence[str],
    pricing: Pricing,
    suspended: ir.Table | None = None,
) -> ir.Table:
    """Opening MRR, closing MRR and FX part of each series (``keys``: a customer, or a
    customer × product) for every month with MRR at either end, in the reporting currency.

    A series' native MRR in one currency only changes in the months its items start or stop
    counting, so it is computed as levels between those months rather than item by item: each
    paying item adds its native MRR from its first month (``plus``) and takes it away in the
    month after its last (``minus``); the running total is the native level, and the months
    until the next change repeat it. For month M of a level: ``mrr_end`` = level × rate of M;
    ``mrr_start`` = native MRR at the end of M−1 (the previous level in the month of a change)
    × rate of M−1; ``fx`` = native MRR in service at both month-ends (the level less what
    started in M) × (rate of M − rate of M−1), the part of the change that comes from exchange
    rates alone. A series billed in several currencies adds its currencies' rows up; so do
    series in a foreign currency (one row each), whose rates are looked up.

    ``suspended`` (see :func:`kizuna.engine.revenue_past_due.suspension_flags`) marks the
    customer-months whose MRR is withheld for non-payment: nothing counts at a month-end its
    customer is suspended at. Without suspensions the rows also carry ``first_idx``, the
    series' first month with MRR (its items' earliest first month).
    """
    last_idx = pricing.last_idx
    paying = items.filter(
        (items.mrr_native > 0) & (items.first_idx <= items.last_idx) & (items.first_idx <= last_idx)
    )
    money = paying.mrr_native.type()
    zero = ibis.literal(0, type=money)
    series = [*keys, "currency"]
    starts = paying.select(*series, month_idx="first_idx", plus="mrr_native", minus=zero)
    # Every item stops, at the latest in the month after the calendar, so that each currency's
    # changes add up to zero: a running total over the series ordered by currency then month
    # is then each currency's level, and one window (one sort) serves every column below.
    stops = paying.select(
        *series,
        month_idx=ibis.least(paying.last_idx, last_idx) + 1,
        plus=zero,
        minus=paying.mrr_native,
    )
    changes = (
        starts.union(stops)
        .group_by([*series, "month_idx"])
        .agg(
            plus=lambda t: as_type(t.plus.sum(), money),
            minus=lambda t: as_type(t.minus.sum(), money),
        )
    )
    order = ["currency", "month_idx"]
    running = ibis.cumulative_window(group_by=list(keys), order_by=order)
    whole = ibis.window(group_by=list(keys), order_by=order)
    levels = changes.mutate(
        level=as_type((changes.plus - changes.minus).sum().over(running), money),
        next_idx=changes.month_idx.lead().over(whole),
        first_idx=changes.month_idx.min().over(whole),
        # Several currencies in one series (rare) need their rows added up.
        several=changes.currency.min().over(whole) != changes.currency.max().over(whole),
    )
    levels = levels.filter(levels.month_idx <= last_idx)
    carried = [*keys, "month_idx", *([] if suspended is not None else ["first_idx"])]
    # Most levels are in the reporting currency alone: priced without a lookup, one row each.
    alone = ~levels.several & (levels.currency == pricing.currency)
    own = _level_months(levels.filter(alone), keys, pricing, suspended)
    others = (
        _level_months(levels.filter(~alone), keys, pricing, suspended, lookup=True)
        .group_by(carried)
        .agg(
            mrr_start=lambda t: as_type(t.mrr_start.sum(), money),
            mrr_end=lambda t: as_type(t.mrr_end.sum(), money),
            fx=lambda t: as_type(t.fx.sum(), money),
        )
    )
    return own.union(others.filter((others.mrr_start > 0) | (others.mrr_end > 0)))


def _level_months(
    levels: ir.Table,
    keys: Sequence[str],
    pricing: Pricing,
    suspended: ir.Table | None,
    lookup: bool = False,
) -> ir.Table:
    """The months of each native level of :func:`service_rows`, priced at that month's rates:
    one row per series, currency and month. Rates are looked up in ``pricing.rates`` with
    ``lookup``, else the levels are in the reporting currency."""
    last_idx = pricing.last_idx
    held = ibis.least(levels.next_idx.fill_null(last_idx + 1) - 1, last_idx)
    money = levels.level.type()
    months = levels.select(
        *keys,
        "currency",
        "first_idx",
        "level",
        changed_idx="month_idx",
        before=(levels.level - levels.plus + levels.minus).cast(money),
        kept=(levels.level - levels.plus).cast(money),
        month_idx=ibis.range(
            levels.month_idx, ibis.cases((levels.level > 0, held), else_=levels.month_idx) + 1
        ).unnest(),
    )
    changed = months.month_idx == months.changed_idx
    opening = ibis.cases((changed, months.before), else_=months.level)
    both = ibis.cases((changed, months.kept), else_=months.level)
    if lookup:
        rates = pricing.rates
        priced = months.left_join(
            rates, [months.currency == rates.currency, months.month_idx == rates.month_idx]
        ).select(months, opening=opening, both=both, rate=rates.rate, prev_rate=rates.prev_rate)
    else:
        rate, prev_rate = pricing.own_rates(months.month_idx)
        priced = months.select(months, opening=opening, both=both, rate=rate, prev_rate=prev_rate)
    if suspended is not None:
        priced = priced.left_join(
            suspended,
            [
                priced.customer_id == suspended.customer_id,
                priced.month_idx == suspended.month_idx,
            ],
        ).select(priced, suspended.suspended_end, suspended.suspended_start)
    counted_end, counted_start = _counted(priced, suspended is not None)
    if not lookup:
        # The reporting currency's rate is positive wherever it is known, so the rows with
        # MRR at either end are known before any money is computed.
        rate_known, prev_rate_known = pricing.own_rate_known(priced.month_idx)
        priced = priced.filter((counted_end & rate_known) | (counted_start & prev_rate_known))
        counted_end, counted_start = _counted(priced, suspended is not None)
    zero = ibis.literal(0, type=money)
    return priced.select(
        *keys,
        "month_idx",
        *([] if suspended is not None else ["first_idx"]),
        mrr_start=ibis.cases(
            (counted_start, (priced.opening * priced.prev_rate).cast(money)), else_=zero
        ),
        mrr_end=ibis.cases((counted_end, (priced.level * priced.rate).cast(money)), else_=zero),
        fx=ibis.cases(
            (
                counted_start & counted_end & (priced.both > 0),
                (priced.both * (priced.rate - priced.prev_rate)).cast(money),
            ),
            else_=zero,
        ),
    )


def _counted(priced: ir.Table, suspensions: bool) -> tuple[ir.BooleanValue, ir.BooleanValue]:
    """Whether a priced level month counts at its end and at its start (the month before's
    end): it has MRR there and, under the past-due rule, is not suspended."""
    counted_end = priced.level > 0
    counted_start = priced.opening > 0
    if suspensions:
        counted_end &= ~priced.suspended_end.fill_null(False)
        counted_start &= ~priced.suspended_start.fill_null(False)
    return counted_end, counted_start
