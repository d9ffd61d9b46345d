"""Shapes a revenue recompute into the ``kizuna metrics`` output (JSON object or CSV table).

This is where money numerators become amounts: divided exactly by the shared denominator and
rounded to the reporting currency's minor unit (half away from zero, see
:func:`kizuna.core.money.round_money`), once, at output. Ratios
are plain fractions rounded to :data:`RATIO_DECIMALS` places.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis.expr.types as ir

from kizuna.core.money import minor_units, round_money, round_quotient
from kizuna.engine.revenue import MONTHS_PER_YEAR, month_of_index
from kizuna.engine.revenue_kpis import KPIS, KpiKind
from kizuna.engine.revenue_pipeline import RevenueResult

# Rates to a millionth (0.0001 %) are finer than any board report needs, and coarse enough
# that the last-bit differences of floating-point averages between engines never show.
RATIO_DECIMALS = 6
MONTHS_DECIMALS = 2
CHANGE_COLUMNS = (
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "fx_mrr",
)


@dataclass(frozen=True)
class MonthRange:
    first_idx: int
    last_idx: int


def month_label(index: int) -> str:
    return month_of_index(index).strftime("%Y-%m")


def quarter_label(index: int) -> str:
    return f"{index // MONTHS_PER_YEAR}-Q{index % MONTHS_PER_YEAR // 3 + 1}"


def year_label(index: int) -> str:
    return str(index // MONTHS_PER_YEAR)


# Most distinct rounded amounts a formatter keeps (foreign-currency MRR differs every month).
ROUNDED_KEPT = 100_000


class Formatter:
    """Turns engine values into output values for one result's currency and scale."""

    def __init__(self, result: RevenueResult):
        self.result = result
        self.places = minor_units(result.currency)
        self._denominator = result.scale.denominator
        # Amounts of whole numerators already rounded: a recompute formats millions of
        # amounts, most of them repeats (zero, the same plan's MRR).
        self._rounded: dict[int, Decimal] = {}

    def money(self, units: Decimal | float | None) -> Decimal | None:
        if units is None:
            return None
        whole = _whole(units)
        if whole is None:
            return round_money(self.result.scale.to_money(Decimal(units)), self.result.currency)
        rounded = self._rounded.get(whole)
        if rounded is None:
            rounded = round_quotient(whole, self._denominator, self.result.currency)
            if len(self._rounded) < ROUNDED_KEPT:
                self._rounded[whole] = rounded
        return rounded

    def value(self, kind: KpiKind, raw: Any) -> Any:
        if raw is None:
            return None
        if kind in ("money", "money_avg"):
            return self.money(raw)
        if kind == "count":
            return int(raw)
        if kind == "months":
            return round(float(raw), MONTHS_DECIMALS)
        return round(float(raw), RATIO_DECIMALS)


def _whole(units: Decimal | float) -> int | None:
    """A whole numerator (the 64-bit numerators, the ``DECIMAL(38, 0)`` totals) as an int."""
    if isinstance(units, int):
        return units
    if isinstance(units, Decimal):
        exponent = units.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(units)
    return None


def report_range(
    result: RevenueResult, first_idx: int | None = None, last_idx: int | None = None
) -> MonthRange | None:
    """Months to report: from the first month with MRR to the last month in which anything
    changes, unless given. ``None`` when there is nothing to report."""
    rows = _rows(result, result.components.order_by("month_idx"))
    paying = [row["month_idx"] for row in rows if row["mrr"] > 0]
    changing = [row["month_idx"] for row in rows if any(row[name] != 0 for name in CHANGE_COLUMNS)]
    first = first_idx if first_idx is not None else min(paying, default=None)
    last = last_idx if last_idx is not None else max(changing, default=None)
    if first is None or last is None or first > last:
        return None
    return MonthRange(first, last)


def build_report(
    result: RevenueResult, months: MonthRange | None, detail: bool = False
) -> dict[str, Any]:
    """The ``kizuna metrics`` JSON object (with Decimal money, see :func:`render_json`)."""
    report: dict[str, Any] = {"currency": result.currency, "months": [], "cohorts": []}
    if months is None:
        report.update(quarters=[], years=[], trial_conversion=[])
        if detail:
            report["customers"] = []
        return report
    fmt = Formatter(result)
    channel_cac = _channel_cac(result, fmt, months)
    labels = {"month": month_label, "quarter": quarter_label, "year": year_label}
    kpis = result.report_kpis(months.first_idx, months.last_idx)
    periods: dict[str, list[dict[str, Any]]] = {name: [] for name in labels}
    for row in _rows(result, kpis.order_by(["period", "period_idx"])):
        period, index = row["period"], row["period_idx"]
        entry = {period: labels[period](index), **_kpi_values(fmt, row)}
        if period == "month":
            entry["cac_by_channel"] = channel_cac.get(index, {})
        periods[period].append(entry)
    report["months"] = periods["month"]
    report["quarters"] = periods["quarter"]
    report["years"] = periods["year"]
    report["cohorts"] = _cohorts(result, fmt, months)
    report["trial_conversion"] = _trials(result, months)
    if detail:
        report["customers"] = customer_detail(result, months)
    return report


def customer_detail(result: RevenueResult, months: MonthRange) -> list[dict[str, Any]]:
    """Per customer and month: month-end MRR, the movement, its signed size and the FX part."""
    fmt = Formatter(result)
    table = result.customer_movements
    selected = table.filter(table.month_idx.between(months.first_idx, months.last_idx))
    labels = {index: month_label(index) for index in range(months.first_idx, months.last_idx + 1)}
    return [
        {
            "customer_id": row["customer_id"],
            "month": labels[row["month_idx"]],
            "mrr": fmt.money(row["mrr_end"]),
            "movement": row["movement"],
            "delta": fmt.money(row["delta"]),
            "fx": fmt.money(row["fx"]),
        }
        for row in _rows(result, selected.order_by(["customer_id", "month_idx"]))
    ]


def render_json(report: Mapping[str, Any]) -> str:
    """JSON text; money becomes a JSON number with the currency's decimals."""
    return json.dumps(_plain(report), ensure_ascii=False, indent=2) + "\n"


def render_csv(report: Mapping[str, Any], detail: bool = False) -> str:
    """The monthly KPIs as CSV (one row per month), or with ``detail`` the customer rows."""
    rows: Sequence[Mapping[str, Any]] = report["customers"] if detail else report["months"]
    header = (
        ["customer_id", "month", "mrr", "movement", "delta", "fx"] if detail else ["month", *KPIS]
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(name) is None else row[name] for name in header])
    return out.getvalue()


def _rows(result: RevenueResult, table: ir.Table) -> list[dict[str, Any]]:
    return list(result.backend.to_pyarrow(table).to_pylist())


def _kpi_values(fmt: Formatter, row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: fmt.value(kpi.kind, row[name]) for name, kpi in KPIS.items()}


def _channel_cac(
    result: RevenueResult, fmt: Formatter, months: MonthRange
) -> dict[int, dict[str, Decimal | None]]:
    if result.channel_cac is None:
        return {}
    table = result.channel_cac
    selected = table.filter(table.month_idx.between(months.first_idx, months.last_idx))
    per_month: dict[int, dict[str, Decimal | None]] = {}
    for row in _rows(result, selected.order_by(["month_idx", "channel"])):
        per_month.setdefault(row["month_idx"], {})[row["channel"]] = fmt.money(row["cac"])
    return per_month


def _cohorts(result: RevenueResult, fmt: Formatter, months: MonthRange) -> list[dict[str, Any]]:
    table = result.cohorts
    selected = table.filter(
        table.cohort_idx.between(months.first_idx, months.last_idx)
        & (table.month_idx <= months.last_idx)
    )
    return [
        {
            "cohort": month_label(row["cohort_idx"]),
            "month": month_label(row["month_idx"]),
            "months_since_start": int(row["months_since_start"]),
            "customers": int(row["customers"]),
            "mrr": fmt.money(row["mrr"]),
            "logo_retention": fmt.value("ratio", row["logo_retention"]),
            "mrr_retention": fmt.value("ratio", row["mrr_retention"]),
        }
        for row in _rows(result, selected.order_by(["cohort_idx", "month_idx"]))
    ]


def _trials(result: RevenueResult, months: MonthRange) -> list[dict[str, Any]]:
    table = result.trials
    selected = table.filter(table.month_idx.between(months.first_idx, months.last_idx))
    return [
        {
            "month": month_label(row["month_idx"]),
            "trials": int(row["trials"]),
            "converted": int(row["converted"]),
            "pending": int(row["pending"]),
            "conversion_rate": (
                None
                if row["conversion_rate"] is None
                else round(float(row["conversion_rate"]), RATIO_DECIMALS)
            ),
        }
        for row in _rows(result, selected.order_by("month_idx"))
    ]


def _plain(value: Any) -> Any:
    """Decimals to JSON numbers: whole amounts (JPY) as integers, others with their decimals."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
