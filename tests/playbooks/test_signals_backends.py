"""The same detectors give the same rows on PostgreSQL as on DuckDB."""

from __future__ import annotations

import json
from typing import Any

import pytest
from signal_data import AS_OF, daily, inputs, subscription

from kizuna.engine.backends import connect
from kizuna.engine.signals import SIGNAL_DETECTORS, detect_signals

DATA = inputs(
    subscriptions=[
        subscription("c1", interval="year", start_date="2023-07-20"),
        subscription("c2", product="crm", plan=None, unit_price="200000"),
    ],
    usage_daily=daily(
        "c1",
        "2024-05-02",
        "2024-05-31",
        active_users=10,
        logins=9,
        api_calls=100,
        departments_active=1,
        seats_in_use=8,
    )
    + daily(
        "c1",
        "2024-06-01",
        "2024-06-30",
        active_users=6,
        logins=3,
        api_calls=200,
        departments_active=2,
        seats_in_use=10,
        competitor_page_views=1,
        new_feature_page_views=1,
    ),
    features=[{"feature": "reports", "core": True}, {"feature": "sso", "core": False}],
    feature_usage=[{"customer_id": "c1", "date": "2024-06-03", "feature": "sso", "uses": 2}],
    tickets=[
        {
            "ticket_id": f"t{n}",
            "customer_id": "c1",
            "opened_at": f"2024-06-0{n}T10:00:00",
            "resolved_at": None,
            "type": "bug",
            "severity": "critical",
        }
        for n in (1, 2, 3)
    ]
    + [
        {
            "ticket_id": "e1",
            "customer_id": "c2",
            "opened_at": "2024-06-10T10:00:00",
            "type": "enterprise_trial_request",
            "severity": "normal",
        }
    ],
    nps=[
        {"response_id": "r1", "customer_id": "c1", "responded_on": "2024-02-01", "score": 10},
        {"response_id": "r2", "customer_id": "c1", "responded_on": "2024-06-05", "score": 4},
        {"response_id": "r3", "customer_id": "c2", "responded_on": "2024-06-05", "score": 9},
    ],
    activities=[
        {"activity_id": "a1", "customer_id": "c1", "type": "email", "occurred_at": "2024-04-01"}
    ],
    contacts=[
        {
            "contact_id": "p1",
            "customer_id": "c2",
            "name": 'Sato "Ken"',
            "role": "champion",
            "status": "left",
            "status_changed_on": "2024-06-20",
        }
    ],
)


def test_the_fixture_exercises_most_signals() -> None:
    fired = set(detect_signals(DATA, AS_OF).column("signal").to_pylist())
    assert len(fired) >= 15


def _parsed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Backends print floats differently (200 vs 200.0); the JSON values are what must agree.
    return [{**row, "detail": json.loads(row["detail"])} for row in rows]


@pytest.mark.postgres
def test_postgres_gives_the_same_signals_as_duckdb(postgres_url: str) -> None:
    on_duckdb = _parsed(detect_signals(DATA, AS_OF).to_pylist())
    on_postgres = _parsed(
        detect_signals(DATA, AS_OF, backend=connect("postgres", url=postgres_url)).to_pylist()
    )
    assert on_postgres == on_duckdb
    assert {row["signal"] for row in on_duckdb} <= set(SIGNAL_DETECTORS)
