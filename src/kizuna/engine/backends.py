"""Ibis backends the engine runs on, by name.

The engine functions take and return Ibis tables; which backend executes them is chosen here
(in-process DuckDB by default, PostgreSQL by URL, PySpark in local mode).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
from ibis.backends import BaseBackend


def connect_duckdb(**options: Any) -> BaseBackend:
    return ibis.duckdb.connect(**options)


def connect_postgres(url: str | None = None, **options: Any) -> BaseBackend:
    if url is None:
        raise ValueError("the postgres engine needs a database URL (KIZUNA_ENGINE_URL)")
    return ibis.connect(url, **options)


def connect_pyspark(**options: Any) -> BaseBackend:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("kizuna")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    return ibis.pyspark.connect(session, **options)


ENGINES: dict[str, Callable[..., BaseBackend]] = {
    "duckdb": connect_duckdb,
    "postgres": connect_postgres,
    "pyspark": connect_pyspark,
}


def connect(name: str = "duckdb", **options: Any) -> BaseBackend:
    try:
        factory = ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise ValueError(f"unknown engine {name!r}; choose one of {known}") from None
    return factory(**options)
