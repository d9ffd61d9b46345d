"""The store as engine input: each table shaped exactly like its CSV file of the data contract.

Engines never see Django models. These functions read the store with a few wide queries and
return Arrow tables whose column names and types are those of ``docs/import-format.md``, so an
engine gives the same answer whether its input came from a CSV folder or from the store.
``customer_id`` is the account's primary key as text, so results map back to accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import pyarrow as pa
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from kizuna.billing.models import FxRate, Invoice, MarketingSpend, SubscriptionItem
from kizuna.crm.models import Account, Activity, ChurnRecord, Contact
from kizuna.sources.csv_reader import Column, to_arrow
from kizuna.usage.models import (
    Feature,
    FeatureUsage,
    NpsResponse,
    SuccessGoal,
    Ticket,
    UsageDaily,
)

_M = TypeVar("_M", bound=Model)


def local_naive(moment: datetime | None) -> datetime | None:
    """Aware store times as naive local times: day boundaries follow the company's time zone."""
    if moment is None:
        return None
    return timezone.localtime(moment).replace(tzinfo=None)


def _table(
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    convert: dict[str, Callable[[Any], Any]] | None = None,
) -> pa.Table:
    names = [column.name for column in columns]
    values: dict[str, list[Any]] = {name: [] for name in names}
    converters = [(name, (convert or {}).get(name)) for name in names]
    for row in rows:
        for (name, converter), value in zip(converters, row, strict=True):
            values[name].append(converter(value) if converter else value)
    return to_arrow(values, columns)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def subscriptions(columns: Sequence[Column]) -> pa.Table:
    rows = SubscriptionItem.objects.values_list(
        "subscription__account_id",
        "subscription_id",
        "product__code",
        "plan__name",
        "quantity",
        "unit_price",
        "currency",
        "interval",
        "interval_count",
        "discount_percent",
        "discount_amount",
        "start_date",
        "end_date",
        "trial_end_date",
        "recurring",
        "subscription__canceled_at",
    ).order_by("pk")
    by_name = {
        "customer_id": 0,
        "subscription_id": 1,
        "product": 2,
        "plan": 3,
        "quantity": 4,
        "unit_price": 5,
        "currency": 6,
        "interval": 7,
        "interval_count": 8,
        "discount_percent": 9,
        "discount_amount": 10,
        "start_date": 11,
        "end_date": 12,
        "trial_end_date": 13,
        "recurring": 14,
        "canceled_at": 15,
    }
    picked = [by_name[column.name] for column in columns]
    return _table(
        columns,
        ([row[index] for index in picked] for row in rows.iterator(chunk_size=5000)),
        {"customer_id": _text, "subscription_id": _text},
    )


def customers(columns: Sequence[Column]) -> pa.Table:
    fields = {
        "customer_id": "pk",
        "name": "name",
        "country": "country",
        "industry": "industry",
        "employees": "employees",
        "channel": "channel",
        "owner": "owner__username",
        "created_at": "created_at",
        "cs_owner": "cs_owner__username",
        "touch_tier": "touch_tier",
        "lifecycle_stage": "lifecycle_stage",
    }
    rows = Account.objects.values_list(*(fields[column.name] for column in columns))
    return _table(columns, rows, {"customer_id": _text, "created_at": local_naive})


def fx_rates(columns: Sequence[Column]) -> pa.Table:
    fields = {"date": "date", "currency": "currency", "rate": "rate"}
    return _table(columns, FxRate.objects.values_list(*(fields[c.name] for c in columns)))


def spend(columns: Sequence[Column]) -> pa.Table:
    fields = {"month": "month", "channel": "channel", "amount": "amount", "currency": "currency"}
    return _table(columns, MarketingSpend.objects.values_list(*(fields[c.name] for c in columns)))


def _dated_rows(
    queryset: QuerySet[_M], since: date | None, until: date | None, last_where: str = ""
) -> QuerySet[_M]:
    """Rows dated up to ``until``; from ``since`` on, plus each account's older key rows.

    The key rows are the first row before ``since`` and, with ``last_where`` (an SQL condition
    on the row), the last row before ``since`` that meets it, found by grouped subqueries.
    """
    if until is not None:
        queryset = queryset.filter(date__lte=until)
    if since is None:
        return queryset
    meta = queryset.model._meta
    table, key = (connection.ops.quote_name(name) for name in (meta.db_table, meta.pk.column))
    day = connection.ops.quote_name("date")
    picks = [
        f"SELECT account_id, MIN({day}) AS day FROM {table} WHERE {day} < %s GROUP BY account_id"
    ]
    if last_where:
        picks.append(
            f"SELECT account_id, MAX({day}) AS day FROM {table} "
            f"WHERE {day} < %s AND ({last_where}) GROUP BY account_id"
        )
    older = RawSQL(
        f"SELECT t.{key} FROM {table} t JOIN ({' UNION '.join(picks)}) k "
        f"ON t.account_id = k.account_id AND t.{day} = k.day",
        [since] * len(picks),
    )
    return queryset.filter(Q(date__gte=since) | Q(pk__in=older))


def usage_daily(
    columns: Sequence[Column], since: date | None = None, until: date | None = None
) -> pa.Table:
    """Daily usage; every row unless ``since`` or ``until`` is given.

    With ``since``: the rows from that day, plus each account's first row and its last row with
    a login or an active user before it, the two older facts signal detection reads
    (:func:`kizuna.engine.signals_common.history_starts`). ``until`` drops later rows.
    """
    fields = {column.name: column.name for column in columns} | {"customer_id": "account_id"}
    used = "logins > 0 OR active_users > 0"
    dated = _dated_rows(UsageDaily.objects.all(), since, until, used)
    rows = dated.values_list(*(fields[c.name] for c in columns)).order_by()
    return _table(columns, rows.iterator(chunk_size=20000), {"customer_id": _text})


def features(columns: Sequence[Column]) -> pa.Table:
    fields = {column.name: column.name for column in columns} | {"feature": "key"}
    return _table(columns, Feature.objects.values_list(*(fields[c.name] for c in columns)))


def feature_usage(
    columns: Sequence[Column], since: date | None = None, until: date | None = None
) -> pa.Table:
    """Feature use; every row unless ``since`` or ``until`` is given.

    With ``since``: the rows from that day, plus the rows of each account's first day before
    it (its first day seen, which signal detection reads). ``until`` drops later rows.
    """
    fields = {
        "customer_id": "account_id",
        "date": "date",
        "feature": "feature__key",
        "uses": "uses",
    }
    dated = _dated_rows(FeatureUsage.objects.all(), since, until)
    rows = dated.values_list(*(fields[c.name] for c in columns)).order_by()
    return _table(columns, rows.iterator(chunk_size=20000), {"customer_id": _text})


def tickets(columns: Sequence[Column]) -> pa.Table:
    fields = {column.name: column.name for column in columns} | {
        "ticket_id": "pk",
        "customer_id": "account_id",
    }
    rows = Ticket.objects.values_list(*(fields[c.name] for c in columns))
    return _table(
        columns,
        rows,
        {
            "ticket_id": _text,
            "customer_id": _text,
            "opened_at": local_naive,
            "resolved_at": local_naive,
        },
    )


def nps(columns: Sequence[Column]) -> pa.Table:
    fields = {column.name: column.name for column in columns} | {
        "response_id": "pk",
        "customer_id": "account_id",
        "contact_id": "contact_id",
    }
    rows = NpsResponse.objects.values_list(*(fields[c.name] for c in columns))
    return _table(columns, rows, {"response_id": _text, "customer_id": _text, "contact_id": _text})


def activities(columns: Sequence[Column]) -> pa.Table:
    fields = {column.name: column.name for column in columns} | {
        "activity_id": "pk",
        "customer_id": "account_id",
        "contact_id": "contact_id",
    }
    rows = Activity.objects.values_list(*(fields[c.name] for c in columns))
    return _table(
        columns,
        rows,
        {
            "activity_id": _text,
            "customer_id": _text,
            "contact_id": _text,
            "occurred_at": local_naive,
        },
    )


def contacts(columns: Sequence[Column]) -> pa.Table:
    fields = {column.name: column.name for column in columns} | {
        "contact_id": "pk",
        "customer_id": "account_id",
    }
    rows = Contact.objects.values_list(*(fields[c.name] for c in columns))
    return _table(columns, rows, {"contact_id": _text, "customer_id": _text})


def invoices(columns: Sequence[Column]) -> pa.Table:
    fields = {column.name: column.name for column in columns} | {
        "invoice_id": "pk",
        "customer_id": "account_id",
        "subscription_id": "subscription_id",
    }
    rows = Invoice.objects.values_list(*(fields[c.name] for c in columns))
    return _table(
        columns, rows, {"invoice_id": _text, "customer_id": _text, "subscription_id": _text}
    )


def churns(columns: Sequence[Column]) -> pa.Table:
    fields = {column.name: column.name for column in columns} | {"customer_id": "account_id"}
    rows = ChurnRecord.objects.values_list(*(fields[c.name] for c in columns))
    return _table(columns, rows, {"customer_id": _text})


def success_goals(columns: Sequence[Column]) -> pa.Table:
    fields = {column.name: column.name for column in columns} | {
        "goal_id": "pk",
        "customer_id": "account_id",
    }
    rows = SuccessGoal.objects.order_by("pk").values_list(*(fields[c.name] for c in columns))
    # An empty target is stored as "" but read from CSV as missing.
    return _table(
        columns, rows, {"goal_id": _text, "customer_id": _text, "target": lambda v: v or None}
    )
