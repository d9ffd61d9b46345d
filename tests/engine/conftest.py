"""Fixtures for the revenue engine tests: build inputs from Python rows, run the engine, read
movements back as plain tuples in reporting-currency amounts."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from kizuna.engine.backends import connect
from kizuna.engine.revenue import RevenueRules, month_index
from kizuna.engine.revenue_pipeline import RevenueInputs, RevenueResult, compute_revenue
from kizuna.engine.revenue_report import Formatter, month_label
from kizuna.sources.csv_reader import Column, to_arrow
from kizuna.sources.csv_revenue import (
    CUSTOMER_COLUMNS,
    FX_RATE_COLUMNS,
    INVOICE_COLUMNS,
    SPEND_COLUMNS,
    SUBSCRIPTION_COLUMNS,
)

Row = Mapping[str, Any]


def arrow_rows(rows: Sequence[Row], columns: Sequence[Column]) -> pa.Table:
    """Rows (dicts of already-typed values) to the Arrow shape the CSV reader produces."""
    values: dict[str, list[Any]] = {column.name: [] for column in columns}
    for row in rows:
        unknown = set(row) - set(values)
        assert not unknown, f"unknown columns {unknown}"
        for column in columns:
            value = row.get(column.name)
            if isinstance(value, str) and column.kind == "date":
                value = date.fromisoformat(value)
            if isinstance(value, str | int) and column.kind == "decimal":
                value = Decimal(value)
            values[column.name].append(column.default if value is None else value)
    return to_arrow(values, columns)


def _item(
    customer_id: str,
    price: str | int,
    start: str,
    end: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A subscription item row; JPY, monthly, quantity 1 unless given."""
    return {
        "customer_id": customer_id,
        "subscription_id": fields.pop("subscription_id", f"{customer_id}-s"),
        "product": fields.pop("product", "core"),
        "unit_price": price,
        "currency": fields.pop("currency", "JPY"),
        "interval": fields.pop("interval", "month"),
        "start_date": start,
        "end_date": end,
        **fields,
    }


@dataclass
class Revenue:
    """Runs the engine on one backend and reads results as plain values."""

    backend: BaseBackend
    item = staticmethod(_item)

    def compute(
        self,
        subscriptions: Sequence[Row],
        fx_rates: Sequence[Row] | None = None,
        spend: Sequence[Row] | None = None,
        customers: Sequence[Row] | None = None,
        invoices: Sequence[Row] | None = None,
        currency: str = "JPY",
        rules: RevenueRules | None = None,
        integer_money: bool = True,
    ) -> RevenueResult:
        def table(rows: Sequence[Row] | None, columns: Sequence[Column]) -> ibis.Table | None:
            return None if rows is None else ibis.memtable(arrow_rows(rows, columns))

        subscriptions_table = table(subscriptions, SUBSCRIPTION_COLUMNS)
        assert subscriptions_table is not None
        inputs = RevenueInputs(
            subscriptions=subscriptions_table,
            customers=table(customers, CUSTOMER_COLUMNS),
            fx_rates=table(fx_rates, FX_RATE_COLUMNS),
            spend=table(spend, SPEND_COLUMNS),
            invoices=table(invoices, INVOICE_COLUMNS),
        )
        return compute_revenue(
            self.backend, inputs, currency=currency, rules=rules, integer_money=integer_money
        )

    def rows(self, result: RevenueResult, table: ibis.Table) -> list[dict[str, Any]]:
        return list(self.backend.to_pyarrow(table).to_pylist())

    def movements(
        self, result: RevenueResult, customer_id: str, product: str | None = None
    ) -> list[tuple[str, str, Decimal | None, Decimal | None]]:
        """(month, movement, delta, month-end MRR) per month of one customer (or product)."""
        fmt = Formatter(result)
        if product is None:
            table = result.customer_movements
            table = table.filter(table.customer_id == customer_id)
        else:
            table = result.product_movements
            table = table.filter((table.customer_id == customer_id) & (table.product == product))
        return [
            (
                month_label(row["month_idx"]),
                row["movement"],
                fmt.money(row["delta"]),
                fmt.money(row["mrr_end"]),
            )
            for row in self.rows(result, table.order_by("month_idx"))
        ]

    def fx(self, result: RevenueResult, customer_id: str) -> list[tuple[str, Decimal | None]]:
        fmt = Formatter(result)
        table = result.customer_movements
        table = table.filter(table.customer_id == customer_id).order_by("month_idx")
        return [
            (month_label(row["month_idx"]), fmt.money(row["fx"]))
            for row in self.rows(result, table)
        ]

    def kpis(self, result: RevenueResult, month: str) -> dict[str, Any]:
        fmt = Formatter(result)
        from kizuna.engine.revenue_kpis import KPIS

        index = month_index(date.fromisoformat(month + "-01"))
        table = result.kpis.filter(result.kpis.month_idx == index)
        (row,) = self.rows(result, table)
        return {name: fmt.value(kpi.kind, row[name]) for name, kpi in KPIS.items()}


@pytest.fixture(scope="session")
def duckdb_backend() -> BaseBackend:
    return connect("duckdb")


@pytest.fixture()
def revenue(duckdb_backend: BaseBackend) -> Revenue:
    return Revenue(duckdb_backend)


@pytest.fixture(scope="session")
def spark_backend() -> Iterator[BaseBackend]:
    """One local Spark session for the whole test session, tuned for tiny data."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.skip("PySpark is not installed (pip install pyspark)")
    if shutil.which("java") is None:
        pytest.skip("Java is not on PATH; PySpark needs a JRE (17 or later)")
    # Created before the engine connects so that its getOrCreate() reuses this session: one
    # core, one shuffle partition and no whole-stage code generation make each small query
    # several times faster than Spark's cluster-sized defaults.
    session = (
        SparkSession.builder.master("local[1]")
        .appName("kizuna-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    backend = connect("pyspark")
    # The engine's connect() sets its own (cluster-sized) SQL settings on the reused session:
    # put the tiny-data ones back.
    for key, value in TINY_SPARK_SQL.items():
        session.conf.set(key, value)
    yield backend
    session.stop()


TINY_SPARK_SQL = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.adaptive.enabled": "false",
}


RevenueFactory = Callable[..., RevenueResult]
