"""Revenue recompute over the store: store tables in, engine, result tables out.

The whole history is recomputed (a changed setting or a back-dated cancellation changes past
months) and the result tables are replaced in one transaction, so pages never see a half-written
state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
from django.conf import settings
from django.db import connections, router, transaction

from kizuna.billing.models import CohortCell, CustomerMrr, PeriodKind, ProductMrr, RevenueKpi
from kizuna.core.revenue_rules import RevenueRules
from kizuna.core.row_updates import insert_rows
from kizuna.engine.backends import connect
from kizuna.engine.revenue import month_of_index
from kizuna.engine.revenue_pipeline import RevenueInputs, compute_revenue
from kizuna.engine.revenue_report import Formatter, build_report, report_range
from kizuna.sources import store_tables
from kizuna.sources.csv_revenue import (
    CUSTOMER_COLUMNS,
    FX_RATE_COLUMNS,
    INVOICE_COLUMNS,
    SPEND_COLUMNS,
    SUBSCRIPTION_COLUMNS,
)

BATCH = 5000


@dataclass(frozen=True)
class RevenueRecompute:
    months: int
    customer_rows: int
    product_rows: int


def _month(label: str) -> date:
    year, month = label.split("-")
    return date(int(year), int(month), 1)


def _quarter(label: str) -> date:
    year, quarter = label.split("-Q")
    return date(int(year), 3 * (int(quarter) - 1) + 1, 1)


def _text(value: object) -> object:
    """KPI values as JSON: exact decimals as strings, counts and ratios as numbers."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _text(item) for key, item in value.items()}
    return value


def recompute_revenue(rules: RevenueRules | None = None) -> RevenueRecompute:
    """Recomputes every revenue result table under ``rules`` (default: the store-wide rules of
    ``KIZUNA_REVENUE_RULES``)."""
    if rules is None:
        rules = settings.KIZUNA_REVENUE_RULES
    backend = connect("duckdb")
    inputs = RevenueInputs(
        subscriptions=ibis.memtable(store_tables.subscriptions(SUBSCRIPTION_COLUMNS)),
        customers=ibis.memtable(store_tables.customers(CUSTOMER_COLUMNS)),
        fx_rates=ibis.memtable(store_tables.fx_rates(FX_RATE_COLUMNS)),
        spend=ibis.memtable(store_tables.spend(SPEND_COLUMNS)),
        # Invoices only count under the past-due rule; reading them costs seconds at scale.
        invoices=(
            None
            if rules.past_due_churn_days is None
            else ibis.memtable(store_tables.invoices(INVOICE_COLUMNS))
        ),
    )
    result = compute_revenue(backend, inputs, settings.KIZUNA_CURRENCY, rules)
    months = report_range(result)
    report = build_report(result, months, detail=True)
    fmt = Formatter(result)
    products: list[dict[str, Any]] = []
    if months is not None:
        table = result.product_movements
        inside = table.filter(table.month_idx.between(months.first_idx, months.last_idx))
        products = backend.to_pyarrow(
            inside.select("customer_id", "product", "month_idx", "mrr_end", "movement", "delta")
        ).to_pylist()
    kpis = [
        RevenueKpi(
            period_kind=PeriodKind.MONTH,
            period_start=_month(row["month"]),
            values={k: _text(v) for k, v in row.items() if k != "month"},
        )
        for row in report["months"]
    ]
    kpis += [
        RevenueKpi(
            period_kind=PeriodKind.QUARTER,
            period_start=_quarter(row["quarter"]),
            values={k: _text(v) for k, v in row.items() if k != "quarter"},
        )
        for row in report["quarters"]
    ]
    kpis += [
        RevenueKpi(
            period_kind=PeriodKind.YEAR,
            period_start=date(int(row["year"]), 1, 1),
            values={k: _text(v) for k, v in row.items() if k != "year"},
        )
        for row in report["years"]
    ]
    # Rows as the database takes them: each distinct month is turned into a date once.
    adapt_date = connections[router.db_for_write(CustomerMrr)].ops.adapt_datefield_value
    labelled = {row["month"] for row in report.get("customers", [])}
    month_of_label = {label: adapt_date(_month(label)) for label in labelled}
    month_of_idx = {
        index: adapt_date(month_of_index(index)) for index in {row["month_idx"] for row in products}
    }
    customer_rows = [
        (
            int(row["customer_id"]),
            month_of_label[row["month"]],
            row["mrr"],
            row["movement"],
            row["delta"],
            row["fx"],
        )
        for row in report.get("customers", [])
    ]
    product_rows = [
        (
            int(row["customer_id"]),
            row["product"],
            month_of_idx[row["month_idx"]],
            fmt.money(row["mrr_end"]) or 0,
            row["movement"],
            fmt.money(row["delta"]) or 0,
        )
        for row in products
    ]
    cohort_rows = [
        CohortCell(
            cohort=_month(row["cohort"]),
            months_since=row["months_since_start"],
            customers=row["customers"],
            mrr=row["mrr"],
            logo_retention=row["logo_retention"],
            mrr_retention=row["mrr_retention"],
        )
        for row in report["cohorts"]
    ]
    with transaction.atomic():
        for model in (CustomerMrr, ProductMrr, RevenueKpi, CohortCell):
            model.objects.all().delete()
        RevenueKpi.objects.bulk_create(kpis, batch_size=BATCH)
        insert_rows(
            CustomerMrr, ("account", "month", "mrr", "movement", "delta", "fx"), customer_rows
        )
        insert_rows(
            ProductMrr, ("account", "product", "month", "mrr", "movement", "delta"), product_rows
        )
        CohortCell.objects.bulk_create(cohort_rows, batch_size=BATCH)
    return RevenueRecompute(len(report["months"]), len(customer_rows), len(product_rows))
