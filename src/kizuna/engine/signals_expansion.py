"""Default expansion triggers (SPEC S10–S16).

Levels here rate the strength of the opportunity (high = act now). Each detector is
documented (rule, level, settings) in ``docs/playbooks.md``.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from kizuna.engine.signals_common import (
    FLOAT_TOLERANCE,
    SignalInputs,
    SignalSettings,
    contracted_seats_on,
    customer_mrr,
    in_service_items,
    json_object,
    json_string_list,
    month_key,
    register_signal,
    shift_date,
    signal_rows,
    upcoming_renewals,
    usage_windows,
)


@register_signal(
    "seats_nearly_full",
    spec="S10",
    kind="expansion",
    levels=("medium", "high"),
    requires=("subscriptions", "usage_daily"),
)
def seats_nearly_full(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """Seats in use above ``seats_usage_percent`` of contracted seats.

    Seats in use: the latest ``seats_in_use`` of the current window. High from
    ``seats_full_percent`` (all seats taken), else medium. Keyed by the contracted seat count, so
    buying more seats and filling them again raises a new alert.
    """
    usage = usage_windows(inputs.table("usage_daily"), as_of, settings)
    seats = contracted_seats_on(inputs.table("subscriptions"), as_of)
    joined = usage.join(seats, "customer_id")
    joined = joined.filter(joined.seats > 0, joined.seats_in_use.notnull())
    joined = joined.mutate(used_percent=joined.seats_in_use.cast(dt.float64) / joined.seats * 100)
    hits = joined.filter(joined.used_percent > settings.seats_usage_percent + FLOAT_TOLERANCE)
    return signal_rows(
        hits,
        signal="seats_nearly_full",
        level=(hits.used_percent >= settings.seats_full_percent - FLOAT_TOLERANCE).ifelse(
            "high", "medium"
        ),
        occurrence=ibis.literal("seats:").concat(hits.seats.round(0).cast("int64").cast("string")),
        occurred_on=as_of,
        detail=json_object(
            seats_in_use=hits.seats_in_use, seats=hits.seats, used_percent=hits.used_percent
        ),
    )


@register_signal(
    "api_surge", spec="S11", kind="expansion", levels=("medium",), requires=("usage_daily",)
)
def api_surge(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """API calls of the current window above ``api_surge_percent`` of the previous window.

    Needs at least ``api_surge_min_previous_calls`` calls in the previous window (a first
    integration is not a surge). Keyed by month of T.
    """
    usage = usage_windows(inputs.table("usage_daily"), as_of, settings)
    usage = usage.filter(usage.previous_api_calls >= settings.api_surge_min_previous_calls)
    usage = usage.mutate(
        growth_percent=usage.api_calls.cast(dt.float64) / usage.previous_api_calls * 100
    )
    hits = usage.filter(usage.growth_percent > settings.api_surge_percent + FLOAT_TOLERANCE)
    return signal_rows(
        hits,
        signal="api_surge",
        level="medium",
        occurrence=month_key(as_of),
        occurred_on=as_of,
        detail=json_object(
            api_calls=hits.api_calls,
            previous_api_calls=hits.previous_api_calls,
            growth_percent=hits.growth_percent,
        ),
    )


@register_signal(
    "enterprise_trial_requested",
    spec="S12",
    kind="expansion",
    levels=("high",),
    requires=("tickets",),
)
def enterprise_trial_requested(
    inputs: SignalInputs, as_of: date, settings: SignalSettings
) -> ir.Table:
    """An ``enterprise_trial_request`` ticket opened recently.

    Opened in the last ``enterprise_trial_lookback_days`` days. Keyed by the ticket.
    """
    tickets = inputs.table("tickets")
    tickets = tickets.mutate(opened_on=tickets.opened_at.date())
    lookback_start = as_of - timedelta(days=settings.enterprise_trial_lookback_days - 1)
    hits = tickets.filter(
        tickets.type == "enterprise_trial_request",
        tickets.opened_on.between(lookback_start, as_of),
    )
    return signal_rows(
        hits,
        signal="enterprise_trial_requested",
        level="high",
        occurrence=hits.ticket_id,
        occurred_on=hits.opened_on,
        detail=json_object(ticket_id=hits.ticket_id),
    )


@register_signal(
    "renewal_upsell",
    spec="S13",
    kind="expansion",
    levels=("medium",),
    requires=("subscriptions",),
)
def renewal_upsell(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """Renewal within ``renewal_upsell_days``, or ``renewal_upsell_healthy_days`` when healthy.

    Healthy: health score ≥ ``renewal_upsell_min_health``. Prepare the renewal with an upsell
    proposal. The health branch needs health scores.
    Keyed by the term end date: one proposal per renewal.
    """
    renewals = upcoming_renewals(inputs.table("subscriptions"), as_of, settings)
    if inputs.health is not None:
        health = inputs.health.select("customer_id", health=inputs.health.score.cast(dt.float64))
        renewals = renewals.left_join(health, "customer_id").drop("customer_id_right")
    else:
        renewals = renewals.mutate(health=ibis.null(dt.float64))
    healthy = renewals.health >= settings.renewal_upsell_min_health - FLOAT_TOLERANCE
    soon = renewals.days_left <= settings.renewal_upsell_days
    healthy_and_near = healthy.fill_null(False) & (
        renewals.days_left <= settings.renewal_upsell_healthy_days
    )
    renewals = renewals.mutate(
        window_days=healthy_and_near.ifelse(
            settings.renewal_upsell_healthy_days, settings.renewal_upsell_days
        )
    )
    hits = renewals.filter(soon | healthy_and_near)
    return signal_rows(
        hits,
        signal="renewal_upsell",
        level="medium",
        occurrence=hits.renewal_on.cast("string"),
        occurred_on=shift_date(hits.renewal_on, -hits.window_days),
        detail=json_object(
            renewal_on=hits.renewal_on, days_left=hits.days_left, health=hits.health
        ),
    )


@register_signal(
    "nps_promoter", spec="S14", kind="expansion", levels=("medium",), requires=("nps",)
)
def nps_promoter(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """An NPS response ≥ ``nps_promoter_min_score`` in the last ``nps_lookback_days`` days.

    Referral / case-study request and upsell. Keyed by the response id.
    """
    nps = inputs.table("nps")
    lookback_start = as_of - timedelta(days=settings.nps_lookback_days - 1)
    hits = nps.filter(
        nps.responded_on.between(lookback_start, as_of),
        nps.score >= settings.nps_promoter_min_score,
    )
    return signal_rows(
        hits,
        signal="nps_promoter",
        level="medium",
        occurrence=hits.response_id,
        occurred_on=hits.responded_on,
        detail=json_object(score=hits.score, response_id=hits.response_id),
    )


@register_signal(
    "new_feature_interest",
    spec="S15",
    kind="expansion",
    levels=("low",),
    requires=("usage_daily",),
)
def new_feature_interest(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """At least ``new_feature_views_min`` new-feature page views in the current window.

    Send material or offer a demo. Keyed by month of T.
    """
    usage = usage_windows(inputs.table("usage_daily"), as_of, settings)
    hits = usage.filter(usage.new_feature_page_views >= settings.new_feature_views_min)
    return signal_rows(
        hits,
        signal="new_feature_interest",
        level="low",
        occurrence=month_key(as_of),
        occurred_on=as_of,
        detail=json_object(new_feature_page_views=hits.new_feature_page_views),
    )


@register_signal(
    "usage_spreading",
    spec="S15",
    kind="expansion",
    levels=("medium",),
    requires=("usage_daily",),
)
def usage_spreading(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """Active departments up by ``department_growth_min`` or more vs the previous window.

    Departments: the most ``departments_active`` on a day of each window; the previous window
    must have data. A company-wide rollout proposal. Keyed by month of T.
    """
    usage = usage_windows(inputs.table("usage_daily"), as_of, settings)
    usage = usage.filter(usage.previous_departments.notnull(), usage.departments.notnull())
    hits = usage.filter(
        usage.departments - usage.previous_departments >= settings.department_growth_min
    )
    return signal_rows(
        hits,
        signal="usage_spreading",
        level="medium",
        occurrence=month_key(as_of),
        occurred_on=as_of,
        detail=json_object(
            departments=hits.departments, previous_departments=hits.previous_departments
        ),
    )


@register_signal(
    "success_goal_achieved",
    spec="S15",
    kind="expansion",
    levels=("medium",),
    requires=("success_goals",),
)
def success_goal_achieved(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """A customer's success goal achieved in the last ``success_goal_lookback_days`` days.

    The customer got what they bought the product for: celebrate it with them and propose
    more solutions. Keyed by the goal.
    """
    goals = inputs.table("success_goals")
    lookback_start = as_of - timedelta(days=settings.success_goal_lookback_days - 1)
    hits = goals.filter(goals.achieved_on.between(lookback_start, as_of))
    return signal_rows(
        hits,
        signal="success_goal_achieved",
        level="medium",
        occurrence=hits.goal_id,
        occurred_on=hits.achieved_on,
        detail=json_object(
            goal_id=hits.goal_id, goal=hits.goal, target=hits.target, set_on=hits.set_on
        ),
    )


@register_signal(
    "cross_sell_whitespace",
    spec="S16",
    kind="expansion",
    levels=("low", "medium", "high"),
    requires=("subscriptions",),
)
def cross_sell_whitespace(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> ir.Table:
    """Products the customer does not have (``whitespace_products``, or every product sold).

    High for a single-product customer with MRR ≥ ``high_mrr``, medium for other
    single-product customers, low otherwise. Keyed by the products owned, so buying one raises
    a fresh look at what is left.
    """
    items = in_service_items(inputs.table("subscriptions"), as_of)
    owned = items.select("customer_id", "product").distinct()
    if settings.whitespace_products:
        products = pa.array(list(settings.whitespace_products), type=pa.string())
        catalog = ibis.memtable(pa.table({"product": products}))
    else:
        catalog = owned.select("product").distinct()
    missing = owned.select("customer_id").distinct().cross_join(catalog)
    missing = missing.anti_join(owned, ["customer_id", "product"])
    missing_per_customer = missing.group_by("customer_id").aggregate(
        missing=missing["product"].collect(order_by=missing["product"])
    )
    owned_per_customer = owned.group_by("customer_id").aggregate(
        owned=owned["product"].collect(order_by=owned["product"]),
        product_count=owned["product"].count(),
    )
    mrr = customer_mrr(inputs, as_of)
    assert mrr is not None  # subscriptions are required
    joined = missing_per_customer.join(owned_per_customer, "customer_id").left_join(
        mrr, "customer_id"
    )
    joined = joined.drop(*(name for name in joined.columns if name.endswith("_right")))
    single = joined.product_count == 1
    level = ibis.cases(
        (single & (joined.mrr.fill_null(0) >= settings.high_mrr - FLOAT_TOLERANCE), "high"),
        (single, "medium"),
        else_="low",
    )
    return signal_rows(
        joined,
        signal="cross_sell_whitespace",
        level=level,
        occurrence=ibis.literal("+").join(joined.owned),
        occurred_on=as_of,
        detail=json_object(
            owned=json_string_list(joined.owned),
            missing=json_string_list(joined.missing),
            mrr=joined.mrr,
        ),
    )
