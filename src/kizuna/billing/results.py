"""Reading the revenue results the recompute wrote (pages and the API use these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from kizuna.billing.models import PeriodKind, RevenueKpi


@dataclass(frozen=True)
class KpiMonth:
    month: date
    values: dict[str, Any]

    def decimal(self, name: str) -> Decimal | None:
        value = self.values.get(name)
        return None if value is None else Decimal(str(value))


def kpi_months(until: date | None = None) -> list[KpiMonth]:
    rows = RevenueKpi.objects.filter(period_kind=PeriodKind.MONTH)
    if until is not None:
        rows = rows.filter(period_start__lte=until)
    return [KpiMonth(row.period_start, row.values) for row in rows.order_by("period_start")]


def latest_kpi_months(count: int, until: date) -> list[KpiMonth]:
    """The last ``count`` months up to ``until`` (oldest first)."""
    rows = RevenueKpi.objects.filter(
        period_kind=PeriodKind.MONTH, period_start__lte=until
    ).order_by("-period_start")[:count]
    return [KpiMonth(row.period_start, row.values) for row in reversed(rows)]
