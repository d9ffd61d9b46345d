"""Bulk usage ingestion through the API, exactly once per idempotency key.

Counters (logins, API calls, page views) are *added* to the day's totals, so events can be
sent as they happen; gauges (active users, seats in use, active departments) *replace* the
day's value when given. Adding makes a duplicated request harmful, hence the key: the key row
is inserted in the same transaction as the usage it records, and a unique constraint lets only
one request per user and key ever commit. A retry, or a concurrent twin that waited on the
constraint, gets the stored response back instead of counting again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext

from kizuna.api.errors import ApiError
from kizuna.api.models import IdempotencyKey
from kizuna.api.schemas import UsageIn
from kizuna.crm.access import visible_accounts
from kizuna.usage.models import UsageDaily

COUNTERS = (
    "logins",
    "api_calls",
    "pricing_page_views",
    "competitor_page_views",
    "new_feature_page_views",
)
GAUGES = ("active_users", "active_users_30d", "seats_in_use", "departments_active")
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class IngestResult:
    status: int
    body: dict[str, Any]


def request_hash(rows: Sequence[UsageIn]) -> str:
    payload = json.dumps([row.model_dump(mode="json") for row in rows], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def ingest_usage(user: AbstractBaseUser, key: str, rows: Sequence[UsageIn]) -> IngestResult:
    """Apply ``rows`` once for ``(user, key)``; later calls with the key replay the answer."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise ApiError(
            400,
            "idempotency_key_required",
            gettext("Send an 'Idempotency-Key' header of 1 to 200 characters."),
        )
    fingerprint = request_hash(rows)
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user_id=user.pk, key=key, request_hash=fingerprint
            )
            body = _apply(user, rows)
            record.response = body
            record.save(update_fields=["response"])
            return IngestResult(200, body | {"replayed": False})
    except IntegrityError:
        pass
    stored = IdempotencyKey.objects.get(user_id=user.pk, key=key)
    if stored.request_hash != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            gettext("This Idempotency-Key was already used for a different request."),
        )
    return IngestResult(stored.status_code, stored.response | {"replayed": True})


def _apply(user: AbstractBaseUser, rows: Sequence[UsageIn]) -> dict[str, Any]:
    wanted = {row.account_id for row in rows}
    visible = set(visible_accounts(user).filter(pk__in=wanted).values_list("pk", flat=True))
    unknown = sorted(wanted - visible)
    if unknown:
        raise ApiError(
            404,
            "account_not_found",
            gettext("No account you can see has id %(ids)s.")
            % {"ids": ", ".join(str(pk) for pk in unknown)},
        )
    seen: set[tuple[int, Any]] = set()
    for index, row in enumerate(rows):
        if (row.account_id, row.date) in seen:
            raise ApiError(
                422,
                "duplicate_row",
                gettext("rows[%(index)d] repeats account %(account)d on %(date)s")
                % {"index": index, "account": row.account_id, "date": row.date},
            )
        seen.add((row.account_id, row.date))
    created = updated = 0
    for row in rows:
        gauges = {name: getattr(row, name) for name in GAUGES if getattr(row, name) is not None}
        counters = {name: getattr(row, name) for name in COUNTERS}
        existing = UsageDaily.objects.select_for_update().filter(
            account_id=row.account_id, date=row.date
        )
        if existing.exists():
            existing.update(**{name: F(name) + value for name, value in counters.items()}, **gauges)
            updated += 1
        else:
            UsageDaily.objects.create(
                account_id=row.account_id, date=row.date, **counters, **gauges
            )
            created += 1
    return {"rows": len(rows), "created": created, "updated": updated}
