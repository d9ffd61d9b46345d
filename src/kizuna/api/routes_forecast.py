"""Forecast results (SPEC P5) as the last recompute stored them, one row per metric row.

The same rows as the sales dashboard shows the caller (:mod:`kizuna.pipeline.forecast_results`):
an executive or admin reads every row; anyone else only the rows of the metrics per deal owner
(weighted pipeline, rep performance) for the owners they may see — their own, plus their
team's for a CS manager — since the company-wide metrics aggregate other people's deals.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from kizuna.api.errors import ERRORS, ApiError
from kizuna.api.pagination import PageIn, PageOut, paginated
from kizuna.api.schemas import Text
from kizuna.engine.pipeline import FORECAST_METRICS
from kizuna.pipeline.forecast_results import OWNER_METRICS, visible_owners
from kizuna.pipeline.models import ForecastResult

router = Router(tags=["results"])

# The dimensions that name a month, by metric: the expected or actual close month, or the
# forecast month itself.
MONTH_KEYS = ("month", "close_month")


class ForecastRowOut(Schema):
    metric: str
    position: int = Field(description="The row's place in the metric's order.")
    as_of: date
    key: dict[str, Any] = Field(
        description="Dimensions (pipeline, stage, owner, month, currency, …); dates ISO."
    )
    values: dict[str, Any] = Field(
        description="Figures: money as exact decimal strings in the row's currency, "
        "ratios and day counts as numbers."
    )


class ForecastFilters(Schema):
    metric: Text | None = Field(None, description="e.g. weighted_pipeline, forecast_vs_actual.")
    pipeline: Text | None = None
    owner: Text | None = Field(None, description="User name of the deal owner.")
    month: date | None = Field(None, description="Rows of this month (any day in it).")


def _forecast_row_out(row: ForecastResult) -> ForecastRowOut:
    return ForecastRowOut(
        metric=row.metric, position=row.position, as_of=row.as_of, key=row.key, values=row.values
    )


@router.get("/forecast", response={200: PageOut[ForecastRowOut], **ERRORS})
def forecast(
    request: HttpRequest, page: Query[PageIn], filters: Query[ForecastFilters]
) -> dict[str, Any]:
    """Forecast metric rows (weighted pipeline, forecast vs actual, conversion, win rate, …)
    by metric name, each metric's rows in the engine's order (``position``)."""
    if filters.metric and filters.metric not in FORECAST_METRICS:
        raise ApiError(
            422,
            "unknown_metric",
            gettext("Unknown metric %(name)s; known: %(known)s.")
            % {"name": filters.metric, "known": ", ".join(sorted(FORECAST_METRICS))},
        )
    rows = ForecastResult.objects.all()
    owners = visible_owners(request.user)
    if owners is not None:
        rows = rows.filter(metric__in=OWNER_METRICS, key__owner__in=sorted(owners))
    if filters.metric:
        rows = rows.filter(metric=filters.metric)
    if filters.pipeline:
        rows = rows.filter(key__pipeline=filters.pipeline)
    if filters.owner:
        rows = rows.filter(key__owner=filters.owner)
    if filters.month:
        month = filters.month.replace(day=1).isoformat()
        in_month = Q()
        for name in MONTH_KEYS:
            in_month |= Q(**{f"key__{name}": month})
        rows = rows.filter(in_month)
    return paginated(rows.order_by("metric", "position"), page, _forecast_row_out)
