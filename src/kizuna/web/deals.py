"""Pipeline figures read from deals (shared by the sales and CS dashboards)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, QuerySet, Sum
from django.utils.translation import gettext as _

from kizuna.pipeline.models import Deal, DealStatus
from kizuna.web.charts import COLORS, Chart, Series, embed, series_figure
from kizuna.web.tables import Column, Table


def open_pipeline_by_stage(deals: QuerySet[Deal], key: str, title: str) -> Chart:
    """Open deals per stage: MRR amount and weighted amount (amount × stage probability)."""
    rows = list(
        deals.filter(status=DealStatus.OPEN)
        .values("pipeline__name", "pipeline__order", "stage__name", "stage__order")
        .annotate(
            count=Count("id"),
            amount=Sum("amount_mrr"),
            weighted=Sum(F("amount_mrr") * F("stage__probability")),
            probability=F("stage__probability"),
        )
        .order_by("pipeline__order", "pipeline__name", "stage__order")
    )
    several = len({row["pipeline__name"] for row in rows}) > 1
    for row in rows:
        row["stage"] = (
            f"{row['pipeline__name']} · {row['stage__name']}" if several else row["stage__name"]
        )
        row["weighted"] = Decimal(row["weighted"] or 0)
    table = Table(
        key=key,
        title=title,
        columns=[
            Column("stage", _("Stage")),
            Column("probability", _("Probability"), "percent"),
            Column("count", _("Deals"), "number"),
            Column("amount", _("MRR amount"), "money"),
            Column("weighted", _("Weighted MRR"), "money"),
        ],
        rows=rows,
        empty=_("No open deals."),
    )
    x = [row["stage"] for row in rows]
    figure = series_figure(
        x,
        [
            Series(_("MRR amount"), [row["amount"] for row in rows], COLORS["reactivation"]),
            Series(_("Weighted MRR"), [row["weighted"] for row in rows], COLORS["primary"]),
        ],
        barmode="group",
    )
    return embed(
        f"chart-{key}",
        title,
        _("Open deals per stage: total MRR amount and amount weighted by the stage probability."),
        figure,
        table,
    )
