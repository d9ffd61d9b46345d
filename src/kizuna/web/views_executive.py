"""Executive dashboard (SPEC D1) and the printable board report (SPEC I5)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kizuna.sources.models import ComputeRun, RunStatus
from kizuna.web.executive import executive_figures, latest_kpi_month
from kizuna.web.exports import export_response, wants_export
from kizuna.web.filters import month_range


def _page(request: HttpRequest, template: str, page: str) -> HttpResponse:
    period = month_range(request, latest_kpi_month())
    figures = executive_figures(period)
    if wants_export(request):
        return export_response(request, figures.tables, page)
    last_run = ComputeRun.objects.filter(subject="revenue", status=RunStatus.DONE).first()
    context = {
        "period": period,
        "figures": figures,
        "last_run": last_run,
        "tables_on_demand": True,
    }
    return render(request, template, context)


@login_required
def executive(request: HttpRequest) -> HttpResponse:
    return _page(request, "kizuna/executive.html", "executive")


@login_required
def board_report(request: HttpRequest) -> HttpResponse:
    return _page(request, "kizuna/report.html", "board-report")
