"""The executive figures (SPEC D1) as charts and tables, read from the revenue result tables.

Shared by the executive dashboard and the printable board report. Nothing here computes a
KPI: every number is a value the revenue recompute stored in RevenueKpi or CohortCell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.billing.models import CohortCell, PeriodKind, RevenueKpi
from kizuna.billing.results import KpiMonth, latest_kpi_months
from kizuna.web.charts import COLORS, Chart, Series, embed, heatmap_figure, series_figure
from kizuna.web.filters import MonthRange
from kizuna.web.kpis import KPIS, Tile, tiles
from kizuna.web.tables import Column, Kind, Table

# Seed targets (SPEC R5); a company changes them with these settings.
DEFAULT_TARGETS = {"KIZUNA_TARGET_GRR": Decimal("0.90"), "KIZUNA_TARGET_NRR": Decimal("1.10")}
# Cohort heat maps show this many months since start: two years tells the retention story.
COHORT_MONTHS = 24


def target(name: str) -> Decimal:
    return Decimal(str(getattr(settings, name, DEFAULT_TARGETS[name])))


def latest_kpi_month() -> date | None:
    """The latest month with figures, never past the current month (scheduled cancellations
    and renewals give the results future months that are not yet facts)."""
    current_month = timezone.localdate().replace(day=1)
    latest: date | None = RevenueKpi.objects.filter(
        period_kind=PeriodKind.MONTH, period_start__lte=current_month
    ).aggregate(latest=Max("period_start"))["latest"]
    return latest


def kpi_rows(kind: str, period: MonthRange) -> list[KpiMonth]:
    rows = RevenueKpi.objects.filter(period_kind=kind)
    if period.start is not None:
        # A quarter that started before the first month still overlaps the period.
        start = period.start if kind == PeriodKind.MONTH else _quarter_start(period.start)
        rows = rows.filter(period_start__gte=start)
    if period.end is not None:
        rows = rows.filter(period_start__lte=period.end)
    return [KpiMonth(row.period_start, row.values) for row in rows.order_by("period_start")]


def _quarter_start(month: date) -> date:
    return date(month.year, (month.month - 1) // 3 * 3 + 1, 1)


def month_label(month: date) -> str:
    return month.strftime("%Y-%m")


def quarter_label(month: date) -> str:
    return f"{month.year} Q{(month.month - 1) // 3 + 1}"


def kpi_table(
    key: str,
    title: str,
    periods: Sequence[KpiMonth],
    names: Sequence[str],
    *,
    quarter: bool = False,
) -> Table:
    kinds: dict[str, Kind] = {
        "money": "money",
        "number": "number",
        "percent": "percent",
        "ratio": "number",
        "months": "number",
    }
    columns = [Column("period", _("Quarter") if quarter else _("Month"))] + [
        Column(name, KPIS[name].label, kinds[KPIS[name].display]) for name in names
    ]
    rows = [
        {
            "period": quarter_label(item.month) if quarter else month_label(item.month),
            **{name: item.decimal(name) for name in names},
        }
        for item in periods
    ]
    return Table(key=key, title=title, columns=columns, rows=rows)


def _values(months: Sequence[KpiMonth], name: str, sign: int = 1) -> list[Decimal | None]:
    values = [item.decimal(name) for item in months]
    return [None if value is None else value * sign for value in values]


def movements_chart(months: Sequence[KpiMonth]) -> Chart:
    x = [month_label(item.month) for item in months]
    series = [
        Series(_("New"), _values(months, "new_mrr"), COLORS["new"]),
        Series(_("Expansion"), _values(months, "expansion_mrr"), COLORS["expansion"]),
        Series(_("Reactivation"), _values(months, "reactivation_mrr"), COLORS["reactivation"]),
        Series(_("Contraction"), _values(months, "contraction_mrr", -1), COLORS["contraction"]),
        Series(_("Churned"), _values(months, "churned_mrr", -1), COLORS["churned"]),
    ]
    names = ["new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr"]
    if any(item.decimal("fx_mrr") for item in months):
        series.append(Series(_("Exchange-rate effect"), _values(months, "fx_mrr"), COLORS["fx"]))
        names.append("fx_mrr")
    series.append(Series(_("Net new MRR"), _values(months, "net_new_mrr"), COLORS["net"], "line"))
    names.append("net_new_mrr")
    return embed(
        "chart-movements",
        _("MRR movements"),
        _(
            "Stacked bars per month: new, expansion and reactivation MRR above zero; contraction "
            "and churned MRR below zero; a line shows net new MRR."
        ),
        series_figure(x, series),
        kpi_table("movements", _("MRR movements"), months, names),
    )


def arr_chart(months: Sequence[KpiMonth]) -> Chart:
    x = [month_label(item.month) for item in months]
    return embed(
        "chart-arr",
        _("ARR trend"),
        _("Annual recurring revenue at the end of each month."),
        series_figure(x, [Series(_("ARR"), _values(months, "arr"), COLORS["primary"], "line")]),
        kpi_table("arr", _("ARR trend"), months, ["arr", "mrr", "customers", "arpa"]),
    )


def churn_chart(months: Sequence[KpiMonth]) -> Chart:
    x = [month_label(item.month) for item in months]
    series = [
        Series(_("Logo churn rate"), _values(months, "logo_churn_rate"), COLORS["churned"], "line"),
        Series(
            _("Gross MRR churn rate"),
            _values(months, "gross_mrr_churn_rate"),
            COLORS["contraction"],
            "line",
        ),
    ]
    return embed(
        "chart-churn",
        _("Logo and revenue churn"),
        _("Monthly logo churn rate and gross MRR churn rate."),
        series_figure(x, series, axis="percent"),
        kpi_table(
            "churn",
            _("Logo and revenue churn"),
            months,
            ["logo_churn_rate", "gross_mrr_churn_rate", "churned_customers"],
        ),
    )


def retention_chart(months: Sequence[KpiMonth]) -> Chart:
    x = [month_label(item.month) for item in months]
    nrr_target, grr_target = target("KIZUNA_TARGET_NRR"), target("KIZUNA_TARGET_GRR")
    series = [
        Series(_("NRR (12 months)"), _values(months, "nrr_12m"), COLORS["expansion"], "line"),
        Series(_("GRR (12 months)"), _values(months, "grr_12m"), COLORS["new"], "line"),
    ]
    targets = [
        (_("NRR target %(value)s") % {"value": f"{nrr_target:.0%}"}, nrr_target),
        (_("GRR target %(value)s") % {"value": f"{grr_target:.0%}"}, grr_target),
    ]
    return embed(
        "chart-retention",
        _("Net and gross revenue retention"),
        _(
            "Trailing twelve-month NRR and GRR per month, with the NRR target of %(nrr)s and "
            "the GRR target of %(grr)s as dotted lines."
        )
        % {"nrr": f"{nrr_target:.0%}", "grr": f"{grr_target:.0%}"},
        series_figure(x, series, axis="percent", targets=targets),
        kpi_table(
            "retention",
            _("Net and gross revenue retention"),
            months,
            ["nrr_12m", "grr_12m", "nrr", "grr"],
        ),
    )


def unit_economics_chart(quarters: Sequence[KpiMonth]) -> Chart:
    x = [quarter_label(item.month) for item in quarters]
    series = [
        Series(_("LTV/CAC"), _values(quarters, "ltv_cac"), COLORS["primary"]),
        Series(
            _("CAC payback (months)"),
            _values(quarters, "payback_months"),
            COLORS["contraction"],
            "line",
            secondary=True,
        ),
    ]
    return embed(
        "chart-unit-economics",
        _("LTV/CAC and CAC payback by quarter"),
        _("Bars: LTV divided by CAC per quarter. Line (right axis): months to pay back CAC."),
        series_figure(x, series, axis="number", secondary_axis="months", barmode="group"),
        kpi_table(
            "unit_economics",
            _("LTV/CAC and CAC payback by quarter"),
            quarters,
            ["ltv", "cac", "ltv_cac", "payback_months"],
            quarter=True,
        ),
    )


@dataclass(frozen=True)
class CohortMaps:
    mrr: Chart
    logos: Chart


def cohort_charts(period: MonthRange) -> CohortMaps:
    cells = CohortCell.objects.filter(months_since__lt=COHORT_MONTHS)
    if period.start is not None:
        cells = cells.filter(cohort__gte=period.start)
    if period.end is not None:
        cells = cells.filter(cohort__lte=period.end)
    values = cells.order_by("cohort", "months_since").values(
        "cohort", "months_since", "customers", "mrr", "logo_retention", "mrr_retention"
    )
    rows: list[dict[str, Any]] = [dict(row) for row in values]
    cohorts = sorted({row["cohort"] for row in rows})
    width = max((row["months_since"] for row in rows), default=-1) + 1
    position = {cohort: index for index, cohort in enumerate(cohorts)}
    x = [str(index) for index in range(width)]
    y = [month_label(cohort) for cohort in cohorts]
    table = Table(
        key="cohorts",
        title=_("Cohort retention"),
        columns=[
            Column("cohort_label", _("Cohort")),
            Column("months_since", _("Months since start"), "number"),
            Column("customers", _("Customers"), "number"),
            Column("mrr", _("MRR"), "money"),
            Column("logo_retention", _("Logo retention"), "percent"),
            Column("mrr_retention", _("MRR retention"), "percent"),
        ],
        rows=[{**row, "cohort_label": month_label(row["cohort"])} for row in rows],
    )

    def grid(field: str) -> list[list[Decimal | None]]:
        matrix: list[list[Decimal | None]] = [[None] * width for _cohort in cohorts]
        for row in rows:
            matrix[position[row["cohort"]]][row["months_since"]] = row[field]
        return matrix

    def heatmap(key: str, title: str, description: str, field: str) -> Chart:
        figure = heatmap_figure(
            x, y, grid(field), x_title=_("Months since start"), y_title=_("Cohort")
        )
        return embed(key, title, description, figure, table)

    return CohortMaps(
        mrr=heatmap(
            "chart-cohort-mrr",
            _("Cohort MRR retention"),
            _("MRR of each first-paid-month cohort, as a share of its starting MRR, by month."),
            "mrr_retention",
        ),
        logos=heatmap(
            "chart-cohort-logos",
            _("Cohort logo retention"),
            _("Customers of each cohort still paying, as a share of its starting customers."),
            "logo_retention",
        ),
    )


@dataclass(frozen=True)
class ExecutiveFigures:
    month: date | None
    tiles: list[Tile]
    charts: list[Chart]
    cohorts: CohortMaps
    monthly: Table

    @property
    def tables(self) -> list[Table]:
        tables = [self.monthly]
        tables += [chart.table for chart in self.charts if chart.table is not None]
        if self.cohorts.mrr.table is not None:
            tables.append(self.cohorts.mrr.table)
        return tables


MONTHLY_TABLE_KPIS = (
    "mrr",
    "arr",
    "customers",
    "arpa",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "net_new_mrr",
    "logo_churn_rate",
    "gross_mrr_churn_rate",
    "nrr",
    "grr",
    "nrr_12m",
    "grr_12m",
)


def executive_figures(period: MonthRange) -> ExecutiveFigures:
    months = kpi_rows(PeriodKind.MONTH, period)
    quarters = kpi_rows(PeriodKind.QUARTER, period)
    current = months[-1] if months else None
    previous = months[-2] if len(months) > 1 else None
    if current is not None and previous is None:
        earlier = latest_kpi_months(2, until=current.month)
        previous = earlier[0] if len(earlier) == 2 else None
    return ExecutiveFigures(
        month=current.month if current else None,
        tiles=tiles(current, previous) if current else [],
        charts=[
            movements_chart(months),
            arr_chart(months),
            churn_chart(months),
            retention_chart(months),
            unit_economics_chart(quarters),
        ],
        cohorts=cohort_charts(period),
        monthly=kpi_table("monthly", _("Monthly figures"), months, MONTHLY_TABLE_KPIS),
    )
