"""Health scores are the same whichever way the engine computes them: a history of many dates
(one windowed pass) and a few dates (events joined to the dates) agree, on DuckDB and on
PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from kizuna.engine.backends import connect
from kizuna.engine.health import score_history
from kizuna.engine.health_inputs import HealthInputs
from kizuna.engine.health_windows import FEW_DATES
from kizuna.health.scorecards import load_preset

LAST = date(2024, 6, 30)
HISTORY = [LAST - timedelta(days=offset) for offset in range(40)]
# Two dates (T and T − 30, as the trend uses) computed on their own take the few-dates way.
FEW = [LAST, LAST - timedelta(days=30)]


def _inputs() -> HealthInputs:
    """Twelve accounts over 300 days: usage with gaps and unreported columns, yearly and monthly
    items that start, end and change seats, NPS, tickets, meetings and core features."""
    rng = random.Random(7)
    first = LAST - timedelta(days=299)
    usage: dict[str, list[Any]] = {
        "customer_id": [],
        "date": [],
        "logins": [],
        "active_users": [],
        "active_users_30d": [],
        "seats_in_use": [],
        "pricing_page_views": [],
    }
    subscriptions: dict[str, list[Any]] = {
        name: []
        for name in (
            "customer_id",
            "plan",
            "quantity",
            "interval",
            "interval_count",
            "start_date",
            "end_date",
            "recurring",
        )
    }
    rows: dict[str, list[dict[str, Any]]] = {"nps": [], "tickets": [], "activities": []}
    features: dict[str, list[Any]] = {"customer_id": [], "date": [], "feature": [], "uses": []}
    for index in range(12):
        customer = f"c{index}"
        for offset in range(300):
            if rng.random() < 0.3:
                continue  # no row: no use that day
            usage["customer_id"].append(customer)
            usage["date"].append(first + timedelta(days=offset))
            usage["logins"].append(rng.choice([0, 0, 1, 4]))
            usage["active_users"].append(rng.randint(0, 5))
            usage["active_users_30d"].append(None if rng.random() < 0.2 else rng.randint(0, 12))
            usage["seats_in_use"].append(None if rng.random() < 0.3 else rng.randint(1, 14))
            usage["pricing_page_views"].append(1 if rng.random() < 0.02 else 0)
        start = first + timedelta(days=rng.randint(-400, 200))
        end = start + timedelta(days=rng.randint(100, 700)) if index % 4 == 0 else None
        for plan, quantity, interval, item_start in (
            ("Pro", float(rng.randint(5, 12)), "year" if index % 3 else "month", start),
            ("Seats", 2.0, "month", start + timedelta(days=60)),
        ):
            subscriptions["customer_id"].append(customer)
            subscriptions["plan"].append(plan)
            subscriptions["quantity"].append(quantity)
            subscriptions["interval"].append(interval)
            subscriptions["interval_count"].append(1)
            subscriptions["start_date"].append(item_start)
            subscriptions["end_date"].append(end)
            subscriptions["recurring"].append(True)
        for number in range(rng.randint(0, 6)):
            rows["nps"].append(
                {
                    "response_id": f"r{index}-{number}",
                    "customer_id": customer,
                    "contact_id": f"p{index}-{number % 2}" if number % 3 else None,
                    "responded_on": first + timedelta(days=rng.randint(0, 299)),
                    "score": rng.randint(0, 10),
                }
            )
        for number in range(rng.randint(0, 10)):
            kind = rng.choice(["question", "bug", "feature_request", "upgrade_inquiry"])
            opened = datetime.combine(
                first + timedelta(days=rng.randint(0, 299)), datetime.min.time()
            )
            rows["tickets"].append(
                {
                    "ticket_id": f"t{index}-{number}",
                    "customer_id": customer,
                    "opened_at": opened,
                    "type": kind,
                    "severity": "critical" if number % 4 == 0 else "normal",
                }
            )
        for number in range(rng.randint(0, 8)):
            occurred = datetime.combine(
                first + timedelta(days=rng.randint(0, 299)), datetime.min.time()
            )
            rows["activities"].append(
                {
                    "activity_id": f"a{index}-{number}",
                    "customer_id": customer,
                    "type": rng.choice(["cs_meeting", "qbr", "email"]),
                    "occurred_at": occurred,
                }
            )
        for offset in range(0, 300, rng.randint(3, 9)):
            features["customer_id"].append(customer)
            features["date"].append(first + timedelta(days=offset))
            features["feature"].append(f"f{rng.randint(0, 3)}")
            features["uses"].append(1)
    tables: dict[str, Any] = {
        "usage_daily": pa.table(usage),
        "subscriptions": pa.table(subscriptions),
        "feature_usage": pa.table(features),
        "features": pa.table({"feature": ["f0", "f1", "f2", "f3"], "core": [True] * 3 + [False]}),
    }
    for name, table_rows in rows.items():
        tables[name] = pa.Table.from_pylist(table_rows)
    return HealthInputs.from_tables(tables)


def _scores(backend: BaseBackend, preset: str, dates: list[date]) -> list[dict[str, Any]]:
    table = backend.to_pyarrow(score_history(_inputs(), load_preset(preset), dates))
    rows = table.sort_by([("customer_id", "ascending"), ("as_of", "ascending")]).to_pylist()
    return [row for row in rows if row["as_of"] in FEW]


def test_the_few_dates_are_few() -> None:
    assert len(FEW) <= FEW_DATES < len(HISTORY)


@pytest.mark.parametrize("preset", ["A", "B"])
def test_history_and_few_dates_agree(preset: str) -> None:
    backend = ibis.duckdb.connect()
    history = _scores(backend, preset, HISTORY)
    assert len(history) > 12  # most accounts are in service on both dates
    assert any(row["score"] is not None for row in history)
    assert _scores(backend, preset, FEW) == history


@pytest.mark.postgres
@pytest.mark.parametrize("preset", ["A", "B"])
def test_postgres_matches_duckdb(postgres_url: str, preset: str) -> None:
    duckdb = ibis.duckdb.connect()
    postgres = connect("postgres", url=postgres_url)
    for dates in (HISTORY, FEW):
        assert _scores(postgres, preset, dates) == _scores(duckdb, preset, dates)
