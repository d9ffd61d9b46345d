"""Sales dashboard (SPEC D2): live from the deals the user may see."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.billing.models import MarketingSpend
from kizuna.crm.access import visible_accounts
from kizuna.pipeline.models import Deal, DealStageChange, DealStatus, PipelineKind, Stage
from kizuna.web.charts import COLORS, Chart, Series, embed, series_figure
from kizuna.web.deals import open_pipeline_by_stage
from kizuna.web.exports import export_response, wants_export
from kizuna.web.filters import MonthRange, add_months, month_range
from kizuna.web.tables import Column, Table

NEW_MRR_KINDS = (PipelineKind.NEW_BUSINESS, PipelineKind.UPSELL)
SECONDS_PER_DAY = Decimal(86_400)


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    return None if not denominator else Decimal(numerator) / Decimal(denominator)


def _closed_in(deals: QuerySet[Deal], period: MonthRange) -> QuerySet[Deal]:
    assert period.start is not None and period.end is not None
    return deals.filter(closed_on__gte=period.start, closed_on__lt=add_months(period.end, 1))


def trial_conversion(deals: QuerySet[Deal], period: MonthRange) -> Chart:
    assert period.start is not None and period.end is not None
    rows = list(
        deals.filter(trial_start__gte=period.start, trial_start__lt=add_months(period.end, 1))
        .annotate(week=TruncWeek("trial_start"))
        .values("week")
        .annotate(trials=Count("id"), paid=Count("id", filter=Q(status=DealStatus.WON)))
        .order_by("week")
    )
    for row in rows:
        row["rate"] = _ratio(row["paid"], row["trials"])
        row["week_label"] = row["week"].strftime("%Y-%m-%d")
    table = Table(
        key="trials",
        title=_("Trial → paid conversion by week"),
        columns=[
            Column("week_label", _("Week starting")),
            Column("trials", _("Trials started"), "number"),
            Column("paid", _("Converted to paid"), "number"),
            Column("rate", _("Conversion rate"), "percent"),
        ],
        rows=rows,
        empty=_("No trials in this period."),
    )
    figure = series_figure(
        [row["week_label"] for row in rows],
        [
            Series(_("Trials started"), [row["trials"] for row in rows], COLORS["reactivation"]),
            Series(
                _("Conversion rate"),
                [row["rate"] for row in rows],
                COLORS["primary"],
                "line",
                secondary=True,
            ),
        ],
        axis="number",
        secondary_axis="percent",
    )
    return embed(
        "chart-trials",
        _("Trial → paid conversion by week"),
        _("Trials started each week (bars) and the share that became paying deals (line)."),
        figure,
        table,
    )


def rep_performance(deals: QuerySet[Deal], period: MonthRange) -> Chart:
    rows = list(
        _closed_in(deals.filter(pipeline__kind__in=NEW_MRR_KINDS), period)
        .values("owner__username")
        .annotate(
            won=Count("id", filter=Q(status=DealStatus.WON)),
            lost=Count("id", filter=Q(status=DealStatus.LOST)),
            new_mrr=Sum("amount_mrr", filter=Q(status=DealStatus.WON)),
        )
        .order_by("-new_mrr", "owner__username")
    )
    for row in rows:
        row["rep"] = row["owner__username"] or _("Unassigned")
        row["new_mrr"] = row["new_mrr"] or Decimal(0)
        row["win_rate"] = _ratio(row["won"], row["won"] + row["lost"])
    table = Table(
        key="reps",
        title=_("New MRR and deals per rep"),
        columns=[
            Column("rep", _("Rep")),
            Column("new_mrr", _("New MRR won"), "money"),
            Column("won", _("Deals won"), "number"),
            Column("lost", _("Deals lost"), "number"),
            Column("win_rate", _("Win rate"), "percent"),
        ],
        rows=rows,
        empty=_("No deals closed in this period."),
    )
    figure = series_figure(
        [row["rep"] for row in rows],
        [
            Series(_("New MRR won"), [row["new_mrr"] for row in rows], COLORS["new"]),
            Series(
                _("Deals won"), [row["won"] for row in rows], COLORS["net"], "line", secondary=True
            ),
        ],
        secondary_axis="number",
    )
    return embed(
        "chart-reps",
        _("New MRR and deals per rep"),
        _("New and upsell MRR won per rep in the period (bars) and the number of deals won."),
        figure,
        table,
    )


def lead_sources(deals: QuerySet[Deal], period: MonthRange) -> Table:
    assert period.start is not None and period.end is not None
    closed = _closed_in(deals.filter(pipeline__kind=PipelineKind.NEW_BUSINESS), period)
    rows = list(
        closed.values("source")
        .annotate(
            won=Count("id", filter=Q(status=DealStatus.WON)),
            lost=Count("id", filter=Q(status=DealStatus.LOST)),
            new_mrr=Sum("amount_mrr", filter=Q(status=DealStatus.WON)),
        )
        .order_by("source")
    )
    spend = dict(
        MarketingSpend.objects.filter(month__gte=period.start, month__lte=period.end)
        .values("channel")
        .annotate(total=Sum("amount"))
        .values_list("channel", "total")
    )
    for row in rows:
        row["source_label"] = row["source"] or _("Unknown")
        row["new_mrr"] = row["new_mrr"] or Decimal(0)
        row["spend"] = spend.get(row["source"])
        row["conversion"] = _ratio(row["won"], row["won"] + row["lost"])
        row["cac"] = _ratio(row["spend"], row["won"]) if row["spend"] is not None else None
        # First-year return: twelve months of the MRR won against what the channel cost.
        row["roi"] = (
            _ratio(row["new_mrr"] * 12 - row["spend"], row["spend"]) if row["spend"] else None
        )
    rows.sort(key=lambda row: row["new_mrr"], reverse=True)
    return Table(
        key="sources",
        title=_("Lead source ROI"),
        columns=[
            Column("source_label", _("Lead source")),
            Column("won", _("Deals won"), "number"),
            Column("conversion", _("Win rate"), "percent"),
            Column("new_mrr", _("New MRR won"), "money"),
            Column("spend", _("Spend"), "money"),
            Column("cac", _("CAC"), "money"),
            Column("roi", _("First-year ROI"), "percent"),
        ],
        rows=rows,
        empty=_("No new-business deals closed in this period."),
        caption_extra=_("first-year ROI = (12 × new MRR − spend) ÷ spend"),
    )


def deal_cycle(deals: QuerySet[Deal], period: MonthRange) -> Chart:
    """Average days deals spent in each stage they left during the period."""
    assert period.start is not None and period.end is not None
    stages = {stage.pk: stage for stage in Stage.objects.select_related("pipeline")}
    changes = (
        DealStageChange.objects.filter(
            deal__in=deals.filter(created_on__lt=add_months(period.end, 1)),
            changed_at__gte=timezone.make_aware(datetime.combine(period.start, time.min)),
        )
        .order_by("deal_id", "changed_at")
        .values_list("deal_id", "to_stage_id", "changed_at")
    )
    totals: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    previous: tuple[int, int, Any] | None = None
    for deal_id, stage_id, changed_at in changes.iterator(chunk_size=5000):
        if previous is not None and previous[0] == deal_id:
            seconds = Decimal((changed_at - previous[2]).total_seconds())
            totals[previous[1]][0] += seconds / SECONDS_PER_DAY
            totals[previous[1]][1] += 1
        previous = (deal_id, stage_id, changed_at)
    ordered = sorted(
        (stages[stage_id] for stage_id in totals if stage_id in stages),
        key=lambda stage: (stage.pipeline.order, stage.pipeline.name, stage.order),
    )
    several = len({stage.pipeline_id for stage in ordered}) > 1
    rows: list[dict[str, Any]] = [
        {
            "stage": f"{stage.pipeline.name} · {stage.name}" if several else stage.name,
            "deals": int(totals[stage.pk][1]),
            "days": (totals[stage.pk][0] / totals[stage.pk][1]).quantize(Decimal("0.1")),
        }
        for stage in ordered
    ]
    table = Table(
        key="cycle",
        title=_("Deal cycle: days per stage"),
        columns=[
            Column("stage", _("Stage")),
            Column("deals", _("Deals that left the stage"), "number"),
            Column("days", _("Average days in stage"), "number"),
        ],
        rows=rows,
        empty=_("No stage changes in this period."),
    )
    figure = series_figure(
        [row["stage"] for row in rows],
        [Series(_("Average days in stage"), [row["days"] for row in rows], COLORS["expansion"])],
        axis="number",
    )
    return embed(
        "chart-cycle",
        _("Deal cycle: days per stage"),
        _("Average number of days deals stayed in each stage before moving on."),
        figure,
        table,
    )


@login_required
def sales(request: HttpRequest) -> HttpResponse:
    this_month = timezone.localdate().replace(day=1)
    period = month_range(request, this_month)
    deals = Deal.objects.filter(account__in=visible_accounts(request.user))
    owner = request.GET.get("owner")
    if owner and owner.isdigit():
        deals = deals.filter(owner_id=int(owner))
    pipeline = open_pipeline_by_stage(
        deals.filter(pipeline__kind=PipelineKind.NEW_BUSINESS),
        "pipeline",
        _("Weighted new-business pipeline by stage"),
    )
    charts = [
        pipeline,
        trial_conversion(deals, period),
        rep_performance(deals, period),
        deal_cycle(deals, period),
    ]
    sources = lead_sources(deals, period)
    tables = [chart.table for chart in charts if chart.table is not None] + [sources]
    if wants_export(request):
        return export_response(request, tables, "sales")
    return render(
        request,
        "kizuna/sales.html",
        {"period": period, "charts": charts, "sources": sources},
    )
