"""Small builders of health inputs: rows written by hand, one account at a time."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from kizuna.engine.health_inputs import HealthInputs

T = date(2024, 6, 30)
"""The as-of date of the band-edge tests."""


class Inputs:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._ids = 0

    def _id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    def yearly(self, customer: str, start: date, seats: int = 10, end: date | None = None) -> None:
        self.rows["subscriptions"].append(
            {
                "customer_id": customer,
                "subscription_id": self._id("s"),
                "plan": "Professional",
                "quantity": float(seats),
                "interval": "year",
                "interval_count": 1,
                "start_date": start,
                "end_date": end,
                "recurring": True,
            }
        )

    def renewing_in(self, customer: str, days: int, seats: int = 10) -> None:
        """A yearly subscription whose next anniversary is ``days`` after T."""
        anniversary = T + timedelta(days=days)
        self.yearly(customer, anniversary.replace(year=anniversary.year - 1), seats)

    def usage(self, customer: str, day: date, logins: int = 1, **columns: Any) -> None:
        row = {"customer_id": customer, "date": day, "logins": logins, "active_users": 1}
        self.rows["usage_daily"].append({**row, **columns})

    def login_days(self, customer: str, days: int) -> None:
        for offset in range(days):
            self.usage(customer, T - timedelta(days=offset))

    def features_used(self, customer: str, count: int) -> None:
        for index in range(count):
            self.rows["feature_usage"].append(
                {"customer_id": customer, "date": T, "feature": f"core{index}", "uses": 2}
            )

    def nps(self, customer: str, *scores: int) -> None:
        for score in scores:
            self.rows["nps"].append(
                {
                    "response_id": self._id("r"),
                    "customer_id": customer,
                    "contact_id": self._id("c"),
                    "responded_on": T - timedelta(days=10),
                    "score": score,
                }
            )

    def meetings(self, customer: str, count: int) -> None:
        for index in range(count):
            self.rows["activities"].append(
                {
                    "activity_id": self._id("a"),
                    "customer_id": customer,
                    "type": "cs_meeting" if index % 2 == 0 else "qbr",
                    "occurred_at": datetime(2024, 6, 1, 10) - timedelta(days=20 * index),
                }
            )

    def ticket(self, customer: str, kind: str, severity: str = "normal", day: date = T) -> None:
        self.rows["tickets"].append(
            {
                "ticket_id": self._id("t"),
                "customer_id": customer,
                "opened_at": datetime.combine(day, datetime.min.time()),
                "type": kind,
                "severity": severity,
            }
        )

    def build(self) -> HealthInputs:
        tables: dict[str, Any] = {
            name: pa.table(_columns(rows)) for name, rows in self.rows.items()
        }
        if "feature_usage" in tables:
            tables["features"] = {
                "feature": [f"core{index}" for index in range(5)] + ["extra"],
                "core": [True] * 5 + [False],
            }
        return HealthInputs.from_tables(tables)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    names = sorted({name for row in rows for name in row})
    return {name: [row.get(name) for row in rows] for name in names}
