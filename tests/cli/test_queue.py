"""Classification of every message shape the failure queue can hold (pure: no SQS)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from s3_wistia_bridge.operator.queue import Kind, classify, classify_sqs_message, matches, reason_class

from tests.conftest import load_event

from .conftest import BUCKET, on_failure, permanent_record, s3_event


def test_full_on_failure_record_gives_the_original_event_reason_and_attempts() -> None:
    record = load_event("on-failure-record.json")

    message = classify(json.dumps(record))

    assert message.kind is Kind.ON_FAILURE
    assert message.event == record["requestPayload"]
    assert [obj.key for obj in message.objects] == ["videos/retried upload.mp4"]  # decoded once
    assert (message.reason, message.reason_class, message.attempts) == ("wistia_server_error", "transient", 3)
    assert "RetriesExhausted" in message.detail
    assert message.replayable


def test_partial_on_failure_record_as_ministack_writes_it_is_accepted() -> None:
    record = on_failure(s3_event("videos/a.mp4"), None, invoke_count=2)
    assert "version" not in record
    assert "timestamp" not in record
    assert "requestId" not in record["requestContext"]

    message = classify(json.dumps(record))

    assert message.kind is Kind.ON_FAILURE
    assert message.objects[0].uri == f"s3://{BUCKET}/videos/a.mp4"
    # No responsePayload: the condition is all there is.
    assert (message.reason, message.reason_class, message.attempts) == ("retries_exhausted", "unknown", 2)


def test_on_failure_timeout_is_a_transient_function_timeout() -> None:
    record = on_failure(
        s3_event("videos/a.mp4"), "2026-01-01T00:00:00Z abc Task timed out after 30.00 seconds"
    )

    message = classify(json.dumps(record))

    assert (message.reason, message.reason_class) == ("function_timeout", "transient")


def test_dead_letter_raw_event_takes_its_reason_from_the_error_attributes() -> None:
    event = s3_event("videos/b c.mp4")

    message = classify(
        json.dumps(event),
        {"ErrorCode": "200", "ErrorMessage": "wistia_timeout: no answer within 20 s", "RequestID": "r1"},
    )

    assert message.kind is Kind.DEAD_LETTER
    assert message.event == event
    assert [obj.key for obj in message.objects] == ["videos/b c.mp4"]
    assert (message.reason, message.reason_class) == ("wistia_timeout", "transient")
    assert "ErrorCode 200" in message.detail


def test_dead_letter_without_attributes_is_still_replayable_with_an_unknown_reason() -> None:
    message = classify(json.dumps(s3_event("videos/b.mp4")))

    assert message.kind is Kind.DEAD_LETTER
    assert (message.reason, message.reason_class) == (None, "unknown")
    assert message.replayable


def test_the_functions_own_failure_record_replays_its_event() -> None:
    event = s3_event("videos/limit.mp4")
    record = permanent_record(event)

    message = classify(json.dumps(record))

    assert message.kind is Kind.FAILURE_RECORD
    assert message.event == event
    assert (message.reason, message.reason_class, message.attempts) == ("wistia_video_limit", "permanent", 1)
    assert message.detail.startswith("HTTP 400:")


def test_s3_test_event_is_recognised_and_not_replayable() -> None:
    message = classify(json.dumps(load_event("s3-test-event.json")))

    assert message.kind is Kind.TEST_EVENT
    assert not message.replayable
    assert message.objects == ()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("this is not json", "not JSON"),
        ("[1, 2]", "JSON list, not an object"),
        ('{"hello": "world"}', "unknown message shape (keys: hello)"),
        (json.dumps({"type": "s3-wistia-bridge.failure", "reason": "x"}), "no replayable 'event'"),
        (json.dumps(on_failure({"foo": 1}, "boom: x")), "on_failure whose event cannot be replayed"),
        (json.dumps({"Records": []}), "Records is empty"),
        (
            json.dumps(on_failure(s3_event("k.mp4", event_name="ObjectRemoved:Delete"), "x: y")),
            "announces no object creation",
        ),
    ],
)
def test_malformed_messages_say_why(body: str, why: str) -> None:
    message = classify(body)

    assert message.kind is Kind.MALFORMED
    assert not message.replayable
    assert why in message.detail


def test_sqs_entry_gives_id_receipt_and_age_from_sent_timestamp() -> None:
    entry: dict[str, Any] = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "Body": json.dumps(s3_event("videos/a.mp4")),
        "Attributes": {"SentTimestamp": "1000000"},
        "MessageAttributes": {
            "ErrorMessage": {"DataType": "String", "StringValue": "wistia_server_error: 502"}
        },
    }

    message = classify_sqs_message(entry, now_ms=1000000 + 7_200_000)

    assert (message.message_id, message.receipt_handle) == ("m-1", "rh-1")
    assert message.age_seconds == 7200.0
    assert message.reason == "wistia_server_error"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("wistia_video_limit", "permanent"),
        ("wistia_http_418", "permanent"),
        ("malformed_event", "permanent"),
        ("wistia_rate_limited", "transient"),
        ("secret_unavailable", "transient"),
        ("something_else", "unknown"),
        (None, "unknown"),
    ],
)
def test_reason_classes_follow_the_readme(reason: str | None, expected: str) -> None:
    assert reason_class(reason) == expected


def test_filters_match_prefix_reason_and_reason_class() -> None:
    message = classify(json.dumps(permanent_record(s3_event("videos/2026/a.mp4"))))

    assert matches(message, prefix="videos/", reason=None)
    assert not matches(message, prefix="other/", reason=None)
    assert matches(message, prefix=None, reason="wistia_video_limit")
    assert matches(message, prefix=None, reason="permanent")
    assert not matches(message, prefix=None, reason="transient")
    assert not matches(message, prefix="videos/", reason="wistia_forbidden")
