"""Default churn-risk signals (SPEC S1–S9).

Each detector is registered in :data:`~kizuna.engine.signals_common.SIGNAL_DETECTORS` and
documented (rule, level, settings) in ``docs/playbooks.md``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from kizuna.core.calendar import BusinessCalendar
from kizuna.engine.signals_common import (
    FLOAT_TOLERANCE,
    Json,
    SignalInputs,
    SignalSettings,
    contracted_seats_on,
    customer_mrr,
    customer_universe,
    days_between,
    json_object,
    json_string_list,
    last_used_on,
    month_key,
    register_signal,
    shift_date,
    signal_rows,
    upcoming_renewals,
    usage_windows,
    window_bounds,
)


@register_signal("usage_drop", spec="S1", kind="churn", levels=("high",), requires=("usage_daily",))
def usage_drop(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """Active-user rate of the current window down by ``usage_drop_percent`` or more.

    Rate = average daily active users ÷ contracted seats at the window's end (the plain
    average when seats are unknown), compared with the previous window. Keyed by month of T.
    """
    days = settings.comparison_window_days
    usage = usage_windows(inputs.table("usage_daily"), as_of, settings)
    current = usage.active_user_days.cast(dt.float64) / days
    previous = usage.previous_active_user_days.cast(dt.float64) / days
    usage = usage.mutate(current_users=current, previous_users=previous)
    if inputs.subscriptions is not None:
        seats_now = contracted_seats_on(inputs.subscriptions, as_of)
        _, previous_end = window_bounds(as_of, days, windows_back=1)
        seats_then = contracted_seats_on(inputs.subscriptions, previous_end).rename(
            previous_seats="seats"
        )
        usage = usage.left_join(seats_now, "customer_id").drop("customer_id_right")
        usage = usage.left_join(seats_then, "customer_id").drop("customer_id_right")
    else:
        usage = usage.mutate(seats=ibis.null(dt.float64), previous_seats=ibis.null(dt.float64))
    # Divide by seats only when known at both ends, so the two rates stay comparable.
    with_seats = (usage.seats > 0) & (usage.previous_seats > 0)
    rate = with_seats.ifelse(usage.current_users / usage.seats, usage.current_users)
    previous_rate = with_seats.ifelse(
        usage.previous_users / usage.previous_seats, usage.previous_users
    )
    usage = usage.mutate(rate=rate, previous_rate=previous_rate)
    usage = usage.filter(usage.previous_rate > 0)
    usage = usage.mutate(drop_percent=(1 - usage.rate / usage.previous_rate) * 100)
    hits = usage.filter(usage.drop_percent >= settings.usage_drop_percent - FLOAT_TOLERANCE)
    return signal_rows(
        hits,
        signal="usage_drop",
        level="high",
        occurrence=month_key(as_of),
        occurred_on=as_of,
        detail=json_object(
            drop_percent=hits.drop_percent,
            active_users=hits.current_users,
            previous_active_users=hits.previous_users,
            seats=hits.seats,
            rate=hits.rate,
            previous_rate=hits.previous_rate,
        ),
    )


@register_signal(
    "login_decline", spec="S1", kind="churn", levels=("high",), requires=("usage_daily",)
)
def login_decline(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """Weekly logins fell ``login_decline_weeks`` weeks in a row, by ``login_decline_percent``.

    Weeks are the 7-day blocks ending on T. Keyed by month of T.
    """
    weeks = settings.login_decline_weeks
    usage = usage_windows(inputs.table("usage_daily"), as_of, settings)
    # logins_week_0 is the latest week; each must be strictly below the one before it.
    falling = ibis.and_(
        *(
            usage[f"logins_week_{week}"].fill_null(0)
            < usage[f"logins_week_{week + 1}"].fill_null(0)
            for week in range(weeks)
        )
    )
    first = usage[f"logins_week_{weeks}"].fill_null(0).cast(dt.float64)
    latest = usage.logins_week_0.fill_null(0).cast(dt.float64)
    usage = usage.mutate(
        first_week=first, latest_week=latest, decline_percent=(1 - latest / first) * 100
    )
    hits = usage.filter(
        falling,
        usage.decline_percent >= settings.login_decline_percent - FLOAT_TOLERANCE,
    )
    return signal_rows(
        hits,
        signal="login_decline",
        level="high",
        occurrence=month_key(as_of),
        occurred_on=as_of,
        detail=json_object(
            weekly_logins=Json(
                ibis.literal("[").concat(
                    ibis.literal(",").join(
                        ibis.array(
                            [
                                hits[f"logins_week_{week}"].fill_null(0).cast("string")
                                for week in range(weeks, -1, -1)
                            ]
                        )
                    ),
                    "]",
                )
            ),
            decline_percent=hits.decline_percent,
        ),
    )


@register_signal(
    "core_features_unused",
    spec="S2",
    kind="churn",
    levels=("medium",),
    requires=("features", "feature_usage"),
)
def core_features_unused(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """A core feature not used for ``core_feature_unused_days`` days.

    Only customers older than ``core_feature_grace_days`` and features released at least that
    long ago count, so onboarding customers and new features are left alone. Keyed by month.
    """
    customers = customer_universe(inputs, as_of)
    assert customers is not None  # feature_usage is required, so there is always a universe
    grace_start = as_of - timedelta(days=settings.core_feature_grace_days)
    customers = customers.filter(customers.customer_since <= grace_start)
    features = inputs.table("features")
    core = features.filter(
        features.core, features.released_on.isnull() | (features.released_on <= grace_start)
    ).select("feature")
    window_start, _ = window_bounds(as_of, settings.core_feature_unused_days)
    usage = inputs.table("feature_usage")
    used = (
        usage.filter(usage.date >= window_start, usage.date <= as_of, usage.uses > 0)
        .select("customer_id", "feature")
        .distinct()
    )
    expected = customers.select("customer_id").cross_join(core)
    unused = expected.anti_join(used, ["customer_id", "feature"])
    per_customer = unused.group_by("customer_id").aggregate(
        unused=unused.feature.collect(order_by=unused.feature),
        unused_count=unused.feature.count(),
    )
    return signal_rows(
        per_customer,
        signal="core_features_unused",
        level="medium",
        occurrence=month_key(as_of),
        occurred_on=as_of,
        detail=json_object(
            unused_features=json_string_list(per_customer.unused),
            unused_count=per_customer.unused_count,
            days=settings.core_feature_unused_days,
        ),
    )


def _trouble_tickets(tickets: ir.Table, as_of: date) -> ir.Table:
    return tickets.filter(tickets.opened_at.date() <= as_of).mutate(
        opened_on=tickets.opened_at.date()
    )


@register_signal("critical_bugs", spec="S3", kind="churn", levels=("high",), requires=("tickets",))
def critical_bugs(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """``critical_bugs_per_month`` or more critical bug tickets opened in one calendar month.

    The month of T and the month before are checked, so a burst at a month end is not missed
    by a run on the 1st. Keyed by the month; occurred on the day the threshold was reached.
    """
    tickets = _trouble_tickets(inputs.table("tickets"), as_of)
    first_of_month = as_of.replace(day=1)
    first_of_previous = (first_of_month - timedelta(days=1)).replace(day=1)
    bugs = tickets.filter(
        tickets.type.isin(settings.critical_bug_types),
        tickets.severity == "critical",
        tickets.opened_on >= first_of_previous,
    )
    bugs = bugs.mutate(month=bugs.opened_on.truncate("M"))
    in_month = ibis.window(
        group_by=[bugs.customer_id, bugs.month], order_by=[bugs.opened_at, bugs.ticket_id]
    )
    bugs = bugs.mutate(
        rank=ibis.row_number().over(in_month) + 1,
        month_total=bugs.ticket_id.count().over(
            ibis.window(group_by=[bugs.customer_id, bugs.month])
        ),
    )
    hits = bugs.filter(bugs.rank == settings.critical_bugs_per_month)
    return signal_rows(
        hits,
        signal="critical_bugs",
        level="high",
        occurrence=hits.month.strftime("%Y-%m"),
        occurred_on=hits.opened_on,
        detail=json_object(
            critical_bugs=hits.month_total,
            month=hits.month.strftime("%Y-%m"),
        ),
    )


@register_signal(
    "slow_resolution",
    spec="S3",
    kind="churn",
    levels=("medium", "high"),
    requires=("tickets",),
)
def slow_resolution(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """A ticket resolved after more than ``resolution_hours``, or still open for longer.

    Hours from opening to resolution, or to the end of T when still open, counted on business
    days of the company calendar (``resolution_hours_counting="business"``, the default: a
    ticket opened on Friday evening is not late on Sunday) or as elapsed calendar hours
    (``"calendar"``). Tickets opened in the last ``ticket_lookback_days`` days of the types in
    ``slow_resolution_types``. High for high/critical severity, else medium. Keyed by ticket;
    occurred on the day the ticket passed the threshold.
    """
    tickets = _trouble_tickets(inputs.table("tickets"), as_of)
    lookback_start = as_of - timedelta(days=settings.ticket_lookback_days - 1)
    tickets = tickets.filter(
        tickets.type.isin(settings.slow_resolution_types), tickets.opened_on >= lookback_start
    )
    # The as-of moment is the end of T: everything dated T is known.
    end_of_as_of = ibis.literal(datetime.combine(as_of + timedelta(days=1), time.min))
    resolved_in_time = tickets.resolved_at.notnull() & (tickets.resolved_at.date() <= as_of)
    tickets = tickets.mutate(
        until=resolved_in_time.ifelse(tickets.resolved_at, end_of_as_of), resolved=resolved_in_time
    )
    limit_seconds = settings.resolution_hours * 3600
    if settings.resolution_hours_counting == "calendar":
        seconds = tickets.until.epoch_seconds() - tickets.opened_at.epoch_seconds()
        tickets = tickets.mutate(hours=seconds.cast(dt.float64) / 3600)
        hits = tickets.filter(tickets.hours > settings.resolution_hours + FLOAT_TOLERANCE)
        late_since = hits.opened_at + ibis.interval(seconds=round(limit_seconds))
        hits = hits.mutate(late_on=late_since.date())
    else:
        days = business_clock(settings.calendar, lookback_start, as_of + timedelta(days=1))
        clocked = _business_seconds_at(
            _business_seconds_at(tickets, "opened_at", days), "until", days
        )
        tickets = clocked.mutate(hours=(clocked.seconds_until - clocked.seconds_opened_at) / 3600)
        hits = tickets.filter(tickets.hours > settings.resolution_hours + FLOAT_TOLERANCE)
        hits = hits.mutate(late_at=hits.seconds_opened_at + limit_seconds)
        # The business day whose clock span holds the moment the ticket became late.
        late_day = days.filter(days.business).select(late_on="day", day_start="clock")
        hits = hits.join(
            late_day,
            [hits.late_at > late_day.day_start, hits.late_at <= late_day.day_start + SECONDS_A_DAY],
        )
    return signal_rows(
        hits,
        signal="slow_resolution",
        level=hits.severity.isin(("high", "critical")).ifelse("high", "medium"),
        occurrence=hits.ticket_id,
        occurred_on=hits.late_on,
        detail=json_object(
            ticket_id=hits.ticket_id,
            severity=hits.severity,
            hours=hits.hours,
            resolved=hits.resolved,
        ),
    )


SECONDS_A_DAY = 86_400


def business_clock(calendar: BusinessCalendar, first: date, last: date) -> ir.Table:
    """``day, business, clock``: for each day of ``[first, last]``, whether it is a business
    day and the business seconds elapsed from the start of ``first`` to the start of the day.

    The business seconds between two moments are then the difference of their clocks, where a
    moment's clock is its day's plus the seconds since midnight when the day is a business day.
    """
    days: list[date] = []
    business: list[bool] = []
    clock: list[int] = []
    elapsed = 0
    day = first
    while day <= last:
        days.append(day)
        clock.append(elapsed)
        is_business = calendar.is_business_day(day)
        business.append(is_business)
        elapsed += SECONDS_A_DAY if is_business else 0
        day += timedelta(days=1)
    return ibis.memtable(
        pa.table(
            {
                "day": pa.array(days, pa.date32()),
                "business": pa.array(business, pa.bool_()),
                "clock": pa.array(clock, pa.int64()),
            }
        )
    )


def _business_seconds_at(table: ir.Table, column: str, days: ir.Table) -> ir.Table:
    """``table`` with ``seconds_<column>``: the business clock at the moment in ``column``."""
    moment = table[column]
    since_midnight = moment.hour() * 3600 + moment.minute() * 60 + moment.second()
    keyed = table.mutate(_day=moment.date(), _since_midnight=since_midnight)
    joined = keyed.join(days, keyed._day == days.day)
    clock = joined.clock + joined.business.ifelse(joined._since_midnight, 0)
    return joined.mutate(**{f"seconds_{column}": clock.cast(dt.float64)}).drop(
        "_day", "_since_midnight", "day", "business", "clock"
    )


@register_signal("ticket_spike", spec="S3", kind="churn", levels=("medium",), requires=("tickets",))
def ticket_spike(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """Tickets in the current window ≥ ``ticket_spike_ratio`` × the previous window.

    At least ``ticket_spike_min_tickets`` tickets of the ``slow_resolution_types`` (support
    trouble, not requests). Keyed by month of T.
    """
    days = settings.comparison_window_days
    current_start, _ = window_bounds(as_of, days)
    previous_start, previous_end = window_bounds(as_of, days, windows_back=1)
    tickets = _trouble_tickets(inputs.table("tickets"), as_of)
    tickets = tickets.filter(
        tickets.type.isin(settings.slow_resolution_types), tickets.opened_on >= previous_start
    )
    counts = tickets.group_by("customer_id").aggregate(
        tickets=tickets.ticket_id.count(where=tickets.opened_on >= current_start),
        previous_tickets=tickets.ticket_id.count(where=tickets.opened_on <= previous_end),
    )
    hits = counts.filter(
        counts.tickets >= settings.ticket_spike_min_tickets,
        counts.tickets.cast(dt.float64)
        >= counts.previous_tickets.cast(dt.float64) * settings.ticket_spike_ratio - FLOAT_TOLERANCE,
    )
    return signal_rows(
        hits,
        signal="ticket_spike",
        level="medium",
        occurrence=month_key(as_of),
        occurred_on=as_of,
        detail=json_object(tickets=hits.tickets, previous_tickets=hits.previous_tickets),
    )


@register_signal("nps_drop", spec="S4", kind="churn", levels=("medium", "high"), requires=("nps",))
def nps_drop(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """An NPS response ≤ ``nps_drop_to_score`` after one ≥ ``nps_drop_from_score``.

    Covers promoter → detractor. Responses of the last ``nps_lookback_days`` days; the
    previous response is the customer's latest before it. High when the score fell to
    ``nps_drop_high_score`` or lower, else medium. Keyed by the response id.
    """
    nps = inputs.table("nps")
    nps = nps.filter(nps.responded_on <= as_of)
    history = ibis.window(group_by=nps.customer_id, order_by=[nps.responded_on, nps.response_id])
    nps = nps.mutate(
        previous_score=nps.score.lag().over(history),
        previous_response_id=nps.response_id.lag().over(history),
    )
    lookback_start = as_of - timedelta(days=settings.nps_lookback_days - 1)
    hits = nps.filter(
        nps.responded_on >= lookback_start,
        nps.previous_score >= settings.nps_drop_from_score,
        nps.score <= settings.nps_drop_to_score,
    )
    return signal_rows(
        hits,
        signal="nps_drop",
        level=(hits.score <= settings.nps_drop_high_score).ifelse("high", "medium"),
        occurrence=hits.response_id,
        occurred_on=hits.responded_on,
        detail=json_object(
            score=hits.score,
            previous_score=hits.previous_score,
            response_id=hits.response_id,
            previous_response_id=hits.previous_response_id,
        ),
    )


@register_signal(
    "key_contact_left", spec="S5", kind="churn", levels=("high",), requires=("contacts",)
)
def key_contact_left(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """A contact in ``key_contact_roles`` marked left or moved.

    Changes dated in the last ``contact_lookback_days`` days, or undated (the date is unknown,
    so the change is reported and the dedupe key keeps it to one alert). Keyed by contact and
    status.
    """
    contacts = inputs.table("contacts")
    lookback_start = as_of - timedelta(days=settings.contact_lookback_days - 1)
    hits = contacts.filter(
        contacts.role.isin(settings.key_contact_roles),
        contacts.status.isin(("left", "moved")),
        contacts.status_changed_on.isnull()
        | contacts.status_changed_on.between(lookback_start, as_of),
    )
    return signal_rows(
        hits,
        signal="key_contact_left",
        level="high",
        occurrence=hits.contact_id.concat(":", hits.status),
        occurred_on=hits.status_changed_on.fill_null(as_of),
        detail=json_object(
            contact_id=hits.contact_id, name=hits.name, role=hits.role, status=hits.status
        ),
    )


@register_signal(
    "renewal_due",
    spec="S6",
    kind="churn",
    levels=("low", "medium", "high"),
    requires=("subscriptions",),
)
def renewal_due(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """A contract term ends within one of the ``renewal_windows`` (90/60/30 days by default).

    Fires once per window: keyed by term end date and window, so the 90-, 60- and 30-day
    steps each raise their own alert. Occurred on the day the window opened.
    """
    renewals = upcoming_renewals(inputs.table("subscriptions"), as_of, settings)
    windows = sorted(settings.renewal_windows)
    window_days = ibis.cases(
        *((renewals.days_left <= days, days) for days, _ in windows), else_=ibis.null(dt.int64)
    )
    level = ibis.cases(
        *((renewals.days_left <= days, level) for days, level in windows),
        else_=ibis.null(dt.string),
    )
    renewals = renewals.mutate(window_days=window_days, level=level)
    hits = renewals.filter(renewals.window_days.notnull())
    return signal_rows(
        hits,
        signal="renewal_due",
        level=hits.level,
        occurrence=hits.renewal_on.cast("string").concat(":", hits.window_days.cast("string"), "d"),
        occurred_on=shift_date(hits.renewal_on, -hits.window_days),
        detail=json_object(
            renewal_on=hits.renewal_on, days_left=hits.days_left, window_days=hits.window_days
        ),
    )


@register_signal(
    "communication_gap",
    spec="S7",
    kind="churn",
    levels=("medium",),
    requires=("activities",),
)
def communication_gap(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """No e-mail, meeting or call with the customer for ``communication_gap_days`` days.

    Counted from the last activity of the ``communication_types``, or from the customer's
    start when there was none. Keyed by that reference date, so a continuing silence raises
    one alert and the next silence after a contact raises a new one.
    """
    activities = inputs.table("activities")
    activities = activities.filter(
        activities.type.isin(settings.communication_types), activities.occurred_at.date() <= as_of
    )
    last = activities.group_by("customer_id").aggregate(
        last_contact_on=activities.occurred_at.max().date()
    )
    customers = customer_universe(inputs, as_of)
    if customers is None:
        # Activities only: customers known from them, all of whom had some contact.
        customers = last.select("customer_id", customer_since=last.last_contact_on)
    joined = customers.left_join(last, "customer_id").drop("customer_id_right")
    joined = joined.mutate(since=joined.last_contact_on.fill_null(joined.customer_since))
    joined = joined.mutate(days_silent=days_between(joined.since, ibis.literal(as_of)))
    hits = joined.filter(joined.days_silent >= settings.communication_gap_days)
    return signal_rows(
        hits,
        signal="communication_gap",
        level="medium",
        occurrence=hits.since.cast("string"),
        occurred_on=shift_date(hits.since, settings.communication_gap_days),
        detail=json_object(last_contact_on=hits.last_contact_on, days_silent=hits.days_silent),
    )


@register_signal(
    "competitor_interest",
    spec="S8",
    kind="churn",
    levels=("low", "medium", "high"),
    requires=("usage_daily",),
)
def competitor_interest(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """Competitor / comparison pages viewed in the current window.

    Level by views: ``competitor_views_high`` → high, ``…_medium`` → medium, ``…_low`` → low.
    Keyed by month of T.
    """
    usage = usage_windows(inputs.table("usage_daily"), as_of, settings)
    views = usage.competitor_page_views.fill_null(0)
    level = ibis.cases(
        (views >= settings.competitor_views_high, "high"),
        (views >= settings.competitor_views_medium, "medium"),
        (views >= settings.competitor_views_low, "low"),
        else_=ibis.null(dt.string),
    )
    usage = usage.mutate(level=level, views=views)
    hits = usage.filter(usage.level.notnull())
    return signal_rows(
        hits,
        signal="competitor_interest",
        level=hits.level,
        occurrence=month_key(as_of),
        occurred_on=as_of,
        detail=json_object(competitor_page_views=hits.views),
    )


@register_signal(
    "high_value_inactive",
    spec="S9",
    kind="churn",
    levels=("high",),
    requires=("subscriptions", "usage_daily"),
)
def high_value_inactive(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """MRR ≥ ``high_mrr`` and no use for ``inactive_days`` days (impact × risk).

    Counted from the last day with a login or an active user, or from the customer's start when
    never used. Keyed by that reference date.
    """
    customers = customer_universe(inputs, as_of)
    mrr = customer_mrr(inputs, as_of)
    assert customers is not None and mrr is not None  # subscriptions are required
    last = last_used_on(inputs.table("usage_daily"), as_of)
    joined = customers.join(mrr, "customer_id").left_join(last, "customer_id")
    joined = joined.drop(*(name for name in joined.columns if name.endswith("_right")))
    joined = joined.mutate(since=joined.last_used_on.fill_null(joined.customer_since))
    joined = joined.mutate(days_inactive=days_between(joined.since, ibis.literal(as_of)))
    hits = joined.filter(
        joined.mrr >= settings.high_mrr - FLOAT_TOLERANCE,
        joined.days_inactive >= settings.inactive_days,
    )
    return signal_rows(
        hits,
        signal="high_value_inactive",
        level="high",
        occurrence=hits.since.cast("string"),
        occurred_on=shift_date(hits.since, settings.inactive_days),
        detail=json_object(
            mrr=hits.mrr, last_used_on=hits.last_used_on, days_inactive=hits.days_inactive
        ),
    )
