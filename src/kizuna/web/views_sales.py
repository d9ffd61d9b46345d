"""Sales dashboard (SPEC D2), read from the stored forecast results.

Every figure is a row the ``forecast`` recompute wrote (:class:`ForecastResult`); the page only
filters those rows and adds them up along a dimension it does not show (e.g. the owners of a
stage). Who sees which rows is :mod:`kizuna.pipeline.forecast_results`' rule: executives the
whole company, everyone else the owner rows of the people whose figures they may see.

Money stays in its own currency: the page shows one currency at a time (``?currency=``,
the reporting currency by default), so amounts are never added across currencies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from babel.numbers import get_currency_symbol
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kizuna.crm.models import ChurnReason
from kizuna.pipeline.forecast_results import ForecastRows, Row, money, rate, read_forecast
from kizuna.pipeline.forecast_results import visible_owners as forecast_owners
from kizuna.pipeline.models import LostReason, Pipeline, Stage
from kizuna.sources.models import ComputeRun, RunStatus
from kizuna.web.charts import (
    COLORS,
    HEIGHT,
    Axis,
    Chart,
    Series,
    axis_format,
    base_layout,
    currency_symbol,
    embed,
    hover_format,
    series_figure,
    to_float,
)
from kizuna.web.exports import export_response, wants_export
from kizuna.web.filters import MonthRange, add_months, month_range, parse_month
from kizuna.web.tables import Column, Table

REASON_LABELS = {**dict(LostReason.choices), **dict(ChurnReason.choices)}


@dataclass(frozen=True)
class SalesFilters:
    """The URL's filters: pipeline key, owner user name, currency and close months."""

    pipeline: str
    owner: str
    currency: str
    period: MonthRange

    def keeps(self, row: Row, *, month: str = "", owner: bool = False) -> bool:
        """Whether ``row`` passes the filters that apply to it (``month``: its month key)."""
        if self.pipeline and row.get("pipeline") not in (None, self.pipeline):
            return False
        if "currency" in row and row["currency"] != self.currency:
            return False
        if owner and self.owner and (row.get("owner") or "") != self.owner:
            return False
        return not month or _in_period(row.get(month), self.period)


def _in_period(day: Any, period: MonthRange) -> bool:
    first = parse_month(str(day)) if day else None
    if first is None:
        return period.start is None and period.end is None
    if period.start is not None and first < period.start:
        return False
    return period.end is None or first < add_months(period.end, 1)


@dataclass(frozen=True)
class Names:
    """Display names of the pipelines and stages the results name by key."""

    pipelines: dict[str, str]
    stages: dict[tuple[str, str], str]

    def pipeline(self, key: str) -> str:
        return self.pipelines.get(key, key)

    def stage(self, row: Row, several: bool) -> str:
        name = self.stages.get((row["pipeline"], row["stage"])) or str(row["stage"])
        return f"{self.pipeline(row['pipeline'])} · {name}" if several else name


def _names() -> Names:
    return Names(
        pipelines=dict(Pipeline.objects.order_by("order", "pk").values_list("key", "name")),
        stages={
            (pipeline, key): name
            for pipeline, key, name in Stage.objects.values_list("pipeline__key", "key", "name")
        },
    )


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def _sum_by(
    rows: Iterable[Row],
    group: Callable[[Row], tuple[Any, ...]],
    money_keys: Sequence[str],
    count_keys: Sequence[str],
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows added up per ``group``: exact sums of money strings and of counts, first-seen order."""
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            group(row),
            {**{key: Decimal(0) for key in money_keys}, **{key: 0 for key in count_keys}},
        )
        for key in money_keys:
            total[key] += money(row.get(key))
        for key in count_keys:
            total[key] += int(row.get(key) or 0)
    return totals


def _priced(figure: go.Figure, currency: str, axis: str = "yaxis") -> go.Figure:
    """A money chart in ``currency``: the shared figure builders label the reporting currency."""
    reporting = currency_symbol()
    locale = "ja_JP" if (get_language() or "ja").startswith("ja") else "en_US"
    symbol = str(get_currency_symbol(currency, locale=locale))
    if symbol != reporting:
        figure.update_layout({axis: {"tickprefix": symbol}})
        figure.for_each_trace(
            lambda trace: trace.update(hovertemplate=trace.hovertemplate.replace(reporting, symbol))
        )
    return figure


def _whole_ticks(figure: go.Figure, counts: Sequence[int], axis: str = "yaxis") -> go.Figure:
    """Counts on ``axis`` get whole-number ticks (Plotly would mark 0.2, 0.4, … of a deal)."""
    step = max(1, -(-max(counts, default=0) // 5))
    figure.update_layout({axis: {"dtick": step, "tick0": 0}})
    return figure


def _bars_across(labels: Sequence[str], series: Sequence[Series], axis: Axis) -> go.Figure:
    """Grouped horizontal bars, one row per label: "pipeline · stage" labels stay readable
    however many stages there are, where tilted column labels would not."""
    figure = go.Figure()
    for item in series:
        figure.add_trace(
            go.Bar(
                y=list(labels),
                x=[to_float(value) for value in item.values],
                name=str(item.name),
                orientation="h",
                marker_color=item.color,
                hovertemplate=f"%{{y}} · {item.name}: {hover_format(axis, 'x')}<extra></extra>",
            )
        )
    figure.update_layout(barmode="group", xaxis=axis_format(axis))
    figure.update_yaxes(autorange="reversed", type="category")
    base_layout(figure, height=max(HEIGHT, 14 * len(labels) * len(series) + 90))
    figure.update_layout(hovermode="closest")
    return figure


# --- the sections ---------------------------------------------------------------------------


def weighted_pipeline(forecast: ForecastRows, filters: SalesFilters, names: Names) -> Chart:
    rows = [
        row
        for row in forecast.metric("weighted_pipeline")
        if filters.keeps(row, month="close_month", owner=True)
    ]
    several = len({row["pipeline"] for row in rows}) > 1
    money_keys = ("amount_mrr", "weighted_mrr", "one_off_amount", "weighted_one_off")
    totals = _sum_by(
        rows,
        lambda row: (row["pipeline"], row["position"], row["stage"], row["probability"]),
        money_keys,
        ("deals",),
    )
    table_rows = [
        {
            "stage": names.stage({"pipeline": pipeline, "stage": stage}, several),
            "probability": Decimal(probability),
            "currency": filters.currency,
            **total,
        }
        for (pipeline, _position, stage, probability), total in totals.items()
    ]
    table = Table(
        key="pipeline",
        title=_("Weighted pipeline by stage"),
        columns=[
            Column("stage", _("Stage")),
            Column("probability", _("Probability"), "percent"),
            Column("deals", _("Deals"), "number"),
            Column("amount_mrr", _("MRR amount"), "money", currency="currency"),
            Column("weighted_mrr", _("Weighted MRR"), "money", currency="currency"),
            Column("one_off_amount", _("One-off amount"), "money", currency="currency"),
            Column("weighted_one_off", _("Weighted one-off"), "money", currency="currency"),
            Column("currency", _("Currency")),
        ],
        rows=table_rows,
        empty=_("No open deals."),
    )
    figure = _bars_across(
        [row["stage"] for row in table_rows],
        [
            Series(
                _("MRR amount"), [row["amount_mrr"] for row in table_rows], COLORS["reactivation"]
            ),
            Series(
                _("Weighted MRR"), [row["weighted_mrr"] for row in table_rows], COLORS["primary"]
            ),
        ],
        "money",
    )
    return embed(
        "chart-pipeline",
        table.title,
        _("Open deals per stage: MRR amount and the amount weighted by the stage probability."),
        _priced(figure, filters.currency, "xaxis"),
        table,
    )


def forecast_vs_actual(forecast: ForecastRows, filters: SalesFilters) -> Chart:
    rows = [
        row for row in forecast.metric("forecast_vs_actual") if filters.keeps(row, month="month")
    ]
    money_keys = ("won_by_as_of_mrr", "weighted_open_mrr", "forecast_mrr", "actual_mrr", "variance")
    totals = _sum_by(rows, lambda row: (row["month"],), money_keys, ())
    table_rows = [
        {"month": month[:7], "currency": filters.currency, **total}
        for (month,), total in sorted(totals.items())
    ]
    table = Table(
        key="forecast",
        title=_("Forecast vs actual MRR by month"),
        columns=[
            Column("month", _("Month")),
            Column("won_by_as_of_mrr", _("Won by the forecast day"), "money", currency="currency"),
            Column("weighted_open_mrr", _("Weighted open MRR"), "money", currency="currency"),
            Column("forecast_mrr", _("Forecast MRR"), "money", currency="currency"),
            Column("actual_mrr", _("Actual MRR"), "money", currency="currency"),
            Column("variance", _("Actual − forecast"), "money", currency="currency"),
            Column("currency", _("Currency")),
        ],
        rows=table_rows,
        empty=_("No forecast months in this period."),
    )
    figure = series_figure(
        [row["month"] for row in table_rows],
        [
            Series(
                _("Forecast MRR"),
                [row["forecast_mrr"] for row in table_rows],
                COLORS["reactivation"],
            ),
            Series(_("Actual MRR"), [row["actual_mrr"] for row in table_rows], COLORS["new"]),
        ],
        barmode="group",
    )
    return embed(
        "chart-forecast",
        table.title,
        _(
            "Per expected close month: MRR already won plus open MRR weighted by probability "
            "(forecast), against the MRR actually won."
        ),
        _priced(figure, filters.currency),
        table,
    )


def trial_conversion(forecast: ForecastRows, filters: SalesFilters) -> Chart:
    rows = [row for row in forecast.metric("trial_conversion") if filters.keeps(row, month="week")]
    totals = _sum_by(rows, lambda row: (row["week"],), (), ("trials", "paid"))
    table_rows = [
        {"week": week, **total, "rate": _ratio(total["paid"], total["trials"])}
        for (week,), total in sorted(totals.items())
    ]
    table = Table(
        key="trials",
        title=_("Trial → paid conversion by week"),
        columns=[
            Column("week", _("Week starting")),
            Column("trials", _("Trials started"), "number"),
            Column("paid", _("Converted to paid"), "number"),
            Column("rate", _("Conversion rate"), "percent"),
        ],
        rows=table_rows,
        empty=_("No trials in this period."),
    )
    figure = series_figure(
        [row["week"] for row in table_rows],
        [
            Series(
                _("Trials started"), [row["trials"] for row in table_rows], COLORS["reactivation"]
            ),
            Series(
                _("Conversion rate"),
                [row["rate"] for row in table_rows],
                COLORS["primary"],
                "line",
                secondary=True,
            ),
        ],
        axis="number",
        secondary_axis="percent",
    )
    _whole_ticks(figure, [row["trials"] for row in table_rows])
    figure.update_layout(yaxis2={"range": [0, 1.05]})
    return embed(
        "chart-trials",
        table.title,
        _("Trials started each week (bars) and the share whose deal is won (line)."),
        figure,
        table,
    )


def rep_performance(forecast: ForecastRows, filters: SalesFilters) -> Chart:
    rows = [
        row
        for row in forecast.metric("rep_performance")
        if filters.keeps(row, month="close_month", owner=True)
    ]
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            row.get("owner") or "",
            {
                "won_deals": 0,
                "new_mrr": Decimal(0),
                "expansion_mrr": Decimal(0),
                "won_one_off": Decimal(0),
            },
        )
        total["won_deals"] += int(row["won_deals"])
        total["won_one_off"] += money(row["won_one_off"])
        if row["motion"] in ("new", "expansion"):
            total[f"{row['motion']}_mrr"] += money(row["won_mrr"])
    table_rows = sorted(
        (
            {"rep": owner or _("Unassigned"), "currency": filters.currency, **total}
            for owner, total in totals.items()
        ),
        key=lambda row: (-row["new_mrr"], -row["expansion_mrr"], row["rep"]),
    )
    table = Table(
        key="reps",
        title=_("New MRR and deals won per rep"),
        columns=[
            Column("rep", _("Rep")),
            Column("won_deals", _("Deals won"), "number"),
            Column("new_mrr", _("New MRR won"), "money", currency="currency"),
            Column("expansion_mrr", _("Expansion MRR won"), "money", currency="currency"),
            Column("won_one_off", _("One-off won"), "money", currency="currency"),
            Column("currency", _("Currency")),
        ],
        rows=table_rows,
        empty=_("No deals won in this period."),
    )
    # The chart shows the reps who brought MRR; the table lists everyone who won a deal.
    charted = [row for row in table_rows if row["new_mrr"] or row["expansion_mrr"]]
    figure = series_figure(
        [row["rep"] for row in charted],
        [
            Series(_("New MRR won"), [row["new_mrr"] for row in charted], COLORS["new"]),
            Series(
                _("Expansion MRR won"),
                [row["expansion_mrr"] for row in charted],
                COLORS["expansion"],
            ),
        ],
    )
    return embed(
        "chart-reps",
        table.title,
        _("New and expansion MRR won per rep, by close month in the period."),
        _priced(figure, filters.currency),
        table,
    )


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
    figure = _bars_across(
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
    figure = _bars_across(
        [row["reason"] for row in table_rows],
        [Series(_("Deals lost"), [row["deals"] for row in table_rows], COLORS["churned"])],
        "number",
    )
    _whole_ticks(figure, [row["deals"] for row in table_rows], "xaxis")
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


# --- the page -------------------------------------------------------------------------------


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
    forecast = read_forecast(forecast_owners(request.user))
    filters = _filters(request, forecast)
    names = _names()
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
