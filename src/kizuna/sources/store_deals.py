"""The forecast over the store: deals, stage history and stages as engine input, results out.

The readers return Arrow tables with exactly the columns and types of ``deals.csv`` and
``deal_stage_history.csv`` (the column specifications of :mod:`kizuna.sources.csv_deals`), so
:mod:`kizuna.engine.pipeline` gives the same answer from the store as from a CSV folder.
``deal_id`` and ``customer_id`` are primary keys as text; owners are user names.

:func:`recompute_forecast` runs every metric of
:data:`~kizuna.engine.pipeline.FORECAST_METRICS` and replaces the
:class:`~kizuna.pipeline.models.ForecastResult` rows in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
from django.db import transaction

from kizuna.engine.backends import connect
from kizuna.engine.pipeline import FORECAST_METRICS, ForecastInputs
from kizuna.pipeline.defaults import STAGES_SCHEMA, Motion
from kizuna.pipeline.management.commands.forecast import table_rows
from kizuna.pipeline.models import Deal, DealStageChange, ForecastResult, PipelineKind, Stage
from kizuna.sources import store_tables
from kizuna.sources.csv_deals import DEALS_COLUMNS, HISTORY_COLUMNS
from kizuna.sources.csv_reader import PARSERS, Column, to_arrow
from kizuna.sources.csv_revenue import SPEND_COLUMNS

BATCH = 5000
MOTION_OF_KIND: dict[str, str] = {
    PipelineKind.NEW_BUSINESS: Motion.NEW,
    PipelineKind.UPSELL: Motion.EXPANSION,
    PipelineKind.RENEWAL: Motion.RENEWAL,
    PipelineKind.SERVICES: Motion.SERVICES,
}
# The dimensions of each metric's rows (everything else in a row is a figure). A metric added
# to the engine needs its entry here; a test checks that none is missing.
FORECAST_KEYS: dict[str, tuple[str, ...]] = {
    "weighted_pipeline": (
        "pipeline",
        "stage",
        "position",
        "probability",
        "owner",
        "close_month",
        "currency",
    ),
    "forecast_vs_actual": ("pipeline", "month", "currency"),
    "stage_conversion": ("pipeline", "stage", "position"),
    "days_in_stage": ("pipeline", "stage", "position"),
    "trial_conversion": ("pipeline", "week"),
    "rep_performance": ("owner", "pipeline", "motion", "close_month", "currency"),
    "lead_source_roi": ("channel", "currency"),
    "win_rate": ("pipeline", "currency"),
    "lost_reasons": ("pipeline", "reason", "currency"),
}

# Deal columns read straight from the model (CSV name → ORM path).
_DEAL_PATHS: dict[str, str] = {
    "deal_id": "pk",
    "customer_id": "account_id",
    "pipeline": "pipeline__key",
    "stage": "stage__key",
    "status": "status",
    "amount_mrr": "amount_mrr",
    "one_off_amount": "one_off_amount",
    "currency": "currency",
    "owner": "owner__username",
    "source": "source",
    "created_on": "created_on",
    "close_date": "close_date",
    "closed_on": "closed_on",
    "lost_reason": "lost_reason",
    "churn_reason": "churn_reason",
    "product": "product",
    "plan": "plan",
    "contract_months": "contract_months",
    "effective_date": "effective_date",
    "trial_start": "trial_start",
}


def _detail(value: Any, column: Column) -> Any:
    """A stage field kept in ``Deal.details`` (text in JSON) in its column's type."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return PARSERS[column.kind](value)
        except ValueError:
            return None  # a value the CSV reader would refuse is unknown to the forecast
    return value


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def deals(columns: Sequence[Column] = DEALS_COLUMNS) -> pa.Table:
    """Every deal as a ``deals.csv`` row: columns of the deal, then stage fields of ``details``."""
    direct = [column for column in columns if column.name in _DEAL_PATHS]
    paths = [_DEAL_PATHS[column.name] for column in direct] + ["details"]
    values: dict[str, list[Any]] = {column.name: [] for column in columns}
    from_details = [column for column in columns if column.name not in _DEAL_PATHS]
    rows = Deal.objects.order_by("pk").values_list(*paths)
    for row in rows.iterator(chunk_size=BATCH):
        for column, value in zip(direct, row[:-1], strict=True):
            if column.name in ("deal_id", "customer_id"):
                value = str(value)
            values[column.name].append(_blank_to_none(value))
        details = row[-1] or {}
        for column in from_details:
            values[column.name].append(_detail(details.get(column.name), column))
    return to_arrow(values, columns)


def stage_history(columns: Sequence[Column] = HISTORY_COLUMNS) -> pa.Table:
    """Every recorded stage entry as a ``deal_stage_history.csv`` row (local times)."""
    paths = {
        "deal_id": "deal_id",
        "stage": "to_stage__key",
        "entered_at": "changed_at",
        "changed_by": "changed_by__username",
    }
    values: dict[str, list[Any]] = {column.name: [] for column in columns}
    rows = DealStageChange.objects.order_by("pk").values_list(
        *(paths[column.name] for column in columns)
    )
    for row in rows.iterator(chunk_size=BATCH):
        for column, value in zip(columns, row, strict=True):
            if column.name == "deal_id":
                value = str(value)
            elif column.name == "entered_at":
                value = store_tables.local_naive(value)
            values[column.name].append(value)
    return to_arrow(values, columns)


def stages() -> pa.Table:
    """The stored pipelines' stages, shaped like :func:`kizuna.pipeline.defaults.stages_table`."""
    stored = Stage.objects.order_by("pipeline__order", "pipeline_id", "order", "pk").values_list(
        "pipeline__key", "pipeline__kind", "key", "order", "probability", "outcome", "is_trial"
    )
    rows = [
        {
            "pipeline": pipeline_key,
            "motion": str(MOTION_OF_KIND.get(kind, Motion.NEW)),
            "stage": key,
            "position": order,
            "probability": probability,
            "kind": outcome,
            "is_trial": is_trial,
        }
        for pipeline_key, kind, key, order, probability, outcome, is_trial in stored
    ]
    return pa.Table.from_pylist(rows, schema=STAGES_SCHEMA)


def forecast_inputs(as_of: date) -> ForecastInputs:
    return ForecastInputs(
        deals=ibis.memtable(deals()),
        stage_history=ibis.memtable(stage_history()),
        stages=ibis.memtable(stages()),
        spend=ibis.memtable(store_tables.spend(SPEND_COLUMNS)),
        as_of=as_of,
    )


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def recompute_forecast(as_of: date) -> int:
    """Run every forecast metric over the store as of ``as_of``; returns the rows written."""
    backend = connect("duckdb")
    inputs = forecast_inputs(as_of)
    results: list[ForecastResult] = []
    for metric, compute in FORECAST_METRICS.items():
        keys = FORECAST_KEYS[metric]
        table = backend.to_pyarrow(compute(inputs))
        for position, row in enumerate(table_rows(table), start=1):
            results.append(
                ForecastResult(
                    metric=metric,
                    position=position,
                    as_of=as_of,
                    key={name: _json(row[name]) for name in keys},
                    values={name: _json(v) for name, v in row.items() if name not in keys},
                )
            )
    with transaction.atomic():
        ForecastResult.objects.all().delete()
        ForecastResult.objects.bulk_create(results, batch_size=BATCH)
    return len(results)
