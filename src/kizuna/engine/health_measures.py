"""Health measures: one named, documented computation per signal, over all accounts at once.

A measure takes the health inputs (:mod:`kizuna.engine.health_inputs`) and an *as-of grid* (one
row per account and as-of date T) and returns ``customer_id, as_of, value, observed_on`` for the
grid rows it can compute; a grid row it leaves out means "no data" (the scorecard decides what
that costs). ``observed_on`` is the date of the newest input the value rests on, so a scorecard
can treat old data as missing.

Measures are registered in :data:`MEASURES`; our defaults use the same :func:`register_measure`
that an extension would. A measure is either a function returning that table, or a *trailing
form* (:class:`~kizuna.engine.health_shared_pass.TrailingForm`): the events it reads, the
trailing aggregates it needs (:mod:`kizuna.engine.health_windows`) and how they give its value.
The trailing forms of a scorecard's components are computed together, in one windowed pass
(:func:`~kizuna.engine.health_shared_pass.shared_pass`), exact for any set of as-of dates, so a
year of daily history costs one sorted pass, not one per measure or 365 scans. The formulas and
windows are documented in ``docs/health.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from kizuna.engine.health_inputs import AsOfGrid, HealthInputs, recurring_items
from kizuna.engine.health_renewal import days_to_renewal, months_to_renewal
from kizuna.engine.health_shared_pass import Events, Finished, TrailingForm, shared_pass
from kizuna.engine.health_windows import (
    Trailing,
    day_number,
    delta_rows,
    feed_freshness,
    from_day_number,
    latest_value,
    presence,
)

MeasureKind = Literal["number", "category"]

MeasureFunction = Callable[[HealthInputs, AsOfGrid, Mapping[str, Any]], ir.Table]
FormFunction = Callable[[HealthInputs, AsOfGrid, Mapping[str, Any]], TrailingForm | None]
"""Builds a measure's trailing form; ``None`` when the inputs it needs are absent."""


@dataclass(frozen=True)
class Measure:
    """A registered measure: how it is computed (``compute`` or ``form``, exactly one), what it
    needs, and its default parameters."""

    name: str
    compute: MeasureFunction | None
    kind: MeasureKind
    unit: str
    sources: tuple[str, ...]
    """Inputs of which at least one must be present (else the measure is missing for all)."""
    params: Mapping[str, Any] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    form: FormFunction | None = None

    def __post_init__(self) -> None:
        if (self.compute is None) == (self.form is None):
            raise ValueError(f"measure {self.name!r} needs exactly one of compute and form")

    @property
    def description(self) -> str:
        return ((self.compute or self.form).__doc__ or "").strip()  # type: ignore[union-attr]

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ValueError(f"measure {self.name!r} has no parameter {', '.join(unknown)}")
        return {**self.params, **params}

    def trailing_form(
        self, inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]
    ) -> TrailingForm | None:
        """The measure's trailing form (``None`` when its inputs are absent); only for measures
        registered with ``form``."""
        assert self.form is not None
        return self.form(inputs, grid, self._params(params))

    def run(self, inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
        if self.compute is not None:
            return self.compute(inputs, grid, self._params(params))
        form = self.trailing_form(inputs, grid, params)
        if form is None:
            return _empty(grid)
        table = shared_pass(grid, {"m": form})
        table = table.filter(table.m__kept)
        return table.select(
            "customer_id", "as_of", value=table.m__value, observed_on=table.m__observed
        )

    def available(self, inputs: HealthInputs) -> bool:
        return any(inputs.table(source) is not None for source in self.sources)


MEASURES: dict[str, Measure] = {}
"""Measure name → measure. Extensions add theirs with :func:`register_measure`."""


def register_measure(measure: Measure) -> Measure:
    if measure.name in MEASURES:
        raise ValueError(f"a measure named {measure.name!r} is already registered")
    MEASURES[measure.name] = measure
    return measure


def _empty(grid: AsOfGrid) -> ir.Table:
    table = grid.table
    return table.filter(ibis.literal(False)).select(
        "customer_id", "as_of", value=ibis.null("float64"), observed_on=ibis.null("date")
    )


def _tag(*parts: Any) -> str:
    """A short stable name for event columns that depend on parameters."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:10]


def _daily(table: ir.Table, timestamp: ir.Value) -> ir.Table:
    return table.mutate(date=timestamp.cast("date"))


def _usage_events(
    usage: ir.Table,
    spans: tuple[tuple[int, int], ...],
    columns: Mapping[str, Callable[[ir.Table], ir.Value]] | None = None,
    latest: Mapping[str, tuple[int, ...]] | None = None,
    present: tuple[int, ...] = (),
) -> Events:
    """Usage rows for the shared pass: every usage measure shares them."""
    return Events("usage_daily", usage, columns or {}, latest or {}, present, spans)


def _ticket_events(
    tickets: ir.Table, window: int, columns: Mapping[str, Callable[[ir.Table], ir.Value]]
) -> Events:
    """Ticket rows (dated by the day opened) for the shared pass, shared by ticket measures."""
    return Events("tickets", _daily(tickets, tickets.opened_at), columns, spans=((window, 0),))


def _contracted_seat_events(subscriptions: ir.Table, grid: AsOfGrid) -> Events:
    """Changes of contracted seats (the ``seats`` column): Σ quantity of in-service recurring
    items with a plan (``docs/import-format.md``), for a running sum."""
    items = recurring_items(subscriptions)
    items = items.filter(items.plan.notnull() & (items.plan != ""))
    items = items.filter(items.start_date <= grid.last)
    quantity = items.quantity.cast("float64")
    start = delta_rows(items, items.start_date, quantity)
    ended = items.filter(items.end_date.notnull())
    end = delta_rows(ended, ended.end_date, -ended.quantity.cast("float64"))
    changes = ibis.union(start, end.filter(end.day <= grid.last))
    changes = changes.select("customer_id", date=changes.day, seats=changes.delta)
    return Events("contracted_seats", changes, {"seats": lambda table: table.seats})


# --- measures ---------------------------------------------------------------------------


def login_frequency(
    inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]
) -> TrailingForm | None:
    """Login days per week: days with at least one login in the ``window_days`` days up to and
    including T, divided by the window in weeks (28 days → ÷ 4)."""
    usage = inputs.usage_daily
    assert usage is not None
    window = int(params["window_days"])
    # One usage row per account and day, so counting rows with logins counts days.
    login_day = {"login_day": lambda table: ibis.ifelse(table.logins > 0, 1, ibis.null("int64"))}
    return TrailingForm(
        events=(_usage_events(usage, ((window, 0),), login_day),),
        values={"days": Trailing("login_day", window)},
        finish=lambda totals: Finished(totals["days"] / (window / 7), ibis.literal(True)),
        freshness=feed_freshness(usage, "date", grid),
    )


def core_features_used(
    inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]
) -> TrailingForm | None:
    """Distinct features flagged *core* in ``features.csv`` with at least one use in the
    ``window_days`` days up to and including T."""
    usage, features = inputs.feature_usage, inputs.features
    if usage is None or features is None:
        return None
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
    enter = delta_rows(used.filter(used.starts), used.filter(used.starts).date, ibis.literal(1))
    ending = used.filter(used.ends)
    leave = delta_rows(ending, ending.date + ibis.interval(days=window), ibis.literal(-1))
    deltas = ibis.union(enter, leave.filter(leave.day <= grid.last))
    column = f"core_features_{window}"
    deltas = deltas.select("customer_id", date=deltas.day, **{column: deltas.delta})
    return TrailingForm(
        events=(Events(column, deltas, {column: lambda table: table[column]}),),
        values={"features": Trailing(column, None)},
        finish=lambda totals: Finished(totals["features"], ibis.literal(True)),
        freshness=feed_freshness(usage, "date", grid),
    )


def nps_average(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> TrailingForm:
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
    total, count, day = f"nps_total_{window}", f"nps_count_{window}", f"nps_day_{window}"
    standing = ibis.union(
        delta_rows(current, current.date, current.score).mutate(count=ibis.literal(1.0)),
        delta_rows(current, current.until, -current.score).mutate(count=ibis.literal(-1.0)),
    )
    standing = standing.select(
        "customer_id", date=standing.day, **{total: standing.delta, count: standing["count"]}
    )
    answered = responses.filter(responses.date >= grid.first - timedelta(days=window - 1))
    answered = answered.select("customer_id", "date", **{day: day_number(answered.date)})

    def finish(totals: Mapping[str, ir.Value]) -> Finished:
        # Running sums of whole scores are exact in float64; the tolerance only guards the count.
        return Finished(
            totals["total"] / totals["count"],
            totals["count"] > 0.5,
            from_day_number(totals["latest"]),
        )

    return TrailingForm(
        events=(
            Events(f"nps_{window}", standing, _same(total, count)),
            Events(f"nps_days_{window}", answered, _same(day)),
        ),
        values={
            "total": Trailing(total, None),
            "count": Trailing(count, None),
            # The newest answer ≤ T is in the window whenever one is (count > 0).
            "latest": Trailing(day, None, how="max"),
        },
        finish=finish,
    )


def _same(*columns: str) -> dict[str, Callable[[ir.Table], ir.Value]]:
    """Columns taken as they are from the events table."""

    def take(name: str) -> Callable[[ir.Table], ir.Value]:
        return lambda table: table[name]

    return {column: take(column) for column in columns}


def cs_meetings(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> TrailingForm:
    """CS meetings and QBRs held (activity types in ``types``) in the ``window_days`` days up to
    and including T."""
    activities = inputs.activities
    assert activities is not None
    window, types = int(params["window_days"]), list(params["types"])
    daily = _daily(activities, activities.occurred_at)
    column = f"meetings_{_tag(types)}"
    meeting = {column: lambda table: ibis.ifelse(table.type.isin(types), 1, ibis.null("int64"))}
    return TrailingForm(
        events=(Events("activities", daily, meeting, spans=((window, 0),)),),
        values={"meetings": Trailing(column, window)},
        finish=lambda totals: Finished(totals["meetings"], ibis.literal(True)),
        freshness=feed_freshness(daily, "date", grid),
    )


def upsell_signals(
    inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]
) -> TrailingForm | None:
    """The strongest upsell signal in the ``window_days`` days up to and including T:
    ``pricing_page_view`` (a pricing / higher-plan page view in ``usage_daily.csv``), else
    ``upgrade_inquiry`` (an ``upgrade_inquiry`` ticket), else ``none``."""
    window = int(params["window_days"])
    events: list[Events] = []
    values: dict[str, Trailing] = {}
    freshness = None
    if (usage := inputs.usage_daily) is not None:
        views = {
            "pricing_views": lambda table: ibis.ifelse(
                table.pricing_page_views > 0, table.pricing_page_views, ibis.null("int64")
            )
        }
        events.append(_usage_events(usage, ((window, 0),), views))
        values["views"] = Trailing("pricing_views", window)
        freshness = feed_freshness(usage, "date", grid)
    if (tickets := inputs.tickets) is not None:
        inquiry = {
            "inquiry": lambda table: ibis.ifelse(
                table.type == "upgrade_inquiry", 1, ibis.null("int64")
            )
        }
        events.append(_ticket_events(tickets, window, inquiry))
        values["inquiries"] = Trailing("inquiry", window)
        if freshness is None:
            daily = _daily(tickets, tickets.opened_at)
            freshness = feed_freshness(daily, "date", grid)

    def finish(totals: Mapping[str, ir.Value]) -> Finished:
        views_seen = totals["views"] > 0.5 if "views" in totals else ibis.literal(False)
        asked = totals["inquiries"] > 0.5 if "inquiries" in totals else ibis.literal(False)
        signal = ibis.cases(
            (views_seen, "pricing_page_view"), (asked, "upgrade_inquiry"), else_="none"
        )
        return Finished(signal, ibis.literal(True))

    return TrailingForm(tuple(events), values, finish, freshness)


def contracted_seats(
    inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]
) -> TrailingForm | None:
    """Contracted seats on T: the sum of ``quantity`` over in-service recurring subscription
    items with a plan. Missing when the account has none."""
    subscriptions = inputs.subscriptions
    assert subscriptions is not None
    return TrailingForm(
        events=(_contracted_seat_events(subscriptions, grid),),
        values={"seats": Trailing("seats", None)},
        finish=lambda totals: Finished(totals["seats"], totals["seats"] > 0),
    )


def active_user_rate(
    inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]
) -> TrailingForm | None:
    """Active users ÷ contracted seats, in percent. Active users = ``active_users_30d`` on the
    latest day ≤ T within the ``window_days`` days up to T; 0 when the account has no usage row
    in that window (no row = no use); missing when rows exist but none carries
    ``active_users_30d``, or when there are no contracted seats."""
    usage, subscriptions = inputs.usage_daily, inputs.subscriptions
    if usage is None or subscriptions is None:
        return None
    window = int(params["window_days"])
    users, users_seen = latest_value("active_users_30d", window)

    def finish(totals: Mapping[str, ir.Value]) -> Finished:
        users = ibis.cases(
            (totals["users_seen"] > 0.5, totals["users"]),
            (totals["rows"] < 0.5, 0.0),
            else_=ibis.null("float64"),
        )
        rate = 100.0 * users / totals["seats"]
        return Finished(rate, (totals["seats"] > 0) & rate.notnull())

    return TrailingForm(
        events=(
            _usage_events(
                usage, ((window, 0),), latest={"active_users_30d": (window,)}, present=(window,)
            ),
            _contracted_seat_events(subscriptions, grid),
        ),
        values={
            "rows": presence(window),
            "users": users,
            "users_seen": users_seen,
            "seats": Trailing("seats", None),
        },
        finish=finish,
        freshness=feed_freshness(usage, "date", grid),
    )


def support_load(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> TrailingForm:
    """Support situation from tickets opened in the ``window_days`` days up to and including T:
    ``critical_bug`` if any bug or incident has severity critical, else ``feature_requests`` if
    at least ``feature_request_threshold`` feature requests, else ``none_or_minor``."""
    tickets = inputs.tickets
    assert tickets is not None
    window = int(params["window_days"])
    threshold = float(params["feature_request_threshold"])
    kinds = {
        "critical": lambda table: ibis.ifelse(
            table.type.isin(["bug", "incident"]) & (table.severity == "critical"),
            1,
            ibis.null("int64"),
        ),
        "feature_request": lambda table: ibis.ifelse(
            table.type == "feature_request", 1, ibis.null("int64")
        ),
    }

    def finish(totals: Mapping[str, ir.Value]) -> Finished:
        situation = ibis.cases(
            (totals["critical"] > 0.5, "critical_bug"),
            (totals["requests"] >= threshold - 0.5, "feature_requests"),
            else_="none_or_minor",
        )
        return Finished(situation, ibis.literal(True))

    return TrailingForm(
        events=(_ticket_events(tickets, window, kinds),),
        values={
            "critical": Trailing("critical", window),
            "requests": Trailing("feature_request", window),
        },
        finish=finish,
        freshness=feed_freshness(_daily(tickets, tickets.opened_at), "date", grid),
    )


def seat_growth(
    inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]
) -> TrailingForm | None:
    """Expansion: percent change of seats in use over ``window_days`` days: the latest
    ``seats_in_use`` reported in the ``lookback_days`` days up to T versus the latest in the
    ``lookback_days`` days up to T − window. Accounts that report no ``seats_in_use`` in either
    span use contracted seats instead. Missing when the earlier value is absent or zero."""
    window, lookback = int(params["window_days"]), int(params["lookback_days"])
    events: list[Events] = []
    values: dict[str, Trailing] = {}
    freshness = None
    if (usage := inputs.usage_daily) is not None:
        spans = ((lookback, 0), (lookback, window))
        events.append(_usage_events(usage, spans, latest={"seats_in_use": (lookback,)}))
        now, now_seen = latest_value("seats_in_use", lookback)
        before, before_seen = latest_value("seats_in_use", lookback, window)
        values |= {"now": now, "now_seen": now_seen, "before": before, "before_seen": before_seen}
        freshness = feed_freshness(usage, "date", grid)
    if (subscriptions := inputs.subscriptions) is not None:
        events.append(_contracted_seat_events(subscriptions, grid))
        values |= {
            "contracted_now": Trailing("seats", None),
            "contracted_before": Trailing("seats", None, window),
        }

    def finish(totals: Mapping[str, ir.Value]) -> Finished:
        def total(name: str) -> ir.Value:
            return totals[name] if name in totals else ibis.literal(0.0)

        reported = (
            (totals["now_seen"] > 0.5) & (totals["before_seen"] > 0.5)
            if "now_seen" in totals
            else ibis.literal(False)
        )
        now = ibis.ifelse(reported, total("now"), total("contracted_now"))
        before = ibis.ifelse(reported, total("before"), total("contracted_before"))
        return Finished(100.0 * (now - before) / before, before > 0)

    return TrailingForm(tuple(events), values, finish, freshness)


for _measure in (
    Measure(
        "login_frequency",
        None,
        "number",
        "days/week",
        ("usage_daily",),
        {"window_days": 28},
        form=login_frequency,
    ),
    Measure(
        "core_features_used",
        None,
        "number",
        "features",
        ("feature_usage",),
        {"window_days": 28},
        form=core_features_used,
    ),
    Measure("nps", None, "number", "score 0–10", ("nps",), {"window_days": 180}, form=nps_average),
    Measure(
        "cs_meetings",
        None,
        "number",
        "meetings",
        ("activities",),
        {"window_days": 90, "types": ["cs_meeting", "qbr"]},
        form=cs_meetings,
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
        None,
        "category",
        "signal",
        ("usage_daily", "tickets"),
        {"window_days": 30},
        ("pricing_page_view", "upgrade_inquiry", "none"),
        form=upsell_signals,
    ),
    Measure(
        "contracted_seats",
        None,
        "number",
        "seats",
        ("subscriptions",),
        form=contracted_seats,
    ),
    Measure(
        "active_user_rate",
        None,
        "number",
        "%",
        ("usage_daily",),
        {"window_days": 30},
        form=active_user_rate,
    ),
    Measure(
        "support",
        None,
        "category",
        "situation",
        ("tickets",),
        {"window_days": 30, "feature_request_threshold": 3},
        ("critical_bug", "feature_requests", "none_or_minor"),
        form=support_load,
    ),
    Measure(
        "seat_growth",
        None,
        "number",
        "% over window",
        ("usage_daily", "subscriptions"),
        {"window_days": 90, "lookback_days": 30},
        form=seat_growth,
    ),
):
    register_measure(_measure)
