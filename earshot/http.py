"""One place for earshot's small HTTP servers (`export.serve`, the recorder's page server).

Both need the same few things from `http.server`: a threaded server that knows its URL and
names its address when it cannot bind it, HTTP/1.1 handlers that answer with bytes or JSON
and a correct Content-Length (so that connections stay open between requests), one error type
that carries the status to answer with, and request lines logged through absl at debug level
rather than printed to stderr for every request.
"""

from __future__ import annotations

import http
import http.server
import json
from typing import Any

from absl import logging

from earshot.errors import UserError


class Refused(Exception):
    """A request answered with an error status and a one-line message instead of content."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = http.HTTPStatus(status)


class BindError(UserError, OSError):
    """The server's address cannot be listened on (a busy port, a host not of this machine)."""


class Server(http.server.ThreadingHTTPServer):
    """A threaded HTTP server (one daemon thread per connection) that knows its URL."""

    daemon_threads = True

    def server_bind(self) -> None:
        """Binds, or raises BindError naming the address: the socket's own "Address already in
        use" does not say which port, and a default port is one the user never typed."""
        try:
            super().server_bind()
        except OSError as error:
            host, port = self.server_address[:2]
            raise BindError(f"cannot listen on {host}:{port} ({error.strerror or error}); pick "
                            "another port (0: any free one)") from error

    @property
    def url(self) -> str:
        """`http://host:port/`, with the port the OS picked when bound to port 0."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers with bytes, JSON or a refusal; subclasses implement `do_GET` and friends.

    Class attributes a subclass may set:
      extra_headers: sent with every answer, e.g. {"Cache-Control": "no-store"}.
      json_errors: refusals as `{"error": message}` JSON (for a page's scripts) instead of
        a text/plain line (for curl and tensorflow_hub's error messages).
    """

    protocol_version = "HTTP/1.1"
    extra_headers: dict[str, str] = {}
    json_errors = False

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        logging.debug("%s %s", self.address_string(), format % args)

    def send_bytes(self, status: int, body: bytes, content_type: str,
                   send_body: bool = True) -> None:
        """Answers `status` with `body`; `send_body=False` for HEAD (headers only)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in self.extra_headers.items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def send_json(self, status: int, payload: Any, send_body: bool = True) -> None:
        self.send_bytes(status, json.dumps(payload, indent=2).encode(), "application/json",
                        send_body)

    def send_refusal(self, refused: Refused, send_body: bool = True) -> None:
        """Answers with the refusal's status and message, and logs it as a warning."""
        logging.warning("%s %s refused (%d): %s", self.command, self.path.split("?")[0],
                        refused.status, refused)
        if self.json_errors:
            self.send_json(refused.status, {"error": str(refused)}, send_body)
        else:
            self.send_bytes(refused.status, f"{refused}\n".encode(), "text/plain; charset=utf-8",
                            send_body)
