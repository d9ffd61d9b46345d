"""Sales dashboard sections on open and won business: the weighted pipeline, the forecast
against actual MRR, trial conversion and each rep's results."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from kizuna.pipeline.forecast_results import ForecastRows, money
from kizuna.web.charts import COLORS, Chart, Series, embed, series_figure
from kizuna.web.sales_figures import (
    Names,
    SalesFilters,
    bars_across,
    priced,
    ratio,
    sum_by,
    whole_ticks,
)
from kizuna.web.tables import Column, Table


def weighted_pipeline(forecast: ForecastRows, filters: SalesFilters, names: Names) -> Chart:
    rows = [
        row
        for row in forecast.metric("weighted_pipeline")
        if filters.keeps(row, month="close_month", owner=True)
    ]
    several = len({row["pipeline"] for row in rows}) > 1
    money_keys = ("amount_mrr", "weighted_mrr", "one_off_amount", "weighted_one_off")
    totals = sum_by(
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
    figure = bars_across(
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
        priced(figure, filters.currency, "xaxis"),
        table,
    )


def forecast_vs_actual(forecast: ForecastRows, filters: SalesFilters) -> Chart:
    rows = [
        row for row in forecast.metric("forecast_vs_actual") if filters.keeps(row, month="month")
    ]
    money_keys = ("won_by_as_of_mrr", "weighted_open_mrr", "forecast_mrr", "actual_mrr", "variance")
    totals = sum_by(rows, lambda row: (row["month"],), money_keys, ())
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
        priced(figure, filters.currency),
        table,
    )


def trial_conversion(forecast: ForecastRows, filters: SalesFilters) -> Chart:
    rows = [row for row in forecast.metric("trial_conversion") if filters.keeps(row, month="week")]
    totals = sum_by(rows, lambda row: (row["week"],), (), ("trials", "paid"))
    table_rows = [
        {"week": week, **total, "rate": ratio(total["paid"], total["trials"])}
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
    whole_ticks(figure, [row["trials"] for row in table_rows])
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
        priced(figure, filters.currency),
        table,
    )
