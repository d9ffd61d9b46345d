"""Health-score benchmark: synthetic accounts × days of usage, scored for one day and a year.

    .venv/bin/python bench/bench_health.py [--accounts 100000] [--days 365] [--scorecard B]
        [--batch-days 92]

Each phase runs in its own process so that its peak memory (max RSS, input data included) is
its own. Targets (issue 4): one day for 100k accounts ≤ 10 s, the full year ≤ 5 min.

The machine is shared, so each phase also times a baseline in the same process, right before
it: one grouped pass over all usage rows (Σ logins per account). The ratio phase ÷ baseline
moves much less with the load than the seconds do.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from kizuna.engine.health import date_batches, score_accounts, score_history
from kizuna.engine.health_inputs import HealthInputs
from kizuna.health.scorecards import load_preset

LAST_DAY = date(2024, 12, 31)
SEED = 20240401
MEMORY_LIMIT = "6GB"
# Days of history per query by default: bounds memory (≈ 100k accounts × 92 days of scores at a
# time), as the store recompute does.
HISTORY_BATCH_DAYS = 92


def _ids(indices: np.ndarray, prefix: str, count: int) -> pa.Array:
    names = pa.array([f"{prefix}{index:06d}" for index in range(count)])
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), names).cast(pa.string())


def _dates(offsets: np.ndarray, first: date) -> pa.Array:
    epoch = (first - date(1970, 1, 1)).days
    return pa.array((offsets + epoch).astype(np.int32), pa.date32())


def synthetic_inputs(accounts: int, days: int) -> dict[str, pa.Table]:
    """Usage for every account on every day (dense: the worst case), plus sparse CS data."""
    rng = np.random.default_rng(SEED)
    first = LAST_DAY - timedelta(days=days - 1)
    customer = np.repeat(np.arange(accounts), days)
    day = np.tile(np.arange(days), accounts)
    seats = rng.integers(5, 200, accounts)
    engagement = rng.random(accounts)
    rows = accounts * days
    logins = (rng.random(rows) < engagement[customer]) * rng.integers(1, 20, rows)
    active_30d = np.minimum(
        seats[customer], (engagement[customer] * seats[customer] * 1.1).astype(int)
    )
    drift = (day // 30) * rng.integers(-1, 2, accounts)[customer]
    usage = pa.table(
        {
            "customer_id": _ids(customer, "c", accounts),
            "date": _dates(day, first),
            "logins": pa.array(logins, pa.int64()),
            "active_users": pa.array(np.minimum(logins, seats[customer]), pa.int64()),
            "active_users_30d": pa.array(active_30d, pa.int64()),
            "seats_in_use": pa.array(np.maximum(seats[customer] + drift, 1), pa.int64()),
            "pricing_page_views": pa.array((rng.random(rows) < 0.01).astype(np.int64)),
        }
    )
    start_offsets = rng.integers(-700, days - 60, accounts)
    churned = rng.random(accounts) < 0.1
    end_offsets = np.where(churned, rng.integers(0, days, accounts), -1)
    subscriptions = pa.table(
        {
            "customer_id": _ids(np.arange(accounts), "c", accounts),
            "plan": pa.array(["Professional"] * accounts),
            "quantity": pa.array(seats.astype(float)),
            "interval": pa.array(np.where(rng.random(accounts) < 0.7, "year", "month")),
            "interval_count": pa.array(np.ones(accounts, dtype=np.int64)),
            "start_date": _dates(start_offsets, first),
            "end_date": pa.array(
                [
                    None if offset < 0 else first + timedelta(days=int(offset))
                    for offset in end_offsets
                ],
                pa.date32(),
            ),
            "recurring": pa.array(np.ones(accounts, dtype=bool)),
        }
    )

    def sparse(per_account_per_year: float) -> tuple[np.ndarray, np.ndarray]:
        count = int(accounts * per_account_per_year * days / 365)
        return rng.integers(0, accounts, count), rng.integers(0, days, count)

    who, when = sparse(2)
    nps = pa.table(
        {
            "response_id": pa.array([f"r{i}" for i in range(len(who))]),
            "customer_id": _ids(who, "c", accounts),
            "contact_id": _ids(rng.integers(0, 3, len(who)) + who * 3, "p", accounts * 3),
            "responded_on": _dates(when, first),
            "score": pa.array(rng.integers(0, 11, len(who)), pa.int64()),
        }
    )
    who, when = sparse(6)
    ticket_types = np.array(["question", "bug", "feature_request", "upgrade_inquiry"])
    tickets = pa.table(
        {
            "ticket_id": pa.array([f"t{i}" for i in range(len(who))]),
            "customer_id": _ids(who, "c", accounts),
            "opened_at": pa.array(
                (when.astype("int64") + (first - date(1970, 1, 1)).days) * 86400, pa.timestamp("s")
            ),
            "type": pa.array(ticket_types[rng.integers(0, 4, len(who))]),
            "severity": pa.array(np.where(rng.random(len(who)) < 0.05, "critical", "normal")),
        }
    )
    who, when = sparse(8)
    activities = pa.table(
        {
            "activity_id": pa.array([f"a{i}" for i in range(len(who))]),
            "customer_id": _ids(who, "c", accounts),
            "type": pa.array(np.where(rng.random(len(who)) < 0.5, "cs_meeting", "email")),
            "occurred_at": pa.array(
                (when.astype("int64") + (first - date(1970, 1, 1)).days) * 86400, pa.timestamp("s")
            ),
        }
    )
    # Core features: each account uses two of five on about one day in four.
    who, when = sparse(0.25 * 365 * 2)
    feature_usage = pa.table(
        {
            "customer_id": _ids(who, "c", accounts),
            "date": _dates(when, first),
            "feature": _ids(rng.integers(0, 5, len(who)), "f", 5),
            "uses": pa.array(np.ones(len(who), dtype=np.int64)),
        }
    )
    features = pa.table({"feature": [f"f{i:06d}" for i in range(5)], "core": [True] * 5})
    return {
        "usage_daily": usage,
        "subscriptions": subscriptions,
        "nps": nps,
        "tickets": tickets,
        "activities": activities,
        "feature_usage": feature_usage,
        "features": features,
    }


def _cpu_seconds() -> float:
    """CPU time of this process (all threads): under load it grows far less than wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def baseline_seconds(con: Any, inputs: HealthInputs) -> float:
    """Seconds of one grouped pass over all usage rows, the yardstick for the load."""
    usage = inputs.usage_daily
    assert usage is not None
    started = time.perf_counter()
    con.to_pyarrow(usage.group_by("customer_id").aggregate(logins=usage.logins.sum()))
    return time.perf_counter() - started


def run_phase(
    phase: str, accounts: int, days: int, scorecard_name: str, batch_days: int
) -> dict[str, Any]:
    started = time.perf_counter()
    tables = synthetic_inputs(accounts, days)
    generated = time.perf_counter() - started
    inputs = HealthInputs.from_tables(tables)
    scorecard = load_preset(scorecard_name)
    # A memory cap makes DuckDB spill to disk rather than compete with the rest of the machine.
    con = ibis.duckdb.connect(memory_limit=MEMORY_LIMIT)
    baseline = baseline_seconds(con, inputs)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    if phase == "day":
        rows = con.to_pyarrow(score_history(inputs, scorecard, [LAST_DAY])).num_rows
    elif phase == "day_with_trend":
        rows = len(score_accounts(inputs, scorecard, LAST_DAY, con))
    else:
        dates = [LAST_DAY - timedelta(days=offset) for offset in range(days)]
        with tempfile.TemporaryDirectory() as folder:
            rows = 0
            for index, batch in enumerate(date_batches(dates, batch_days)):
                path = Path(folder) / f"history-{index:03d}.parquet"
                con.to_parquet(score_history(inputs, scorecard, batch), path)
                rows += con.read_parquet(path).count().execute()
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "phase": phase,
        "scorecard": scorecard_name,
        "batch_days": batch_days,
        "accounts": accounts,
        "usage_rows": tables["usage_daily"].num_rows,
        "score_rows": int(rows),
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(cpu, 1),
        "baseline_seconds": round(baseline, 2),
        "ratio": round(elapsed / baseline, 1),
        "generate_seconds": round(generated, 2),
        "peak_rss_mib": round(peak_mib),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--scorecard", default="B")
    parser.add_argument("--batch-days", type=int, default=HISTORY_BATCH_DAYS)
    parser.add_argument("--phase", choices=["day", "day_with_trend", "year"])
    args = parser.parse_args()
    if args.phase:
        result = run_phase(args.phase, args.accounts, args.days, args.scorecard, args.batch_days)
        print(json.dumps(result))
        return
    for phase in ("day", "day_with_trend", "year"):
        command = [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--accounts",
            str(args.accounts),
            "--days",
            str(args.days),
            "--scorecard",
            args.scorecard,
            "--batch-days",
            str(args.batch_days),
        ]
        result = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True).stdout
        )
        print(
            f"{result['scorecard']:>6} {phase:<15} {result['accounts']:>7} accounts "
            f"{result['usage_rows']:>10} usage rows → {result['score_rows']:>9} scores "
            f"in {result['seconds']:>7.2f} s (CPU {result['cpu_seconds']:>7.1f} s; "
            f"{result['ratio']:>5.1f} × baseline "
            f"{result['baseline_seconds']:.2f} s), peak RSS {result['peak_rss_mib']:>6} MiB"
        )


if __name__ == "__main__":
    main()
