"""Messages that leave the store: e-mail and chat webhooks, sent after the run's commit.

An e-mail or chat action writes a *pending* log line inside the run's transaction; once that
commits, :func:`deliver_pending` sends it. A crash in between leaves the line pending and the
next run sends it, and a line is claimed before sending, so a message goes out at most once
per alert even with two workers.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from kizuna.playbooks import actions
from kizuna.playbooks.models import ActionLog, Outcome

# A chat service that is briefly down (HTTP 5xx, 429, a refused connection) usually recovers
# within seconds; three attempts with doubling pauses ride that out without holding a run long.
CHAT_ATTEMPTS = 3
CHAT_FIRST_PAUSE_SECONDS = 0.5
CHAT_TIMEOUT_SECONDS = 10.0


class DeliveryError(Exception):
    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.retry = retry


def post_json(url: str, payload: dict[str, Any], timeout: float = CHAT_TIMEOUT_SECONDS) -> int:
    """POST ``payload`` as JSON to ``url``; the HTTP status. The one place that calls out."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise DeliveryError(f"cannot reach {url}: {error}", retry=True) from None


@dataclass(frozen=True)
class Sent:
    attempts: int
    message: str


def send_chat(
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = CHAT_ATTEMPTS,
    first_pause: float = CHAT_FIRST_PAUSE_SECONDS,
    post: Callable[[str, dict[str, Any]], int] = post_json,
) -> Sent:
    """Send a Slack-compatible message, retrying server errors and unreachable hosts."""
    pause = first_pause
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            status = post(url, payload)
        except DeliveryError as error:
            last = str(error)
        else:
            if 200 <= status < 300:
                return Sent(attempt, f"HTTP {status}")
            last = f"HTTP {status}"
            if status != 429 and status < 500:
                raise DeliveryError(last, retry=False)
        if attempt < attempts:
            time.sleep(pause)
            pause *= 2
    raise DeliveryError(f"{last} after {attempts} attempts", retry=True)


def chat_payload(text: str, fields: dict[str, str]) -> dict[str, Any]:
    """Slack-compatible: ``text`` for any service, ``blocks`` for those that show them."""
    lines = "\n".join(f"*{name}*: {value}" for name, value in fields.items())
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            *([{"type": "section", "text": {"type": "mrkdwn", "text": lines}}] if lines else []),
        ],
    }


def _deliver_chat(entry: ActionLog) -> Sent:
    detail = entry.detail
    return send_chat(detail["url"], detail["payload"])


def _deliver_email(entry: ActionLog) -> Sent:
    detail = entry.detail
    sent = send_mail(
        subject=detail["subject"],
        message=detail["body"],
        from_email=detail.get("from") or settings.DEFAULT_FROM_EMAIL,
        recipient_list=list(detail["to"]),
        fail_silently=False,
    )
    return Sent(1, f"sent to {sent} recipient list(s)")


DELIVERERS: dict[str, Callable[[ActionLog], Sent]] = {
    "chat": _deliver_chat,
    "email": _deliver_email,
}


# Lines claimed and recorded per transaction: a few statements for a whole batch.
DELIVERY_BATCH = 200


def _send(entry: ActionLog) -> bool:
    """Send one claimed line and note how it went on it (saved by the caller); never raises."""
    try:
        sent = DELIVERERS[entry.action](entry)
    except DeliveryError as error:
        entry.outcome, entry.message, entry.attempts = Outcome.FAILED, str(error), CHAT_ATTEMPTS
        return False
    except Exception as error:  # a mail server or webhook failing must not stop the run
        entry.outcome, entry.message = Outcome.FAILED, f"{type(error).__name__}: {error}"
        entry.attempts = 1
        return False
    entry.outcome, entry.message, entry.attempts = Outcome.DONE, sent.message, sent.attempts
    return True


def deliver_pending() -> tuple[int, int]:
    """Send every pending e-mail and chat message; (delivered, failed).

    Lines are claimed a batch at a time (each by exactly one worker), sent, and their outcomes
    saved together.
    """
    delivered = failed = 0
    while True:
        pending, claimed = actions.claim_deliveries(list(DELIVERERS), DELIVERY_BATCH)
        if not pending:
            return delivered, failed
        for entry in claimed:
            if _send(entry):
                delivered += 1
            else:
                failed += 1
        actions.finish_deliveries(claimed)
