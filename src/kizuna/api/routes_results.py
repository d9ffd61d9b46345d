"""Read-only results of the recomputes: revenue KPIs, MRR, movements, cohorts, health scores.

Company-wide results (KPIs, cohorts) are shown to every user, as on the home page; results per
customer (MRR series, movements, health) only cover the accounts the caller may see.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.http import HttpRequest
from ninja import Query, Router

from kizuna.api.convert import reporting_currency
from kizuna.api.errors import ERRORS
from kizuna.api.pagination import PageIn, PageOut, paginated
from kizuna.api.schemas import (
    CohortCellOut,
    HealthScoreOut,
    Id,
    KpiOut,
    Money,
    MovementOut,
    MrrPointOut,
    Text,
)
from kizuna.billing.models import CohortCell, CustomerMrr, PeriodKind, RevenueKpi
from kizuna.crm.access import visible_accounts
from kizuna.health.models import HealthScore, HealthStatus

router = Router(tags=["results"])


def _ratio(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


@router.get("/revenue/kpis", response={200: list[KpiOut], **ERRORS})
def revenue_kpis(
    request: HttpRequest,
    period: Query[PeriodKind] = PeriodKind.MONTH,
    start: Query[date | None] = None,
    end: Query[date | None] = None,
) -> list[KpiOut]:
    """KPIs per period (MRR, ARR, NRR, GRR, churn, …) as exact decimal strings."""
    rows = RevenueKpi.objects.filter(period_kind=period)
    if start:
        rows = rows.filter(period_start__gte=start)
    if end:
        rows = rows.filter(period_start__lte=end)
    return [
        KpiOut(period_kind=row.period_kind, period_start=row.period_start, values=row.values)
        for row in rows.order_by("period_start")
    ]


@router.get("/revenue/mrr", response={200: list[MrrPointOut], **ERRORS})
def mrr_series(
    request: HttpRequest,
    start: Query[date | None] = None,
    end: Query[date | None] = None,
    account_id: Query[Id | None] = None,
) -> list[MrrPointOut]:
    """Month-end MRR in the reporting currency over the accounts you may see."""
    rows = CustomerMrr.objects.filter(account__in=visible_accounts(request.user))
    if account_id:
        rows = rows.filter(account_id=account_id)
    if start:
        rows = rows.filter(month__gte=start)
    if end:
        rows = rows.filter(month__lte=end)
    currency = reporting_currency()
    totals = (
        rows.filter(mrr__gt=0)
        .values("month")
        .annotate(total=Sum("mrr"), customers=Count("account_id"))
        .order_by("month")
    )
    return [
        MrrPointOut(
            month=row["month"],
            mrr=Money.of(row["total"] or Decimal(0), currency),
            customers=row["customers"],
        )
        for row in totals
    ]


@router.get("/revenue/movements", response={200: PageOut[MovementOut], **ERRORS})
def movements(
    request: HttpRequest,
    page: Query[PageIn],
    month: Query[date | None] = None,
    account_id: Query[Id | None] = None,
    movement: Query[Text | None] = None,
) -> dict[str, Any]:
    """Each customer's month: MRR, movement (new, expansion, …) and change vs last month."""
    rows = CustomerMrr.objects.filter(account__in=visible_accounts(request.user))
    if month:
        rows = rows.filter(month=month.replace(day=1))
    if account_id:
        rows = rows.filter(account_id=account_id)
    if movement:
        rows = rows.filter(movement=movement)
    currency = reporting_currency()
    return paginated(
        rows.order_by("month", "account_id"),
        page,
        lambda row: MovementOut(
            account_id=row.account_id,
            month=row.month,
            mrr=Money.of(row.mrr, currency),
            movement=row.movement,
            delta=Money.of(row.delta, currency),
        ),
    )


@router.get("/revenue/cohorts", response={200: list[CohortCellOut], **ERRORS})
def cohorts(request: HttpRequest) -> list[CohortCellOut]:
    """Cohort retention by first paid month (logo and MRR retention as decimal fractions)."""
    currency = reporting_currency()
    return [
        CohortCellOut(
            cohort=cell.cohort,
            months_since=cell.months_since,
            customers=cell.customers,
            mrr=Money.of(cell.mrr, currency),
            logo_retention=_ratio(cell.logo_retention),
            mrr_retention=_ratio(cell.mrr_retention),
        )
        for cell in CohortCell.objects.order_by("cohort", "months_since")
    ]


@router.get("/health/scores", response={200: PageOut[HealthScoreOut], **ERRORS})
def health_scores(
    request: HttpRequest,
    page: Query[PageIn],
    account_id: Query[Id | None] = None,
    status: Query[HealthStatus | None] = None,
    start: Query[date | None] = None,
    end: Query[date | None] = None,
) -> dict[str, Any]:
    """Health scores per account and day (history), newest first."""
    rows = HealthScore.objects.filter(account__in=visible_accounts(request.user)).select_related(
        "scorecard"
    )
    if account_id:
        rows = rows.filter(account_id=account_id)
    if status:
        rows = rows.filter(status=status)
    if start:
        rows = rows.filter(date__gte=start)
    if end:
        rows = rows.filter(date__lte=end)
    return paginated(
        rows.order_by("-date", "account_id", "pk"),
        page,
        lambda row: HealthScoreOut(
            account_id=row.account_id,
            scorecard=row.scorecard.name,
            date=row.date,
            score=_ratio(row.score),
            status=row.status,
            coverage=format(row.coverage.normalize(), "f"),
            components=row.components,
            missing=row.missing,
        ),
    )
