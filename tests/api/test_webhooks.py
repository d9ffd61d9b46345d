"""Outgoing webhooks against a real local receiver: signatures, retries with backoff, the log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command

from kizuna.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from kizuna.api.webhooks import (
    ALERT_CREATED,
    DEAL_STAGE_CHANGED,
    HEALTH_BAND_CHANGED,
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    UnknownEvent,
    deliver_due,
    emit,
    verify_signature,
)

SECRET = "whsec_test_1234"
T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


@dataclass
class Receiver:
    """Answers with the queued status codes (then 200) and keeps every request."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def endpoint(url: str, events: list[str], active: bool = True) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=url, secret=SECRET, events=events, active=active)


@pytest.mark.django_db
def test_a_failing_then_recovering_endpoint_gets_the_same_signed_body(
    receiver: Receiver,
) -> None:
    endpoint(receiver.url, [ALERT_CREATED])
    receiver.statuses = [500]
    (delivery,) = emit(ALERT_CREATED, {"account_id": 7, "mrr": Decimal("1200.50")}, now=T0)

    first = deliver_due(now=T0)
    delivery.refresh_from_db()
    assert (first.delivered, first.retrying, first.failed) == (0, 1, 0)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.error == "HTTP 500 Internal Server Error"
    assert delivery.next_attempt_at == T0 + timedelta(minutes=1)
    assert deliver_due(now=T0 + timedelta(seconds=59)).retrying == 0  # not due yet
    assert len(receiver.received) == 1

    second = deliver_due(now=T0 + timedelta(minutes=1))
    delivery.refresh_from_db()
    assert (second.delivered, delivery.status, delivery.attempts) == (1, "delivered", 2)
    assert (delivery.response_code, delivery.error, delivery.next_attempt_at) == (200, "", None)
    assert delivery.delivered_at == T0 + timedelta(minutes=1)

    (_first_headers, body1), (headers2, body2) = receiver.received
    assert body1 == body2
    payload = json.loads(body2)
    assert payload["event"] == "alert.created"
    assert payload["data"] == {"account_id": 7, "mrr": "1200.50"}
    assert payload["id"] == delivery.payload["id"]
    assert headers2["X-Kizuna-Event"] == "alert.created"
    signature = headers2[SIGNATURE_HEADER]
    assert signature.startswith(f"t={int((T0 + timedelta(minutes=1)).timestamp())},v1=")
    assert verify_signature(SECRET, signature, body2, now=T0 + timedelta(minutes=1))
    assert not verify_signature("other-secret", signature, body2, now=T0 + timedelta(minutes=1))
    assert not verify_signature(SECRET, signature, body2 + b" ", now=T0 + timedelta(minutes=1))
    assert not verify_signature(SECRET, signature, body2, now=T0 + timedelta(minutes=30))


@pytest.mark.django_db
def test_backoff_doubles_and_the_last_failure_is_final(receiver: Receiver) -> None:
    endpoint(receiver.url, ["*"])
    receiver.statuses = [503] * MAX_ATTEMPTS
    (delivery,) = emit(DEAL_STAGE_CHANGED, {"deal_id": 3, "from": "proposal", "to": "won"}, now=T0)
    moment = T0
    waits = []
    for _attempt in range(MAX_ATTEMPTS):
        deliver_due(now=moment)
        delivery.refresh_from_db()
        if delivery.next_attempt_at is None:
            break
        waits.append(delivery.next_attempt_at - moment)
        moment = delivery.next_attempt_at
    assert waits == [timedelta(minutes=2**n) for n in range(MAX_ATTEMPTS - 1)]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert deliver_due(now=moment + timedelta(days=1)).failed == 0
    assert len(receiver.received) == MAX_ATTEMPTS


@pytest.mark.django_db
def test_only_active_subscribed_endpoints_get_an_event(receiver: Receiver) -> None:
    alerts = endpoint(receiver.url, [ALERT_CREATED])
    everything = endpoint(receiver.url, ["*"])
    endpoint(receiver.url, [HEALTH_BAND_CHANGED], active=False)
    emit(HEALTH_BAND_CHANGED, {"account_id": 1, "from": "green", "to": "yellow"})
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [everything.pk]
    emit(ALERT_CREATED, {"alert_id": 5})
    assert sorted(WebhookDelivery.objects.values_list("endpoint_id", "event")) == sorted(
        [
            (everything.pk, HEALTH_BAND_CHANGED),
            (alerts.pk, ALERT_CREATED),
            (everything.pk, ALERT_CREATED),
        ]
    )
    with pytest.raises(UnknownEvent):
        emit("account.deleted", {})


@pytest.mark.django_db
def test_an_unreachable_endpoint_is_logged_and_the_command_reports(receiver: Receiver) -> None:
    endpoint("http://127.0.0.1:9/unreachable", [ALERT_CREATED])
    endpoint(receiver.url, [ALERT_CREATED])
    emit(ALERT_CREATED, {"alert_id": 1})
    out = StringIO()
    call_command("webhooks", "deliver", stdout=out)
    assert out.getvalue().strip() == "1 delivered, 1 to retry, 0 failed"
    failed = WebhookDelivery.objects.get(endpoint__url__endswith="/unreachable")
    assert failed.response_code is None and failed.error != "" and failed.attempts == 1
