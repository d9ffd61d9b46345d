"""The signals a playbook run detected, kept per day for readers that must not detect again.

``store_signals`` replaces the day's rows in one transaction: the earlier run's rows go, this
run's come in, so a re-run of a day never duplicates and a reader sees one run's detection
whole. Rows of customers the store has no account for (synthetic benchmark inputs) are left
out, as matching leaves them out.

A day is hundreds of thousands of rows at 100,000 accounts, so they are written the way health
scores are: one prepared ``INSERT`` executed for every row of a batch (``executemany``) on
values adapted by the database backend, without model instances. The engine's ``detail`` is
already JSON text and is stored as it is (the database checks it is JSON), not decoded and
encoded again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import repeat
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection, transaction
from django.db.models import Field

from kizuna.core.row_updates import insert_statement
from kizuna.crm.models import Account
from kizuna.engine.signals import SIGNAL_DETECTORS
from kizuna.playbooks.models import DetectedSignal, RunLog

# Rows per ``executemany``: bounds the memory of the prepared values of a large day.
SIGNAL_BATCH = 5000

# The run's count of stored signals: a run whose counts have it stored its day, even with none.
STORED_COUNT = "signals_stored"

STORED_FIELDS = (
    "account",
    "signal",
    "kind",
    "level",
    "occurrence",
    "occurred_on",
    "as_of",
    "detail",
    "run",
)


def store_signals(as_of: date, detected: pa.Table | None, run: RunLog | None) -> int:
    """Replace the signals stored as of ``as_of`` with ``detected``; return how many are kept."""
    kept = _known_accounts(detected)
    with transaction.atomic():
        DetectedSignal.objects.filter(as_of=as_of).delete()
        if kept is not None:
            _insert(_batches(kept, as_of, run))
    return 0 if kept is None else kept.num_rows


def _known_accounts(detected: pa.Table | None) -> pa.Table | None:
    """The detected rows of accounts in the store, ``customer_id`` as the account's key."""
    if detected is None or not detected.num_rows:
        return None
    ids = pc.cast(detected.column("customer_id"), pa.int64())
    known = pa.array(Account.objects.values_list("pk", flat=True), pa.int64())
    table = detected.set_column(
        detected.column_names.index("customer_id"), "customer_id", ids
    ).filter(pc.is_in(ids, value_set=known))
    # In the order of the day's unique index: each insert lands next to the one before.
    order = [("customer_id", "ascending"), ("signal", "ascending"), ("occurrence", "ascending")]
    return table.sort_by(order) if table.num_rows else None


def _batches(table: pa.Table, as_of: date, run: RunLog | None) -> Iterator[list[tuple[Any, ...]]]:
    """Database-ready values of :data:`STORED_FIELDS`, one tuple per detected row, in batches
    of :data:`SIGNAL_BATCH` rows. Columns are prepared whole (the few distinct dates adapted
    once each), so no Python code runs per value."""
    ops = connection.ops
    kinds = {name: detector.kind for name, detector in SIGNAL_DETECTORS.items()}
    for batch in table.to_batches(SIGNAL_BATCH):
        signals = batch.column("signal").to_pylist()
        occurred_on = batch.column("occurred_on").to_pylist()
        days = {value: ops.adapt_datefield_value(value) for value in set(occurred_on)}
        detail = batch.column("detail")
        yield list(
            zip(
                batch.column("customer_id").to_pylist(),
                signals,
                map(kinds.__getitem__, signals),
                pc.fill_null(batch.column("level"), "").to_pylist(),
                batch.column("occurrence").to_pylist(),
                map(days.__getitem__, occurred_on),
                repeat(ops.adapt_datefield_value(as_of)),
                # No detail is an empty object, as the model's default.
                pc.if_else(pc.equal(pc.fill_null(detail, ""), ""), "{}", detail).to_pylist(),
                repeat(None if run is None else run.pk),
                strict=False,
            )
        )


def _insert(batches: Iterator[list[tuple[Any, ...]]]) -> None:
    """INSERT the rows, skipping any a run of the same day committing meanwhile inserted."""
    meta = DetectedSignal._meta
    fields = [field for name in STORED_FIELDS if isinstance(field := meta.get_field(name), Field)]
    # The detail is JSON text: PostgreSQL is told it is jsonb, SQLite checks it is JSON.
    placeholders = [
        "CAST(%s AS jsonb)" if name == "detail" and connection.vendor == "postgresql" else "%s"
        for name in STORED_FIELDS
    ]
    sql = insert_statement(
        connection, DetectedSignal, fields, ignore_conflicts=True, placeholders=placeholders
    )
    with connection.cursor() as cursor:
        for batch in batches:
            cursor.executemany(sql, batch)


def latest_stored_day() -> date | None:
    """The most recent day a run stored its signals for, even none (None before the first)."""
    days = [
        RunLog.objects.filter(counts__has_key=STORED_COUNT)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first(),
        DetectedSignal.objects.order_by("-as_of").values_list("as_of", flat=True).first(),
    ]
    return max((day for day in days if day is not None), default=None)
