"""Churn features: one row per account in service and snapshot date T, from the health inputs.

Each feature is a registered health measure (:mod:`kizuna.engine.health_measures`) read as a
number, an indicator of one category of a categorical measure, or one of the few churn-specific
measures below, built from the same running-total blocks. A feature reads only inputs dated on
or before T; a value whose newest input is older than the feature's ``max_age_days`` is missing,
and missing values stay null here (the model imputes them and marks them with an indicator).

The label of a snapshot row is :func:`kizuna.engine.health_calibration.churn_labels`: the
account has no recurring subscription item in service ``horizon_days`` after T.

Point in time: :func:`known_on` cuts the inputs to what was known on a day (rows dated later
dropped, subscription end dates after the day unknown), so a model trained on data known at a
cutoff cannot see anything that happened after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from kizuna.engine.health_calibration import churn_labels
from kizuna.engine.health_inputs import INTERVAL_MONTHS, AsOfGrid, HealthInputs, as_of_grid
from kizuna.engine.health_measures import MEASURES
from kizuna.engine.health_windows import (
    feed_freshness,
    running_totals,
    shifted_window_deltas,
    window_deltas,
)

DEFAULT_HORIZON_DAYS = 90
"""Churn within this many days after the snapshot (SPEC M1's example)."""


Transform = Literal["log1p", "within_horizon"]
"""``log1p``: log(1 + value), for counts whose effect fades as they grow; ``within_horizon``:
1 when the value (a number of days) is at most the churn horizon, else 0."""


@dataclass(frozen=True)
class ChurnFeature:
    """A model input: ``measure`` (a registered health measure or a churn measure below) with
    its parameters; ``category`` turns a categorical measure into a 0/1 indicator. Labels for
    people are the product's (``kizuna.prediction.display``), not the engine's."""

    name: str
    measure: str
    params: Mapping[str, Any] = field(default_factory=dict)
    category: str | None = None
    max_age_days: int | None = None
    transform: Transform | None = None


MeasureFunction = Callable[[HealthInputs, AsOfGrid, Mapping[str, Any]], ir.Table]


def login_days_change(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Change of login days per week: days with a login in the ``window_days`` days up to T
    minus those in the ``window_days`` days before, divided by the window in weeks (negative =
    the account logs in less than it did)."""
    usage = inputs.usage_daily
    assert usage is not None
    window = int(params["window_days"])
    days = usage.filter(usage.logins > 0).select("customer_id", "date").distinct()
    days = days.mutate(one=ibis.literal(1))
    totals = running_totals(
        grid,
        {
            "recent": window_deltas(days, days.one, window, grid),
            "earlier": shifted_window_deltas(days, days.one, window, grid, window),
        },
    )
    values = totals.select(
        "customer_id", "as_of", value=(totals.recent - totals.earlier) / (window / 7)
    )
    return _observed(values, feed_freshness(usage, "date", grid))


def tickets_opened(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Support tickets of any type opened in the ``window_days`` days up to and including T."""
    tickets = inputs.tickets
    assert tickets is not None
    window = int(params["window_days"])
    daily = tickets.mutate(date=tickets.opened_at.cast("date"), one=ibis.literal(1))
    totals = running_totals(grid, {"tickets": window_deltas(daily, daily.one, window, grid)})
    values = totals.select("customer_id", "as_of", value=totals.tickets)
    return _observed(values, feed_freshness(daily, "date", grid))


def days_to_anniversary(
    inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]
) -> ir.Table:
    """Days from T to the next anniversary of the current committed term: the first
    ``start_date + k × term`` (k ≥ 1) on or after T, over recurring items in service at T whose
    billing cycle is at least ``min_term_months``; the earliest over such items. Missing
    without a committed term.

    Unlike the health measure ``days_to_renewal`` it never reads an end date after T: a
    cancellation sets an item's end date, so a snapshot in the past would otherwise see a
    churn decided later.
    """
    subscriptions = inputs.subscriptions
    assert subscriptions is not None
    term = subscriptions.interval.cases(*INTERVAL_MONTHS.items(), else_=0)
    items = subscriptions.filter(subscriptions.recurring).mutate(
        term=term * subscriptions.interval_count
    )
    items = items.filter(items.term >= int(params["min_term_months"]))
    dates = grid.dates
    pairs = items.join(
        dates,
        [
            items.start_date <= dates.as_of,
            items.end_date.isnull() | (dates.as_of < items.end_date),
        ],
    )
    months = (pairs.as_of.year() - pairs.start_date.year()) * 12 + (
        pairs.as_of.month() - pairs.start_date.month()
    )
    terms = ibis.greatest((months + pairs.term - 1) // pairs.term, 1)
    on_or_after = (pairs.start_date + (terms * pairs.term).as_interval("M")).cast("date")
    next_one = (pairs.start_date + ((terms + 1) * pairs.term).as_interval("M")).cast("date")
    pairs = pairs.mutate(anniversary=ibis.ifelse(on_or_after < pairs.as_of, next_one, on_or_after))
    earliest = pairs.group_by("customer_id", "as_of").aggregate(anniversary=pairs.anniversary.min())
    earliest = earliest.semi_join(grid.table, ["customer_id", "as_of"])
    return earliest.select(
        "customer_id",
        "as_of",
        value=earliest.anniversary.delta(earliest.as_of, unit="day"),
        observed_on=ibis.null("date"),
    )


def tenure_years(inputs: HealthInputs, grid: AsOfGrid, params: Mapping[str, Any]) -> ir.Table:
    """Years since the account became a customer (its first recurring item's start)."""
    table = grid.table.filter(grid.table.customer_since.notnull())
    years = table.as_of.delta(table.customer_since, unit="day") / 365.25
    return table.select("customer_id", "as_of", value=years, observed_on=ibis.null("date"))


def _observed(values: ir.Table, freshness: ir.Table) -> ir.Table:
    # Inner join: before a feed's first row there is no data, which is missing, not zero.
    return values.join(freshness, "as_of").select("customer_id", "as_of", "value", "observed_on")


CHURN_MEASURES: dict[str, tuple[MeasureFunction, tuple[str, ...]]] = {
    "login_days_change": (login_days_change, ("usage_daily",)),
    "tickets_opened": (tickets_opened, ("tickets",)),
    "days_to_anniversary": (days_to_anniversary, ("subscriptions",)),
    "tenure_years": (tenure_years, ()),
}
"""Measures of churn features that no scorecard uses: name → (function, inputs it needs; an
empty tuple = the grid alone)."""

# Usage older than a week means the feed stopped, not that the account stopped (as the presets).
_USAGE_AGE = 7

FEATURES: tuple[ChurnFeature, ...] = (
    ChurnFeature(
        "login_frequency", "login_frequency", {"window_days": 28}, max_age_days=_USAGE_AGE
    ),
    ChurnFeature("login_change", "login_days_change", {"window_days": 28}, max_age_days=_USAGE_AGE),
    ChurnFeature(
        "active_user_rate", "active_user_rate", {"window_days": 30}, max_age_days=_USAGE_AGE
    ),
    ChurnFeature(
        "core_features", "core_features_used", {"window_days": 28}, max_age_days=_USAGE_AGE
    ),
    ChurnFeature("seat_growth", "seat_growth", {"window_days": 90, "lookback_days": 30}),
    ChurnFeature("nps", "nps", {"window_days": 180}),
    ChurnFeature("tickets", "tickets_opened", {"window_days": 90}, transform="log1p"),
    ChurnFeature("critical_bug", "support", {"window_days": 30}, category="critical_bug"),
    ChurnFeature("cs_meetings", "cs_meetings", {"window_days": 90}),
    ChurnFeature(
        "renewal_due",
        "days_to_anniversary",
        {"min_term_months": 12},
        transform="within_horizon",
    ),
    ChurnFeature("days_to_renewal", "days_to_anniversary", {"min_term_months": 12}),
    ChurnFeature(
        "pricing_page_views",
        "upsell_signals",
        {"window_days": 30},
        category="pricing_page_view",
        max_age_days=_USAGE_AGE,
    ),
    ChurnFeature("contracted_seats", "contracted_seats", transform="log1p"),
    ChurnFeature("tenure", "tenure_years"),
)
"""The default features, in the order of the model's coefficients."""


def feature_names(features: Sequence[ChurnFeature] = FEATURES) -> list[str]:
    return [feature.name for feature in features]


FEATURES_BY_NAME: dict[str, ChurnFeature] = {feature.name: feature for feature in FEATURES}


def measured_value(feature: ChurnFeature, value: float) -> float:
    """A feature value back in its measure's unit (``log1p`` undone), for people to read."""
    if feature.transform == "log1p":
        return math.expm1(value)
    return value


def _run(feature: ChurnFeature, inputs: HealthInputs, grid: AsOfGrid) -> ir.Table | None:
    """The feature's measure rows, or ``None`` when its inputs are absent."""
    if feature.measure in CHURN_MEASURES:
        function, sources = CHURN_MEASURES[feature.measure]
        if sources and all(inputs.table(source) is None for source in sources):
            return None
        return function(inputs, grid, feature.params)
    measure = MEASURES[feature.measure]
    if not measure.available(inputs):
        return None
    return measure.run(inputs, grid, feature.params)


def feature_table(
    inputs: HealthInputs,
    dates: Sequence[date],
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    features: Sequence[ChurnFeature] = FEATURES,
) -> ir.Table:
    """``customer_id, as_of`` and one float column per feature (null = missing) for every
    account in service on each date, as one expression."""
    grid = as_of_grid(inputs, dates)
    table = grid.table.select("customer_id", "as_of")
    computed: dict[tuple[str, str], ir.Table | None] = {}
    for feature in features:
        key = (feature.measure, repr(sorted(feature.params.items())))
        if key not in computed:
            computed[key] = _run(feature, inputs, grid)
        result = computed[key]
        if result is None:
            table = table.mutate(**{feature.name: ibis.null("float64")})
            continue
        value = result.value
        if feature.category is not None:
            value = ibis.ifelse(value == feature.category, 1.0, 0.0)
        value = _transformed(value.cast("float64"), feature.transform, horizon_days)
        if feature.max_age_days is not None:
            stale = result.observed_on.notnull() & (
                result.as_of.delta(result.observed_on, unit="day") > feature.max_age_days
            )
            value = ibis.ifelse(stale, ibis.null("float64"), value)
        column = result.select("customer_id", "as_of", **{feature.name: value})
        table = table.left_join(column, ["customer_id", "as_of"]).drop(
            "customer_id_right", "as_of_right"
        )
    return table


def _transformed(value: ir.NumericValue, transform: Transform | None, horizon: int) -> ir.Value:
    if transform == "log1p":
        return (value + 1.0).ln()
    if transform == "within_horizon":
        return ibis.ifelse(value <= horizon, 1.0, 0.0)
    return value


def labelled_feature_table(
    inputs: HealthInputs,
    dates: Sequence[date],
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    features: Sequence[ChurnFeature] = FEATURES,
) -> ir.Table:
    """:func:`feature_table` with ``churned`` (bool): not in service ``horizon_days`` later."""
    table = feature_table(inputs, dates, horizon_days, features)
    labels = churn_labels(inputs, dates, horizon_days)
    return table.join(labels, ["customer_id", "as_of"])


# --- snapshots and points in time ------------------------------------------------------


def months_before(day: date, months: int) -> date:
    """``day`` moved back by whole months, clamped to the month's last day (31 March − 1
    month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


def monthly_snapshots(first: date, last: date) -> list[date]:
    """Snapshot dates a whole number of months before ``last`` (``last`` included), back to
    ``first``, oldest first."""
    dates = []
    months = 0
    while (day := months_before(last, months)) >= first:
        dates.append(day)
        months += 1
    return sorted(dates)


def labelled_snapshots(first: date, last: date, horizon_days: int) -> list[date]:
    """Monthly snapshots whose whole horizon lies on or before ``last``, the latest being
    ``last − horizon_days``."""
    return monthly_snapshots(first, last - timedelta(days=horizon_days))


_DATED_COLUMNS: dict[str, str] = {
    "usage_daily": "date",
    "feature_usage": "date",
    "tickets": "opened_at",
    "nps": "responded_on",
    "activities": "occurred_at",
}


def known_on(inputs: HealthInputs, day: date) -> HealthInputs:
    """The inputs as they were known at the end of ``day``: rows dated later are dropped,
    subscription items starting later are dropped, and end dates after ``day`` are unknown
    (null: the item is still in service as far as ``day`` knows)."""
    tables: dict[str, ir.Table | None] = {
        name: inputs.table(name) for name in HealthInputs.__dataclass_fields__
    }
    for name, column in _DATED_COLUMNS.items():
        table = tables[name]
        if table is not None:
            tables[name] = table.filter(table[column].cast("date") <= day)
    subscriptions = tables["subscriptions"]
    if subscriptions is not None:
        started = subscriptions.filter(subscriptions.start_date <= day)
        tables["subscriptions"] = started.mutate(
            end_date=ibis.ifelse(started.end_date > day, ibis.null("date"), started.end_date)
        )
    accounts = tables["accounts"]
    if accounts is not None:
        tables["accounts"] = accounts.filter(
            accounts.customer_since.isnull() | (accounts.customer_since <= day)
        )
    return HealthInputs(**tables)
