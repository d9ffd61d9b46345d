"""Benchmark: detect every default signal over 100,000 synthetic accounts.

Synthetic data, built in memory as Arrow (seeded, so every run sees the same data):
120 days of daily usage for every account (12 million rows), subscriptions with add-ons,
weekly feature use, tickets, NPS, activities and contacts. Prints the time of each detector,
of all of them in one query, and the peak memory of the process.

    .venv/bin/python bench/bench_signals.py [--accounts 100000] [--days 120]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kizuna.engine.signals import (
    SIGNAL_DETECTORS,
    SignalInputs,
    SignalSettings,
    applicable_detectors,
    signal_table,
)
from kizuna.sources.csv_reader import DECIMAL_TYPE

AS_OF = date(2024, 6, 30)
PRODUCTS = ("core", "crm", "analytics", "automation", "storage")
FEATURES = 12
CORE_FEATURES = 5
TARGET_SECONDS = 30.0


def _ids(prefix: str, count: int) -> pa.Array:
    return pa.array([f"{prefix}{n:07d}" for n in range(count)], type=pa.string())


def _dates(days_before_as_of: np.ndarray) -> pa.Array:
    epoch = (AS_OF - date(1970, 1, 1)).days
    return pa.array((epoch - days_before_as_of).astype(np.int32), type=pa.date32())


def _timestamps(seconds_before_end_of_as_of: np.ndarray) -> pa.Array:
    end = (AS_OF + timedelta(days=1) - date(1970, 1, 1)).days * 86_400
    values = (end - seconds_before_end_of_as_of).astype(np.int64)
    return pa.array(values, type=pa.timestamp("s"))


def build_inputs(accounts: int, days: int, seed: int = 7) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    customers = _ids("c", accounts)

    # Subscriptions: one plan item per account, a third with one add-on product.
    seats = rng.integers(5, 200, accounts)
    yearly = rng.random(accounts) < 0.4
    start_days = rng.integers(30, 1200, accounts)
    add_on = np.flatnonzero(rng.random(accounts) < 0.33)
    item_customer = np.concatenate([np.arange(accounts), add_on])
    items = len(item_customer)
    product = np.concatenate([np.zeros(accounts, int), rng.integers(1, len(PRODUCTS), len(add_on))])
    plan = pa.array(
        [["Starter", "Professional", "Enterprise"][n % 3] for n in range(accounts)]
        + [None] * len(add_on),
        type=pa.string(),
    )
    quantity = np.concatenate([seats, np.ones(len(add_on), int)])
    price = np.concatenate([np.full(accounts, 3000), rng.integers(5, 50, len(add_on)) * 1000])
    subscriptions = pa.table(
        {
            "customer_id": customers.take(pa.array(item_customer)),
            "subscription_id": _ids("s", items),
            "product": pa.array([PRODUCTS[p] for p in product], type=pa.string()),
            "plan": plan,
            "quantity": pa.array(quantity.astype(str)).cast(DECIMAL_TYPE),
            "unit_price": pa.array(price.astype(str)).cast(DECIMAL_TYPE),
            "currency": pa.array(["JPY"] * items, type=pa.string()),
            "interval": pa.array(
                np.where(np.concatenate([yearly, np.zeros(len(add_on), bool)]), "year", "month"),
                type=pa.string(),
            ),
            "interval_count": pa.array(np.ones(items, np.int64)),
            "discount_percent": pa.array(np.zeros(items).astype(str)).cast(DECIMAL_TYPE),
            "discount_amount": pa.array(np.zeros(items).astype(str)).cast(DECIMAL_TYPE),
            "start_date": _dates(np.concatenate([start_days, start_days[add_on] - 10])),
            "end_date": pa.nulls(items, type=pa.date32()),
            "trial_end_date": pa.nulls(items, type=pa.date32()),
            "recurring": pa.array(np.ones(items, bool)),
            "canceled_at": pa.nulls(items, type=pa.date32()),
        }
    )

    # Daily usage: every account every day; a tenth of accounts decline over the period.
    rows = accounts * days
    customer_of_row = np.repeat(np.arange(accounts), days)
    day_of_row = np.tile(np.arange(days)[::-1], accounts)  # days before T
    base = (seats * rng.uniform(0.3, 0.9, accounts))[customer_of_row]
    declining = (rng.random(accounts) < 0.1)[customer_of_row]
    trend = np.where(declining, 0.4 + 0.6 * day_of_row / days, 1.0)
    surging = (rng.random(accounts) < 0.05)[customer_of_row]
    active = rng.poisson(base * trend)
    usage_daily = pa.table(
        {
            "customer_id": customers.take(pa.array(customer_of_row)),
            "date": _dates(day_of_row),
            "logins": pa.array(active * 2 + rng.integers(0, 3, rows)),
            "active_users": pa.array(active),
            "active_users_30d": pa.nulls(rows, type=pa.int64()),
            "seats_in_use": pa.array(
                (seats * rng.uniform(0.5, 1.0, accounts)).astype(int)[customer_of_row]
            ),
            "api_calls": pa.array(rng.poisson(50, rows) * (1 + (day_of_row < 30) * surging)),
            "departments_active": pa.array(rng.integers(1, 6, rows)),
            "pricing_page_views": pa.array(rng.poisson(0.05, rows)),
            "competitor_page_views": pa.array(rng.poisson(0.01, rows)),
            "new_feature_page_views": pa.array(rng.poisson(0.03, rows)),
        }
    )

    features = pa.table(
        {
            "feature": pa.array([f"f{n:02d}" for n in range(FEATURES)]),
            "name": pa.array([f"Feature {n}" for n in range(FEATURES)]),
            "core": pa.array([n < CORE_FEATURES for n in range(FEATURES)]),
            "enterprise": pa.array([n >= FEATURES - 2 for n in range(FEATURES)]),
            "released_on": pa.nulls(FEATURES, type=pa.date32()),
        }
    )
    # Weekly use of three random features per account.
    weeks = days // 7
    use_rows = accounts * weeks * 3
    feature_usage = pa.table(
        {
            "customer_id": customers.take(pa.array(np.repeat(np.arange(accounts), weeks * 3))),
            "date": _dates(np.tile(np.repeat(np.arange(weeks) * 7, 3), accounts)),
            "feature": pa.array([f"f{n:02d}" for n in rng.integers(0, FEATURES, use_rows)]),
            "uses": pa.array(rng.integers(1, 40, use_rows)),
        }
    )

    ticket_count = accounts * 3
    opened = rng.integers(0, days * 86_400, ticket_count)
    resolution = rng.exponential(20 * 3600, ticket_count).astype(np.int64)
    resolved_seconds = opened - resolution
    ticket_types = np.array(
        [
            "question",
            "bug",
            "feature_request",
            "incident",
            "upgrade_inquiry",
            "enterprise_trial_request",
        ]
    )
    severities = np.array(["low", "normal", "high", "critical"])
    tickets = pa.table(
        {
            "ticket_id": _ids("t", ticket_count),
            "customer_id": customers.take(pa.array(rng.integers(0, accounts, ticket_count))),
            "opened_at": _timestamps(opened),
            "resolved_at": pc.if_else(
                pa.array(resolved_seconds > 0),
                _timestamps(np.maximum(resolved_seconds, 0)),
                pa.nulls(ticket_count, type=pa.timestamp("s")),
            ),
            "type": pa.array(
                ticket_types[rng.choice(6, ticket_count, p=[0.5, 0.25, 0.1, 0.1, 0.04, 0.01])]
            ),
            "severity": pa.array(severities[rng.choice(4, ticket_count, p=[0.3, 0.5, 0.15, 0.05])]),
        }
    )

    responders = np.flatnonzero(rng.random(accounts) < 0.5)
    nps_customer = np.concatenate([responders, responders])
    nps_days = np.concatenate(
        [rng.integers(100, 200, len(responders)), rng.integers(0, 90, len(responders))]
    )
    nps = pa.table(
        {
            "response_id": _ids("r", len(nps_customer)),
            "customer_id": customers.take(pa.array(nps_customer)),
            "contact_id": pa.nulls(len(nps_customer), type=pa.string()),
            "responded_on": _dates(nps_days),
            "score": pa.array(rng.integers(0, 11, len(nps_customer))),
            "comment": pa.nulls(len(nps_customer), type=pa.string()),
        }
    )

    activity_count = accounts * 5
    activity_types = np.array(["email", "meeting", "cs_meeting", "qbr", "call", "note"])
    activities = pa.table(
        {
            "activity_id": _ids("a", activity_count),
            "customer_id": customers.take(pa.array(rng.integers(0, accounts, activity_count))),
            "contact_id": pa.nulls(activity_count, type=pa.string()),
            "type": pa.array(activity_types[rng.integers(0, 6, activity_count)]),
            "occurred_at": _timestamps(rng.integers(0, 200 * 86_400, activity_count)),
            "subject": pa.nulls(activity_count, type=pa.string()),
        }
    )

    contact_count = accounts * 3
    roles = np.array(["decision_maker", "daily_contact", "champion", "other"])
    statuses = np.array(["active", "left", "moved"])
    contacts = pa.table(
        {
            "contact_id": _ids("p", contact_count),
            "customer_id": customers.take(pa.array(np.repeat(np.arange(accounts), 3))),
            "name": _ids("Person ", contact_count),
            "email": pa.nulls(contact_count, type=pa.string()),
            "role": pa.array(roles[rng.integers(0, 4, contact_count)]),
            "status": pa.array(statuses[rng.choice(3, contact_count, p=[0.97, 0.02, 0.01])]),
            "status_changed_on": _dates(rng.integers(0, 365, contact_count)),
        }
    )
    # One success goal per account, reached within the last year by 60 % of them (a stream of
    # its own, so the tables above stay as they were).
    goals_rng = np.random.default_rng(seed + 1)
    achieved = goals_rng.random(accounts) < 0.6
    success_goals = pa.table(
        {
            "goal_id": _ids("g", accounts),
            "customer_id": customers,
            "goal": pa.array(["Month-end close in 3 days"] * accounts, type=pa.string()),
            "target": pa.array(["3 days"] * accounts, type=pa.string()),
            "set_on": _dates(np.full(accounts, 400)),
            "achieved_on": pa.array(
                np.where(
                    achieved,
                    (AS_OF - date(1970, 1, 1)).days - goals_rng.integers(0, 365, accounts),
                    0,
                ).astype(np.int32),
                type=pa.date32(),
                mask=~achieved,
            ),
        }
    )
    return {
        "success_goals": success_goals,
        "subscriptions": subscriptions,
        "usage_daily": usage_daily,
        "features": features,
        "feature_usage": feature_usage,
        "tickets": tickets,
        "nps": nps,
        "activities": activities,
        "contacts": contacts,
    }


def _peak_rss_mb() -> float:
    """Peak resident memory of the process since start (or since :func:`_reset_peak`)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is in kilobytes on Linux and cannot be reset.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak() -> None:
    """Let the peak measure detection alone, not the building of the synthetic data (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        pass


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()

    build_seconds, tables = _timed(lambda: build_inputs(args.accounts, args.days))
    input_mb = sum(table.nbytes for table in tables.values()) / 2**20
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(
        f"data: {args.accounts:,} accounts, {tables['usage_daily'].num_rows:,} usage rows, "
        f"{tables['feature_usage'].num_rows:,} feature-use rows, "
        f"{tables['tickets'].num_rows:,} tickets ({input_mb:,.0f} MB as Arrow); "
        f"built in {build_seconds:.1f} s"
    )
    inputs = SignalInputs.from_arrow(tables)
    settings = SignalSettings()

    print(f"{'signal':<28}{'seconds':>9}{'rows':>10}")
    for detector in applicable_detectors(inputs):

        def detect_one(name: str = detector.name) -> pa.Table:
            return signal_table(inputs, AS_OF, settings, [name]).to_pyarrow()

        seconds, result = _timed(detect_one)
        print(f"{detector.name:<28}{seconds:>9.2f}{result.num_rows:>10,}")

    resident_before = _current_rss_mb()
    _reset_peak()
    all_seconds, everything = _timed(lambda: signal_table(inputs, AS_OF, settings).to_pyarrow())
    peak = _peak_rss_mb()
    verdict = "within" if all_seconds <= TARGET_SECONDS else "OVER"
    print(
        f"all {len(SIGNAL_DETECTORS)} signals in one query: {all_seconds:.2f} s, "
        f"{everything.num_rows:,} rows ({verdict} the {TARGET_SECONDS:.0f} s target); "
        f"peak RSS during detection {peak:,.0f} MB "
        f"(resident before: {resident_before:,.0f} MB, of which the input data)"
    )


if __name__ == "__main__":
    main()
