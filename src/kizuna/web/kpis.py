"""How each revenue KPI is named and shown on pages (the values come from RevenueKpi)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kizuna.billing.results import KpiMonth

Display = Literal["money", "number", "percent", "ratio", "months"]


@dataclass(frozen=True)
class KpiInfo:
    name: str
    label: Promise
    display: Display
    # For churn rates and costs a rise is bad news: the tile colours its change accordingly.
    higher_is_better: bool = True


KPIS = {
    info.name: info
    for info in (
        KpiInfo("mrr", _("MRR"), "money"),
        KpiInfo("arr", _("ARR"), "money"),
        KpiInfo("customers", _("Paying customers"), "number"),
        KpiInfo("arpa", _("ARPA"), "money"),
        KpiInfo("new_mrr", _("New MRR"), "money"),
        KpiInfo("expansion_mrr", _("Expansion MRR"), "money"),
        KpiInfo("reactivation_mrr", _("Reactivation MRR"), "money"),
        KpiInfo("contraction_mrr", _("Contraction MRR"), "money", higher_is_better=False),
        KpiInfo("churned_mrr", _("Churned MRR"), "money", higher_is_better=False),
        KpiInfo("fx_mrr", _("Exchange-rate effect"), "money"),
        KpiInfo("net_new_mrr", _("Net new MRR"), "money"),
        KpiInfo("new_customers", _("New customers"), "number"),
        KpiInfo("churned_customers", _("Churned customers"), "number", higher_is_better=False),
        KpiInfo("reactivated_customers", _("Reactivated customers"), "number"),
        KpiInfo("logo_churn_rate", _("Logo churn rate"), "percent", higher_is_better=False),
        KpiInfo(
            "gross_mrr_churn_rate", _("Gross MRR churn rate"), "percent", higher_is_better=False
        ),
        KpiInfo("nrr", _("NRR (month)"), "percent"),
        KpiInfo("grr", _("GRR (month)"), "percent"),
        KpiInfo("expansion_rate", _("Expansion rate"), "percent"),
        KpiInfo("quick_ratio", _("Quick ratio"), "ratio"),
        KpiInfo("nrr_12m", _("NRR (12 months)"), "percent"),
        KpiInfo("grr_12m", _("GRR (12 months)"), "percent"),
        KpiInfo("ltv", _("LTV"), "money"),
        KpiInfo("cac", _("CAC"), "money", higher_is_better=False),
        KpiInfo("ltv_cac", _("LTV/CAC"), "ratio"),
        KpiInfo("payback_months", _("CAC payback (months)"), "months", higher_is_better=False),
    )
}

TILE_KPIS = (
    "mrr",
    "arr",
    "customers",
    "arpa",
    "net_new_mrr",
    "logo_churn_rate",
    "gross_mrr_churn_rate",
    "nrr_12m",
    "grr_12m",
    "quick_ratio",
    "ltv_cac",
    "payback_months",
)


@dataclass(frozen=True)
class Tile:
    info: KpiInfo
    value: Decimal | None
    # Relative change for amounts and counts; difference in points for rates.
    change: Decimal | None
    change_is_points: bool

    @property
    def trend(self) -> str:
        if not self.change:
            return ""
        better = (self.change > 0) == self.info.higher_is_better
        return "up" if better else "down"


def tile(name: str, current: KpiMonth, previous: KpiMonth | None) -> Tile:
    info = KPIS[name]
    value = current.decimal(name)
    before = previous.decimal(name) if previous else None
    change: Decimal | None = None
    is_points = info.display in {"percent", "ratio", "months"}
    if value is not None and before is not None:
        if is_points:
            change = value - before
        elif before != 0:
            change = (value - before) / abs(before)
    return Tile(info=info, value=value, change=change, change_is_points=is_points)


def tiles(current: KpiMonth, previous: KpiMonth | None) -> list[Tile]:
    return [tile(name, current, previous) for name in TILE_KPIS]
