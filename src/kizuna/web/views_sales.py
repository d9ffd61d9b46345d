"""Sales dashboard (SPEC D2), read from the stored forecast results.

Every figure is a row the ``forecast`` recompute wrote (:class:`ForecastResult`); the page only
filters those rows and adds them up along a dimension it does not show (e.g. the owners of a
stage). Who sees which rows is :mod:`kizuna.pipeline.forecast_results`' rule: executives the
whole company, everyone else the owner rows of the people whose figures they may see.

Money stays in its own currency: the page shows one currency at a time (``?currency=``,
the reporting currency by default), so amounts are never added across currencies.

The stored forecast adds up the deals of every account and keeps no account, so the page
has no segment filter: it would have to run the engine on the request.
The sections live in :mod:`.sales_results` (open and won business) and
:mod:`.sales_deal_flow` (how deals move); what they share in :mod:`.sales_figures`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kizuna.pipeline.forecast_results import ForecastRows, read_forecast
from kizuna.pipeline.forecast_results import visible_owners as forecast_owners
from kizuna.sources.models import ComputeRun, RunStatus
from kizuna.web.exports import export_response, wants_export
from kizuna.web.filters import month_range
from kizuna.web.sales_deal_flow import (
    deal_cycle,
    lead_sources,
    lost_reasons,
    stage_conversion,
    win_rate,
)
from kizuna.web.sales_figures import SalesFilters, pipeline_names
from kizuna.web.sales_results import (
    forecast_vs_actual,
    rep_performance,
    trial_conversion,
    weighted_pipeline,
)
from kizuna.web.tables import Table


def _filters(request: HttpRequest, forecast: ForecastRows) -> SalesFilters:
    currencies = forecast.currencies()
    currency = request.GET.get("currency", "")
    if currency not in currencies:
        currency = (
            settings.KIZUNA_CURRENCY
            if settings.KIZUNA_CURRENCY in currencies or not currencies
            else currencies[0]
        )
    owner = request.GET.get("owner", "")
    return SalesFilters(
        pipeline=request.GET.get("pipeline", ""),
        owner=owner if owner in forecast.row_owners() else "",
        currency=currency,
        period=month_range(request, None),
    )


@login_required
def sales(request: HttpRequest) -> HttpResponse:
    owners = forecast_owners(request.user)
    forecast = read_forecast(owners)
    filters = _filters(request, forecast)
    names = pipeline_names()
    charts = [weighted_pipeline(forecast, filters, names), rep_performance(forecast, filters)]
    tables: list[Table] = []
    if forecast.company_wide:
        charts += [
            forecast_vs_actual(forecast, filters),
            trial_conversion(forecast, filters),
            deal_cycle(forecast, filters, names),
            lost_reasons(forecast, filters, names),
        ]
        tables = [
            lead_sources(forecast, filters),
            stage_conversion(forecast, filters, names),
            win_rate(forecast, filters, names),
        ]
    if wants_export(request):
        return export_response(
            request, [chart.table for chart in charts if chart.table is not None] + tables, "sales"
        )
    last_run = ComputeRun.objects.filter(subject="forecast", status=RunStatus.DONE).first()
    return render(
        request,
        "kizuna/sales.html",
        {
            "forecast": forecast,
            "filters": filters,
            "charts": charts,
            "tables": tables,
            "pipelines": list(names.pipelines.items()),
            "owners": [owner for owner in forecast.row_owners() if owner],
            "currencies": forecast.currencies(),
            "last_run": last_run,
        },
    )
