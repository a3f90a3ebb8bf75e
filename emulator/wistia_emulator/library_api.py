"""api.wistia.com's library endpoints, on the modern Data API (`/modern/...`) and legacy v1
(`/v1/....json`): swap, delete, archive, media updates and background jobs (media_edits.py),
captions (captions_api.py), folders / projects (folders_api.py).

Unlike the media reads in data_api.py, these calls go through the same pipeline as an upload: the
rate limit counts them, the latency applies, and fault rules (matched by `method` and `path` or
`path_pattern`) and random fault rates answer them. Each is in the request log.

Shapes follow Wistia's public OpenAPI (Data API 2026.03.0, github.com/wistia/wistia-typescript-sdk,
`.speakeasy/out.openapi.yaml`). Errors are the modern `{"error": "..."}`; a missing or refused token
gets the modern JSON 401 on /modern and the upload host's HTML 401 on /v1, as data_api.py does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from . import contract
from .catalog import NotFound
from .contract import ApiError
from .messages import UNAUTHORIZED, Response, json_response
from .state import EmulatorState

# The permission a call needs, in Wistia's words (its spec's per-endpoint notes).
WRITE = "Read, update & delete anything"
READ = "Read all folder and media data"
# Which of the emulator's token permissions (state.PERMISSIONS) grant which of Wistia's.
_GRANTS = {"full": (WRITE, READ), "read_only": (READ,), "upload_only": ()}
Params = dict[str, Any]


class Refusal(Exception):
    """An error answer in the modern shape {"error": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Call:
    """One library request, routed: the path's ids and what the handler reads."""

    method: str
    ids: tuple[str, ...]  # the path's captured ids, unquoted
    legacy: bool  # /v1/....json rather than /modern/...
    query: str
    content_type: str
    body: bytes
    accept: str


Handler = Callable[[EmulatorState, Call], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    legacy: bool
    needs: str
    handler: Handler


def routes(method: str, modern: str, legacy: str | None, needs: str, handler: Handler) -> list[Route]:
    """The route on /modern and, when the contract has one, on /v1 (`{id}` is one path segment;
    the v1 path ends in `.json` unless `legacy` says otherwise)."""
    found = [Route(method, _compiled("/modern" + modern), False, needs, handler)]
    if legacy is not None:
        found.append(Route(method, _compiled("/v1" + legacy), True, needs, handler))
    return found


def _compiled(template: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(template)
        .replace(r"\{id\}", r"([^/]+?)")
        .replace(r"\{fmt\}", r"(|\.srt|\.vtt|\.txt|\.json)")
    )


class Router:
    def __init__(self, table: Iterable[Route]) -> None:
        self._table = list(table)

    def find(self, method: str, path: str) -> tuple[Route, tuple[str, ...]] | list[str] | None:
        """The route and the path's ids; else the methods the path allows (a 405); else None."""
        allowed: list[str] = []
        for route in self._table:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return route, tuple(unquote(group) for group in found.groups())
            allowed.append(route.method)
        return allowed or None


def process(state: EmulatorState, route: Route, call: Call, token: str | None) -> Response:
    """The real answer: auth, then the token's permission, then the handler."""
    if token is None:
        return UNAUTHORIZED if route.legacy else refusal(401, "Invalid credentials.")
    if route.needs not in _GRANTS[state.permission(token)]:
        return refusal(403, f"This token does not have the permission: {route.needs}")
    try:
        return route.handler(state, call)
    except Refusal as exc:
        return refusal(exc.status, exc.message)


def refusal(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def body(call: Call) -> Params:
    """The request's parameters: a JSON object, or form / multipart fields (repeated `name[]`
    fields become lists)."""
    media_type = call.content_type.partition(";")[0].strip().lower()
    if media_type == "application/json" or (not media_type and call.body.lstrip().startswith(b"{")):
        try:
            data = json.loads(call.body) if call.body.strip() else {}
        except ValueError:
            raise Refusal(400, "The body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise Refusal(400, "The body must be a JSON object.")
        return data
    if media_type == "application/x-www-form-urlencoded":
        return _form(contract.parse_pairs(call.body.decode("latin-1")))
    try:
        fields, _ = contract.parse_body(call.content_type, call.body)
    except ApiError as exc:
        raise Refusal(400, exc.detail) from None
    return dict(fields)


def _form(pairs: list[tuple[str, str]]) -> Params:
    params: Params = {}
    for name, value in pairs:
        if name.endswith("[]"):
            params.setdefault(name[:-2], []).append(value)
        else:
            params[name] = value
    return params


def hashed_ids(params: Params, name: str) -> list[str]:
    value = params.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise Refusal(400, f"{name} must be an array of media hashed IDs.")
    return value


def media_missing(hashed_id: str) -> Refusal:
    return Refusal(404, f"Media with ID '{hashed_id}' not found.")


def in_books(state: EmulatorState, change: Callable[[Any], Any], missing: Callable[[str], Refusal]) -> Any:
    """`state.transact(change)`, a NotFound turned into the refusal `missing` gives."""
    try:
        return state.transact(change)
    except NotFound as exc:
        raise missing(str(exc)) from None
