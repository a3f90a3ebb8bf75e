"""What a failure-queue message is, and whether and how it can be replayed. Pure: no SQS here.

The failure queue holds five kinds of message:
- `on_failure`: Lambda's on-failure invocation record (`requestContext`, `requestPayload`,
  `responsePayload.errorMessage`); partial records (ministack's lack `version`, `timestamp`,
  `requestContext.requestId`) are accepted;
- `dead_letter`: a raw event: from a DeadLetterConfig queue, with the `ErrorCode` /
  `ErrorMessage` message attributes, or (buffered delivery) the ingest queue's message itself,
  moved here by its redrive policy after `maxReceiveCount` receives;
- `failure_record`: the function's own permanent-failure record, whose `event` is replayable;
- `test_event`: S3's `s3:TestEvent`, never replayed and not a failure (it has no reason);
- `malformed`: anything else, reported with the reason and never deleted.

Reasons are the vocabulary's (`reasons.FailureReason`), parsed from the text a message carries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.failures import RECORD_TYPE
from s3_wistia_bridge.models import JsonDict, MalformedEvent, S3Object
from s3_wistia_bridge.reasons import FailureReason, ReasonClass, reason_class

from .resources import ABORTS_RUN, OperatorError, aws_error


class Kind(StrEnum):
    ON_FAILURE = "on_failure"
    DEAD_LETTER = "dead_letter"
    FAILURE_RECORD = "failure_record"
    TEST_EVENT = "test_event"
    MALFORMED = "malformed"


# The kinds whose event a replay invokes the function with.
REPLAYABLE = frozenset({Kind.ON_FAILURE, Kind.DEAD_LETTER, Kind.FAILURE_RECORD})

# What `--reason` selects: one reason, or every reason of a class.
ReasonFilter = FailureReason | ReasonClass
REASON_FILTERS = tuple(c.value for c in ReasonClass) + tuple(r.value for r in FailureReason)

# The error the bridge lets escape reads "reason: message"; a reason is a snake_case word.
_REASON_PREFIX = re.compile(r"^([a-z][a-z0-9_]*): ")
# Lambda's words when it stopped the function at its timeout.
_TIMED_OUT = "Task timed out"
# Lambda's on-failure condition when it gave up without the function's own error.
_CONDITIONS = {
    "RetriesExhausted": FailureReason.RETRIES_EXHAUSTED,
    "EventAgeExceeded": FailureReason.EVENT_AGE_EXCEEDED,
}


def reason_filter(text: str | None) -> ReasonFilter | None:
    """`--reason`'s value (one of REASON_FILTERS) as a reason or a class; ValueError otherwise."""
    if not text:
        return None
    return FailureReason.parse(text) or ReasonClass(text)


@dataclass(frozen=True)
class FailedMessage:
    """One failure-queue message, classified. `event` is what a replay invokes the function with."""

    kind: Kind
    event: Any
    objects: tuple[S3Object, ...]
    reason: FailureReason | None
    attempts: int | None
    age_seconds: float | None
    detail: str
    message_id: str = ""
    receipt_handle: str = field(default="", repr=False, compare=False)
    sent_timestamp_ms: int | None = None
    body: str | None = field(default=None, repr=False, compare=False)  # the SQS text, as received

    @property
    def requeue_body(self) -> str:
        """What a requeue sends to the ingest queue: a raw original exactly as it was received,
        anything else its inner (original) event."""
        if self.kind is Kind.DEAD_LETTER and self.body is not None:
            return self.body
        return json.dumps(self.event)

    @property
    def reason_class(self) -> ReasonClass:
        return reason_class(self.reason)

    @property
    def object_uris(self) -> list[str]:
        return [obj.uri for obj in self.objects]

    def summary(self) -> JsonDict:
        """What an operator sees (text or --json): never the whole event."""
        return {
            "messageId": self.message_id,
            "kind": self.kind.value,
            "objects": self.object_uris,
            "reason": None if self.reason is None else self.reason.value,
            "reasonClass": self.reason_class.value,
            "attempts": self.attempts,
            "ageSeconds": None if self.age_seconds is None else round(self.age_seconds, 1),
            "detail": self.detail,
        }


def classify_sqs_message(message: Mapping[str, Any], now_ms: int) -> FailedMessage:
    """An SQS ReceiveMessage entry (with Attributes and MessageAttributes) classified."""
    attributes = message.get("Attributes") or {}
    sent = _int(attributes.get("SentTimestamp"))
    classified = classify(
        message.get("Body"),
        _string_attributes(message.get("MessageAttributes") or {}),
        sent_timestamp_ms=sent,
        now_ms=now_ms,
    )
    return replace(
        classified,
        message_id=str(message.get("MessageId", "")),
        receipt_handle=str(message.get("ReceiptHandle", "")),
    )


def classify(
    body: Any,
    message_attributes: Mapping[str, str] | None = None,
    *,
    sent_timestamp_ms: int | None = None,
    now_ms: int | None = None,
) -> FailedMessage:
    """A message body (the raw SQS text) and its string message attributes, classified."""
    parts = _parts(body, dict(message_attributes or {}))
    kind, objects, detail = _objects(parts)
    return FailedMessage(
        kind=kind,
        event=parts.event,
        objects=objects,
        reason=parts.reason,
        attempts=parts.attempts,
        age_seconds=_age(sent_timestamp_ms, now_ms),
        detail=detail,
        sent_timestamp_ms=sent_timestamp_ms,
        body=body if isinstance(body, str) else None,
    )


@dataclass(frozen=True)
class _Parts:
    kind: Kind
    event: Any
    reason: FailureReason | None
    attempts: int | None
    detail: str


def _age(sent_ms: int | None, now_ms: int | None) -> float | None:
    if sent_ms is None or now_ms is None:
        return None
    return max(0.0, (now_ms - sent_ms) / 1000.0)


def _objects(parts: _Parts) -> tuple[Kind, tuple[S3Object, ...], str]:
    """The objects a replay would copy; a replayable kind whose event names none is malformed."""
    if parts.kind not in REPLAYABLE:
        return parts.kind, (), parts.detail
    items = parse_event(parts.event)
    objects = tuple(item for item in items if isinstance(item, S3Object))
    if objects:
        return parts.kind, objects, parts.detail
    broken = [item.detail for item in items if isinstance(item, MalformedEvent)]
    why = broken[0] if broken else "it announces no object creation"
    return Kind.MALFORMED, (), f"{parts.kind.value} whose event cannot be replayed: {why}"


def _parts(body: Any, attrs: dict[str, str]) -> _Parts:
    payload = _json_object(body)
    if isinstance(payload, str):
        return _malformed(body, payload)
    if payload.get("type") == RECORD_TYPE:
        return _failure_record(payload)
    if payload.get("Event") == "s3:TestEvent":
        return _Parts(
            Kind.TEST_EVENT, payload, None, None, f"S3 test event for bucket {payload.get('Bucket')!r}"
        )
    if "requestContext" in payload and "requestPayload" in payload:
        return _on_failure(payload)
    if "Records" in payload or payload.get("source") == "aws.s3":
        return _dead_letter(payload, attrs)
    keys = ", ".join(sorted(str(k) for k in payload)[:8])
    return _malformed(payload, f"unknown message shape (keys: {keys or 'none'})")


def _json_object(body: Any) -> JsonDict | str:
    """The body's JSON object, or why it is not one."""
    if not isinstance(body, str):
        return "message body is not text"
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as error:
        return f"message body is not JSON ({error.msg} at char {error.pos})"
    if not isinstance(payload, dict):
        return f"message body is JSON {type(payload).__name__}, not an object"
    return payload


def _malformed(body: Any, why: str) -> _Parts:
    return _Parts(Kind.MALFORMED, body, None, None, why)


def _failure_record(payload: JsonDict) -> _Parts:
    event = payload.get("event")
    if not isinstance(event, dict):
        return _malformed(payload, "failure record has no replayable 'event'")
    named = _text(payload.get("reason"))
    reason = FailureReason.parse(named)
    detail = _text(payload.get("message")) or ""
    http = payload.get("http")
    if isinstance(http, dict) and http.get("status") is not None:
        detail = f"HTTP {http.get('status')}: {detail}"
    if reason is None and named:  # a reason this version does not know: still shown
        detail = f"{named}: {detail}"
    return _Parts(Kind.FAILURE_RECORD, event, reason, _int(payload.get("attempts")), detail)


def _on_failure(payload: JsonDict) -> _Parts:
    context = payload.get("requestContext")
    context = context if isinstance(context, dict) else {}
    response = payload.get("responsePayload")
    response = response if isinstance(response, dict) else {}
    condition = _text(context.get("condition"))
    error_message = _text(response.get("errorMessage"))
    error_type = _text(response.get("errorType"))
    reason = _reason_in(error_message)
    if reason is None and error_type:  # an error that is not the bridge's; the detail names it
        reason = FailureReason.FUNCTION_ERROR
    if reason is None:
        reason = _CONDITIONS.get(condition or "")
    texts = [p for p in (condition, error_type, error_message) if p]
    detail = ": ".join(texts) if texts else "on-failure record without an error"
    attempts = _int(context.get("approximateInvokeCount"))
    return _Parts(Kind.ON_FAILURE, payload["requestPayload"], reason, attempts, detail)


def _dead_letter(payload: JsonDict, attrs: dict[str, str]) -> _Parts:
    error_message = attrs.get("ErrorMessage")
    code = attrs.get("ErrorCode")
    detail = error_message or "raw event without an ErrorMessage attribute"
    if code:
        detail = f"{detail} (ErrorCode {code})"
    return _Parts(Kind.DEAD_LETTER, payload, _reason_in(error_message), None, detail)


def _reason_in(error_message: str | None) -> FailureReason | None:
    """The reason an error text names: the bridge's "reason: message", or Lambda's timeout."""
    if not error_message:
        return None
    match = _REASON_PREFIX.match(error_message)
    named = FailureReason.parse(match.group(1)) if match else None
    if named is None and _TIMED_OUT in error_message:
        return FailureReason.FUNCTION_TIMEOUT
    return named


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _string_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    values = {}
    for name, value in attributes.items():
        if isinstance(value, dict) and isinstance(value.get("StringValue"), str):
            values[name] = value["StringValue"]
    return values


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def matches(message: FailedMessage, *, prefix: str | None, reason: ReasonFilter | None) -> bool:
    """The replay filters: key prefix (any object of the message) and reason or reason class."""
    if prefix is not None and not any(obj.key.startswith(prefix) for obj in message.objects):
        return False
    if isinstance(reason, ReasonClass):
        return message.reason_class is reason
    return reason is None or message.reason is reason


# --- SQS I/O -----------------------------------------------------------------------------------

# Long polling asks every SQS server, so an empty answer really means "nothing visible now"
# (short polling samples a few servers and can answer empty for a non-empty queue).
RECEIVE_WAIT_SECONDS = 1


class _Queue:
    """One SQS queue; every SQS error becomes an OperatorError naming the action."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def _call(self, action: str, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self.client, method)(**kwargs)
        except Exception as error:
            raise aws_error(error, action, self.url) from None
        return result


class FailureQueue(_Queue):
    """Receive, delete and make visible again."""

    def __init__(self, client: Any, url: str) -> None:
        super().__init__(client, url)
        self.wait_seconds = RECEIVE_WAIT_SECONDS

    def approximate_count(self) -> int:
        """Checks the queue exists and is readable; the number of visible messages."""
        attributes = self._call(
            "sqs:GetQueueAttributes",
            "get_queue_attributes",
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages"],
        ).get("Attributes", {})
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def receive(self, visibility_timeout: int, max_messages: int = 10) -> list[dict[str, Any]]:
        response = self._call(
            "sqs:ReceiveMessage",
            "receive_message",
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def delete(self, receipt_handle: str) -> None:
        self._call("sqs:DeleteMessage", "delete_message", QueueUrl=self.url, ReceiptHandle=receipt_handle)

    def delete_batch(self, receipt_handles: list[str]) -> dict[str, str]:
        """Delete up to ten per call; the handles SQS refused, each with its error message."""
        refused: dict[str, str] = {}
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            response = self._call(
                "sqs:DeleteMessage",
                "delete_message_batch",
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                refused[chunk[int(failure["Id"])]] = str(failure.get("Message") or failure.get("Code"))
        return refused

    def release(self, receipt_handles: list[str]) -> None:
        """Visible again now (ChangeMessageVisibility 0); stale handles are ignored."""
        for start in range(0, len(receipt_handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(receipt_handles[start : start + 10])
            ]
            self._call(
                "sqs:ChangeMessageVisibility",
                "change_message_visibility_batch",
                QueueUrl=self.url,
                Entries=entries,
            )


# SendMessageBatch takes at most ten entries and 256 KiB of bodies per call (the limit every SQS,
# moto and ministack included, accepts).
SEND_BATCH_ENTRIES = 10
SEND_BATCH_BYTES = 262_144


class IngestQueue(_Queue):
    """A buffered stack's ingest queue: a replay sends the original events back here, so the
    event source mapping's concurrency limit paces them towards Wistia."""

    def send_batch(self, bodies: list[str]) -> dict[int, str]:
        """Send each body as one message; the indexes of those not sent, each with why. Only an
        entry SQS lists as successful counts as sent; a failed call refuses all of its entries,
        and one that no call can succeed (no queue, no permission) raises its OperatorError."""
        refused: dict[int, str] = {}
        for chunk in _send_chunks(bodies):
            try:
                response = self._call(
                    "sqs:SendMessage",
                    "send_message_batch",
                    QueueUrl=self.url,
                    Entries=[{"Id": str(i), "MessageBody": bodies[i]} for i in chunk],
                )
            except OperatorError as error:
                if error.kind in ABORTS_RUN:  # no queue, or no permission: no entry can be sent
                    raise
                refused.update(dict.fromkeys(chunk, str(error)))  # throttled, a service error
                continue
            refused.update(_unconfirmed(chunk, response))
        return refused


def _unconfirmed(chunk: list[int], response: Mapping[str, Any]) -> dict[int, str]:
    """The entries of one SendMessageBatch answer that SQS did not list as successful, with why."""
    why = {int(f["Id"]): str(f.get("Message") or f.get("Code")) for f in response.get("Failed", [])}
    sent = {int(entry["Id"]) for entry in response.get("Successful", [])}
    return {i: why.get(i, "SQS did not confirm it") for i in chunk if i not in sent}


def _send_chunks(bodies: list[str]) -> Iterator[list[int]]:
    """The indexes of `bodies`, grouped within SendMessageBatch's limits."""
    chunk: list[int] = []
    size = 0
    for index, body in enumerate(bodies):
        length = len(body.encode("utf-8"))
        if chunk and (len(chunk) == SEND_BATCH_ENTRIES or size + length > SEND_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(index)
        size += length
    if chunk:
        yield chunk


def scan(
    queue: FailureQueue, visibility_timeout: int, now_ms: int, limit: int | None = None
) -> list[FailedMessage]:
    """Every message currently on the queue, each once, all left invisible (release them after)."""
    seen: dict[str, FailedMessage] = {}
    while limit is None or len(seen) < limit:
        batch = queue.receive(visibility_timeout)
        fresh = [m for m in batch if str(m.get("MessageId")) not in seen]
        if not fresh:
            break
        for message in fresh:
            classified = classify_sqs_message(message, now_ms)
            seen[classified.message_id] = classified
    return list(seen.values())
