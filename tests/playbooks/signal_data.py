"""Builders of tiny, exactly typed signal inputs for the tests.

Rows are given as dicts of readable values (``"2024-06-01"``); every table is typed by the same
column specs the CSV readers use, so the engine sees exactly what a CSV folder would give it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from kizuna.engine.signals import SignalInputs
from kizuna.sources.csv_reader import PARSERS, Column, to_arrow
from kizuna.sources.csv_usage import (
    ACTIVITIES_COLUMNS,
    CONTACTS_COLUMNS,
    FEATURE_USAGE_COLUMNS,
    FEATURES_COLUMNS,
    NPS_COLUMNS,
    SUBSCRIPTIONS_COLUMNS,
    SUCCESS_GOALS_COLUMNS,
    TICKETS_COLUMNS,
    USAGE_DAILY_COLUMNS,
)

COLUMNS: dict[str, Sequence[Column]] = {
    "subscriptions": SUBSCRIPTIONS_COLUMNS,
    "usage_daily": USAGE_DAILY_COLUMNS,
    "features": FEATURES_COLUMNS,
    "feature_usage": FEATURE_USAGE_COLUMNS,
    "tickets": TICKETS_COLUMNS,
    "nps": NPS_COLUMNS,
    "activities": ACTIVITIES_COLUMNS,
    "contacts": CONTACTS_COLUMNS,
    "success_goals": SUCCESS_GOALS_COLUMNS,
}

AS_OF = date(2024, 6, 30)
"""Current window: 1–30 June 2024; previous window: 2–31 May 2024."""


def arrow_table(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> pa.Table:
    values: dict[str, list[Any]] = {column.name: [] for column in columns}
    for row in rows:
        unknown = set(row) - set(values)
        assert not unknown, f"unknown columns {unknown}"
        for column in columns:
            values[column.name].append(_value(column, row.get(column.name, column.default)))
    return to_arrow(values, columns)


def _value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and column.kind != "str":
        return PARSERS[column.kind](value)
    if column.kind == "decimal":
        return Decimal(value)
    return value


def inputs(**tables: Sequence[dict[str, Any]] | pa.Table) -> SignalInputs:
    arrow: dict[str, pa.Table] = {}
    for name, rows in tables.items():
        if isinstance(rows, pa.Table):
            arrow[name] = rows
        elif name in COLUMNS:
            arrow[name] = arrow_table(COLUMNS[name], rows)
        else:
            arrow[name] = pa.Table.from_pylist(list(rows))
    return SignalInputs.from_arrow(arrow)


def subscription(customer_id: str, **values: Any) -> dict[str, Any]:
    """A Professional plan item, 10 seats at 10,000 JPY a month, in service since 2023-01-01."""
    row: dict[str, Any] = {
        "customer_id": customer_id,
        "subscription_id": f"sub-{customer_id}",
        "product": "core",
        "plan": "Professional",
        "quantity": "10",
        "unit_price": "10000",
        "currency": "JPY",
        "interval": "month",
        "start_date": "2023-01-01",
    }
    row.update(values)
    return row


def daily(
    customer_id: str, first: date | str, last: date | str, **values: Any
) -> list[dict[str, Any]]:
    """One usage row per day from ``first`` to ``last`` with the same values."""
    start = date.fromisoformat(first) if isinstance(first, str) else first
    end = date.fromisoformat(last) if isinstance(last, str) else last
    days = (end - start).days + 1
    base = {"logins": 0, "active_users": 0}
    base.update(values)
    return [
        {"customer_id": customer_id, "date": start + timedelta(days=offset), **base}
        for offset in range(days)
    ]


def detect(
    signal: str, data: SignalInputs, as_of: date = AS_OF, **settings: Any
) -> list[dict[str, Any]]:
    """Rows of one signal as plain dicts (``detail`` parsed), ordered by customer and key."""
    import json

    from kizuna.engine.signals import SignalSettings, detect_signals

    table = detect_signals(data, as_of, SignalSettings(**settings), names=[signal])
    rows = table.to_pylist()
    for row in rows:
        assert row.pop("signal") == signal
        row["detail"] = json.loads(row["detail"])
    return rows
