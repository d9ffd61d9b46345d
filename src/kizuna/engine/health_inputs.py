"""Health inputs and the as-of grid: the tables the health measures read, typed and conformed,
and the accounts × as-of dates a computation fills in.

Column names are as in ``docs/import-format.md``; :class:`HealthInputs` adds absent optional
columns as nulls or their documented defaults. :func:`as_of_grid` decides which accounts are
scored on which dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

# Months per billing interval, for committed-term arithmetic; day and week intervals are never
# committed terms, so they are absent.
INTERVAL_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}

# Columns each input must provide to the measures (name → Ibis type); absent optional columns
# are added as nulls (or the documented default) by `HealthInputs.from_tables`.
INPUT_COLUMNS: dict[str, dict[str, str]] = {
    "usage_daily": {
        "customer_id": "string",
        "date": "date",
        "logins": "int64",
        "active_users": "int64",
        "active_users_30d": "int64",
        "seats_in_use": "int64",
        "pricing_page_views": "int64",
    },
    "features": {"feature": "string", "core": "boolean"},
    "feature_usage": {
        "customer_id": "string",
        "date": "date",
        "feature": "string",
        "uses": "int64",
    },
    "tickets": {
        "ticket_id": "string",
        "customer_id": "string",
        "opened_at": "timestamp",
        "type": "string",
        "severity": "string",
    },
    "nps": {
        "response_id": "string",
        "customer_id": "string",
        "contact_id": "string",
        "responded_on": "date",
        "score": "int64",
    },
    "activities": {
        "activity_id": "string",
        "customer_id": "string",
        "type": "string",
        "occurred_at": "timestamp",
    },
    "contacts": {"contact_id": "string", "customer_id": "string", "status": "string"},
    "subscriptions": {
        "customer_id": "string",
        "plan": "string",
        "quantity": "float64",
        "interval": "string",
        "interval_count": "int64",
        "start_date": "date",
        "end_date": "date",
        "recurring": "boolean",
    },
    "accounts": {"customer_id": "string", "customer_since": "date"},
}

# Defaults for optional columns a source may leave out (as in docs/import-format.md).
_COLUMN_DEFAULTS: dict[str, Any] = {
    "pricing_page_views": 0,
    "interval_count": 1,
    "quantity": 1,
    "recurring": True,
}


def conform(name: str, table: ir.Table) -> ir.Table:
    """Select and type the columns input ``name`` needs, adding absent optional ones."""
    columns = {}
    for column, type_ in INPUT_COLUMNS[name].items():
        if column in table.columns:
            columns[column] = table[column].cast(type_)
        else:
            default = _COLUMN_DEFAULTS.get(column)
            columns[column] = (
                ibis.literal(default, type_) if default is not None else ibis.null(type_)
            )
    return table.select(**columns)


@dataclass(frozen=True)
class HealthInputs:
    """The tables measures read (column names as in ``docs/import-format.md``); ``None`` = absent.

    ``accounts`` (``customer_id``, ``customer_since``) is optional: without it, the accounts
    scored on a date are those with a recurring subscription item in service that day (or, with
    no subscriptions at all, every customer seen in any table).
    """

    usage_daily: ir.Table | None = None
    features: ir.Table | None = None
    feature_usage: ir.Table | None = None
    tickets: ir.Table | None = None
    nps: ir.Table | None = None
    activities: ir.Table | None = None
    contacts: ir.Table | None = None
    subscriptions: ir.Table | None = None
    accounts: ir.Table | None = None

    @classmethod
    def from_tables(cls, tables: Mapping[str, Any]) -> HealthInputs:
        """Wrap in-memory tables (Arrow, pandas) by input name; unknown names are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(tables) - known)
        if unknown:
            raise ValueError(f"unknown health inputs: {', '.join(unknown)}")
        return cls(**{name: conform(name, ibis.memtable(table)) for name, table in tables.items()})

    def table(self, name: str) -> ir.Table | None:
        value: ir.Table | None = getattr(self, name)
        return value


@dataclass(frozen=True)
class AsOfGrid:
    """The accounts × as-of dates to compute, with the date range known up front.

    ``table`` has ``customer_id``, ``as_of`` and ``customer_since`` (nullable); ``first`` and
    ``last`` bound the as-of dates so measures can prune their inputs.
    """

    table: ir.Table
    dates: ir.Table
    first: date
    last: date
    count: int
    """How many as-of dates."""


def as_of_grid(inputs: HealthInputs, dates: Sequence[date]) -> AsOfGrid:
    """The accounts to score on each date (see :class:`HealthInputs`), with their tenure start."""
    if not dates:
        raise ValueError("at least one as-of date is needed")
    unique = sorted(set(dates))
    dates_table = ibis.memtable({"as_of": unique}, schema={"as_of": "date"})
    if inputs.accounts is not None:
        accounts = inputs.accounts.select(
            "customer_id", customer_since=inputs.accounts.customer_since.cast("date")
        )
        grid = accounts.cross_join(dates_table)
    elif inputs.subscriptions is not None:
        items = recurring_items(inputs.subscriptions)
        since = items.group_by("customer_id").aggregate(customer_since=items.start_date.min())
        in_service = in_service_pairs(items, dates_table).select("customer_id", "as_of").distinct()
        grid = in_service.join(since, "customer_id")
    else:
        ids = [
            table.select("customer_id")
            for name in ("usage_daily", "feature_usage", "tickets", "nps", "activities", "contacts")
            if (table := inputs.table(name)) is not None
        ]
        if not ids:
            raise ValueError("no input has customers: give at least one CSV file")
        customers = ibis.union(*ids, distinct=True)
        grid = customers.cross_join(dates_table).mutate(customer_since=ibis.null("date"))
    grid = grid.select("customer_id", "as_of", "customer_since")
    return AsOfGrid(
        table=grid, dates=dates_table, first=unique[0], last=unique[-1], count=len(unique)
    )


def recurring_items(subscriptions: ir.Table) -> ir.Table:
    return subscriptions.filter(subscriptions.recurring)


def in_service_pairs(items: ir.Table, dates: ir.Table) -> ir.Table:
    """Item × as-of date for each date the item is in service (start ≤ T < end)."""
    return items.join(
        dates,
        [
            items.start_date <= dates.as_of,
            items.end_date.isnull() | (dates.as_of < items.end_date),
        ],
    )
