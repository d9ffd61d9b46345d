"""The past-due rule: a customer whose invoice stays unpaid too long loses its MRR until it pays.

Under ``RevenueRules(past_due_churn_days=N)`` a customer has no MRR at the end of month M when,
on that day, one of its invoices is unpaid and was due more than N days earlier
(``due_on + N days < month end``). The month it stops counting is a ``churned`` movement; the
first month-end at which no such invoice remains (normally the month it is paid) is a
``reactivation``. Under the default (``None``) invoices do not affect MRR at all.

An invoice is unpaid on day d when its status is ``open`` or ``uncollectible`` and it has no
``paid_on`` on or before d, or its status is ``paid`` and ``paid_on`` is after d. ``draft``
and ``void`` invoices, and invoices without a due date, are never past due.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

UNPAID_STATUSES = ("open", "uncollectible")


def past_due_months(invoices: ir.Table, calendar: ir.Table, days: int) -> ir.Table:
    """``customer_id, month_idx``: the customer-months whose MRR is withheld."""
    late = invoices.due_on + ibis.interval(days=days)
    candidates = invoices.filter(
        invoices.due_on.notnull()
        & (
            (
                invoices.status.isin(UNPAID_STATUSES)
                & (invoices.paid_on.isnull() | (invoices.paid_on > late))
            )
            | ((invoices.status == "paid") & (invoices.paid_on > late))
        )
    ).select("customer_id", "paid_on", late=late)
    overdue = candidates.join(
        calendar,
        [
            candidates.late < calendar.month_end,
            candidates.paid_on.isnull() | (candidates.paid_on > calendar.month_end),
        ],
    ).select(candidates.customer_id, calendar.month_idx)
    return overdue.distinct()


def suspension_flags(invoices: ir.Table, calendar: ir.Table, days: int) -> ir.Table:
    """Per customer and month: ``suspended_end`` (MRR withheld at the end of the month) and
    ``suspended_start`` (withheld at the end of the month before), for
    :func:`kizuna.engine.revenue_levels.service_rows`."""
    months = past_due_months(invoices, calendar, days)
    marks = months.select(
        "customer_id",
        "month_idx",
        suspended_end=ibis.literal(True),
        suspended_start=ibis.literal(False),
    ).union(
        months.select(
            "customer_id",
            month_idx=months.month_idx + 1,
            suspended_end=ibis.literal(False),
            suspended_start=ibis.literal(True),
        )
    )
    return marks.group_by(["customer_id", "month_idx"]).agg(
        suspended_end=lambda t: t.suspended_end.any(),
        suspended_start=lambda t: t.suspended_start.any(),
    )
