"""Revenue cohorts: customers grouped by their first paid month, followed month by month.

A customer belongs to the cohort of the first month it had MRR > 0 at month-end, for good:
a customer who churns and comes back is counted again in its original cohort.
"""

from __future__ import annotations

import ibis.expr.types as ir

from kizuna.engine.revenue import money_total, zero_of
from kizuna.engine.revenue_kpis import ratio


def cohort_retention(movements: ir.Table, calendar: ir.Table) -> ir.Table:
    """One row per cohort and month from the cohort's first month to the end of the calendar.

    ``customers`` and ``mrr``: the cohort's customers paying at that month-end and their MRR.
    ``logo_retention`` = customers ÷ customers in month 0; ``mrr_retention`` = MRR ÷ MRR in
    month 0 (above 1 when expansion outweighs churn). ``movements`` are customer-level
    :func:`kizuna.engine.revenue.mrr_movements` rows.
    """
    paying = movements.filter(movements.mrr_end > 0)
    active = paying.group_by(["first_idx", "month_idx"]).agg(
        customers=lambda t: t.customer_id.count(),
        mrr=lambda t: money_total(t.mrr_end),
    )
    starts = active.filter(active.month_idx == active.first_idx).select(
        cohort_idx=active.first_idx, cohort_customers=active.customers, cohort_mrr=active.mrr
    )
    grid = starts.join(calendar, calendar.month_idx >= starts.cohort_idx).select(
        starts.cohort_idx, starts.cohort_customers, starts.cohort_mrr, calendar.month_idx
    )
    cells = grid.left_join(
        active, [grid.cohort_idx == active.first_idx, grid.month_idx == active.month_idx]
    ).select(
        grid.cohort_idx,
        grid.month_idx,
        months_since_start=grid.month_idx - grid.cohort_idx,
        cohort_customers=grid.cohort_customers,
        cohort_mrr=grid.cohort_mrr,
        customers=active.customers.fill_null(0),
        mrr=active.mrr.fill_null(zero_of(active.mrr)),
    )
    return cells.mutate(
        logo_retention=ratio(cells.customers, cells.cohort_customers),
        mrr_retention=ratio(cells.mrr, cells.cohort_mrr),
    )
