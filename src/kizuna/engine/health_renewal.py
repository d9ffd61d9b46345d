"""Renewal measures: the end of each account's current committed term, as of each date.

Unlike the trailing measures (:mod:`kizuna.engine.health_measures`), the term end is not a sum of
events: each in-service committed item is paired with the as-of dates and its next anniversary
computed, so these measures are joined to the scorecard's grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from kizuna.engine.health_inputs import (
    INTERVAL_MONTHS,
    AsOfGrid,
    HealthInputs,
    in_service_pairs,
    recurring_items,
)


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
    items = recurring_items(subscriptions).mutate(term=factor * subscriptions.interval_count)
    items = items.filter(items.term >= int(params["min_term_months"]))
    pairs = in_service_pairs(items, grid.dates)
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


def _result(values: ir.Table, value: ir.Value) -> ir.Table:
    return values.select("customer_id", "as_of", value=value, observed_on=ibis.null("date"))
