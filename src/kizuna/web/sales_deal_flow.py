"""Sales dashboard sections on how deals move: days in each stage, stage-to-stage
conversion, win rate, lost reasons and lead-source ROI (company-wide figures)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kizuna.crm.models import ChurnReason
from kizuna.pipeline.forecast_results import ForecastRows, money, rate
from kizuna.pipeline.models import LostReason
from kizuna.web.charts import COLORS, Chart, Series, embed
from kizuna.web.sales_figures import Names, SalesFilters, bars_across, whole_ticks
from kizuna.web.tables import Column, Table

REASON_LABELS = {**dict(LostReason.choices), **dict(ChurnReason.choices)}


def deal_cycle(forecast: ForecastRows, filters: SalesFilters, names: Names) -> Chart:
    rows = [row for row in forecast.metric("days_in_stage") if filters.keeps(row)]
    several = len({row["pipeline"] for row in rows}) > 1
    table_rows = [
        {
            "stage": names.stage(row, several),
            "stays": row["stays"],
            "average_days": rate(row["average_days"]),
            "median_days": rate(row["median_days"]),
            "in_stage_now": row["in_stage_now"],
        }
        for row in rows
    ]
    table = Table(
        key="cycle",
        title=_("Deal cycle: days in each stage"),
        columns=[
            Column("stage", _("Stage")),
            Column("stays", _("Completed stays"), "number"),
            Column("average_days", _("Average days"), "number"),
            Column("median_days", _("Median days"), "number"),
            Column("in_stage_now", _("In the stage now"), "number"),
        ],
        rows=table_rows,
        empty=_("No stage changes yet."),
        caption_extra=_("deals still in a stage are left out of its days"),
    )
    figure = bars_across(
        [row["stage"] for row in table_rows],
        [
            Series(
                _("Average days"), [row["average_days"] for row in table_rows], COLORS["expansion"]
            ),
            Series(
                _("Median days"), [row["median_days"] for row in table_rows], COLORS["secondary"]
            ),
        ],
        "months",
    )
    return embed(
        "chart-cycle",
        table.title,
        _("Average and median days deals stayed in each stage before entering the next one."),
        figure,
        table,
    )


def stage_conversion(forecast: ForecastRows, filters: SalesFilters, names: Names) -> Table:
    rows = [row for row in forecast.metric("stage_conversion") if filters.keeps(row)]
    several = len({row["pipeline"] for row in rows}) > 1
    return Table(
        key="conversion",
        title=_("Stage-to-stage conversion"),
        columns=[
            Column("stage", _("Stage")),
            Column("entered", _("Entered"), "number"),
            Column("advanced", _("Moved further"), "number"),
            Column("lost", _("Lost"), "number"),
            Column("still_open", _("Still open"), "number"),
            Column("conversion_rate", _("Conversion rate"), "percent"),
        ],
        rows=[
            {
                "stage": names.stage(row, several),
                **{key: row[key] for key in ("entered", "advanced", "lost", "still_open")},
                "conversion_rate": rate(row["conversion_rate"]),
            }
            for row in rows
        ],
        empty=_("No deals have entered a stage yet."),
    )


def win_rate(forecast: ForecastRows, filters: SalesFilters, names: Names) -> Table:
    rows = [row for row in forecast.metric("win_rate") if filters.keeps(row)]
    return Table(
        key="win_rate",
        title=_("Win rate"),
        columns=[
            Column("pipeline", _("Pipeline")),
            Column("won", _("Won"), "number"),
            Column("lost", _("Lost"), "number"),
            Column("win_rate", _("Win rate"), "percent"),
            Column("won_mrr", _("MRR won"), "money", currency="currency"),
            Column("lost_mrr", _("MRR lost"), "money", currency="currency"),
            Column("currency", _("Currency")),
        ],
        rows=[
            {
                "pipeline": names.pipeline(row["pipeline"]),
                "won": row["won"],
                "lost": row["lost"],
                "win_rate": rate(row["win_rate"]),
                "won_mrr": money(row["won_mrr"]),
                "lost_mrr": money(row["lost_mrr"]),
                "currency": row["currency"],
            }
            for row in rows
        ],
        empty=_("No deals closed yet."),
    )


def _reason(key: str | None) -> str:
    return str(REASON_LABELS.get(key or "", key or _("Not given")))


def lost_reasons(forecast: ForecastRows, filters: SalesFilters, names: Names) -> Chart:
    rows = [row for row in forecast.metric("lost_reasons") if filters.keeps(row)]
    several = len({row["pipeline"] for row in rows}) > 1
    table_rows = [
        {
            "reason": (f"{names.pipeline(row['pipeline'])} · " if several else "")
            + _reason(row["reason"]),
            "deals": row["deals"],
            "share": rate(row["share"]),
            "lost_mrr": money(row["lost_mrr"]),
            "currency": row["currency"],
        }
        for row in rows
    ]
    table = Table(
        key="lost_reasons",
        title=_("Lost reasons"),
        columns=[
            Column("reason", _("Reason")),
            Column("deals", _("Deals lost"), "number"),
            Column("share", _("Share of the pipeline's losses"), "percent"),
            Column("lost_mrr", _("MRR lost"), "money", currency="currency"),
            Column("currency", _("Currency")),
        ],
        rows=table_rows,
        empty=_("No deals lost yet."),
    )
    figure = bars_across(
        [row["reason"] for row in table_rows],
        [Series(_("Deals lost"), [row["deals"] for row in table_rows], COLORS["churned"])],
        "number",
    )
    whole_ticks(figure, [row["deals"] for row in table_rows], "xaxis")
    return embed(
        "chart-lost-reasons",
        table.title,
        _("Number of deals lost per reason (churn reason on renewals)."),
        figure,
        table,
    )


def lead_sources(forecast: ForecastRows, filters: SalesFilters) -> Table:
    rows = [row for row in forecast.metric("lead_source_roi") if filters.keeps(row)]
    return Table(
        key="sources",
        title=_("Lead source ROI"),
        columns=[
            Column("channel", _("Lead source")),
            Column("deals", _("Deals"), "number"),
            Column("won", _("Deals won"), "number"),
            Column("conversion_rate", _("Conversion rate"), "percent"),
            Column("new_mrr", _("New MRR won"), "money", currency="currency"),
            Column("won_customers", _("Customers won"), "number"),
            Column("spend", _("Spend"), "money", currency="currency"),
            Column("cac", _("CAC"), "money", currency="currency"),
            Column("currency", _("Currency")),
        ],
        rows=[
            {
                "channel": row["channel"] or _("Unknown"),
                **{key: row[key] for key in ("deals", "won", "won_customers", "currency")},
                "conversion_rate": rate(row["conversion_rate"]),
                "new_mrr": money(row["new_mrr"]),
                "spend": money(row["spend"]),
                "cac": None if row.get("cac") in (None, "") else money(row["cac"]),
            }
            for row in rows
        ],
        empty=_("No new-business deals yet."),
        caption_extra=_(
            "CAC = spend ÷ customers won, new-business pipelines, up to the forecast day"
        ),
    )
