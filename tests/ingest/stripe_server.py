"""A local HTTP server answering Stripe API list requests with recorded responses.

Responses are JSON files in one folder: ``customers.json`` answers ``GET /v1/customers``, and
``customers.after.cus_B.json`` the next page (``starting_after=cus_B``). A list with no file is
empty. Every request is kept (path and query), so tests can check what the client asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

API_KEY = "sk_test_recorded"


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]


@dataclass
class StripeServer:
    folder: Path
    url: str = ""
    requests: list[Request] = field(default_factory=list)

    def asked(self, path: str) -> list[dict[str, list[str]]]:
        return [request.query for request in self.requests if request.path == path]


def _handler(server: StripeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            server.requests.append(Request(parts.path, query))
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                error = {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
                self._send(401, error)
                return
            name = parts.path.removeprefix("/v1/")
            after = query.get("starting_after")
            file = server.folder / (f"{name}.after.{after[0]}.json" if after else f"{name}.json")
            if file.is_file():
                self._send(200, json.loads(file.read_text(encoding="utf-8")))
            else:
                self._send(
                    200, {"object": "list", "data": [], "has_more": False, "url": parts.path}
                )

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_recorded")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


@contextmanager
def serve(folder: Path) -> Iterator[StripeServer]:
    state = StripeServer(folder)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
