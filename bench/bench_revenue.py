"""Revenue engine benchmark: synthetic subscriptions for N customers over 60 months.

    .venv/bin/python bench/bench_revenue.py [--customers 10000 100000] [--repeat 3] [--no-pandas]
        [--steps] [--no-floor]

Full recompute (month-end MRR per item, customer and product, movements at both levels, KPIs,
cohorts) on DuckDB, against the straightforward pandas implementation in
``baseline_pandas_revenue.py`` run in the same process; both must give the same monthly totals
and, when both count money in the same units, the same per-product movement rows.
Targets (issue 3): 100k customers ≤ 5 s and ≥ 10× faster than pandas.

Times are wall-clock seconds of untraced runs (minimum and median of ``--repeat`` runs), and the
median CPU seconds of the process (all threads; steadier than wall time on a shared machine,
and it does not credit the engine for using two cores where pandas uses one); peak
Python-heap memory comes from one more run under ``tracemalloc``, which slows Python-heavy code
(pandas far more than the engine) and so never enters the timings.

A last line per size gives the least any recompute of this design spends before computing
anything (:func:`floor_figures`) and the best speed-up over pandas it therefore allows;
``--no-floor`` skips it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))

import baseline_pandas_revenue as baseline

from kizuna.engine.backends import connect
from kizuna.engine.revenue_pipeline import RevenueInputs, compute_revenue
from kizuna.sources.csv_reader import DECIMAL_TYPE

MONTHS = 60
FIRST = date(2020, 1, 1)
SEED = 20240301
PLAN_PRICES = np.array([3000, 9800, 29800, 50000])  # JPY per seat-month or per month
USD_PER_JPY = 150


def _dates(days: np.ndarray) -> pa.Array:
    epoch = (FIRST - date(1970, 1, 1)).days
    return pa.array(days.astype(np.int32) + epoch, pa.date32())


def _month_start_days(month: np.ndarray) -> np.ndarray:
    years = 2020 + month // 12
    months = month % 12 + 1
    starts = np.array(
        [(date(int(y), int(m), 1) - FIRST).days for y, m in zip(years, months, strict=True)]
    )
    return starts


def synthetic_subscriptions(customers: int) -> tuple[pa.Table, pa.Table]:
    """Items (a base plan each; some seat changes, add-ons, USD billing, trials, one-offs)."""
    rng = np.random.default_rng(SEED)
    horizon = (date(2025, 1, 1) - FIRST).days
    start = rng.integers(0, horizon - 30, customers)
    life = rng.geometric(1 / 900, customers)
    end = start + life
    churns = end < horizon
    seats = rng.integers(1, 21, customers)
    price = PLAN_PRICES[rng.integers(0, len(PLAN_PRICES), customers)]
    usd = rng.random(customers) < 0.1
    yearly = rng.random(customers) < 0.2
    trial = rng.random(customers) < 0.2
    ids = np.arange(customers)

    parts: list[dict[str, Any]] = []

    def add(mask: np.ndarray, **columns: Any) -> None:
        parts.append(
            {"customer": ids[mask], **{k: np.asarray(v)[mask] for k, v in columns.items()}}
        )

    # Seat change for 30 %: the base item ends on the change day and a new one starts.
    changes = rng.random(customers) < 0.3
    change_day = start + (rng.random(customers) * (np.minimum(end, horizon) - start)).astype(int)
    changes &= change_day > start + 31
    new_seats = np.maximum(1, seats + rng.integers(-5, 8, customers))
    base_end = np.where(changes, change_day, np.where(churns, end, -1))
    common = {
        "product": np.full(customers, "core"),
        "currency": np.where(usd, "USD", "JPY"),
        "interval": np.where(yearly, "year", "month"),
        "recurring": np.ones(customers, bool),
        "discount": np.where(rng.random(customers) < 0.15, 10, 0),
    }
    unit = np.where(usd, price // USD_PER_JPY, price) * np.where(yearly, 10, 1)
    add(
        np.ones(customers, bool),
        start=start,
        end=base_end,
        seats=seats,
        unit=unit,
        trial=np.where(trial, start + 14, -1),
        **common,
    )
    add(
        changes,
        start=change_day,
        end=np.where(churns, end, -1),
        seats=new_seats,
        unit=unit,
        trial=np.full(customers, -1),
        **common,
    )
    addon = rng.random(customers) < 0.25
    addon_start = start + rng.integers(0, 700, customers)
    addon &= addon_start < np.minimum(end, horizon)
    add(
        addon,
        start=addon_start,
        end=np.where(churns, end, -1),
        seats=np.ones(customers, int),
        unit=np.full(customers, 2000),
        trial=np.full(customers, -1),
        **{
            **common,
            "product": np.full(customers, "analytics"),
            "currency": np.full(customers, "JPY"),
            "interval": np.full(customers, "month"),
        },
    )
    services = rng.random(customers) < 0.1
    add(
        services,
        start=start,
        end=start + 30,
        seats=np.ones(customers, int),
        unit=np.full(customers, 300000),
        trial=np.full(customers, -1),
        **{
            **common,
            "product": np.full(customers, "onboarding"),
            "currency": np.full(customers, "JPY"),
            "interval": np.full(customers, "month"),
            "recurring": np.zeros(customers, bool),
        },
    )

    def column(name: str) -> np.ndarray:
        return np.concatenate([part[name] for part in parts])

    customer = column("customer")
    ends, trials = column("end"), column("trial")
    names = pa.array([f"c{index:06d}" for index in range(customers)])
    customer_ids = pa.DictionaryArray.from_arrays(pa.array(customer, pa.int32()), names)
    rows = len(customer)

    def decimals(values: np.ndarray) -> pa.Array:
        return pa.array(values.astype(np.int32), pa.int32()).cast(DECIMAL_TYPE)

    subscriptions = pa.table(
        {
            "customer_id": customer_ids.cast(pa.string()),
            "subscription_id": customer_ids.cast(pa.string()),
            "product": pa.array(column("product")),
            "plan": pa.nulls(rows, pa.string()),
            "quantity": decimals(column("seats")),
            "unit_price": decimals(column("unit")),
            "currency": pa.array(column("currency")),
            "interval": pa.array(column("interval")),
            "interval_count": pa.array(np.ones(rows, np.int64)),
            "discount_percent": decimals(column("discount")),
            "discount_amount": decimals(np.zeros(rows, np.int64)),
            "start_date": _dates(column("start")),
            "end_date": pa.array(_dates(ends), mask=ends < 0),
            "trial_end_date": pa.array(_dates(trials), mask=trials < 0),
            "recurring": pa.array(column("recurring")),
            "canceled_at": pa.nulls(rows, pa.date32()),
        }
    )
    months = np.arange(-1, MONTHS)
    rates = 140 + np.round(rng.normal(0, 5, len(months)), 2)
    fx_rates = pa.table(
        {
            "date": _dates(_month_start_days(months % 12 + 12 * (months // 12)) + 14),
            "currency": pa.array(["USD"] * len(months)),
            "rate": pa.array([Decimal(f"{rate:.2f}") for rate in rates], DECIMAL_TYPE),
        }
    )
    return subscriptions, fx_rates


@dataclass(frozen=True)
class Measured:
    result: Any
    seconds: list[float]
    cpu_seconds: list[float]
    peak_mb: float

    @property
    def fastest(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu_seconds)


def measure(work: Callable[[], Any], repeat: int) -> Measured:
    """Times ``repeat`` untraced runs, then one traced run for the peak Python-heap MB. Engine
    memory lives in DuckDB's own allocator, so its peak is reported separately."""
    seconds = []
    cpu_seconds = []
    result = None
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = work()
        seconds.append(time.perf_counter() - began)
        cpu_seconds.append(time.process_time() - began_cpu)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return Measured(result, seconds, cpu_seconds, peak)


Step = tuple[str, float, float]
# The queries a recompute and the fetches below run, in order.
QUERIES = ("survey", "rates_needed", "kpis", "components", "cohorts", "products")


def timed_round_trips(backend: Any, steps: list[Step]) -> None:
    """Records the wall and CPU seconds of each round trip to ``backend`` (compiling the
    expression and running it) in ``steps``, named by the table created or by "query"."""

    def timed(method: Callable[..., Any], label: Callable[..., str]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            began, began_cpu = time.perf_counter(), time.process_time()
            result = method(*args, **kwargs)
            steps.append(
                (label(*args), time.perf_counter() - began, time.process_time() - began_cpu)
            )
            return result

        return run

    backend.create_table = timed(backend.create_table, lambda name, *_: name.split("_", 2)[2])
    backend.to_pyarrow = timed(backend.to_pyarrow, lambda *_: "query")


def engine_recompute(
    subscriptions: pa.Table, fx_rates: pa.Table, steps: list[Step] | None = None
) -> dict[str, Any]:
    backend = connect("duckdb", threads=2)
    if steps is not None:
        timed_round_trips(backend, steps)
    inputs = RevenueInputs(
        subscriptions=ibis.memtable(subscriptions), fx_rates=ibis.memtable(fx_rates)
    )
    result = compute_revenue(backend, inputs, currency="JPY")
    kpis = backend.to_pyarrow(result.report_kpis(result.first_idx, result.last_idx))
    components = backend.to_pyarrow(result.components.order_by("month_idx"))
    cohorts = backend.to_pyarrow(result.cohorts)
    # Fetched whole, as the store recompute does, not merely counted.
    products = backend.to_pyarrow(result.product_movements)
    engine_memory = backend.raw_sql(
        "SELECT max(memory_usage_bytes) FROM duckdb_memory()"
    ).fetchone()[0]
    return {
        "result": result,
        "kpis": kpis,
        "components": components,
        "cohorts": cohorts.num_rows,
        "products": products,
        "duckdb_bytes": engine_memory,
    }


def check_same_totals(engine: dict[str, Any], pandas: dict[str, Any]) -> None:
    scale = engine["result"].scale.denominator
    totals = pandas["totals"]
    components = engine["components"].to_pylist()
    checked = 0
    for row in components:
        index = row["month_idx"]
        if index not in totals.index:
            assert row["mrr"] == 0 and row["churned_mrr"] == 0, index
            continue
        expected = totals.loc[index]
        for name in (
            "mrr",
            "new_mrr",
            "expansion_mrr",
            "contraction_mrr",
            "churned_mrr",
            "reactivation_mrr",
            "fx_mrr",
        ):
            engine_value = Fraction(row[name]) / scale
            pandas_value = Fraction(int(expected[name]), baseline.DENOMINATOR)
            assert engine_value == pandas_value, (index, name, engine_value, pandas_value)
        assert row["customers"] == expected["customers"], index
        assert row["new_customers"] == expected["new_count"], index
        assert row["churned_customers"] == expected["churned_count"], index
        checked += 1
    assert engine["products"].num_rows == len(pandas["product_movements"])
    assert engine["cohorts"] >= len(pandas["cohorts"])
    assert checked > 0
    if scale == baseline.DENOMINATOR:
        check_same_product_movements(engine["products"], pandas["product_movements"])


def check_same_product_movements(engine: pa.Table, pandas: pd.DataFrame) -> None:
    """Every per-product movement row, exactly (both sides count the same units)."""
    keys = ["customer_id", "product", "month_idx"]
    ours = engine.select([*keys, "mrr_end", "delta", "fx", "movement"]).to_pandas()
    ours = ours.astype({"mrr_end": "int64", "delta": "int64", "fx": "int64"})
    theirs = pandas.rename(columns={"mrr": "mrr_end"})[list(ours.columns)]
    ours = ours.sort_values(keys, ignore_index=True)
    theirs = theirs.astype({"mrr_end": "int64", "delta": "int64", "fx": "int64"})
    theirs = theirs.sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)


def print_steps(subscriptions: pa.Table, fx_rates: pa.Table) -> None:
    """One more engine run, timed round trip by round trip; the rest of its time is Python
    (building the expressions, reading the survey)."""
    steps: list[Step] = []
    began, began_cpu = time.perf_counter(), time.process_time()
    engine_recompute(subscriptions, fx_rates, steps)
    wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    queries = iter(QUERIES)
    steps = [
        (next(queries, name) if name == "query" else name, seconds, cpu_seconds)
        for name, seconds, cpu_seconds in steps
    ]
    steps.append(("other", wall - sum(s[1] for s in steps), cpu - sum(s[2] for s in steps)))
    print("    " + "; ".join(f"{name} {seconds:.2f} / {cpu:.2f}" for name, seconds, cpu in steps))


@dataclass(frozen=True)
class Floor:
    """Seconds a recompute spends on work that computes nothing (see :func:`floor_figures`)."""

    compiling: float
    writing: float
    fetching: float

    @property
    def total(self) -> float:
        return self.compiling + self.writing + self.fetching


class TimedCompiler:
    """The backend's compiler, adding the seconds spent turning expressions into SQL trees to
    ``seconds`` (rendering the trees as text is not counted: the figure is a lower bound)."""

    def __init__(self, compiler: Any) -> None:
        self._compiler = compiler
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiler, name)

    def to_sqlglot(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return self._compiler.to_sqlglot(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began


def floor_figures(subscriptions: pa.Table, fx_rates: pa.Table) -> Floor:
    """One engine recompute with its compiling timed, then, from its finished results, the
    time DuckDB takes to write the per-customer month rows into a new table and to fetch the
    per-product month rows (both copied from tables already computed, so nothing is computed):
    what a recompute built from Ibis expressions and producing these result rows cannot go
    below, however its queries are written."""
    backend = connect("duckdb", threads=2)
    compiler = TimedCompiler(backend.compiler)
    backend.compiler = compiler  # type: ignore[misc]  # an instance attribute over the ClassVar
    inputs = RevenueInputs(
        subscriptions=ibis.memtable(subscriptions), fx_rates=ibis.memtable(fx_rates)
    )
    result = compute_revenue(backend, inputs, currency="JPY")
    for expression in (
        result.report_kpis(result.first_idx, result.last_idx),
        result.components,
        result.cohorts,
        result.product_movements,
    ):
        backend.compile(expression)
    compiling = compiler.seconds
    customers = result.customer_movements.op().name
    backend.raw_sql(
        f"CREATE TEMP TABLE floor_products AS {backend.compile(result.product_movements)}"
    )
    began = time.perf_counter()
    backend.raw_sql(f'CREATE TEMP TABLE floor_customers AS SELECT * FROM "{customers}"')
    writing = time.perf_counter() - began
    began = time.perf_counter()
    backend.raw_sql("SELECT * FROM floor_products").fetch_arrow_table()
    fetching = time.perf_counter() - began
    return Floor(compiling, writing, fetching)


def print_floor(
    subscriptions: pa.Table, fx_rates: pa.Table, repeat: int, pandas: Measured | None
) -> None:
    runs = [floor_figures(subscriptions, fx_rates) for _ in range(repeat)]
    floor = Floor(
        statistics.median(run.compiling for run in runs),
        statistics.median(run.writing for run in runs),
        statistics.median(run.fetching for run in runs),
    )
    line = (
        f"    floor (median of {repeat}): compiling {floor.compiling:.2f} s + writing the"
        f" customer-month rows {floor.writing:.2f} s + fetching the product-month rows"
        f" {floor.fetching:.2f} s = {floor.total:.2f} s"
    )
    if pandas is not None:
        line += f"; pandas median ÷ floor = {pandas.median / floor.total:.1f}× at most"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side")
    parser.add_argument("--no-pandas", action="store_true", help="engine only")
    parser.add_argument(
        "--steps", action="store_true", help="also time one engine run per round trip"
    )
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip measuring the work a recompute cannot avoid and the speed-up it allows",
    )
    args = parser.parse_args()
    print(f"Revenue engine, {MONTHS} months, DuckDB {connect('duckdb').version} (2 threads)")
    print("times: fastest / median of", args.repeat, "runs")
    header = (
        f"{'customers':>10} {'items':>8} {'engine s':>12} {'engine MB':>10} "
        f"{'duckdb MB':>10} {'pandas s':>12} {'pandas MB':>10} {'speed-up':>9} "
        f"{'engine CPU s':>12} {'pandas CPU s':>12} {'CPU ratio':>9}"
    )
    print(header)
    for customers in args.customers:
        subscriptions, fx_rates = synthetic_subscriptions(customers)
        engine = measure(partial(engine_recompute, subscriptions, fx_rates), args.repeat)
        duckdb_mb = engine.result["duckdb_bytes"] / 2**20
        pandas: Measured | None = None
        line = (
            f"{customers:>10,} {subscriptions.num_rows:>8,} "
            f"{engine.fastest:>5.2f} / {engine.median:<4.2f} {engine.peak_mb:>10.0f} "
            f"{duckdb_mb:>10.0f}"
        )
        if not args.no_pandas:
            last_idx = engine.result["result"].last_idx
            pandas = measure(
                partial(baseline.recompute, subscriptions, fx_rates, last_idx), args.repeat
            )
            check_same_totals(engine.result, pandas.result)
            line += (
                f" {pandas.fastest:>5.2f} / {pandas.median:<4.2f} {pandas.peak_mb:>10.0f}"
                f" {pandas.median / engine.median:>8.1f}×"
                f" {engine.median_cpu:>12.2f} {pandas.median_cpu:>12.2f}"
                f" {pandas.median_cpu / engine.median_cpu:>8.1f}×"
            )
        print(line, flush=True)
        if args.steps:
            print_steps(subscriptions, fx_rates)
        if not args.no_floor:
            print_floor(subscriptions, fx_rates, args.repeat, pandas)


if __name__ == "__main__":
    main()
