"""Failure records: the shape an operator (and the replay tool) can rely on."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from s3_wistia_bridge.errors import PermanentFailure
from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.failures import (
    MAX_PAYLOAD_CHARS,
    MAX_TEXT_CHARS,
    RECORD_TYPE,
    RECORD_VERSION,
    failure_record,
    malformed_record,
)
from s3_wistia_bridge.models import MalformedEvent, S3Object
from s3_wistia_bridge.reasons import FailureReason

from tests.unit.conftest import read_event

FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:s3-wistia-bridge-ingest"
REQUEST_ID = "11111111-2222-3333-4444-555555555555"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def put_object() -> S3Object:
    [obj] = parse_event(read_event("s3-put.json"))
    assert isinstance(obj, S3Object)
    return obj


def video_limit() -> PermanentFailure:
    return PermanentFailure(
        FailureReason.WISTIA_VIDEO_LIMIT,
        "Wistia answered HTTP 400: This account has exceeded its video limit.",
        http_status=400,
        wistia_error="This account has exceeded its video limit.",
        wistia_error_code="video_limit",
        attempts=1,
    )


def test_failure_record_has_the_documented_shape():
    obj = put_object()
    record = failure_record(
        video_limit(),
        obj,
        request_id=REQUEST_ID,
        function_arn=FUNCTION_ARN,
        now=datetime(2025, 11, 20, 14, 3, 12, 345678, tzinfo=UTC),
    )

    assert record == {
        "type": "s3-wistia-bridge.failure",
        "version": 1,
        "failureClass": "permanent",
        "reason": "wistia_video_limit",
        "message": "Wistia answered HTTP 400: This account has exceeded its video limit.",
        "http": {
            "status": 400,
            "wistiaError": "This account has exceeded its video limit.",
            "wistiaErrorCode": "video_limit",
        },
        "attempts": 1,
        "object": obj.describe(),
        "timestamp": "2025-11-20T14:03:12.345Z",
        "requestId": REQUEST_ID,
        "functionArn": FUNCTION_ARN,
        "event": read_event("s3-put.json"),
    }
    assert (RECORD_TYPE, RECORD_VERSION) == ("s3-wistia-bridge.failure", 1)


def test_failure_record_event_replays_to_the_same_object():
    obj = put_object()
    record = failure_record(video_limit(), obj, request_id=None, function_arn=None)
    assert parse_event(json.loads(json.dumps(record))["event"]) == [obj]


def test_failure_record_without_http_status_has_no_http_block():
    failure = PermanentFailure(FailureReason.SECRET_MALFORMED, "the token is empty")
    record = failure_record(failure, put_object(), request_id=None, function_arn=None)
    assert record["http"] is None
    assert record["attempts"] == 0
    assert record["requestId"] is None
    assert record["functionArn"] is None


def test_failure_record_http_block_without_wistia_text():
    failure = PermanentFailure(FailureReason.WISTIA_FORBIDDEN, "Wistia answered HTTP 403", http_status=403)
    record = failure_record(failure, put_object(), request_id=None, function_arn=None)
    assert record["http"] == {"status": 403, "wistiaError": None, "wistiaErrorCode": None}


def test_default_timestamp_is_now_in_utc_with_z_and_milliseconds():
    before = datetime.now(UTC)
    record = failure_record(video_limit(), put_object(), request_id=None, function_arn=None)
    after = datetime.now(UTC)

    assert TIMESTAMP.match(record["timestamp"]), record["timestamp"]
    stamped = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= stamped <= after


def test_message_and_wistia_error_are_clipped_at_max_text_chars():
    long_text = "x" * (MAX_TEXT_CHARS + 500)
    failure = PermanentFailure(
        FailureReason.WISTIA_BAD_REQUEST, long_text, http_status=400, wistia_error=long_text
    )
    record = failure_record(failure, put_object(), request_id=None, function_arn=None)

    assert record["message"] == "x" * MAX_TEXT_CHARS + "…"
    assert record["http"]["wistiaError"] == "x" * MAX_TEXT_CHARS + "…"


def test_message_of_exactly_max_text_chars_is_not_clipped():
    text = "y" * MAX_TEXT_CHARS
    record = failure_record(
        PermanentFailure(FailureReason.WISTIA_HTTP_ERROR, text),
        put_object(),
        request_id=None,
        function_arn=None,
    )
    assert record["message"] == text


def test_failure_record_is_json_serialisable():
    record = failure_record(video_limit(), put_object(), request_id=REQUEST_ID, function_arn=FUNCTION_ARN)
    assert json.loads(json.dumps(record)) == record


def test_failure_record_of_an_eventbridge_object_carries_the_eventbridge_event():
    event = read_event("eventbridge-object-created.json")
    [obj] = parse_event(event)
    assert isinstance(obj, S3Object)
    record = failure_record(video_limit(), obj, request_id=None, function_arn=None)
    assert record["event"] == event
    assert record["object"]["key"] == "videos/launch teaser.mp4"


# --- malformed input -----------------------------------------------------------------------


def test_malformed_record_has_the_documented_shape():
    payload: dict[str, Any] = {"Records": []}
    record = malformed_record(
        MalformedEvent("Records is empty", payload),
        request_id=REQUEST_ID,
        function_arn=FUNCTION_ARN,
        now=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert record == {
        "type": RECORD_TYPE,
        "version": RECORD_VERSION,
        "failureClass": "permanent",
        "reason": "malformed_event",
        "message": "Records is empty",
        "http": None,
        "attempts": 0,
        "object": None,
        "timestamp": "2025-01-02T03:04:05.000Z",
        "requestId": REQUEST_ID,
        "functionArn": FUNCTION_ARN,
        "event": {"Records": []},
    }


def test_malformed_record_keeps_a_small_payload_whole():
    payload = read_event("s3-put.json")
    record = malformed_record(MalformedEvent("x", payload), request_id=None, function_arn=None)
    assert record["event"] == payload


def test_malformed_record_truncates_a_huge_payload_to_a_preview():
    payload = {"Records": [{"junk": "z" * (MAX_PAYLOAD_CHARS * 3)}]}
    record = malformed_record(MalformedEvent("huge", payload), request_id=None, function_arn=None)

    assert record["event"]["truncated"] is True
    preview = record["event"]["preview"]
    assert len(preview) == MAX_PAYLOAD_CHARS
    assert preview.startswith('{"Records": [{"junk": "zzz')
    assert len(json.dumps(record)) < MAX_PAYLOAD_CHARS + 10_000


def test_malformed_record_payload_at_the_limit_is_kept_whole():
    filler = "q" * (MAX_PAYLOAD_CHARS - len(json.dumps("")))
    assert len(json.dumps(filler)) == MAX_PAYLOAD_CHARS
    record = malformed_record(MalformedEvent("x", filler), request_id=None, function_arn=None)
    assert record["event"] == filler


def test_malformed_record_message_is_clipped():
    record = malformed_record(MalformedEvent("d" * 5000, None), request_id=None, function_arn=None)
    assert len(record["message"]) == MAX_TEXT_CHARS + 1
    assert record["message"].endswith("…")


class NotJson:
    def __repr__(self) -> str:
        return "<NotJson thing>"


def test_malformed_record_with_a_non_json_payload_does_not_crash():
    payload: Any = {"body": b"\xff\xfe raw bytes", "when": datetime(2025, 1, 1, tzinfo=UTC), "x": NotJson()}
    record = malformed_record(MalformedEvent("odd", payload), request_id=None, function_arn=None)

    text = json.dumps(record)
    assert "<NotJson thing>" in text
    assert record["event"]["body"] == repr(b"\xff\xfe raw bytes")


def test_malformed_record_with_a_scalar_payload():
    record = malformed_record(MalformedEvent("not JSON", "hello"), request_id=None, function_arn=None)
    assert record["event"] == "hello"
    record = malformed_record(MalformedEvent("none", None), request_id=None, function_arn=None)
    assert record["event"] is None


def test_malformed_records_from_parse_event_are_json_serialisable():
    for item in parse_event({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}, 5]}):
        assert isinstance(item, MalformedEvent)
        record = malformed_record(item, request_id=None, function_arn=None)
        assert json.loads(json.dumps(record)) == record
        assert TIMESTAMP.match(record["timestamp"])
