"""One trailing pass for every windowed measure of a scorecard.

Most measures are trailing aggregates of some events per account (login days in 28 days, the
latest active-user count, NPS responses standing at T, critical tickets in 30 days, contracted
seats). Such a measure describes itself as a :class:`TrailingForm`: the event rows it reads, the
aggregates it needs and how it turns them into a value. :func:`shared_pass` then computes the
forms of all the scorecard's components together, in one :func:`trailing_values` pass over the
grid: one sort of the grid and events instead of one per measure, and no join of each measure's
result back to the grid. Events of the same input (the usage rows) enter the pass once, with the
columns and spans of every measure that reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from kizuna.engine.health_inputs import AsOfGrid
from kizuna.engine.health_windows import Trailing, in_span, run_events, trailing_values

Span = tuple[int, int]
"""``(days, shift_days)``: events dated in (T − shift − days, T − shift] for some as-of date."""


@dataclass(frozen=True)
class Events:
    """Rows of one input entering the shared pass.

    Measures that give the same ``key`` share one set of rows carrying all their asks, kept on
    the union of their ``spans`` (``spans=None`` keeps every row of ``table``, already pruned by
    the measure). ``table`` has ``customer_id`` and ``date``. Asks:

    * ``columns``: values summed per row (a name means the same computation whichever measure
      asks); rows where all of them are null are left out;
    * ``latest``: columns of ``table`` whose latest value some measure reads, each with the
      lookbacks of its presence checks (:func:`run_events`; ``table`` then has one row per
      customer and date);
    * ``present``: lookbacks of checks whether the customer has any row (:func:`presence`).
    """

    key: str
    table: ir.Table
    columns: Mapping[str, Callable[[ir.Table], ir.Value]] = field(default_factory=dict)
    latest: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    present: tuple[int, ...] = ()
    spans: tuple[Span, ...] | None = None


@dataclass(frozen=True)
class Finished:
    """A measure's value on each grid row: rows where ``kept`` is false have no data."""

    value: ir.Value
    kept: ir.BooleanValue
    observed_on: ir.Value | None = None
    """Date of the newest input the value rests on; ``None``: the form's ``freshness``."""


@dataclass(frozen=True)
class TrailingForm:
    """A measure as trailing aggregates: ``finish`` maps the aggregates (by the names of
    ``values``) to the value. ``freshness`` (``as_of, observed_on``, see :func:`feed_freshness`)
    dates the value; grid rows on dates before the feed's first row have no data."""

    events: tuple[Events, ...]
    values: Mapping[str, Trailing]
    finish: Callable[[Mapping[str, ir.Value]], Finished]
    freshness: ir.Table | None = None


def shared_pass(grid: AsOfGrid, forms: Mapping[str, TrailingForm]) -> ir.Table:
    """Every grid row (all its columns) with ``{name}__value``, ``{name}__observed`` and
    ``{name}__kept`` for each form; value and date are null where the form has no data."""
    tables = [
        table for group in _by_key(forms.values()).values() for table in _merged_events(grid, group)
    ]
    names: dict[Trailing, str] = {}
    for form in forms.values():
        for spec in form.values.values():
            names.setdefault(spec, f"agg{len(names)}")
    totals = trailing_values(grid, tables, {name: spec for spec, name in names.items()})
    # Freshness is per feed and date: one small table of dates, joined on as_of.
    feeds: dict[ops.Node, tuple[str, ir.Table]] = {}
    for form in forms.values():
        if form.freshness is not None:
            feeds.setdefault(form.freshness.op(), (f"feed{len(feeds)}", form.freshness))
    if feeds:
        dates = grid.dates
        for name, feed in feeds.values():
            dates = dates.left_join(feed.rename(**{name: "observed_on"}), "as_of").drop(
                "as_of_right"
            )
        totals = totals.left_join(dates, "as_of").drop("as_of_right")
    columns: dict[str, ir.Value] = {}
    for key, form in forms.items():
        finished = form.finish({local: totals[names[spec]] for local, spec in form.values.items()})
        kept = finished.kept
        observed = finished.observed_on
        if form.freshness is not None:
            fresh = totals[feeds[form.freshness.op()][0]]
            kept &= fresh.notnull()
            observed = fresh if observed is None else observed
        value = finished.value
        observed = ibis.null("date") if observed is None else observed.cast("date")
        columns[f"{key}__value"] = ibis.ifelse(kept, value, ibis.null(value.type()))
        columns[f"{key}__observed"] = ibis.ifelse(kept, observed, ibis.null("date"))
        columns[f"{key}__kept"] = kept
    return totals.select(*grid.table.columns, **columns)


def _by_key(forms: Iterable[TrailingForm]) -> dict[str, list[Events]]:
    groups: dict[str, list[Events]] = {}
    for form in forms:
        for events in form.events:
            groups.setdefault(events.key, []).append(events)
    return groups


def _merged_events(grid: AsOfGrid, group: Sequence[Events]) -> list[ir.Table]:
    """The event rows that ``group`` (events of one key) asks for."""
    table = group[0].table
    spans = [span for events in group for span in (events.spans or ())]
    if all(events.spans is not None for events in group):
        table = table.filter(
            ibis.or_(*(in_span(table, grid, days, shift) for days, shift in sorted(set(spans))))
        )
    columns: dict[str, ir.Value] = {}
    latest: dict[str, set[int]] = {}
    present: set[int] = set()
    for events in group:
        for name, compute in events.columns.items():
            columns.setdefault(name, compute(table))
        for column, lookbacks in events.latest.items():
            latest.setdefault(column, set()).update(lookbacks)
        present.update(events.present)
    tables = []
    if columns:
        values = table.select("customer_id", "date", **columns)
        tables.append(values.filter(ibis.or_(*(values[name].notnull() for name in columns))))
    if latest or present:
        by_column = {column: sorted(days) for column, days in sorted(latest.items())}
        tables += run_events(table, by_column, sorted(present), grid.last)
    return tables
