"""The Wistia-facing endpoints: record each call, route it, and choose its fault.

Data API reads answer at once; upload calls wait the configured latency, then get the fault the
config picks (if any), before, after or instead of their real processing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import account_api, captions_api, contract, data_api, folders_api, library_api, media_edits
from .contract import ApiError, Upload
from .faults import FaultRule
from .messages import Drop, Exchange, Outcome, Request, Response, Stall, error, fault_response
from .state import EmulatorState
from .uploads import S3_COPY_PATH, UPLOAD_PATH, Uploads


@dataclass(frozen=True)
class _Call:
    """An API request, parsed: what the upload host reads from it."""

    path: str
    params: dict[str, str]  # query and form fields; the body wins (the Upload API docs)
    upload: Upload | None
    token: str | None
    problem: ApiError | None  # why the parameters could not be read, answered after auth


# The library endpoints (library_api.py), in the order their paths are tried.
LIBRARY = library_api.Router(
    [*media_edits.ROUTES, *captions_api.ROUTES, *folders_api.ROUTES, *media_edits.LEGACY_ROUTES]
)
# The real work of a faultable call: its answer and the hashed_id of the media it created.
Work = Callable[[], tuple[Response, str | None]]


def _redacted(fields: dict[str, str]) -> dict[str, str]:
    # The legacy access_token form field is not accepted, but it is a token: never record it.
    return {k: "[redacted]" if k == "access_token" else v for k, v in fields.items()}


class Api:
    def __init__(self, state: EmulatorState, uploads: Uploads, delay: Callable[[], bool]) -> None:
        self._state = state
        self._uploads = uploads
        self._delay = delay  # sleeps the latency; False when the emulator stopped meanwhile

    def handle(self, request: Request) -> Exchange:
        target = urlsplit(request.target)
        call, record = self._receive(request, target.path, target.query)

        def answered(status: int) -> None:
            self._state.update(record, status=status)

        routed = self._route(request, call, target.query)
        if isinstance(routed, Response):
            return Exchange(routed, answered)
        limited = self._uploads.rate_limited(call.token)
        if limited is not None:
            return Exchange(limited, answered)
        if not self._delay():
            return Exchange(Drop(), answered)
        return Exchange(self._work(request.method, call, record, routed), answered)

    def _receive(self, request: Request, path: str, query_text: str) -> tuple[_Call, dict[str, Any]]:
        problem: ApiError | None = None
        query: dict[str, str] = {}
        form: dict[str, str] = {}
        upload: Upload | None = None
        try:
            query = contract.parse_query(query_text)
            form, upload = contract.parse_body(request.content_type, request.body)
        except ApiError as exc:
            problem = exc
        auth, token = self._state.auth(request.authorization)
        record = self._state.record(
            method=request.method,
            path=path,
            peer=f"{request.peer[0]}:{request.peer[1]}",
            content_type=request.content_type or None,
            query=_redacted(query),
            form=_redacted(form),
            upload=None if upload is None else {"filename": upload.filename, "bytes": upload.size},
            auth=auth,
        )
        return _Call(path, {**query, **form}, upload, token, problem), record

    def _route(self, request: Request, call: _Call, query_text: str) -> Response | Work:
        """The answer of a read that is never faulted, or the work of a faultable call."""
        method = request.method
        read = data_api.answer(self._state, method, call.path, query_text, call.token)
        if read is None:
            read = account_api.answer(self._state, method, call.path, call.token)
        if read is not None:
            return read
        if call.path in (S3_COPY_PATH, UPLOAD_PATH):
            if method != "POST":
                return error(405, "method_not_allowed", "use POST", (("Allow", "POST"),))
            return lambda: self._uploads.process(
                call.path, call.params, call.upload, call.token, call.problem
            )
        return self._library(request, call, query_text)

    def _library(self, request: Request, call: _Call, query_text: str) -> Response | Work:
        found = LIBRARY.find(request.method, call.path)
        if found is None:
            return error(404, "not_found", f"no endpoint {call.path}")
        if isinstance(found, list):
            allow = ", ".join(dict.fromkeys(found))
            return error(405, "method_not_allowed", f"use {allow}", (("Allow", allow),))
        route, ids = found
        library_call = library_api.Call(
            request.method, ids, route.legacy, query_text, request.content_type, request.body, request.accept
        )
        return lambda: (library_api.process(self._state, route, library_call, call.token), None)

    def _work(self, method: str, call: _Call, record: dict[str, Any], work: Work) -> Outcome:
        fault, rule_index = self._state.choose_fault(call.path, call.params, method)
        if fault is None:
            return self._process(record, work)
        self._state.update(record, fault=fault.label, rule=rule_index)
        processed = self._process(record, work) if fault.after_processing else None
        return self._faulted(fault, processed)

    def _process(self, record: dict[str, Any], work: Work) -> Response:
        response, hashed_id = work()
        self._state.update(record, hashed_id=hashed_id)
        return response

    def _faulted(self, fault: FaultRule, processed: Response | None) -> Outcome:
        if fault.action == "drop":
            return Drop()  # no response at all: the client sees the connection end
        if fault.action == "timeout":
            # After the stall: the real answer if the request was processed, else a gateway timeout.
            late = processed or error(504, "gateway_timeout", "the upstream did not answer")
            return Stall(self._state.timeout_seconds(fault), late)
        return fault_response(fault)
