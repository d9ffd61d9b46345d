"""Health measures: one named, documented computation per signal, over all accounts at once.

A measure takes the health inputs and an *as-of grid* (one row per account and as-of date T)
and returns ``customer_id, as_of, value, observed_on`` for the grid rows it can compute; a grid
row it leaves out means "no data" (the scorecard decides what that costs). ``observed_on`` is
the date of the newest input the value rests on, so a scorecard can treat old data as missing.

Measures are registered in :data:`MEASURES`; our defaults use the same :func:`register_measure`
that an extension would. Every measure is exact for any set of as-of dates in one query, so a
year of daily history costs one sorted pass per measure, not 365 scans. The usage measures read
``usage_daily`` once each (:func:`trailing_values`): the grid rows join the usage rows in one
window pass whose ``RANGE`` frames give every trailing sum, and the latest value of a column is a
running sum of its changes; for a few dates the usage rows are joined to the dates and grouped
instead. The sparser inputs use running totals of +/- deltas (:func:`running_totals`). The
formulas and windows are documented in ``docs/health.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

MeasureKind = Literal["number", "category"]

# Day numbers (days since this date) let latest-date step functions ride on running sums.
_EPOCH = date(1970, 1, 1)

# Months per billing interval, for committed-term arithmetic; day and week intervals are never
# committed terms, so they are absent.
INTERVAL_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


# Columns each input must provide to the measures (name → Ibis type); absent optional columns
# are added as nulls (or the documented default) by `HealthInputs.from_tables`.
INPUT_COLUMNS: dict[str, dict[str, str]] = {
    "usage_daily": {
        "customer_id": "string",
        "date": "date",
        "logins": "int64",
        "active_users": "int64",
        "active_users_30d": "int64",
        "seats_in_use": "int64",
        "pricing_page_views": "int64",
    },
    "features": {"feature": "string", "core": "boolean"},
    "feature_usage": {
        "customer_id": "string",
        "date": "date",
        "feature": "string",
        "uses": "int64",
    },
    "tickets": {
        "ticket_id": "string",
        "customer_id": "string",
        "opened_at": "timestamp",
        "type": "string",
        "severity": "string",
    },
    "nps": {
        "response_id": "string",
        "customer_id": "string",
        "contact_id": "string",
        "responded_on": "date",
        "score": "int64",
    },
    "activities": {
        "activity_id": "string",
        "customer_id": "string",
        "type": "string",
        "occurred_at": "timestamp",
    },
    "contacts": {"contact_id": "string", "customer_id": "string", "status": "string"},
    "subscriptions": {
        "customer_id": "string",
        "plan": "string",
        "quantity": "float64",
        "interval": "string",
        "interval_count": "int64",
        "start_date": "date",
        "end_date": "date",
        "recurring": "boolean",
    },
    "accounts": {"customer_id": "string", "customer_since": "date"},
}

# Defaults for optional columns a source may leave out (as in docs/import-format.md).
_COLUMN_DEFAULTS: dict[str, Any] = {
    "pricing_page_views": 0,
    "interval_count": 1,
    "quantity": 1,
    "recurring": True,
}


def conform(name: str, table: ir.Table) -> ir.Table:
    """Select and type the columns input ``name`` needs, adding absent optional ones."""
    columns = {}
    for column, type_ in INPUT_COLUMNS[name].items():
        if column in table.columns:
            columns[column] = table[column].cast(type_)
        else:
            default = _COLUMN_DEFAULTS.get(column)
            columns[column] = (
                ibis.literal(default, type_) if default is not None else ibis.null(type_)
            )
    return table.select(**columns)


@dataclass(frozen=True)
class HealthInputs:
    """The tables measures read (column names as in ``docs/import-format.md``); ``None`` = absent.

    ``accounts`` (``customer_id``, ``customer_since``) is optional: without it, the accounts
    scored on a date are those with a recurring subscription item in service that day (or, with
    no subscriptions at all, every customer seen in any table).
    """

    usage_daily: ir.Table | None = None
    features: ir.Table | None = None
    feature_usage: ir.Table | None = None
    tickets: ir.Table | None = None
    nps: ir.Table | None = None
    activities: ir.Table | None = None
    contacts: ir.Table | None = None
    subscriptions: ir.Table | None = None
    accounts: ir.Table | None = None

    @classmethod
    def from_tables(cls, tables: Mapping[str, Any]) -> HealthInputs:
        """Wrap in-memory tables (Arrow, pandas) by input name; unknown names are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(tables) - known)
        if unknown:
            raise ValueError(f"unknown health inputs: {', '.join(unknown)}")
        return cls(**{name: conform(name, ibis.memtable(table)) for name, table in tables.items()})

    def table(self, name: str) -> ir.Table | None:
        value: ir.Table | None = getattr(self, name)
        return value


@dataclass(frozen=True)
class AsOfGrid:
    """The accounts × as-of dates to compute, with the date range known up front.

    ``table`` has ``customer_id``, ``as_of`` and ``customer_since`` (nullable); ``first`` and
    ``last`` bound the as-of dates so measures can prune their inputs.
    """

    table: ir.Table
    dates: ir.Table
    first: date
    last: date
    count: int
    """How many as-of dates."""


MeasureFunction = Callable[[HealthInputs, AsOfGrid, Mapping[str, Any]], ir.Table]


@dataclass(frozen=True)
class Measure:
    """A registered measure: its function, what it needs, and its default parameters."""

    name: str
    compute: MeasureFunction
    kind: MeasureKind
    unit: str
    sources: tuple[str, ...]
    """Inputs of which at least one must be present (else the measure is missing for all)."""
    params: Mapping[str, Any] = field(default_factory=dict)
    categories: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        return (self.compute.__doc__ or "").strip()

    def run(self, inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ValueError(f"measure {self.name!r} has no parameter {', '.join(unknown)}")
        return self.compute(inputs, grid, {**self.params, **params})

    def available(self, inputs: HealthInputs) -> bool:
        return any(inputs.table(source) is not None for source in self.sources)


MEASURES: dict[str, Measure] = {}
"""Measure name → measure. Extensions add theirs with :func:`register_measure`."""


def register_measure(measure: Measure) -> Measure:
    if measure.name in MEASURES:
        raise ValueError(f"a measure named {measure.name!r} is already registered")
    MEASURES[measure.name] = measure
    return measure


# --- grid -------------------------------------------------------------------------------


def as_of_grid(inputs: HealthInputs, dates: Sequence[date]) -> AsOfGrid:
    """The accounts to score on each date (see :class:`HealthInputs`), with their tenure start."""
    if not dates:
        raise ValueError("at least one as-of date is needed")
    unique = sorted(set(dates))
    dates_table = ibis.memtable({"as_of": unique}, schema={"as_of": "date"})
    if inputs.accounts is not None:
        accounts = inputs.accounts.select(
            "customer_id", customer_since=inputs.accounts.customer_since.cast("date")
        )
        grid = accounts.cross_join(dates_table)
    elif inputs.subscriptions is not None:
        items = _recurring_items(inputs.subscriptions)
        since = items.group_by("customer_id").aggregate(customer_since=items.start_date.min())
        in_service = _in_service_pairs(items, dates_table).select("customer_id", "as_of").distinct()
        grid = in_service.join(since, "customer_id")
    else:
        ids = [
            table.select("customer_id")
            for name in ("usage_daily", "feature_usage", "tickets", "nps", "activities", "contacts")
            if (table := inputs.table(name)) is not None
        ]
        if not ids:
            raise ValueError("no input has customers: give at least one CSV file")
        customers = ibis.union(*ids, distinct=True)
        grid = customers.cross_join(dates_table).mutate(customer_since=ibis.null("date"))
    grid = grid.select("customer_id", "as_of", "customer_since")
    return AsOfGrid(
        table=grid, dates=dates_table, first=unique[0], last=unique[-1], count=len(unique)
    )


def _recurring_items(subscriptions: ir.Table) -> ir.Table:
    return subscriptions.filter(subscriptions.recurring)


def _in_service_pairs(items: ir.Table, dates: ir.Table) -> ir.Table:
    """Item × as-of date for each date the item is in service (start ≤ T < end)."""
    return items.join(
        dates,
        [
            items.start_date <= dates.as_of,
            items.end_date.isnull() | (dates.as_of < items.end_date),
        ],
    )


# --- building blocks --------------------------------------------------------------------


def day_number(value: ir.DateValue) -> ir.IntegerValue:
    return value.delta(ibis.date(_EPOCH), unit="day")


def from_day_number(value: ir.NumericValue) -> ir.DateValue:
    return (ibis.date(_EPOCH) + value.cast("int64").as_interval("D")).cast("date")


def _deltas(table: ir.Table, day: ir.DateValue, delta: ir.NumericValue) -> ir.Table:
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
    enter = _deltas(kept, kept.date, value)
    leave = _deltas(kept, kept.date + ibis.interval(days=window_days), -value)
    return ibis.union(enter, leave.filter(leave.day <= grid.last))


def latest_value_deltas(
    events: ir.Table,
    value: ir.NumericValue,
    grid: AsOfGrid,
    *,
    lookback_days: int,
    shift_days: int = 0,
) -> ir.Table:
    """Deltas whose running total at T is the value of the latest event dated in
    (T − shift − lookback, T − shift], provided such an event exists (check that with a
    :func:`window_deltas` count over the same span).

    Each event contributes the change from the previous event of the same customer, so the
    running total telescopes to the newest value. Only events that can matter for some as-of
    date are read, which keeps a one-day computation small. Events must have one row per
    customer and date; unchanged values produce no delta.
    """
    lower = grid.first - timedelta(days=shift_days + lookback_days - 1)
    kept = events.filter(events.date.between(lower, grid.last - timedelta(days=shift_days)))
    value = kept[value.get_name()].cast("float64")
    previous = value.lag().over(group_by=kept.customer_id, order_by=kept.date)
    change = value - previous.fill_null(0)
    deltas = _deltas(kept, kept.date + ibis.interval(days=shift_days), change)
    return deltas.filter(deltas.delta != 0)


def shifted_window_deltas(
    events: ir.Table, value: ir.NumericValue, window_days: int, grid: AsOfGrid, shift_days: int
) -> ir.Table:
    """Like :func:`window_deltas`, for the window ending at T − ``shift_days``."""
    lower = grid.first - timedelta(days=shift_days + window_days - 1)
    kept = events.filter(events.date.between(lower, grid.last - timedelta(days=shift_days)))
    value = kept[value.get_name()]
    enter = _deltas(kept, kept.date + ibis.interval(days=shift_days), value)
    leave = _deltas(kept, kept.date + ibis.interval(days=shift_days + window_days), -value)
    return ibis.union(enter, leave.filter(leave.day <= grid.last))


@dataclass(frozen=True)
class Trailing:
    """An aggregate (``sum`` or ``max``) of ``column`` over a customer's events dated in
    (T − shift − days, T − shift]; with ``days=None``, over all events up to T − shift."""

    column: str
    days: int | None
    shift_days: int = 0
    how: Literal["sum", "max"] = "sum"


FEW_DATES = 8
"""Up to this many as-of dates, :func:`trailing_values` joins the events to the dates and
groups; with more, one windowed pass over events and grid rows costs less."""


def trailing_values(
    grid: AsOfGrid, events: Sequence[ir.Table], values: Mapping[str, Trailing]
) -> ir.Table:
    """``customer_id, as_of`` and one column per ``values`` entry, for every grid row.

    ``events`` are tables of ``customer_id``, ``date`` and some of the aggregated columns (the
    others count as null); callers prune them to the dates that can matter. A sum over no events
    is 0; a max over none is null.

    For a history (many dates), one sorted pass computes every aggregate: the grid rows are
    appended to the events and each aggregate is a window over day numbers with a ``RANGE``
    frame (the events of T − shift are peers of the grid row, so they are in). For a few dates,
    the windowed pass would still run over every event, so the events are joined to the dates
    whose spans hold them and grouped instead.
    """
    columns = sorted({spec.column for spec in values.values()})

    def shaped(table: ir.Table, as_of: ir.Value, day: ir.Value) -> ir.Table:
        return table.select(
            "customer_id",
            as_of=as_of,
            day=day,
            **{
                column: table[column].cast("float64")
                if column in table.columns
                else ibis.null("float64")
                for column in columns
            },
        )

    parts = [shaped(table, ibis.null("date"), day_number(table.date)) for table in events]
    if grid.count <= FEW_DATES:
        return _trailing_by_dates(grid, ibis.union(*parts).drop("as_of"), values)
    rows = shaped(grid.table, grid.table.as_of, day_number(grid.table.as_of))
    stream = ibis.union(*parts, rows)

    def aggregate(spec: Trailing) -> ir.Value:
        start = None if spec.days is None else -(spec.shift_days + spec.days - 1)
        frame = ibis.window(
            group_by=stream.customer_id, order_by=stream.day, range=(start, -spec.shift_days)
        )
        column = stream[spec.column]
        if spec.how == "max":
            return column.max().over(frame)
        return column.sum().over(frame).fill_null(0.0)

    stream = stream.mutate(**{name: aggregate(spec) for name, spec in values.items()})
    at_grid = stream.filter(stream.as_of.notnull())
    return at_grid.select("customer_id", "as_of", *values)


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
    rows = grid.table.left_join(totals, ["customer_id", "as_of"])
    return rows.select(
        grid.table.customer_id,
        grid.table.as_of,
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


def latest_value_events(events: ir.Table, column: str) -> ir.Table:
    """``events`` with ``{column}_change`` and ``{column}_day`` for :func:`latest_value`: on each
    event with a value, the change from the customer's previous event with a value (which
    telescopes over a running sum to the latest value) and its day number; null on the others.
    Events must have one row per customer and date."""
    change, day = f"{column}_change", f"{column}_day"
    kept = events.filter(events[column].notnull())
    value = kept[column].cast("float64")
    previous = value.lag().over(group_by=kept.customer_id, order_by=kept.date)
    with_value = kept.mutate(
        **{change: value - previous.fill_null(0.0), day: day_number(kept.date)}
    )
    without = events.filter(events[column].isnull()).mutate(
        **{change: ibis.null("float64"), day: ibis.null("int64")}
    )
    return ibis.union(with_value, without)


def latest_value(column: str, lookback_days: int, shift_days: int = 0) -> tuple[Trailing, Trailing]:
    """The :func:`trailing_values` of the latest ``column`` dated in (T − shift − lookback,
    T − shift], over :func:`latest_value_events` of the events :func:`in_span` (this span and
    possibly others): the value (the running sum of the changes up to T − shift), which counts only
    when the second, the day number of the latest event within the span, is not null."""
    return (
        Trailing(f"{column}_change", None, shift_days),
        Trailing(f"{column}_day", lookback_days, shift_days, "max"),
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


def _with_observed(values: ir.Table, freshness: ir.Table | None) -> ir.Table:
    if freshness is None:
        return values.mutate(observed_on=ibis.null("date"))
    # Inner join: before a feed's first row there is no data, which is missing, not zero.
    return values.join(freshness, "as_of").select("customer_id", "as_of", "value", "observed_on")


def _result(values: ir.Table, value: ir.Value, observed_on: ir.Value | None = None) -> ir.Table:
    observed = ibis.null("date") if observed_on is None else observed_on.cast("date")
    return values.select("customer_id", "as_of", value=value, observed_on=observed)


def _daily(table: ir.Table, timestamp: ir.Value) -> ir.Table:
    return table.mutate(date=timestamp.cast("date"))


# --- measures ---------------------------------------------------------------------------


def login_frequency(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Login days per week: days with at least one login in the ``window_days`` days up to and
    including T, divided by the window in weeks (28 days → ÷ 4)."""
    usage = inputs.usage_daily
    assert usage is not None
    window = int(params["window_days"])
    # One usage row per account and day, so counting rows with logins counts days.
    login_days = usage.filter(in_span(usage, grid, window))
    login_days = login_days.mutate(login_day=ibis.ifelse(login_days.logins > 0, 1, 0))
    totals = trailing_values(grid, [login_days], {"days": Trailing("login_day", window)})
    values = _result(totals, totals.days / (window / 7))
    return _with_observed(values.drop("observed_on"), feed_freshness(usage, "date", grid))


def core_features_used(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Distinct features flagged *core* in ``features.csv`` with at least one use in the
    ``window_days`` days up to and including T."""
    usage, features = inputs.feature_usage, inputs.features
    if usage is None or features is None:
        return _empty(grid)
    window = int(params["window_days"])
    core = features.filter(features.core).select("feature")
    used = usage.filter(
        (usage.uses > 0) & usage.date.between(grid.first - timedelta(days=window - 1), grid.last)
    )
    used = used.semi_join(core, "feature").select("customer_id", "feature", "date").distinct()
    # A feature counts from each use for `window` days; consecutive uses closer than the window
    # merge into one run, which enters once and leaves once, so the running total is the number
    # of distinct features in use.
    ordering = {"group_by": [used.customer_id, used.feature], "order_by": used.date}
    previous = used.date.lag().over(**ordering)
    following = used.date.lead().over(**ordering)
    used = used.mutate(
        starts=previous.isnull() | (used.date.delta(previous, unit="day") >= window),
        ends=following.isnull() | (following.delta(used.date, unit="day") >= window),
    )
    enter = _deltas(used.filter(used.starts), used.filter(used.starts).date, ibis.literal(1))
    ending = used.filter(used.ends)
    leave = _deltas(ending, ending.date + ibis.interval(days=window), ibis.literal(-1))
    deltas = ibis.union(enter, leave.filter(leave.day <= grid.last))
    totals = running_totals(grid, {"features": deltas})
    values = _result(totals, totals.features)
    return _with_observed(values.drop("observed_on"), feed_freshness(usage, "date", grid))


def nps_average(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Average NPS score (0–10): the latest response of each contact within the
    ``window_days`` days up to and including T, averaged over contacts. A response without a
    contact counts as its own respondent. Missing when no response is in the window.
    Promoter ≥ 9, passive 7–8, detractor ≤ 6 (the scorecard's bands)."""
    nps = inputs.nps
    assert nps is not None
    window = int(params["window_days"])
    responses = nps.filter(nps.responded_on <= grid.last).select(
        "customer_id",
        respondent=nps.contact_id.fill_null("response:" + nps.response_id),
        date=nps.responded_on,
        order=nps.response_id,
        score=nps.score.cast("float64"),
    )
    following = responses.date.lead().over(
        group_by=[responses.customer_id, responses.respondent],
        order_by=[responses.date, responses.order],
    )
    expires = responses.date + ibis.interval(days=window)
    # A response stands until the same respondent answers again or it ages out of the window.
    responses = responses.mutate(
        until=ibis.least(following.fill_null(expires), expires).cast("date")
    )
    current = responses.filter(responses.until >= grid.first)
    deltas = {
        "total": ibis.union(
            _deltas(current, current.date, current.score),
            _deltas(current, current.until, -current.score),
        ),
        "count": ibis.union(
            _deltas(current, current.date, ibis.literal(1)),
            _deltas(current, current.until, ibis.literal(-1)),
        ),
    }
    days = responses.select("customer_id", "date").distinct()
    days = days.mutate(number=day_number(days.date))
    deltas["latest"] = latest_value_deltas(days, days.number, grid, lookback_days=window)
    totals = running_totals(grid, deltas)
    # Running sums of whole scores are exact in float64; the tolerance only guards the count.
    totals = totals.filter(totals["count"] > 0.5)
    return _result(totals, totals.total / totals["count"], from_day_number(totals.latest))


def cs_meetings(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """CS meetings and QBRs held (activity types in ``types``) in the ``window_days`` days up to
    and including T."""
    activities = inputs.activities
    assert activities is not None
    window = int(params["window_days"])
    daily = _daily(activities, activities.occurred_at)
    meetings = daily.filter(daily.type.isin(list(params["types"]))).mutate(one=ibis.literal(1))
    totals = running_totals(grid, {"meetings": window_deltas(meetings, meetings.one, window, grid)})
    values = _result(totals, totals.meetings)
    return _with_observed(values.drop("observed_on"), feed_freshness(daily, "date", grid))


def next_renewal(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """``customer_id, as_of, renewal_on``: the end of the current committed term.

    Committed terms are recurring items in service at T whose billing cycle is at least
    ``min_term_months`` (interval year, or month × interval_count ≥ 12, …). The term end is
    ``end_date`` when set, else the first ``start_date + k × term`` (k ≥ 1) on or after T. With
    several committed items, the earliest term end counts.
    """
    subscriptions = inputs.subscriptions
    assert subscriptions is not None
    factor = subscriptions.interval.cases(*INTERVAL_MONTHS.items(), else_=0)
    items = _recurring_items(subscriptions).mutate(term=factor * subscriptions.interval_count)
    items = items.filter(items.term >= int(params["min_term_months"]))
    pairs = _in_service_pairs(items, grid.dates)
    elapsed = (pairs.as_of.year() - pairs.start_date.year()) * 12 + (
        pairs.as_of.month() - pairs.start_date.month()
    )
    terms = ibis.greatest((elapsed + pairs.term - 1) // pairs.term, 1)
    candidate = (pairs.start_date + (terms * pairs.term).as_interval("M")).cast("date")
    later = (pairs.start_date + ((terms + 1) * pairs.term).as_interval("M")).cast("date")
    anniversary = ibis.ifelse(candidate < pairs.as_of, later, candidate)
    pairs = pairs.mutate(renewal_on=pairs.end_date.fill_null(anniversary))
    earliest = pairs.group_by("customer_id", "as_of").aggregate(renewal_on=pairs.renewal_on.min())
    return earliest.semi_join(grid.table, ["customer_id", "as_of"])


def days_to_renewal(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Days from T to the end of the current committed term (see :func:`next_renewal`);
    missing when the account has no committed term of ``min_term_months`` or longer."""
    renewals = next_renewal(inputs, grid, params)
    return _result(renewals, renewals.renewal_on.delta(renewals.as_of, unit="day"))


def months_to_renewal(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Calendar months from T's month to the month of the current committed term's end
    (see :func:`next_renewal`): 0 = the renewal falls in T's month ("renewal month")."""
    renewals = next_renewal(inputs, grid, params)
    months = (renewals.renewal_on.year() - renewals.as_of.year()) * 12 + (
        renewals.renewal_on.month() - renewals.as_of.month()
    )
    return _result(renewals, months)


def upsell_signals(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """The strongest upsell signal in the ``window_days`` days up to and including T:
    ``pricing_page_view`` (a pricing / higher-plan page view in ``usage_daily.csv``), else
    ``upgrade_inquiry`` (an ``upgrade_inquiry`` ticket), else ``none``."""
    window = int(params["window_days"])
    accumulators: dict[str, ir.Table] = {}
    freshness = None
    if (usage := inputs.usage_daily) is not None:
        views = usage.filter(usage.pricing_page_views > 0)
        accumulators["views"] = window_deltas(views, views.pricing_page_views, window, grid)
        freshness = feed_freshness(usage, "date", grid)
    if (tickets := inputs.tickets) is not None:
        daily = _daily(tickets, tickets.opened_at)
        inquiries = daily.filter(daily.type == "upgrade_inquiry").mutate(one=ibis.literal(1))
        accumulators["inquiries"] = window_deltas(inquiries, inquiries.one, window, grid)
        if freshness is None:
            freshness = feed_freshness(daily, "date", grid)
    totals = running_totals(grid, accumulators)
    views_seen = totals["views"] > 0.5 if "views" in accumulators else ibis.literal(False)
    asked = totals["inquiries"] > 0.5 if "inquiries" in accumulators else ibis.literal(False)
    signal = ibis.cases((views_seen, "pricing_page_view"), (asked, "upgrade_inquiry"), else_="none")
    return _with_observed(_result(totals, signal).drop("observed_on"), freshness)


def _contracted_seat_deltas(
    subscriptions: ir.Table, grid: AsOfGrid, shift_days: int = 0
) -> ir.Table:
    """Deltas whose running total at T is the contracted seats on T − shift: Σ quantity of
    in-service recurring items with a plan (``docs/import-format.md``)."""
    items = _recurring_items(subscriptions)
    items = items.filter(items.plan.notnull() & (items.plan != ""))
    items = items.filter(items.start_date <= grid.last - timedelta(days=shift_days))
    shift = ibis.interval(days=shift_days)
    quantity = items.quantity.cast("float64")
    start = _deltas(items, items.start_date + shift, quantity)
    ended = items.filter(items.end_date.notnull())
    end = _deltas(ended, ended.end_date + shift, -ended.quantity.cast("float64"))
    return ibis.union(start, end.filter(end.day <= grid.last))


def _contracted_seat_events(subscriptions: ir.Table, grid: AsOfGrid) -> ir.Table:
    """``customer_id, date, seats``: changes of contracted seats, for :func:`trailing_values`."""
    deltas = _contracted_seat_deltas(subscriptions, grid)
    return deltas.select("customer_id", date=deltas.day, seats=deltas.delta)


def contracted_seats(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Contracted seats on T: the sum of ``quantity`` over in-service recurring subscription
    items with a plan. Missing when the account has none."""
    subscriptions = inputs.subscriptions
    assert subscriptions is not None
    totals = running_totals(grid, {"seats": _contracted_seat_deltas(subscriptions, grid)})
    return _result(totals.filter(totals.seats > 0), totals.seats)


def active_user_rate(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Active users ÷ contracted seats, in percent. Active users = ``active_users_30d`` on the
    latest day ≤ T within the ``window_days`` days up to T; 0 when the account has no usage row
    in that window (no row = no use); missing when rows exist but none carries
    ``active_users_30d``, or when there are no contracted seats."""
    usage, subscriptions = inputs.usage_daily, inputs.subscriptions
    if usage is None or subscriptions is None:
        return _empty(grid)
    window = int(params["window_days"])
    recent = usage.filter(in_span(usage, grid, window))
    users, users_seen = latest_value("active_users_30d", window)
    totals = trailing_values(
        grid,
        [
            latest_value_events(recent.mutate(row=ibis.literal(1)), "active_users_30d"),
            _contracted_seat_events(subscriptions, grid),
        ],
        {
            "rows": Trailing("row", window),
            "users": users,
            "users_seen": users_seen,
            "seats": Trailing("seats", None),
        },
    )
    totals = totals.filter(totals.seats > 0)
    users = ibis.cases(
        (totals.users_seen.notnull(), totals.users),
        (totals.rows < 0.5, 0.0),
        else_=ibis.null("float64"),
    )
    values = _result(totals, 100.0 * users / totals.seats).drop("observed_on")
    values = values.filter(values.value.notnull())
    return _with_observed(values, feed_freshness(usage, "date", grid))


def support_load(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Support situation from tickets opened in the ``window_days`` days up to and including T:
    ``critical_bug`` if any bug or incident has severity critical, else ``feature_requests`` if
    at least ``feature_request_threshold`` feature requests, else ``none_or_minor``."""
    tickets = inputs.tickets
    assert tickets is not None
    window = int(params["window_days"])
    daily = _daily(tickets, tickets.opened_at).mutate(one=ibis.literal(1))
    critical = daily.filter(daily.type.isin(["bug", "incident"]) & (daily.severity == "critical"))
    requests = daily.filter(daily.type == "feature_request")
    totals = running_totals(
        grid,
        {
            "critical": window_deltas(critical, critical.one, window, grid),
            "requests": window_deltas(requests, requests.one, window, grid),
        },
    )
    threshold = float(params["feature_request_threshold"])
    situation = ibis.cases(
        (totals.critical > 0.5, "critical_bug"),
        (totals.requests >= threshold - 0.5, "feature_requests"),
        else_="none_or_minor",
    )
    values = _result(totals, situation).drop("observed_on")
    return _with_observed(values, feed_freshness(daily, "date", grid))


def seat_growth(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Expansion: percent change of seats in use over ``window_days`` days: the latest
    ``seats_in_use`` reported in the ``lookback_days`` days up to T versus the latest in the
    ``lookback_days`` days up to T − window. Accounts that report no ``seats_in_use`` in either
    span use contracted seats instead. Missing when the earlier value is absent or zero."""
    window, lookback = int(params["window_days"]), int(params["lookback_days"])
    events: list[ir.Table] = []
    aggregates: dict[str, Trailing] = {}
    freshness = None
    if (usage := inputs.usage_daily) is not None:
        # Both spans in one set of events: the running sum telescopes to the latest value.
        spans = in_span(usage, grid, lookback) | in_span(usage, grid, lookback, window)
        reports = latest_value_events(usage.filter(spans), "seats_in_use")
        events.append(reports)
        now, now_seen = latest_value("seats_in_use", lookback)
        before, before_seen = latest_value("seats_in_use", lookback, window)
        aggregates |= {
            "now": now,
            "now_seen": now_seen,
            "before": before,
            "before_seen": before_seen,
        }
        freshness = feed_freshness(usage, "date", grid)
    if (subscriptions := inputs.subscriptions) is not None:
        events.append(_contracted_seat_events(subscriptions, grid))
        aggregates |= {
            "contracted_now": Trailing("seats", None),
            "contracted_before": Trailing("seats", None, window),
        }
    totals = trailing_values(grid, events, aggregates)

    def total(name: str) -> ir.NumericValue:
        return totals[name] if name in aggregates else ibis.literal(0.0)

    reported = (
        totals.now_seen.notnull() & totals.before_seen.notnull()
        if usage is not None
        else ibis.literal(False)
    )
    totals = totals.mutate(
        now=ibis.ifelse(reported, total("now"), total("contracted_now")),
        before=ibis.ifelse(reported, total("before"), total("contracted_before")),
    )
    totals = totals.filter(totals.before > 0)
    values = _result(totals, 100.0 * (totals.now - totals.before) / totals.before)
    return _with_observed(values.drop("observed_on"), freshness)


def _empty(grid: AsOfGrid) -> ir.Table:
    table = grid.table
    return table.filter(ibis.literal(False)).select(
        "customer_id", "as_of", value=ibis.null("float64"), observed_on=ibis.null("date")
    )


for _measure in (
    Measure(
        "login_frequency",
        login_frequency,
        "number",
        "days/week",
        ("usage_daily",),
        {"window_days": 28},
    ),
    Measure(
        "core_features_used",
        core_features_used,
        "number",
        "features",
        ("feature_usage",),
        {"window_days": 28},
    ),
    Measure("nps", nps_average, "number", "score 0–10", ("nps",), {"window_days": 180}),
    Measure(
        "cs_meetings",
        cs_meetings,
        "number",
        "meetings",
        ("activities",),
        {"window_days": 90, "types": ["cs_meeting", "qbr"]},
    ),
    Measure(
        "days_to_renewal",
        days_to_renewal,
        "number",
        "days",
        ("subscriptions",),
        {"min_term_months": 12},
    ),
    Measure(
        "months_to_renewal",
        months_to_renewal,
        "number",
        "months",
        ("subscriptions",),
        {"min_term_months": 12},
    ),
    Measure(
        "upsell_signals",
        upsell_signals,
        "category",
        "signal",
        ("usage_daily", "tickets"),
        {"window_days": 30},
        ("pricing_page_view", "upgrade_inquiry", "none"),
    ),
    Measure(
        "contracted_seats",
        contracted_seats,
        "number",
        "seats",
        ("subscriptions",),
    ),
    Measure(
        "active_user_rate",
        active_user_rate,
        "number",
        "%",
        ("usage_daily",),
        {"window_days": 30},
    ),
    Measure(
        "support",
        support_load,
        "category",
        "situation",
        ("tickets",),
        {"window_days": 30, "feature_request_threshold": 3},
        ("critical_bug", "feature_requests", "none_or_minor"),
    ),
    Measure(
        "seat_growth",
        seat_growth,
        "number",
        "% over window",
        ("usage_daily", "subscriptions"),
        {"window_days": 90, "lookback_days": 30},
    ),
):
    register_measure(_measure)
