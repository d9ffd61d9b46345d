"""The first page after login: the numbers everyone asks for first, and the last year's
revenue trends (the executive dashboard has the full period, tables and unit economics)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kizuna.billing.models import PeriodKind
from kizuna.billing.results import latest_kpi_months
from kizuna.crm.access import visible_accounts
from kizuna.pipeline.models import Deal, DealStatus
from kizuna.sources.models import ComputeRun, RunStatus
from kizuna.web.books import within_book
from kizuna.web.charts import Chart
from kizuna.web.executive import (
    arr_chart,
    churn_chart,
    cohort_charts,
    kpi_rows,
    movements_chart,
    retention_chart,
)
from kizuna.web.exports import export_response, wants_export
from kizuna.web.filters import MonthRange, add_months

# Months of trends on the home page.
HOME_MONTHS = 12


def change(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


def trend_charts(latest: date) -> list[Chart]:
    """MRR movements, ARR, churn, NRR/GRR and the cohort heat maps of the :data:`HOME_MONTHS`
    months up to ``latest``, from the result tables."""
    period = MonthRange(add_months(latest, -(HOME_MONTHS - 1)), latest)
    months = kpi_rows(PeriodKind.MONTH, period)
    cohorts = cohort_charts(period)
    return [
        movements_chart(months),
        arr_chart(months),
        churn_chart(months),
        retention_chart(months),
        cohorts.mrr,
        cohorts.logos,
    ]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    months = latest_kpi_months(2, until=today.replace(day=1))
    current = months[-1] if months else None
    previous = months[-2] if len(months) > 1 else None
    charts = trend_charts(current.month) if current else []
    if wants_export(request):
        return export_response(request, [c.table for c in charts if c.table is not None], "home")
    open_deals = within_book(
        Deal.objects.filter(status=DealStatus.OPEN), visible_accounts(request.user)
    ).aggregate(
        count=Count("id"),
        amount=Sum("amount_mrr"),
        weighted=Sum(F("amount_mrr") * F("stage__probability")),
    )
    tiles = []
    if current is not None:
        for name, label_key, kind in (
            ("mrr", "mrr", "money"),
            ("arr", "arr", "money"),
            ("customers", "customers", "number"),
            ("arpa", "arpa", "money"),
        ):
            value = current.decimal(name)
            before = previous.decimal(name) if previous else None
            tiles.append(
                {"key": label_key, "kind": kind, "value": value, "change": change(value, before)}
            )
    last_run = ComputeRun.objects.filter(subject="revenue", status=RunStatus.DONE).first()
    return render(
        request,
        "kizuna/home.html",
        {
            "month": current.month if current else None,
            "tiles": tiles,
            "open_deals": open_deals,
            "last_run": last_run,
            "charts": charts,
            "home_months": HOME_MONTHS,
            # Each chart's data table is fetched when opened (as on the executive dashboard).
            "tables_on_demand": True,
        },
    )
