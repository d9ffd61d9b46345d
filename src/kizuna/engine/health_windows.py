"""Window building blocks of the health measures: trailing aggregates per account and as-of date.

Every block is exact for any set of as-of dates in one query, so a year of daily history costs
a few sorted passes, not 365 scans. :func:`trailing_values` is the main one. Over a history, an
aggregate changes only on the days of events (an event counts from its day and, for a window,
leaves it some days later), so the running totals are taken over the change days only and each
grid row picks those of its latest change day. Daily rows (usage) are first reduced to the days
their values change and the runs of consecutive days (:func:`run_events`), which turns "a row in
the last 30 days" and "the latest value" into running sums too. For a few dates the events are
joined to the dates and grouped instead. :func:`running_totals` over +/- deltas is the older
form, kept for the churn features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import ibis
import ibis.expr.types as ir

from kizuna.engine.health_inputs import AsOfGrid

# Day numbers (days since this date) let latest-date step functions ride on running sums.
_EPOCH = date(1970, 1, 1)


def day_number(value: ir.DateValue) -> ir.IntegerValue:
    return value.delta(ibis.date(_EPOCH), unit="day")


def from_day_number(value: ir.NumericValue) -> ir.DateValue:
    return (ibis.date(_EPOCH) + value.cast("int64").as_interval("D")).cast("date")


def delta_rows(table: ir.Table, day: ir.DateValue, delta: ir.NumericValue) -> ir.Table:
    """``customer_id, day, delta`` rows of ``table``, for :func:`running_totals`."""
    return table.select(
        customer_id=table.customer_id, day=day.cast("date"), delta=delta.cast("float64")
    )


def window_deltas(
    events: ir.Table, value: ir.NumericValue, window_days: int, grid: AsOfGrid
) -> ir.Table:
    """Deltas whose running total at T is Σ value over events dated in (T − window, T]."""
    lower = grid.first - timedelta(days=window_days - 1)
    kept = events.filter(events.date.between(lower, grid.last))
    value = kept[value.get_name()]
    enter = delta_rows(kept, kept.date, value)
    leave = delta_rows(kept, kept.date + ibis.interval(days=window_days), -value)
    return ibis.union(enter, leave.filter(leave.day <= grid.last))


def shifted_window_deltas(
    events: ir.Table, value: ir.NumericValue, window_days: int, grid: AsOfGrid, shift_days: int
) -> ir.Table:
    """Like :func:`window_deltas`, for the window ending at T − ``shift_days``."""
    lower = grid.first - timedelta(days=shift_days + window_days - 1)
    kept = events.filter(events.date.between(lower, grid.last - timedelta(days=shift_days)))
    value = kept[value.get_name()]
    enter = delta_rows(kept, kept.date + ibis.interval(days=shift_days), value)
    leave = delta_rows(kept, kept.date + ibis.interval(days=shift_days + window_days), -value)
    return ibis.union(enter, leave.filter(leave.day <= grid.last))


@dataclass(frozen=True)
class Trailing:
    """An aggregate (``sum`` or ``max``) of ``column`` over a customer's events dated in
    (T − shift − days, T − shift]; with ``days=None``, over all events up to T − shift (the
    only span a ``max`` may have: a running maximum cannot forget an event)."""

    column: str
    days: int | None
    shift_days: int = 0
    how: Literal["sum", "max"] = "sum"


_GRID_KEYS = ("customer_id", "as_of")

FEW_DATES = 8
"""Up to this many as-of dates, :func:`trailing_values` joins the events to the dates and
groups; with more, the pass over the days the aggregates change costs less."""


def trailing_values(
    grid: AsOfGrid, events: Sequence[ir.Table], values: Mapping[str, Trailing]
) -> ir.Table:
    """Every grid row (all its columns) with one column per ``values`` entry.

    ``events`` are tables of ``customer_id``, ``date`` and some of the aggregated columns (the
    others count as null); callers prune them to the dates that can matter. A sum over no events
    is 0; a max over none is null. A max must be over all events up to T − shift (``days=None``).

    For a few dates, the events are joined to the dates whose spans hold them and grouped. For a
    history (many dates), the aggregates change only on the days of events, so they are computed
    there (:func:`_trailing_by_changes`) and each grid row takes those of its latest change day.
    """
    columns = sorted({spec.column for spec in values.values()})
    parts = [
        table.select(
            "customer_id",
            day=day_number(table.date),
            **{
                column: table[column].cast("float64")
                if column in table.columns
                else ibis.null("float64")
                for column in columns
            },
        )
        for table in events
    ]
    if grid.count <= FEW_DATES:
        return _trailing_by_dates(grid, ibis.union(*parts), values)
    return _trailing_by_changes(grid, ibis.union(*parts), values)


def _trailing_by_changes(
    grid: AsOfGrid, events: ir.Table, values: Mapping[str, Trailing]
) -> ir.Table:
    """:func:`trailing_values` for a history, from the days the aggregates change.

    Every aggregate becomes a running one: an event counts from its day + shift, and for a
    window of ``days`` it leaves (a change of −value) ``days`` later. The changes are summed per
    customer and day, their running totals taken in one window pass over the change days only,
    and numbered; a grid row on T then takes the totals of the customer's n-th change day, n
    being the number of change days ≤ T (a running count over grid rows and change days
    together, the one windowed pass that runs over every grid row).
    """
    last = (grid.last - _EPOCH).days
    names = list(values)
    pieces = []
    for name, spec in values.items():
        if spec.how == "max" and spec.days is not None:
            raise ValueError(f"a trailing max needs days=None ({name})")
        kept = events.filter(events[spec.column].notnull())
        value = kept[spec.column]
        moves = [(spec.shift_days, value)]
        if spec.days is not None:
            moves.append((spec.shift_days + spec.days, -value))
        for shift, change in moves:
            pieces.append(
                kept.select(
                    "customer_id",
                    day=kept.day + shift,
                    **{other: change if other == name else ibis.null("float64") for other in names},
                )
            )
    changes = ibis.union(*pieces)
    changes = changes.filter(changes.day <= last)
    changes = changes.group_by("customer_id", "day").aggregate(
        **{
            name: changes[name].max() if spec.how == "max" else changes[name].sum()
            for name, spec in values.items()
        }
    )
    ordered = ibis.window(group_by=changes.customer_id, order_by=changes.day, rows=(None, 0))
    states = changes.select(
        "customer_id",
        step=ibis.row_number().over(group_by=changes.customer_id, order_by=changes.day) + 1,
        **{
            name: (changes[name].max() if spec.how == "max" else changes[name].sum()).over(ordered)
            for name, spec in values.items()
        },
    )
    # Number of change days up to each grid row's T (change days first on a tie).
    carried = [name for name in grid.table.columns if name not in _GRID_KEYS]
    rows = grid.table
    marks = ibis.union(
        changes.select(
            "customer_id",
            "day",
            as_of=ibis.null("date"),
            **{name: ibis.null(rows[name].type()) for name in carried},
            change=ibis.literal(1),
        ),
        rows.select(
            "customer_id",
            day=day_number(rows.as_of),
            as_of=rows.as_of,
            **{name: rows[name] for name in carried},
            change=ibis.literal(0),
        ),
    )
    counted = ibis.window(
        group_by=marks.customer_id, order_by=[marks.day, ibis.desc(marks.change)], rows=(None, 0)
    )
    marks = marks.mutate(step=marks.change.sum().over(counted))
    at_grid = marks.filter(marks.as_of.notnull())
    joined = at_grid.left_join(states, ["customer_id", "step"])
    return joined.select(
        *(at_grid[name] for name in (*_GRID_KEYS, *carried)),
        **{
            name: joined[name] if spec.how == "max" else joined[name].fill_null(0.0)
            for name, spec in values.items()
        },
    )


def _trailing_by_dates(
    grid: AsOfGrid, events: ir.Table, values: Mapping[str, Trailing]
) -> ir.Table:
    """:func:`trailing_values` for a few dates: events × the dates whose spans hold them, grouped
    per customer and date, then matched to the grid rows."""
    dates = grid.dates.select("as_of", point=day_number(grid.dates.as_of))
    specs = list(values.values())
    conditions = [events.day <= dates.point - min(spec.shift_days for spec in specs)]
    if all(spec.days is not None for spec in specs):
        reach = max(spec.shift_days + (spec.days or 0) - 1 for spec in specs)
        conditions.append(events.day >= dates.point - reach)
    pairs = events.join(dates, conditions)

    def aggregate(spec: Trailing) -> ir.Value:
        inside = pairs.day <= pairs.point - spec.shift_days
        if spec.days is not None:
            inside &= pairs.day >= pairs.point - (spec.shift_days + spec.days - 1)
        column = pairs[spec.column]
        return column.max(where=inside) if spec.how == "max" else column.sum(where=inside)

    totals = pairs.group_by("customer_id", "as_of").aggregate(
        **{name: aggregate(spec) for name, spec in values.items()}
    )
    rows = grid.table.left_join(totals, list(_GRID_KEYS))
    return rows.select(
        *(grid.table[name] for name in grid.table.columns),
        **{
            name: rows[name] if spec.how == "max" else rows[name].fill_null(0.0)
            for name, spec in values.items()
        },
    )


def in_span(events: ir.Table, grid: AsOfGrid, days: int, shift_days: int = 0) -> ir.BooleanValue:
    """Whether an event is dated in (T − shift − days, T − shift] for at least one as-of date:
    the events a trailing aggregate over that span can see."""
    lower = grid.first - timedelta(days=shift_days + days - 1)
    return events.date.between(lower, grid.last - timedelta(days=shift_days))


def run_events(
    rows: ir.Table, latest: Mapping[str, Sequence[int]], present: Sequence[int], last: date
) -> list[ir.Table]:
    """Daily rows (one per customer and date) reduced to where they change, for running sums.

    Consecutive days with a row form a *run*. Whether a customer has a row dated in
    (T − lookback, T] is whether T falls in [run start, run end + lookback − 1] of some run, so
    ``rows_seen_{lookback}`` is +1 on each run's first day and −1 ``lookback`` days after its
    last: its running sum up to T (see :func:`presence`) is positive exactly then. The same goes
    for the rows where a ``latest`` column has a value (``{column}_seen_{lookback}``), and
    ``{column}_change`` is the change of that column on the days its value changes, whose
    running sum is its value on the latest row ≤ T that has one (see :func:`latest_value`).
    A year of daily rows whose values change now and then becomes a few rows per customer.
    One sort of ``rows`` finds every run; only the rows where a value changes are sorted again.
    """
    order = ibis.window(group_by=rows.customer_id, order_by=rows.date)
    day = day_number(rows.date)
    before, after = day.lag().over(order), day.lead().over(order)
    starts = before.isnull() | (before < day - 1)
    ends = after.isnull() | (after > day + 1)
    marks: dict[str, ir.Value] = {"row_start": starts, "row_end": ends}
    for column in latest:
        value = rows[column]
        has = value.notnull()
        previous, following = value.lag().over(order), value.lead().over(order)
        marks[f"{column}_start"] = has & (starts | previous.isnull())
        marks[f"{column}_end"] = has & (ends | following.isnull())
        marks[f"{column}_set"] = has & (starts | previous.isnull() | (previous != value))
    marked = rows.select("customer_id", "date", *latest, **marks)
    one, minus_one = ibis.literal(1), ibis.literal(-1)
    names = {f"rows_seen_{lookback}": ("row", lookback) for lookback in present}
    for column, lookbacks in latest.items():
        names |= {f"{column}_seen_{lookback}": (column, lookback) for lookback in lookbacks}
    entering = marked.filter(ibis.or_(*(marked[f"{kind}_start"] for kind, _ in names.values())))
    tables = [
        entering.select(
            "customer_id",
            "date",
            **{
                name: ibis.ifelse(entering[f"{kind}_start"], one, ibis.null("int64"))
                for name, (kind, _) in names.items()
            },
        )
    ]
    for lookback in sorted({lookback for _, lookback in names.values()}):
        mine = {name: kind for name, (kind, days) in names.items() if days == lookback}
        leaving = marked.filter(ibis.or_(*(marked[f"{kind}_end"] for kind in mine.values())))
        leaving = leaving.select(
            "customer_id",
            date=(leaving.date + ibis.interval(days=lookback)).cast("date"),
            **{
                name: ibis.ifelse(leaving[f"{kind}_end"], minus_one, ibis.null("int64"))
                for name, kind in mine.items()
            },
        )
        tables.append(leaving.filter(leaving.date <= last))
    for column in latest:
        changes = marked.filter(marked[f"{column}_set"])
        value = changes[column].cast("float64")
        previous = value.lag().over(group_by=changes.customer_id, order_by=changes.date)
        tables.append(
            changes.select(
                "customer_id", "date", **{f"{column}_change": value - previous.fill_null(0.0)}
            )
        )
    return tables


def presence(lookback_days: int, shift_days: int = 0, column: str | None = None) -> Trailing:
    """The :func:`trailing_values` that is positive when the customer has a row (with a value
    of ``column``) dated in (T − shift − lookback, T − shift], over :func:`run_events`."""
    return Trailing(f"{column or 'rows'}_seen_{lookback_days}", None, shift_days)


def latest_value(column: str, lookback_days: int, shift_days: int = 0) -> tuple[Trailing, Trailing]:
    """The :func:`trailing_values` of the latest ``column`` dated in (T − shift − lookback,
    T − shift], over :func:`run_events`: the value (the running sum of the changes up to
    T − shift), which counts only when the second, its :func:`presence`, is positive."""
    return (
        Trailing(f"{column}_change", None, shift_days),
        presence(lookback_days, shift_days, column),
    )


def running_totals(grid: AsOfGrid, accumulators: Mapping[str, ir.Table]) -> ir.Table:
    """For every grid row, Σ delta over rows dated ≤ as_of, one column per accumulator.

    Portable on every backend with window functions: the grid rows are appended to the deltas
    and a single cumulative sum per customer, ordered by day with the grid rows last on a tie,
    yields every total at once.
    """
    names = list(accumulators)
    zero = ibis.literal(0.0)
    parts = [
        table.select(
            "customer_id",
            "day",
            **{other: (table.delta if other == name else zero) for other in names},
        )
        for name, table in accumulators.items()
    ]
    events = ibis.union(*parts)
    events = events.group_by("customer_id", "day").aggregate(
        **{name: events[name].sum() for name in names}
    )
    events = events.mutate(is_grid=ibis.literal(0))
    rows = grid.table.select(
        "customer_id",
        day=grid.table.as_of,
        **{name: zero for name in names},
        is_grid=ibis.literal(1),
    )
    stream = ibis.union(events, rows)
    window = ibis.window(
        group_by=stream.customer_id, order_by=[stream.day, stream.is_grid], rows=(None, 0)
    )
    stream = stream.mutate(**{name: stream[name].sum().over(window) for name in names})
    at_grid = stream.filter(stream.is_grid == 1)
    return at_grid.select(
        "customer_id", as_of=at_grid.day, **{name: at_grid[name] for name in names}
    )


def feed_freshness(feed: ir.Table, column: str, grid: AsOfGrid) -> ir.Table:
    """``as_of, observed_on``: the newest date of a whole feed on or before each as-of date.

    Freshness is a property of the feed, not of an account: an account with no usage rows is an
    account that did not use the product, while a feed that stopped arriving is missing data.
    """
    days = feed.select(day=feed[column].cast("date")).distinct()
    dates = grid.dates
    joined = dates.join(days, days.day <= dates.as_of)
    return joined.group_by("as_of").aggregate(observed_on=joined.day.max())
