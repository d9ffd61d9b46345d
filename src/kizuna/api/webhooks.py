"""Outgoing webhooks: signed event payloads, retried with backoff, every attempt logged.

Code that changes something a receiver cares about calls :func:`emit` (inside its own
transaction, so an event of a rolled-back change is never sent); ``kizuna webhooks deliver``
(run every minute or so) calls :func:`deliver_due`, which sends what is due.

Each request is a JSON ``POST`` with the header ``X-Kizuna-Signature: t=<unix time>,v1=<hex>``,
the HMAC-SHA256 with the endpoint's secret of ``<unix time>.<body>``; receivers check it with
:func:`verify_signature` (or its few lines in their own language) and reject old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from kizuna.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

ALERT_CREATED = "alert.created"
HEALTH_BAND_CHANGED = "health.band_changed"
DEAL_STAGE_CHANGED = "deal.stage_changed"
EVENTS = (ALERT_CREATED, HEALTH_BAND_CHANGED, DEAL_STAGE_CHANGED)
ALL_EVENTS = "*"

SIGNATURE_HEADER = "X-Kizuna-Signature"
# Doubling from one minute, nine attempts span about four hours: long enough to ride out a
# receiver's deploy or outage, short enough that an alert is not acted on a day late.
FIRST_RETRY = timedelta(minutes=1)
MAX_ATTEMPTS = 9
# A receiver should answer quickly and do its work afterwards; a slow one is retried.
REQUEST_TIMEOUT_SECONDS = 10
# Receivers reject signatures older than this, so a captured request cannot be replayed later.
SIGNATURE_TOLERANCE = timedelta(minutes=5)
# Deliveries sent per run: bounded so that one run ends well before the next starts.
BATCH = 200
ERROR_LENGTH = 1000


class UnknownEvent(ValueError):
    pass


def emit(
    event: str, payload: Mapping[str, Any], *, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Record ``event`` for every active endpoint subscribed to it; sent by :func:`deliver_due`.

    ``payload`` is the event's data (JSON-serialisable; decimals and dates are written as
    strings). Each delivery's body carries a unique ``id`` receivers can de-duplicate on.
    """
    return emit_many(event, [payload], now=now)


def emit_many(
    event: str, payloads: Sequence[Mapping[str, Any]], *, now: datetime | None = None
) -> list[WebhookDelivery]:
    """:func:`emit` for many events of one kind at once (one query, one bulk insert)."""
    if event not in EVENTS:
        raise UnknownEvent(event)
    now = now or timezone.now()
    deliveries = []
    with transaction.atomic():
        for endpoint in WebhookEndpoint.objects.filter(active=True).order_by("pk"):
            if event not in endpoint.events and ALL_EVENTS not in endpoint.events:
                continue
            for payload in payloads:
                body = {
                    "id": str(uuid.uuid4()),
                    "event": event,
                    "created_at": now.isoformat(),
                    "data": dict(payload),
                }
                deliveries.append(
                    WebhookDelivery(
                        endpoint=endpoint, event=event, payload=body, next_attempt_at=now
                    )
                )
        WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    return deliveries


def body_bytes(delivery: WebhookDelivery) -> bytes:
    """The request body; the same bytes on every attempt."""
    return json.dumps(
        delivery.payload, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True
    ).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Kizuna-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes, *, now: datetime | None = None) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and is recent enough."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    moment = (now or timezone.now()).timestamp()
    if abs(moment - timestamp) > SIGNATURE_TOLERANCE.total_seconds():
        return False
    expected = sign(secret, timestamp, body).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones."""
    return FIRST_RETRY * 2 ** (attempts - 1)


@dataclass(frozen=True)
class DeliveryRun:
    delivered: int
    retrying: int
    failed: int


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    response_code: int | None
    error: str


def _post(url: str, body: bytes, signature: str, event: str) -> _Outcome:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Kizuna-Webhooks/1",
            "X-Kizuna-Event": event,
            SIGNATURE_HEADER: signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return _Outcome(200 <= response.status < 300, response.status, "")
    except urllib.error.HTTPError as error:
        return _Outcome(False, error.code, f"HTTP {error.code} {error.reason}")
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return _Outcome(False, None, str(reason))


def deliver_due(*, now: datetime | None = None) -> DeliveryRun:
    """Send every pending delivery whose time has come; record each outcome."""
    moment = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=moment)
        .select_related("endpoint")
        .order_by("next_attempt_at", "pk")[:BATCH]
    )
    delivered = retrying = failed = 0
    for delivery in due:
        if not _claim(delivery, moment):
            continue  # another run took it
        body = body_bytes(delivery)
        signature = sign(delivery.endpoint.secret, int(moment.timestamp()), body)
        outcome = _post(delivery.endpoint.url, body, signature, delivery.event)
        status = record_attempt(delivery, outcome.ok, outcome.response_code, outcome.error, moment)
        if status == DeliveryStatus.DELIVERED:
            delivered += 1
        elif status == DeliveryStatus.FAILED:
            failed += 1
        else:
            retrying += 1
    return DeliveryRun(delivered, retrying, failed)


def _claim(delivery: WebhookDelivery, moment: datetime) -> bool:
    """Take a due delivery for this run: a concurrent run finds it no longer due (and if this
    run dies mid-request, the delivery is due again once the claim lapses)."""
    claim_until = moment + timedelta(seconds=REQUEST_TIMEOUT_SECONDS * 3)
    taken = WebhookDelivery.objects.filter(
        pk=delivery.pk,
        status=DeliveryStatus.PENDING,
        next_attempt_at=delivery.next_attempt_at,
    ).update(next_attempt_at=claim_until)
    return taken == 1


@transaction.atomic
def record_attempt(
    delivery: WebhookDelivery,
    ok: bool,
    response_code: int | None,
    error: str,
    moment: datetime,
) -> str:
    """Log one attempt: delivered, retried later (with backoff) or, after the last, failed."""
    delivery.attempts += 1
    delivery.response_code = response_code
    delivery.error = error[:ERROR_LENGTH]
    if ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = moment
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = moment + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts",
            "response_code",
            "error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return delivery.status
