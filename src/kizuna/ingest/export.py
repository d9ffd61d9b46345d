"""Export of the store as a CSV folder in the import format, plus the revenue results.

The folder can be read by every engine command (`kizuna metrics --input DIR`, ...) and
imported again with `kizuna import DIR`. Ids are the store's own keys.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from kizuna.billing.models import CustomerMrr, PeriodKind, RevenueKpi
from kizuna.ingest.columns import CHURN_COLUMNS
from kizuna.sources import store_deals, store_tables
from kizuna.sources.csv_revenue import (
    CUSTOMER_COLUMNS,
    FX_RATE_COLUMNS,
    INVOICE_COLUMNS,
    SPEND_COLUMNS,
    SUBSCRIPTION_COLUMNS,
)
from kizuna.sources.csv_usage import (
    ACTIVITIES_COLUMNS,
    CONTACTS_COLUMNS,
    FEATURE_USAGE_COLUMNS,
    FEATURES_COLUMNS,
    NPS_COLUMNS,
    SUCCESS_GOALS_COLUMNS,
    TICKETS_COLUMNS,
    USAGE_DAILY_COLUMNS,
)


@dataclass(frozen=True)
class ExportFile:
    name: str
    table: Callable[[], pa.Table]


def _customer_mrr() -> pa.Table:
    rows = CustomerMrr.objects.order_by("account_id", "month").values_list(
        "account_id", "month", "mrr", "movement", "delta", "fx"
    )
    account, month, mrr, movement, delta, fx = (
        (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [], [], [], [])
    )
    return pa.table(
        {
            "customer_id": pa.array([str(value) for value in account], pa.string()),
            "month": pa.array(month, pa.date32()),
            "mrr": pa.array(mrr, pa.decimal128(24, 6)),
            "movement": pa.array(movement, pa.string()),
            "delta": pa.array(delta, pa.decimal128(24, 6)),
            "fx": pa.array(fx, pa.decimal128(24, 6)),
        }
    )


def _revenue_kpis() -> pa.Table:
    months = list(RevenueKpi.objects.filter(period_kind=PeriodKind.MONTH))
    names = sorted(
        {
            name
            for row in months
            for name, value in row.values.items()
            if not isinstance(value, dict)
        }
    )
    columns: dict[str, list[object]] = {"month": [row.period_start for row in months]}
    for name in names:
        columns[name] = [
            None if row.values.get(name) is None else str(row.values[name]) for row in months
        ]
    return pa.table(
        {"month": pa.array(columns.pop("month"), pa.date32())}
        | {name: pa.array(values, pa.string()) for name, values in columns.items()}
    )


EXPORT_FILES: tuple[ExportFile, ...] = (
    ExportFile("customers.csv", lambda: store_tables.customers(CUSTOMER_COLUMNS)),
    ExportFile("subscriptions.csv", lambda: store_tables.subscriptions(SUBSCRIPTION_COLUMNS)),
    ExportFile("fx_rates.csv", lambda: store_tables.fx_rates(FX_RATE_COLUMNS)),
    ExportFile("spend.csv", lambda: store_tables.spend(SPEND_COLUMNS)),
    ExportFile("invoices.csv", lambda: store_tables.invoices(INVOICE_COLUMNS)),
    ExportFile("contacts.csv", lambda: store_tables.contacts(CONTACTS_COLUMNS)),
    ExportFile("usage_daily.csv", lambda: store_tables.usage_daily(USAGE_DAILY_COLUMNS)),
    ExportFile("features.csv", lambda: store_tables.features(FEATURES_COLUMNS)),
    ExportFile("feature_usage.csv", lambda: store_tables.feature_usage(FEATURE_USAGE_COLUMNS)),
    ExportFile("tickets.csv", lambda: store_tables.tickets(TICKETS_COLUMNS)),
    ExportFile("nps.csv", lambda: store_tables.nps(NPS_COLUMNS)),
    ExportFile("activities.csv", lambda: store_tables.activities(ACTIVITIES_COLUMNS)),
    ExportFile("churns.csv", lambda: store_tables.churns(CHURN_COLUMNS)),
    ExportFile("success_goals.csv", lambda: store_tables.success_goals(SUCCESS_GOALS_COLUMNS)),
    ExportFile("deals.csv", store_deals.deals),
    ExportFile("deal_stage_history.csv", store_deals.stage_history),
    ExportFile("results/customer_mrr.csv", _customer_mrr),
    ExportFile("results/revenue_kpis.csv", _revenue_kpis),
)


def export_folder(folder: Path) -> dict[str, int]:
    """Write every file into ``folder`` (created); returns rows per file.

    Files are written into a temporary folder first and moved into place at the end, so an
    error leaves no half-written export behind.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".kizuna-export-", dir=folder.parent))
    counts: dict[str, int] = {}
    try:
        for spec in EXPORT_FILES:
            table = spec.table()
            path = staging / spec.name
            path.parent.mkdir(parents=True, exist_ok=True)
            pa_csv.write_csv(table, path)
            counts[spec.name] = table.num_rows
        folder.mkdir(exist_ok=True)
        for path in sorted(staging.rglob("*.csv")):
            target = folder / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts
