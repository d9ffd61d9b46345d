"""The signals a playbook run detected, kept per day for readers that must not detect again.

``store_signals`` replaces the day's rows in one transaction: the earlier run's rows go, this
run's come in (in batches), so a re-run of a day never duplicates and a reader sees one run's
detection whole. Rows of customers the store has no account for (synthetic benchmark inputs)
are left out, as matching leaves them out.
"""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
from django.db import transaction

from kizuna.crm.models import Account
from kizuna.engine.signals import SIGNAL_DETECTORS
from kizuna.playbooks.models import DetectedSignal, RunLog

# Rows per INSERT: few statements for a large day, small enough for every database's limit on
# query parameters (10 columns a row).
SIGNAL_BATCH = 2000

# The run's count of stored signals: a run whose counts have it stored its day, even with none.
STORED_COUNT = "signals_stored"


def store_signals(as_of: date, detected: pa.Table | None, run: RunLog | None) -> int:
    """Replace the signals stored as of ``as_of`` with ``detected``; return how many are kept."""
    rows = [] if detected is None else detected.to_pylist()
    accounts = set(Account.objects.values_list("pk", flat=True)) if rows else set()
    stored = [
        DetectedSignal(
            account_id=int(row["customer_id"]),
            signal=row["signal"],
            kind=SIGNAL_DETECTORS[row["signal"]].kind,
            level=row["level"] or "",
            occurrence=row["occurrence"],
            occurred_on=row["occurred_on"],
            as_of=as_of,
            detail=json.loads(row["detail"]) if row["detail"] else {},
            run=run,
        )
        for row in rows
        if int(row["customer_id"]) in accounts
    ]
    with transaction.atomic():
        DetectedSignal.objects.filter(as_of=as_of).delete()
        # A run of the same day committing meanwhile inserted the same detection: skip it.
        DetectedSignal.objects.bulk_create(stored, batch_size=SIGNAL_BATCH, ignore_conflicts=True)
    return len(stored)


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
