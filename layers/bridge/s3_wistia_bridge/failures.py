"""Failure records: what the bridge puts on the failure queue when it gives up on an object.

A record says what failed and why in terms an operator can act on, and carries `event`, a
replayable event for exactly that object, so the replay tool can feed it straight back. Pure.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .errors import PermanentFailure
from .models import JsonDict, MalformedEvent, S3Object, utc_timestamp
from .reasons import FailureReason

RECORD_TYPE = "s3-wistia-bridge.failure"
RECORD_VERSION = 1
# Keep a record well inside SQS's message size limit, whatever the payload was.
MAX_PAYLOAD_CHARS = 64_000
MAX_TEXT_CHARS = 2_000


def failure_record(
    failure: PermanentFailure,
    obj: S3Object,
    *,
    request_id: str | None,
    function_arn: str | None,
    now: datetime | None = None,
) -> JsonDict:
    return {
        "type": RECORD_TYPE,
        "version": RECORD_VERSION,
        "failureClass": failure.reason.reason_class.value,
        "reason": failure.reason.value,
        "message": _clip(failure.message),
        "http": _http(failure),
        "attempts": failure.attempts,
        # Keys are at most 1 KiB, but an odd event can carry huge fields: keep within SQS limits.
        "object": {k: _clip(v) if isinstance(v, str) else v for k, v in obj.describe().items()},
        "timestamp": utc_timestamp(now),
        "requestId": request_id,
        "functionArn": function_arn,
        "event": _bounded(obj.source_event),
    }


def malformed_record(
    malformed: MalformedEvent,
    *,
    request_id: str | None,
    function_arn: str | None,
    now: datetime | None = None,
) -> JsonDict:
    return {
        "type": RECORD_TYPE,
        "version": RECORD_VERSION,
        "failureClass": FailureReason.MALFORMED_EVENT.reason_class.value,
        "reason": FailureReason.MALFORMED_EVENT.value,
        "message": _clip(malformed.detail),
        "http": None,
        "attempts": 0,
        "object": None,
        "timestamp": utc_timestamp(now),
        "requestId": request_id,
        "functionArn": function_arn,
        "event": _bounded(malformed.payload),
    }


def _http(failure: PermanentFailure) -> JsonDict | None:
    if failure.http_status is None:
        return None
    return {
        "status": failure.http_status,
        "wistiaError": _clip(failure.wistia_error) if failure.wistia_error else None,
        "wistiaErrorCode": failure.wistia_error_code,
    }


def _bounded(payload: Any) -> Any:
    """The payload itself when it is small JSON, else a truncated preview (SQS size limits)."""
    text = json.dumps(payload, default=repr)
    if len(text) <= MAX_PAYLOAD_CHARS:
        return json.loads(text)
    return {"truncated": True, "preview": text[:MAX_PAYLOAD_CHARS]}


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + "…"
