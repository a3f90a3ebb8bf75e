"""What passes between the wire and the rest of the emulator: a request in, an outcome out.

An outcome is a value the wire applies: a response to write, a connection to drop, or a stall
before a response. Nothing here touches a socket.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .faults import FaultRule

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
_UNAUTHORIZED_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>401 Unauthorized</title></head>"
    b"<body><h1>Unauthorized</h1><p>Check your access token.</p></body></html>\n"
)

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    """One request as read off the wire, body included."""

    method: str
    target: str  # path and query, as sent
    content_type: str
    authorization: str | None
    body: bytes
    peer: tuple[str, int]
    accept: str = ""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: Headers = ()


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""


@dataclass(frozen=True)
class Stall:
    """Hold the connection for `seconds` (or until the emulator stops), then answer `then`."""

    seconds: float
    then: Response


Outcome = Response | Drop | Stall


@dataclass(frozen=True)
class Exchange:
    """An outcome and how to record the status the wire really sent."""

    outcome: Outcome
    answered: Callable[[int], None]


def json_response(status: int, data: Any, headers: Headers = ()) -> Response:
    return Response(status, json.dumps(data).encode("utf-8"), JSON_TYPE, headers)


def error(status: int, code: str, detail: str, headers: Headers = ()) -> Response:
    """The nested error shape {"error": {"code": ..., "detail": ...}}."""
    return json_response(status, {"error": {"code": code, "detail": detail}}, headers)


UNAUTHORIZED = Response(401, _UNAUTHORIZED_HTML, HTML_TYPE)


def fault_response(rule: FaultRule) -> Response:
    """The answer of a status fault: its body, or a nested error (HTML for 401, like the real one)."""
    status = int(rule.action)
    headers = tuple(rule.headers.items())
    if rule.retry_after is not None:
        headers += (("Retry-After", str(rule.retry_after)),)
    if rule.body is None:
        injected = error(status, "injected_fault", f"injected HTTP {status}")
        default = UNAUTHORIZED if status == 401 else injected
        body, content_type = default.body, default.content_type
    elif isinstance(rule.body, str):
        body, content_type = rule.body.encode("utf-8"), TEXT_TYPE
    else:
        body, content_type = json.dumps(rule.body).encode("utf-8"), JSON_TYPE
    return Response(status, body, rule.content_type or content_type, headers)
