"""Turn whatever envelope invoked the function into objects, skips and malformed pieces.

Envelopes: an S3 notification (one or several Records), an EventBridge "Object Created" event,
an on-failure invocation record (its `requestPayload` is unwrapped), the bridge's own failure
record (its `event` is unwrapped: a dead-letter queue redrive moves records to the ingest queue
too), and the body of one SQS message (S3 -> SQS -> Lambda). Pure: dicts in, values out.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from .failures import RECORD_TYPE
from .models import JsonDict, MalformedEvent, RemovedObject, S3Object, SkippedEvent, utc_timestamp

ParsedItem = S3Object | RemovedObject | SkippedEvent | MalformedEvent

# An on-failure record of a replayed failure can itself be wrapped again; this bounds it.
_MAX_NESTING = 4


def decode_key(raw: str) -> str:
    """Decode an event's object key exactly once (form encoding: '+' is a space).

    Raises UnicodeDecodeError for percent-escapes that are not UTF-8, which S3 never produces.
    """
    return unquote_plus(raw, encoding="utf-8", errors="strict")


def s3_notification(
    bucket: str,
    region: str,
    key: str,
    *,
    size: int,
    etag: str | None = None,
    version_id: str | None = None,
    sequencer: str | None = None,
    event_name: str = "ObjectCreated:Put",
    event_time: datetime | None = None,
    configuration_id: str = "s3-wistia-bridge",
) -> JsonDict:
    """The notification S3 sends for this object (key form-encoded, '/' kept): the inverse of
    parse_event, for backfill, the chaos harness, benchmarks and tests."""
    obj: JsonDict = {"key": quote_plus(key, safe="/"), "size": size}
    if etag:
        obj["eTag"] = etag.strip('"')
    if version_id:
        obj["versionId"] = version_id
    if sequencer:
        obj["sequencer"] = sequencer
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": utc_timestamp(event_time),
                "eventName": event_name,
                "userIdentity": {"principalId": configuration_id},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": obj,
                },
            }
        ]
    }


def is_sqs_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(
            isinstance(r, dict) and r.get("eventSource") == "aws:sqs" and isinstance(r.get("messageId"), str)
            for r in records
        )
    )


def parse_sqs_body(body: Any) -> list[ParsedItem]:
    """One SQS message of an S3 -> SQS -> Lambda setup: its body is an S3 or EventBridge event."""
    if not isinstance(body, str):
        return [MalformedEvent("SQS message body is not a string", body)]
    try:
        inner = json.loads(body)
    except json.JSONDecodeError as error:
        return [MalformedEvent(f"SQS message body is not JSON ({error.msg})", body)]
    return parse_event(inner)


def parse_event(event: Any, _depth: int = 0) -> list[ParsedItem]:
    """Every object creation the event announces, in order, plus what was skipped or unusable."""
    if not isinstance(event, dict):
        return [MalformedEvent("event is not a JSON object", event)]
    if _depth >= _MAX_NESTING:
        return [MalformedEvent("on-failure records nested too deeply", event)]
    if event.get("Event") == "s3:TestEvent":
        return [SkippedEvent("s3_test_event", f"S3 test event for bucket {event.get('Bucket')!r}")]
    if "requestPayload" in event and "requestContext" in event:
        return parse_event(event["requestPayload"], _depth + 1)
    if event.get("type") == RECORD_TYPE and isinstance(event.get("event"), dict):
        return parse_event(event["event"], _depth + 1)
    if event.get("source") == "aws.s3" and "detail-type" in event:
        return [_parse_eventbridge(event)]
    return _parse_records(event)


def _parse_records(event: JsonDict) -> list[ParsedItem]:
    """An S3 notification: one item per record."""
    records = event.get("Records")
    if not isinstance(records, list):
        return [MalformedEvent("not an S3, EventBridge, SQS or on-failure event", event)]
    if not records:
        return [MalformedEvent("Records is empty", event)]
    if is_sqs_batch(event):
        return [MalformedEvent("an SQS batch must be processed message by message", event)]
    return [_parse_s3_record(record) for record in records]


def _parse_s3_record(record: Any) -> ParsedItem:
    if not isinstance(record, dict):
        return MalformedEvent("S3 record is not a JSON object", record)
    event_name = record.get("eventName")
    if not isinstance(event_name, str):
        return MalformedEvent("S3 record has no eventName", record)
    if event_name in _S3_REMOVALS:
        return _s3_removal(record, event_name)
    if not event_name.startswith("ObjectCreated:"):
        return SkippedEvent("not_object_created", f"event {event_name}")
    s3 = record.get("s3")
    bucket = _path(s3, "bucket", "name")
    obj = _path(s3, "object")
    if not isinstance(bucket, str) or not bucket or not isinstance(obj, dict):
        return MalformedEvent("S3 record lacks s3.bucket.name or s3.object", record)
    return _object(
        bucket=bucket,
        raw_key=obj.get("key"),
        region=record.get("awsRegion"),
        size=obj.get("size"),
        etag=obj.get("eTag"),
        version_id=obj.get("versionId"),
        sequencer=obj.get("sequencer"),
        event_name=event_name,
        event_id=None,
        source_event={"Records": [record]},
    )


def _parse_eventbridge(event: JsonDict) -> ParsedItem:
    detail_type = event.get("detail-type")
    if detail_type == "Object Deleted":
        return _eventbridge_removal(event)
    if detail_type != "Object Created":
        return SkippedEvent("not_object_created", f"EventBridge {detail_type!r}")
    detail = event.get("detail")
    bucket = _path(detail, "bucket", "name")
    obj = _path(detail, "object")
    if not isinstance(bucket, str) or not bucket or not isinstance(obj, dict):
        return MalformedEvent("EventBridge event lacks detail.bucket.name or detail.object", event)
    reason = _path(detail, "reason")
    event_id = event.get("id")
    return _object(
        bucket=bucket,
        raw_key=obj.get("key"),
        region=event.get("region"),
        size=obj.get("size"),
        etag=obj.get("etag"),
        version_id=obj.get("version-id"),
        sequencer=obj.get("sequencer"),
        event_name=f"ObjectCreated:{reason}" if isinstance(reason, str) else "ObjectCreated",
        event_id=event_id if isinstance(event_id, str) else None,
        source_event=event,
        encoding_known=False,
    )


# --- removals (DeletePolicy, versions_and_deletes.py) ------------------------------------------
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html and
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html (`deletion-type`).
_S3_REMOVALS = frozenset({"ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated"})
_DELETION_TYPES = {
    "Permanently Deleted": "ObjectRemoved:Delete",
    "Delete Marker Created": "ObjectRemoved:DeleteMarkerCreated",
}


def _s3_removal(record: JsonDict, event_name: str) -> ParsedItem:
    """A removal record; one lacking the object is skipped exactly as before removals were read."""
    bucket = _path(record, "s3", "bucket", "name")
    obj = _path(record, "s3", "object")
    region = record.get("awsRegion")
    if not (
        isinstance(bucket, str) and bucket and isinstance(obj, dict) and isinstance(region, str) and region
    ):
        return SkippedEvent("not_object_created", f"event {event_name}")
    raw_key = obj.get("key")
    try:
        key = decode_key(raw_key) if isinstance(raw_key, str) and raw_key else None
    except UnicodeDecodeError:
        key = None
    if key is None:
        return SkippedEvent("not_object_created", f"event {event_name}")
    return RemovedObject(
        bucket=bucket,
        key=key,
        region=region,
        event_name=event_name,
        version_id=_optional_text(obj.get("versionId")),
        sequencer=_optional_text(obj.get("sequencer")),
        source_event={"Records": [record]},
    )


def _eventbridge_removal(event: JsonDict) -> ParsedItem:
    detail = event.get("detail")
    bucket = _path(detail, "bucket", "name")
    raw_key = _path(detail, "object", "key")
    region = event.get("region")
    event_name = _DELETION_TYPES.get(str(_path(detail, "deletion-type")), "ObjectRemoved:Delete")
    if not (isinstance(bucket, str) and bucket and isinstance(raw_key, str) and raw_key):
        return SkippedEvent("not_object_created", f"EventBridge {'Object Deleted'!r}")
    if not isinstance(region, str) or not region:
        return SkippedEvent("not_object_created", f"EventBridge {'Object Deleted'!r}")
    try:
        key = decode_key(raw_key)
    except UnicodeDecodeError:
        key = raw_key
    return RemovedObject(
        bucket=bucket,
        key=key,
        region=region,
        event_name=event_name,
        version_id=_optional_text(_path(detail, "object", "version-id")),
        sequencer=_optional_text(_path(detail, "object", "sequencer")),
        eventbridge=True,
        raw_key=raw_key if raw_key != key else None,
        source_event=event,
    )


def _object(
    *,
    bucket: str,
    raw_key: Any,
    region: Any,
    size: Any,
    etag: Any,
    version_id: Any,
    sequencer: Any,
    event_name: str,
    event_id: str | None,
    source_event: JsonDict,
    encoding_known: bool = True,
) -> ParsedItem:
    """`encoding_known`: S3 notifications URL-encode keys; S3's EventBridge events are not
    documented to, so there the raw key is kept beside its decoded form (S3Object.raw_key)."""
    problem = _field_problem(raw_key, region, size)
    if problem is not None:
        return MalformedEvent(problem, source_event)
    try:
        key = decode_key(raw_key)
    except UnicodeDecodeError:
        if encoding_known:
            return MalformedEvent("object key has percent-escapes that are not UTF-8", source_event)
        key = raw_key  # cannot be an encoded key: it is the key itself
    return S3Object(
        bucket=bucket,
        key=key,
        raw_key=raw_key if not encoding_known and raw_key != key else None,
        region=region,
        size=size,
        etag=_optional_text(etag),
        version_id=_optional_text(version_id),
        sequencer=_optional_text(sequencer),
        event_name=event_name,
        event_id=event_id,
        source_event=source_event,
    )


def _field_problem(raw_key: Any, region: Any, size: Any) -> str | None:
    if not isinstance(raw_key, str):
        return "object key is missing or not a string"
    if not isinstance(region, str) or not region:
        return "event has no region"
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        return f"object size {size!r} is not a non-negative integer"
    return None


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
