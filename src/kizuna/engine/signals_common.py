"""Shared parts of signal detection: settings, inputs, the detector registry and helpers.

A *signal* is a fact about a customer on a day that someone should act on (SPEC S1–S16):
a churn risk or an expansion opportunity. Every detector is a set-based Ibis function over all
customers as of a date ``T``; it returns rows of :data:`SIGNAL_SCHEMA`:

``customer_id, signal, level, occurrence, occurred_on, detail``

``occurrence`` identifies the underlying event so that ``(customer_id, signal, occurrence)`` is
a dedupe key that stays the same when detection runs again on a later day: a renewal window is
keyed by the term end date and the window, an NPS drop by the response, a ticket by its id, a
state measured over a rolling window (usage, page views) by the month of ``T``.
``occurred_on`` is when the event happened, or the evaluation date for rolling-window states.
``detail`` is a small JSON object with the values that triggered the signal.

Conventions: everything dated on or before ``T`` is known; the "current window" is the
``comparison_window_days`` days ending on ``T`` and the "previous window" the same number of
days before it; a date-time belongs to its calendar day.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Literal, TypeAlias

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from kizuna.core.calendar import DEFAULT_CALENDAR, BusinessCalendar, HourCounting

Level = Literal["low", "medium", "high"]
SignalKind = Literal["churn", "expansion"]

SIGNAL_SCHEMA = ibis.schema(
    {
        "customer_id": "string",
        "signal": "string",
        "level": "string",
        "occurrence": "string",
        "occurred_on": "date",
        "detail": "string",
    }
)

# Ratios are compared with this tolerance so that a value exactly at its threshold (a drop of
# exactly 30 %) counts as reaching it despite binary floating-point rounding.
FLOAT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SignalSettings:
    """Thresholds of the default signals; every value is a user-changeable default."""

    comparison_window_days: int = 30
    """Length of the "current month" and "previous month" windows compared by S1, S8, S11, S15."""

    # S1 usage drop and falling logins.
    usage_drop_percent: float = 30.0
    login_decline_weeks: int = 3
    """Consecutive week-on-week falls in logins needed for ``login_decline``."""
    login_decline_percent: float = 40.0
    """…and the latest week must be at least this much below the first week compared (tuned
    on the back-test: at 25 % the signal fired on half the watched accounts for no lift)."""

    # S2 core features unused.
    core_feature_unused_days: int = 30
    core_feature_grace_days: int = 30
    """New customers (and newly released features) get this long before a gap counts."""

    # S3 support trouble.
    critical_bugs_per_month: int = 3
    critical_bug_types: tuple[str, ...] = ("bug", "incident")
    resolution_hours: float = 48.0
    resolution_hours_counting: HourCounting = "business"
    """``business``: a ticket's clock runs only on business days of ``calendar`` (24 hours each,
    as the due dates of tasks); ``calendar``: plain elapsed hours, for a contractual 24/7 SLA."""
    slow_resolution_types: tuple[str, ...] = ("question", "bug", "incident")
    ticket_lookback_days: int = 30
    ticket_spike_ratio: float = 2.0
    ticket_spike_min_tickets: int = 5

    # S4 NPS drop.
    nps_drop_from_score: int = 7
    nps_drop_to_score: int = 6
    nps_drop_high_score: int = 4
    """A drop to this score or lower is high risk; a milder drop (to 5 or 6) is medium."""
    nps_lookback_days: int = 30

    # S5 key person left or moved.
    key_contact_roles: tuple[str, ...] = ("decision_maker", "champion", "daily_contact")
    contact_lookback_days: int = 30

    # S6 renewal windows: days before the term end, and the risk level of each window.
    renewal_windows: tuple[tuple[int, Level], ...] = ((30, "high"), (60, "medium"), (90, "low"))
    renewal_min_term_months: int = 12
    """Ongoing subscriptions renew on the anniversary of their start when billed in cycles of
    at least this many months; shorter cycles renew continuously and have no renewal event."""

    # S7 communication gap.
    communication_gap_days: int = 60
    communication_types: tuple[str, ...] = ("email", "meeting", "cs_meeting", "qbr", "call")

    # S8 competitor pages: views in the current window for each level.
    competitor_views_low: int = 1
    competitor_views_medium: int = 3
    competitor_views_high: int = 10

    # S9 impact × risk.
    high_mrr: float = 100_000.0
    """MRR (in the reporting currency) from which a customer counts as high impact."""
    inactive_days: int = 30

    # S10 seats.
    seats_usage_percent: float = 90.0
    seats_full_percent: float = 100.0

    # S11 API calls.
    api_surge_percent: float = 150.0
    api_surge_min_previous_calls: int = 1

    # S12 enterprise trial.
    enterprise_trial_lookback_days: int = 30

    # S13 renewal with upsell.
    renewal_upsell_days: int = 60
    renewal_upsell_healthy_days: int = 90
    renewal_upsell_min_health: float = 80.0

    # S14 promoters.
    nps_promoter_min_score: int = 9

    # S15 new-feature interest, spreading use and success KPIs achieved.
    new_feature_views_min: int = 3
    department_growth_min: int = 1
    success_goal_lookback_days: int = 30

    # S16 cross-sell whitespace.
    whitespace_products: tuple[str, ...] = ()
    """Products offered for cross-sell; empty means every product some customer has."""

    calendar: BusinessCalendar = DEFAULT_CALENDAR
    """The company calendar (weekends, national holidays, company closures) for business
    hours; the playbook run passes the team's (``PlaybookSettings``)."""

    def __post_init__(self) -> None:
        if self.resolution_hours_counting not in ("business", "calendar"):
            raise ValueError(
                "resolution_hours_counting must be 'business' or 'calendar', "
                f"not {self.resolution_hours_counting!r}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> SignalSettings:
        """Settings from plain values (a settings file); unknown names are an error."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown signal settings: {', '.join(unknown)}")
        return cls(**values)  # type: ignore[arg-type]


INPUT_NAMES = (
    "subscriptions",
    "usage_daily",
    "features",
    "feature_usage",
    "tickets",
    "nps",
    "activities",
    "contacts",
    "customer_mrr",
    "health",
    "success_goals",
)


@dataclass(frozen=True)
class SignalInputs:
    """The tables detectors read; any may be missing (detectors that need it are skipped).

    Column names and types are those of ``docs/import-format.md`` (as read by
    :mod:`kizuna.sources.csv_usage`). Two inputs come from other engines:
    ``customer_mrr`` (``customer_id, mrr`` in the reporting currency, from the revenue engine;
    when absent it is estimated from ``subscriptions``) and ``health`` (``customer_id, score``
    on 0–100, from the health engine; used by ``renewal_upsell``).
    ``success_goals`` are the customers' success KPIs (``goal_id, customer_id, goal, target,
    set_on, achieved_on``).
    """

    subscriptions: ir.Table | None = None
    usage_daily: ir.Table | None = None
    features: ir.Table | None = None
    feature_usage: ir.Table | None = None
    tickets: ir.Table | None = None
    nps: ir.Table | None = None
    activities: ir.Table | None = None
    contacts: ir.Table | None = None
    customer_mrr: ir.Table | None = None
    health: ir.Table | None = None
    success_goals: ir.Table | None = None

    @classmethod
    def from_arrow(cls, tables: Mapping[str, pa.Table]) -> SignalInputs:
        """Wrap Arrow tables (e.g. read from a CSV folder) as in-memory Ibis tables."""
        return cls(**{name: ibis.memtable(tables[name]) for name in INPUT_NAMES if name in tables})

    def has(self, name: str) -> bool:
        return getattr(self, name) is not None

    def table(self, name: str) -> ir.Table:
        value = getattr(self, name)
        if value is None:
            raise LookupError(f"signal input {name!r} is not available")
        assert isinstance(value, ir.Table)
        return value


DetectFunction = Callable[[SignalInputs, date, SignalSettings], ir.Table]


@dataclass(frozen=True)
class SignalDetector:
    name: str
    spec: str
    """The SPEC item it implements (``S1`` … ``S16``)."""
    kind: SignalKind
    levels: tuple[Level, ...]
    requires: tuple[str, ...]
    """Inputs that must all be present."""
    detect: DetectFunction

    @property
    def summary(self) -> str:
        doc = self.detect.__doc__ or ""
        return doc.strip().splitlines()[0] if doc.strip() else self.name


SIGNAL_DETECTORS: dict[str, SignalDetector] = {}
"""Signal name → detector. The extension point: a plugin adds its own with
:func:`register_signal`; the defaults are registered the same way."""


def register_signal(
    name: str,
    *,
    spec: str,
    kind: SignalKind,
    levels: tuple[Level, ...],
    requires: tuple[str, ...],
) -> Callable[[DetectFunction], DetectFunction]:
    def decorate(function: DetectFunction) -> DetectFunction:
        if name in SIGNAL_DETECTORS:
            raise ValueError(f"signal {name!r} is already registered")
        unknown = set(requires) - set(INPUT_NAMES)
        if unknown:
            raise ValueError(f"signal {name!r} requires unknown inputs {sorted(unknown)}")
        SIGNAL_DETECTORS[name] = SignalDetector(name, spec, kind, levels, requires, function)
        return function

    return decorate


# --- output -----------------------------------------------------------------------------------


def signal_rows(
    table: ir.Table,
    *,
    signal: str,
    level: ir.Value | str,
    occurrence: ir.Value | str,
    occurred_on: ir.Value | date,
    detail: ir.Value,
) -> ir.Table:
    """Shape a detector's matches as :data:`SIGNAL_SCHEMA` rows."""
    return table.select(
        customer_id=table.customer_id.cast("string"),
        signal=ibis.literal(signal, type="string"),
        level=_as_value(level).cast("string"),
        occurrence=_as_value(occurrence).cast("string"),
        occurred_on=_as_value(occurred_on).cast("date"),
        detail=detail.cast("string"),
    )


def empty_signals() -> ir.Table:
    return ibis.memtable(SIGNAL_SCHEMA.to_pyarrow().empty_table())


def month_key(day: date) -> str:
    """Occurrence of a rolling-window state: one per customer and calendar month."""
    return f"{day:%Y-%m}"


@dataclass(frozen=True)
class Json:
    """A string expression that already holds JSON, embedded in :func:`json_object` as is."""

    expression: ir.StringValue


JsonField: TypeAlias = ir.Value | Json | str | int | float | bool | None


def json_object(**values: JsonField) -> ir.StringValue:
    """A JSON object built inside the query, so detail stays set-based on every backend."""
    parts: list[ir.StringValue] = []
    for index, (key, value) in enumerate(values.items()):
        parts.append(ibis.literal(("," if index else "{") + json.dumps(key) + ":"))
        parts.append(_json_value(value))
    parts.append(ibis.literal("}"))
    return parts[0].concat(*parts[1:])


def json_string_list(values: ir.Value) -> Json:
    """A JSON array from an array-of-strings value (e.g. ``column.collect()``)."""
    assert isinstance(values, ir.ArrayValue)
    quoted = values.map(_quote)
    joined = ibis.literal(",").join(quoted)
    return Json(ibis.literal("[").concat(joined.fill_null(""), ibis.literal("]")))


def _json_value(value: JsonField) -> ir.StringValue:
    if isinstance(value, Json):
        return value.expression.fill_null("null")
    expression = _as_value(value)
    dtype = expression.type()
    text: ir.StringValue
    if dtype.is_boolean():
        assert isinstance(expression, ir.BooleanValue)
        text = expression.ifelse("true", "false")  # type: ignore[assignment]
    elif dtype.is_floating() or dtype.is_decimal():
        # Two decimals: detail is for people and audit, not for recomputation.
        text = expression.cast(dt.float64).round(2).cast("string")  # type: ignore[attr-defined]
    elif dtype.is_numeric():
        text = expression.cast("string")  # type: ignore[assignment]
    else:
        text = _quote(expression.cast("string"))
    return text.fill_null("null")  # type: ignore[return-value]


def _quote(text: ir.Value) -> ir.StringValue:
    assert isinstance(text, ir.StringValue)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return ibis.literal('"').concat(escaped, ibis.literal('"'))


def _as_value(value: object) -> ir.Value:
    return value if isinstance(value, ir.Value) else ibis.literal(value)


# --- shared measures --------------------------------------------------------------------------


def window_bounds(as_of: date, days: int, windows_back: int = 0) -> tuple[date, date]:
    """First and last day of the ``days``-long window ending ``windows_back`` windows before T."""
    last = as_of - timedelta(days=days * windows_back)
    return last - timedelta(days=days - 1), last


def in_service_items(subscriptions: ir.Table, on: date) -> ir.Table:
    """Recurring subscription items in service on ``on`` (end dates are exclusive)."""
    s = subscriptions
    return s.filter(
        s.recurring,
        s.start_date <= on,
        s.end_date.isnull() | (s.end_date > on),
    )


def customer_universe(inputs: SignalInputs, as_of: date) -> ir.Table | None:
    """Customers the signals are about, with ``customer_since``.

    With subscriptions: customers with an item in service on T, since their first item's start.
    Without them (phased adoption: usage or activity data only), every customer seen in usage
    or feature usage, since their first record.
    """
    if inputs.subscriptions is not None:
        items = in_service_items(inputs.subscriptions, as_of)
        first_start = (
            inputs.subscriptions.filter(inputs.subscriptions.start_date <= as_of)
            .group_by("customer_id")
            .aggregate(customer_since=lambda t: t.start_date.min())
        )
        active = items.select("customer_id").distinct()
        return active.join(first_start, "customer_id")
    seen: list[ir.Table] = []
    for name in ("usage_daily", "feature_usage"):
        table = getattr(inputs, name)
        if table is not None:
            seen.append(table.filter(table.date <= as_of).select("customer_id", since=table.date))
    if not seen:
        return None
    union = seen[0].union(*seen[1:]) if len(seen) > 1 else seen[0]
    return union.group_by("customer_id").aggregate(customer_since=union.since.min())


def contracted_seats_on(subscriptions: ir.Table, on: date) -> ir.Table:
    """``customer_id, seats``: quantities of in-service recurring items that carry a plan."""
    items = in_service_items(subscriptions, on)
    items = items.filter(items.plan.notnull() & (items.plan != ""))
    return items.group_by("customer_id").aggregate(seats=items.quantity.cast(dt.float64).sum())


# Months per billing interval, to normalise a cycle's amount to a month (SPEC R).
_MONTHS_PER_INTERVAL: dict[str, float] = {
    "day": 12 / 365,
    "week": 12 / 52,
    "month": 1.0,
    "quarter": 3.0,
    "year": 12.0,
}


def contracted_mrr_from_subscriptions(subscriptions: ir.Table, on: date) -> ir.Table:
    """``customer_id, mrr``: monthly recurring amount of items in service and out of trial.

    A stand-in until the revenue engine provides MRR per customer in the reporting currency:
    amounts are summed in the items' own currencies (right for single-currency books) and as
    floating point, which is enough for comparing with a threshold.
    """
    items = in_service_items(subscriptions, on)
    items = items.filter(items.trial_end_date.isnull() | (items.trial_end_date <= on))
    gross = items.quantity.cast(dt.float64) * items.unit_price.cast(dt.float64)
    discounted = gross * (1 - items.discount_percent.cast(dt.float64) / 100) - (
        items.discount_amount.cast(dt.float64)
    )
    months = ibis.cases(
        *((items.interval == name, value) for name, value in _MONTHS_PER_INTERVAL.items()),
        else_=ibis.null(dt.float64),
    ) * items.interval_count.cast(dt.float64)
    monthly = ibis.greatest(discounted, 0.0) / months
    return items.group_by("customer_id").aggregate(mrr=monthly.sum())


def customer_mrr(inputs: SignalInputs, as_of: date) -> ir.Table | None:
    """MRR per customer: from the revenue engine when given, else estimated from items."""
    if inputs.customer_mrr is not None:
        return inputs.customer_mrr.select(
            "customer_id", mrr=inputs.customer_mrr.mrr.cast("float64")
        )
    if inputs.subscriptions is not None:
        return contracted_mrr_from_subscriptions(inputs.subscriptions, as_of)
    return None


def usage_windows_start(as_of: date, settings: SignalSettings) -> date:
    """The first day :func:`usage_windows` reads: the start of the previous window or of the
    first login week compared, whichever is earlier."""
    previous_start, _ = window_bounds(as_of, settings.comparison_window_days, windows_back=1)
    weeks = settings.login_decline_weeks + 1
    return min(previous_start, as_of - timedelta(days=7 * weeks - 1))


def history_starts(as_of: date, settings: SignalSettings) -> dict[str, date] | None:
    """Per dated input, the first day whose rows the detectors read in full; None: all of them.

    ``usage_daily`` is read from :func:`usage_windows_start`, ``feature_usage`` from the start
    of the ``core_feature_unused_days`` window. Older rows count only through two facts per
    customer: the first day seen in either input (``customer_since`` without subscriptions,
    :func:`customer_universe`) and the last day with a login or an active user
    (:func:`last_used_on`). So an input holding the rows from these days up to T, plus each
    customer's first row and last used row before them, gives the same signals as the whole
    history. A detector registered outside this package may read any history: with one
    registered, the answer is None.
    """
    if any(not _is_default(detector) for detector in SIGNAL_DETECTORS.values()):
        return None
    feature_start, _ = window_bounds(as_of, settings.core_feature_unused_days)
    return {
        "usage_daily": usage_windows_start(as_of, settings),
        "feature_usage": feature_start,
    }


def _is_default(detector: SignalDetector) -> bool:
    return detector.detect.__module__.startswith(f"{__package__}.signals")


def usage_windows(usage: ir.Table, as_of: date, settings: SignalSettings) -> ir.Table:
    """Per customer usage totals of the current and previous windows (one scan of usage).

    ``active_user_days`` sums daily active users, so ``active_user_days / window days`` is the
    average number of active users a day; days without a row count as zero.
    """
    days = settings.comparison_window_days
    current_start, _ = window_bounds(as_of, days)
    previous_start, previous_end = window_bounds(as_of, days, windows_back=1)
    week_count = settings.login_decline_weeks + 1
    u = usage.filter(usage.date >= usage_windows_start(as_of, settings), usage.date <= as_of)
    current = u.date >= current_start
    previous = (u.date >= previous_start) & (u.date <= previous_end)
    measures: dict[str, ir.Value] = {
        "active_user_days": u.active_users.sum(where=current),
        "previous_active_user_days": u.active_users.sum(where=previous),
        "api_calls": u.api_calls.sum(where=current),
        "previous_api_calls": u.api_calls.sum(where=previous),
        "competitor_page_views": u.competitor_page_views.sum(where=current),
        "new_feature_page_views": u.new_feature_page_views.sum(where=current),
        "departments": u.departments_active.max(where=current),
        "previous_departments": u.departments_active.max(where=previous),
        "seats_in_use": u.seats_in_use.argmax(u.date, where=current & u.seats_in_use.notnull()),
    }
    for week in range(week_count):
        week_start, week_end = window_bounds(as_of, 7, windows_back=week)
        measures[f"logins_week_{week}"] = u.logins.sum(
            where=(u.date >= week_start) & (u.date <= week_end)
        )
    return u.group_by("customer_id").aggregate(**measures)


def last_used_on(usage: ir.Table, as_of: date) -> ir.Table:
    """``customer_id, last_used_on``: the last day with a login or an active user."""
    used = usage.filter(usage.date <= as_of, (usage.logins > 0) | (usage.active_users > 0))
    return used.group_by("customer_id").aggregate(last_used_on=used.date.max())


def days_between(start: ir.DateValue, end: ir.DateValue) -> ir.IntegerValue:
    return end.delta(start, unit="day")


def shift_date(day: ir.DateValue, amount: ir.IntegerValue | int, unit: str = "D") -> ir.DateValue:
    """``day`` plus ``amount`` days (``unit="D"``) or months (``"M"``), as a date.

    Some backends (DuckDB) return a timestamp for date + interval; casting back keeps the
    type a date everywhere, e.g. when it is rendered as text in an occurrence key.
    """
    count = amount if isinstance(amount, ir.IntegerValue) else ibis.literal(amount)
    shifted = day + count.as_interval(unit)  # type: ignore[arg-type]
    return shifted.cast("timestamp").date()


_MONTHS_PER_TERM_INTERVAL: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


def upcoming_renewals(subscriptions: ir.Table, as_of: date, settings: SignalSettings) -> ir.Table:
    """``customer_id, renewal_on, days_left``: the next term end of each live contract.

    An item with an end date renews (or lapses) on that date. An ongoing item billed in cycles
    of at least ``renewal_min_term_months`` renews on each anniversary of its start, computed
    from the start date (not from the previous anniversary) so month ends do not drift.
    Canceled items and items still in trial have no renewal to prepare.
    """
    items = in_service_items(subscriptions, as_of)
    items = items.filter(
        items.canceled_at.isnull() | (items.canceled_at > as_of),
        items.trial_end_date.isnull() | (items.trial_end_date <= as_of),
    )
    term_months = (
        ibis.cases(
            *(
                (items.interval == name, months)
                for name, months in _MONTHS_PER_TERM_INTERVAL.items()
            ),
            else_=0,
        )
        * items.interval_count
    )
    months_since_start = (as_of.year - items.start_date.year()) * 12 + (
        as_of.month - items.start_date.month()
    )
    terms_elapsed = months_since_start // ibis.greatest(term_months, 1)
    candidate = shift_date(items.start_date, terms_elapsed * term_months, "M")
    following = shift_date(items.start_date, (terms_elapsed + 1) * term_months, "M")
    anniversary = (candidate > as_of).ifelse(candidate, following)
    renewal_on = ibis.cases(
        (items.end_date.notnull(), items.end_date),
        (term_months >= settings.renewal_min_term_months, anniversary),
        else_=ibis.null(dt.date),
    )
    renewals = (
        items.select("customer_id", renewal_on=renewal_on.cast("date"))
        .filter(lambda t: t.renewal_on > as_of)
        .distinct()
    )
    return renewals.mutate(days_left=days_between(ibis.literal(as_of), renewals.renewal_on))
