"""Classification of every message shape the failure queue can hold (pure: no SQS)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from s3_wistia_bridge.reasons import FailureReason, ReasonClass
from s3_wistia_bridge_cli.queue import (
    REPLAYABLE,
    Kind,
    classify,
    classify_sqs_message,
    matches,
    reason_filter,
)

from tests.conftest import load_event

from .conftest import BUCKET, on_failure, permanent_record, s3_event


def test_full_on_failure_record_gives_the_original_event_reason_and_attempts() -> None:
    record = load_event("on-failure-record.json")

    message = classify(json.dumps(record))

    assert message.kind is Kind.ON_FAILURE
    assert message.event == record["requestPayload"]
    assert [obj.key for obj in message.objects] == ["videos/retried upload.mp4"]  # decoded once
    assert (message.reason, message.reason_class, message.attempts) == (
        FailureReason.WISTIA_SERVER_ERROR,
        ReasonClass.TRANSIENT,
        3,
    )
    assert "RetriesExhausted" in message.detail


def test_partial_on_failure_record_as_ministack_writes_it_is_accepted() -> None:
    record = on_failure(s3_event("videos/a.mp4"), None, invoke_count=2)
    assert "version" not in record
    assert "timestamp" not in record
    assert "requestId" not in record["requestContext"]

    message = classify(json.dumps(record))

    assert message.kind is Kind.ON_FAILURE
    assert message.objects[0].uri == f"s3://{BUCKET}/videos/a.mp4"
    # No responsePayload: the condition is all there is.
    assert (message.reason, message.reason_class, message.attempts) == (
        FailureReason.RETRIES_EXHAUSTED,
        ReasonClass.UNKNOWN,
        2,
    )


def test_on_failure_after_the_maximum_event_age_says_so() -> None:
    record = on_failure(s3_event("videos/a.mp4"), None)
    record["requestContext"]["condition"] = "EventAgeExceeded"

    message = classify(json.dumps(record))

    assert (message.reason, message.reason_class) == (FailureReason.EVENT_AGE_EXCEEDED, ReasonClass.UNKNOWN)


def test_on_failure_with_an_error_that_is_not_the_bridges_is_a_function_error_naming_its_type() -> None:
    record = on_failure(s3_event("videos/a.mp4"), "No module named 'requests'")
    record["responsePayload"]["errorType"] = "Runtime.ImportModuleError"

    message = classify(json.dumps(record))

    assert (message.reason, message.reason_class) == (FailureReason.FUNCTION_ERROR, ReasonClass.UNKNOWN)
    assert "Runtime.ImportModuleError: No module named 'requests'" in message.detail


def test_on_failure_timeout_is_a_transient_function_timeout() -> None:
    record = on_failure(
        s3_event("videos/a.mp4"), "2026-01-01T00:00:00Z abc Task timed out after 30.00 seconds"
    )

    message = classify(json.dumps(record))

    assert (message.reason, message.reason_class) == (FailureReason.FUNCTION_TIMEOUT, ReasonClass.TRANSIENT)


def test_dead_letter_raw_event_takes_its_reason_from_the_error_attributes() -> None:
    event = s3_event("videos/b c.mp4")

    message = classify(
        json.dumps(event),
        {"ErrorCode": "200", "ErrorMessage": "wistia_timeout: no answer within 20 s", "RequestID": "r1"},
    )

    assert message.kind is Kind.DEAD_LETTER
    assert message.event == event
    assert [obj.key for obj in message.objects] == ["videos/b c.mp4"]
    assert (message.reason, message.reason_class) == (FailureReason.WISTIA_TIMEOUT, ReasonClass.TRANSIENT)
    assert "ErrorCode 200" in message.detail


def test_dead_letter_without_attributes_is_still_replayable_with_an_unknown_reason() -> None:
    event = s3_event("videos/b.mp4")

    message = classify(json.dumps(event))

    assert message.kind is Kind.DEAD_LETTER
    assert (message.event, message.object_uris) == (event, [f"s3://{BUCKET}/videos/b.mp4"])
    assert (message.reason, message.reason_class) == (None, ReasonClass.UNKNOWN)


def test_the_functions_own_failure_record_replays_its_event() -> None:
    event = s3_event("videos/limit.mp4")
    record = permanent_record(event)

    message = classify(json.dumps(record))

    assert message.kind is Kind.FAILURE_RECORD
    assert message.event == event
    assert (message.reason, message.reason_class, message.attempts) == (
        FailureReason.WISTIA_VIDEO_LIMIT,
        ReasonClass.PERMANENT,
        1,
    )
    assert message.detail.startswith("HTTP 400:")


def test_an_older_records_status_reason_is_a_permanent_http_error() -> None:
    record = permanent_record(s3_event("videos/teapot.mp4"), status=418)
    record["reason"] = "wistia_http_418"

    message = classify(json.dumps(record))

    assert (message.reason, message.reason_class) == (FailureReason.WISTIA_HTTP_ERROR, ReasonClass.PERMANENT)


def test_a_record_reason_outside_the_vocabulary_is_unknown_and_still_shown() -> None:
    record = permanent_record(s3_event("videos/new.mp4"))
    record["reason"] = "wistia_from_the_future"

    message = classify(json.dumps(record))

    assert (message.kind, message.reason, message.reason_class) == (
        Kind.FAILURE_RECORD,
        None,
        ReasonClass.UNKNOWN,
    )
    assert message.detail.startswith("wistia_from_the_future: HTTP 400:")


def test_s3_test_event_is_recognised_and_is_not_a_failure() -> None:
    message = classify(json.dumps(load_event("s3-test-event.json")))

    assert message.kind is Kind.TEST_EVENT
    assert message.kind not in REPLAYABLE
    assert message.objects == ()
    assert message.reason is None  # the kind says what it is


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
    assert message.objects == ()
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
    assert message.reason is FailureReason.WISTIA_SERVER_ERROR


@pytest.mark.parametrize("reason", list(FailureReason))
def test_every_reason_is_classified_from_a_record_and_from_an_error(reason: FailureReason) -> None:
    event = s3_event("videos/a.mp4")
    record = permanent_record(event) | {"reason": reason.value}

    from_record = classify(json.dumps(record))
    from_error = classify(json.dumps(event), {"ErrorMessage": f"{reason.value}: what happened"})

    for message in (from_record, from_error):
        assert (message.reason, message.reason_class) == (reason, reason.reason_class)


@pytest.mark.parametrize("text", ["permanent", "transient", "unknown", *(r.value for r in FailureReason)])
def test_every_reason_and_class_is_a_reason_filter(text: str) -> None:
    chosen = reason_filter(text)

    assert chosen is not None
    assert chosen.value == text


def test_filters_match_prefix_reason_and_reason_class() -> None:
    message = classify(json.dumps(permanent_record(s3_event("videos/2026/a.mp4"))))

    assert matches(message, prefix="videos/", reason=None)
    assert not matches(message, prefix="other/", reason=None)
    assert matches(message, prefix=None, reason=FailureReason.WISTIA_VIDEO_LIMIT)
    assert matches(message, prefix=None, reason=ReasonClass.PERMANENT)
    assert not matches(message, prefix=None, reason=ReasonClass.TRANSIENT)
    assert not matches(message, prefix="videos/", reason=FailureReason.WISTIA_FORBIDDEN)
