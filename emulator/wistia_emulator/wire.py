"""HTTP framing: the threaded HTTP/1.1 server, reading requests, writing responses, faults on the wire.

The server hands each request to one of two callables (the control API or the Wistia API) and
applies what they return: write a response, drop the connection, or stall and then answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .messages import Drop, Exchange, Outcome, Request, Response, Stall, error

_BODYLESS_STATUSES = (204, 304)  # RFC 9110: these responses never carry content
_MAX_LINE = 65537  # a chunk-size or trailer line longer than this is not HTTP


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping in a fault must never keep the process alive

    def __init__(
        self,
        address: tuple[str, int],
        *,
        control_prefix: str,
        control: Callable[[Request], Response],
        api: Callable[[Request], Exchange],
        stopping: threading.Event,
    ) -> None:
        self.control_prefix = control_prefix
        self.control = control
        self.api = api
        self.stopping = stopping  # set by stop(): wakes stalled handlers
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """End every keep-alive connection, so no handler thread answers after stop()."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            _shutdown(connection)


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked reading the next request


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    timeout = 120  # seconds an idle keep-alive connection stays open
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)
        if self.server.stopping.is_set():
            _shutdown(self.connection)  # accepted while stop() was closing connections

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def handle(self) -> None:
        # The client went away, or stop() closed the connection: nothing left to answer.
        with contextlib.suppress(OSError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and benchmarks read the request log instead (and it never holds tokens)."""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True  # the framing is lost: the next request cannot be found
            self._write(error(400, "invalid_request", "unreadable Content-Length or chunked body"))
            return
        if body is None:
            self.close_connection = True  # the client hung up mid-body
            return
        request = Request(
            method=self.command,
            target=self.path,
            content_type=self.headers.get("Content-Type", ""),
            authorization=self.headers.get("Authorization"),
            body=body,
            peer=(self.client_address[0], self.client_address[1]),
            accept=self.headers.get("Accept", ""),
        )
        if urlsplit(self.path).path.startswith(self.server.control_prefix):
            self._write(self.server.control(request))
        else:
            exchange = self.server.api(request)
            self._deliver(exchange.outcome, exchange.answered)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        body = self.rfile.read(length)
        return body if len(body) == length else None

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        while True:
            line = self.rfile.readline(_MAX_LINE)
            if not line:
                return None
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields: nothing here uses them
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _deliver(self, outcome: Outcome, answered: Callable[[int], None]) -> None:
        if isinstance(outcome, Stall):
            if self.server.stopping.wait(outcome.seconds):
                self.close_connection = True
                return
            outcome = outcome.then
        if isinstance(outcome, Drop):
            self.close_connection = True  # the client sees the connection end without an answer
            return
        answered(outcome.status)
        self._write(outcome)

    def _write(self, response: Response) -> None:
        """The whole response in one write: separate header and body writes stall on delayed ACKs."""
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        lines = [
            f"HTTP/1.1 {response.status} {phrase}",
            "Server: wistia-emulator",
            f"Date: {self.date_time_string()}",
        ]
        body = response.body
        if response.status in _BODYLESS_STATUSES:
            body = b""
        else:
            lines += [f"Content-Type: {response.content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in response.headers]
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")  # HTTP/1.0 clients (ab) asked for it explicitly
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body)
