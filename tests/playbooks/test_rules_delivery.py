"""Chat webhooks: Slack-compatible JSON, retried, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from playbook_store import at, in_english, make_account, make_people, only_rules, usage_drop  # noqa: F401

from kizuna.playbooks.delivery import DeliveryError, send_chat
from kizuna.playbooks.models import ActionLog, Outcome, PlaybookSettings, Rule
from kizuna.playbooks.runner import run_playbooks


class Hook:
    def __init__(self, statuses: list[int]):
        self.statuses = statuses
        self.received: list[dict[str, Any]] = []


@pytest.fixture
def hook() -> Iterator[tuple[str, Hook]]:
    state = Hook([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.received.append(json.loads(self.rfile.read(length)))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", state
    server.shutdown()
    server.server_close()


def test_send_chat_retries_server_errors(hook: tuple[str, Hook]) -> None:
    url, state = hook
    state.statuses = [500, 503]
    sent = send_chat(url, {"text": "hello"}, first_pause=0.01)
    assert (sent.attempts, sent.message) == (3, "HTTP 200")
    assert state.received == [{"text": "hello"}] * 3


def test_send_chat_gives_up_on_client_errors_at_once(hook: tuple[str, Hook]) -> None:
    url, state = hook
    state.statuses = [404]
    with pytest.raises(DeliveryError, match="HTTP 404"):
        send_chat(url, {"text": "hello"}, first_pause=0.01)
    assert len(state.received) == 1


def test_send_chat_to_a_closed_port_fails_after_retries() -> None:
    with pytest.raises(DeliveryError, match="after 2 attempts"):
        send_chat("http://127.0.0.1:9/hook", {"text": "x"}, attempts=2, first_pause=0.01)


@pytest.mark.django_db
def test_a_rule_posts_to_the_chat_webhook_once(hook: tuple[str, Hook]) -> None:
    url, state = hook
    state.statuses = [500]
    people = make_people()
    usage_drop(make_account("Acme", people.aiko), date(2024, 7, 12))
    only_rules("usage-drop")
    rule = Rule.objects.get(key="usage-drop")
    rule.actions = [{"type": "chat", "text": "Usage drop at {account}"}]
    rule.save()
    PlaybookSettings.objects.create(chat_webhook_url=url)

    run_playbooks(date(2024, 7, 12), now=at(date(2024, 7, 12)))
    run_playbooks(date(2024, 7, 12), now=at(date(2024, 7, 12)))

    assert len(state.received) == 2  # one failure, one retry; the second run sends nothing
    assert state.received[-1]["text"] == "Usage drop at Acme"
    assert state.received[-1]["blocks"][0]["text"]["text"] == "Usage drop at Acme"
    entry = ActionLog.objects.get(action="chat")
    assert (entry.outcome, entry.attempts, entry.message) == (Outcome.DONE, 2, "HTTP 200")
