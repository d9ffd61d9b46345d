"""The playbook runner's inputs read from the store, shaped for the engine and the triggers.

Signal inputs come from :mod:`kizuna.sources.store_tables` (the CSV contract's shape, so
detection gives the same answer from the store as from a CSV folder). Account attributes,
health history, churns and deal stage changes are read here with a few wide queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

import pyarrow as pa
from django.db import connection
from django.utils import timezone

from kizuna.billing.models import CustomerMrr
from kizuna.crm.models import Account, ChurnRecord
from kizuna.engine.signals_common import SignalInputs, SignalSettings, history_starts
from kizuna.health.models import HealthScore, Scorecard
from kizuna.pipeline.models import DealStageChange
from kizuna.playbooks.conditions import ATTRIBUTE_SCHEMA
from kizuna.playbooks.triggers import CHURN_SCHEMA, HEALTH_SCHEMA, STAGE_CHANGE_SCHEMA, Loader
from kizuna.sources import store_tables
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

# Band and crossing triggers look back a week by default; one more week of history gives each
# day in that week the score before it.
HEALTH_HISTORY_DAYS = 21

STAGE_CHANGE_LOOKBACK_DAYS = 31


def customer_mrr_table(as_of: date) -> pa.Table:
    """``customer_id, mrr``: month-end MRR of the month of ``as_of`` (reporting currency)."""
    month = as_of.replace(day=1)
    rows = CustomerMrr.objects.filter(month=month).values_list("account_id", "mrr")
    ids, amounts = [], []
    for account_id, mrr in rows.iterator(chunk_size=20000):
        ids.append(str(account_id))
        amounts.append(float(mrr))
    return pa.table({"customer_id": pa.array(ids, pa.string()), "mrr": pa.array(amounts)})


def health_history_table(as_of: date, days: int = HEALTH_HISTORY_DAYS) -> pa.Table:
    """Daily health scores of the last ``days`` days, one per account and day.

    Where an account is scored by several scorecards, the default scorecard's score counts.
    """
    defaults = set(Scorecard.objects.filter(is_default=True).values_list("pk", flat=True))
    table = HealthScore._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT account_id, date, score, status, scorecard_id FROM {table} "
            "WHERE date > %s AND date <= %s ORDER BY account_id, date, scorecard_id",
            [as_of - timedelta(days=days), as_of],
        )
        rows = cursor.fetchall()
    chosen: dict[tuple[int, Any], tuple[Any, ...]] = {}
    for row in rows:
        key = (row[0], row[1])
        if key not in chosen or (row[4] in defaults and chosen[key][4] not in defaults):
            chosen[key] = row
    values = list(chosen.values())
    return pa.table(
        {
            "customer_id": pa.array([str(r[0]) for r in values], pa.string()),
            "date": pa.array([_as_date(r[1]) for r in values], pa.date32()),
            "score": pa.array(
                [None if r[2] is None else float(r[2]) for r in values], pa.float64()
            ),
            "status": pa.array([r[3] for r in values], pa.string()),
        },
        schema=HEALTH_SCHEMA.to_pyarrow(),
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def latest_health_table(history: pa.Table) -> pa.Table:
    """``customer_id, score, status``: each account's latest score in the history window."""
    latest: dict[str, tuple[Any, Any, Any]] = {}
    for customer, day, score, status in zip(
        history.column("customer_id").to_pylist(),
        history.column("date").to_pylist(),
        history.column("score").to_pylist(),
        history.column("status").to_pylist(),
        strict=True,
    ):
        if customer not in latest or latest[customer][0] <= day:
            latest[customer] = (day, score, status)
    return pa.table(
        {
            "customer_id": pa.array(list(latest), pa.string()),
            "score": pa.array([v[1] for v in latest.values()], pa.float64()),
            "status": pa.array([v[2] for v in latest.values()], pa.string()),
        }
    )


def account_attributes_table(mrr_table: pa.Table, health_table: pa.Table) -> pa.Table:
    """One row per account with everything a condition can test (:data:`ATTRIBUTE_SCHEMA`)."""
    mrr = dict(zip(*(mrr_table.column(n).to_pylist() for n in ("customer_id", "mrr")), strict=True))
    health = {
        customer: (score, status)
        for customer, score, status in zip(
            *(health_table.column(n).to_pylist() for n in ("customer_id", "score", "status")),
            strict=True,
        )
    }
    names = ATTRIBUTE_SCHEMA.names
    values: dict[str, list[Any]] = {name: [] for name in names}
    rows = Account.objects.values_list(
        "pk",
        "status",
        "touch_tier",
        "lifecycle_stage",
        "plan",
        "industry",
        "country",
        "employees",
        "cs_owner__username",
        "owner__username",
        "contract_start",
    ).order_by("pk")
    for row in rows.iterator(chunk_size=20000):
        customer = str(row[0])
        score, status = health.get(customer, (None, None))
        for name, value in zip(
            names,
            (customer, *row[1:10], mrr.get(customer), score, status, row[10]),
            strict=True,
        ):
            values[name].append(value)
    return pa.table(values, schema=ATTRIBUTE_SCHEMA.to_pyarrow())


def churns_table() -> pa.Table:
    rows = list(ChurnRecord.objects.values_list("account_id", "churned_on", "reason"))
    return pa.table(
        {
            "customer_id": pa.array([str(r[0]) for r in rows], pa.string()),
            "churned_on": pa.array([r[1] for r in rows], pa.date32()),
            "reason": pa.array([r[2] for r in rows], pa.string()),
        },
        schema=CHURN_SCHEMA.to_pyarrow(),
    )


def stage_changes_table(as_of: date, days: int = STAGE_CHANGE_LOOKBACK_DAYS) -> pa.Table:
    since = timezone.make_aware(datetime.combine(as_of - timedelta(days=days), time.min))
    rows = DealStageChange.objects.filter(changed_at__gte=since).values_list(
        "deal__account_id",
        "deal_id",
        "deal__title",
        "deal__pipeline__key",
        "from_stage__key",
        "to_stage__key",
        "changed_at",
    )
    values: dict[str, list[Any]] = {name: [] for name in STAGE_CHANGE_SCHEMA.names}
    for account_id, deal_id, title, pipeline, from_stage, to_stage, changed_at in rows:
        for name, value in zip(
            STAGE_CHANGE_SCHEMA.names,
            (
                str(account_id),
                deal_id,
                title,
                pipeline,
                from_stage,
                to_stage,
                timezone.localtime(changed_at).date(),
            ),
            strict=True,
        ):
            values[name].append(value)
    return pa.table(values, schema=STAGE_CHANGE_SCHEMA.to_pyarrow())


class StoreSnapshot:
    """The store's tables for one run, each read once and only when first needed."""

    def __init__(self, as_of: date):
        self.as_of = as_of

    @cached_property
    def subscriptions(self) -> pa.Table:
        return store_tables.subscriptions(SUBSCRIPTIONS_COLUMNS)

    @cached_property
    def customer_mrr(self) -> pa.Table:
        return customer_mrr_table(self.as_of)

    @cached_property
    def health_history(self) -> pa.Table:
        return health_history_table(self.as_of)

    @cached_property
    def latest_health(self) -> pa.Table:
        return latest_health_table(self.health_history)

    @cached_property
    def attributes(self) -> pa.Table:
        return account_attributes_table(self.customer_mrr, self.latest_health)

    def signal_tables(self, history: Mapping[str, date] | None = None) -> dict[str, pa.Table]:
        """Every signal input the store has rows for (an empty table counts as missing).

        ``history`` (from :func:`~kizuna.engine.signals_common.history_starts`) limits the
        dated inputs it names to the rows detection as of this day reads: those from its day
        up to the as-of day, plus each account's older first and last used rows. Without it,
        every row is read (the back-test detects over many days).
        """
        history = history or {}

        def window(name: str) -> tuple[date | None, date | None]:
            return (history[name], self.as_of) if name in history else (None, None)

        readers: dict[str, Callable[[], pa.Table]] = {
            "subscriptions": lambda: self.subscriptions,
            "usage_daily": lambda: store_tables.usage_daily(
                USAGE_DAILY_COLUMNS, *window("usage_daily")
            ),
            "features": lambda: store_tables.features(FEATURES_COLUMNS),
            "feature_usage": lambda: store_tables.feature_usage(
                FEATURE_USAGE_COLUMNS, *window("feature_usage")
            ),
            "tickets": lambda: store_tables.tickets(TICKETS_COLUMNS),
            "nps": lambda: store_tables.nps(NPS_COLUMNS),
            "activities": lambda: store_tables.activities(ACTIVITIES_COLUMNS),
            "contacts": lambda: store_tables.contacts(CONTACTS_COLUMNS),
            "customer_mrr": lambda: self.customer_mrr,
            "health": lambda: self.latest_health.select(["customer_id", "score"]),
            "success_goals": lambda: store_tables.success_goals(SUCCESS_GOALS_COLUMNS),
        }
        tables = {name: read() for name, read in readers.items()}
        return {name: table for name, table in tables.items() if table.num_rows}

    def signal_inputs(self, settings: SignalSettings | None = None) -> SignalInputs:
        """The inputs of detection as of this day; with ``settings`` (the thresholds detection
        runs with), only the usage history they need is read, for the same signals."""
        history = None if settings is None else history_starts(self.as_of, settings)
        return SignalInputs.from_arrow(self.signal_tables(history))

    def loaders(self, signals: Callable[[], pa.Table | None]) -> dict[str, Loader]:
        """Loaders for :class:`~kizuna.playbooks.triggers.Evaluation`."""
        return {
            "signals": signals,
            "subscriptions": lambda: self.subscriptions,
            "health": lambda: self.health_history,
            "accounts": lambda: self.attributes,
            "churns": churns_table,
            "stage_changes": lambda: stage_changes_table(self.as_of),
        }
