"""The real handler against moto (S3, SQS, Secrets Manager) and the Wistia emulator over HTTP.

One test per outcome of the outcomes table in docs/behaviour.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from s3_wistia_bridge.config import ConfigError
from s3_wistia_bridge.errors import TransientFailure
from s3_wistia_bridge.observability import logger

from tests.conftest import LambdaContextStub, load_event

from .conftest import (
    BUCKET,
    ROTATED_TOKEN,
    TOKEN,
    Stack,
    metric_values,
    s3_event,
)
from .faults import fail_requests

pytestmark = pytest.mark.integration


def invoke(app: ModuleType, event: Any, remaining: float = 30.0) -> dict[str, Any]:
    result: dict[str, Any] = app.lambda_handler(event, LambdaContextStub(remaining_seconds=remaining))
    return result


def s3_copies(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in stack.emulator.requests() if r["path"] == "/s3_copy"]


def test_put_object_is_copied_with_decoded_key_region_project_and_name(
    stack: Stack, bridge_app: ModuleType, function_output: Callable[[], list[dict[str, Any]]]
) -> None:
    key = "videos/Été 2026/a+b clip.MP4"
    result = invoke(bridge_app, stack.put(key))

    [media] = stack.emulator.medias()
    assert result["objects"] == [
        {"outcome": "copied", "uri": f"s3://{BUCKET}/{key}", "hashed_id": media["hashed_id"]}
    ]
    [request] = s3_copies(stack)
    assert request["form"] == {
        "bucket": BUCKET,
        "source_file": key,
        "region": "us-east-1",
        "name": "a+b clip.MP4",
        "project_id": "defaultproj1",
    }
    assert request["auth"] == "valid"
    records = function_output()
    copied_logs = [r for r in records if r.get("message") == "copied"]
    assert copied_logs
    assert copied_logs[0]["hashed_id"] == media["hashed_id"]
    assert copied_logs[0]["correlation_id"] == f"{BUCKET}/{key}@0055AED6DCD90281E5"
    assert [value for value, _ in metric_values(records, "ObjectCopied")] == [1]
    assert stack.failure_records() == []


def test_route_with_longest_prefix_sets_project_contact_and_description(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    routes = [
        {"prefix": "marketing/", "project_id": "mktproj", "contact_id": 7},
        {
            "prefix": "marketing/webinars/",
            "project_id": "webinarproj",
            "contact_id": 42,
            "description": "Webinar recording",
        },
    ]
    app = load_app(stack.env | {"WISTIA_ROUTES": json.dumps(routes), "WISTIA_DESCRIPTION": "From S3"})

    invoke(app, stack.put("marketing/webinars/q3.mp4"))
    invoke(app, stack.put("marketing/launch.mov"))
    invoke(app, stack.put("other/clip.mp4"))

    forms = [r["form"] for r in s3_copies(stack)]
    assert [(f.get("project_id"), f.get("contact_id"), f.get("description")) for f in forms] == [
        ("webinarproj", "42", "Webinar recording"),
        ("mktproj", "7", "From S3"),
        ("defaultproj1", None, "From S3"),
    ]


def test_eventbridge_event_is_copied_using_the_event_region(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    app = load_app(stack.env | {"ALLOWED_BUCKETS": "media-uploads-example"})
    event = load_event("eventbridge-object-created.json")
    key = event["detail"]["object"]["key"].replace("+", " ")  # the sample's key, URL-encoded
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"video")
    head = stack.s3.head_object(Bucket=BUCKET, Key=key)
    event["detail"]["object"] |= {"size": head["ContentLength"], "etag": head["ETag"].strip('"')}
    del event["detail"]["object"]["version-id"]  # moto's bucket is not versioned

    result = invoke(app, event)

    assert result["objects"][0]["outcome"] == "copied"
    [request] = s3_copies(stack)
    assert request["form"]["region"] == event["region"]
    assert request["form"]["source_file"] == key


def test_on_failure_record_is_unwrapped_and_its_object_copied(stack: Stack, bridge_app: ModuleType) -> None:
    inner = stack.put("videos/replayed clip.mp4")
    record = load_event("on-failure-record.json") | {"requestPayload": inner}

    result = invoke(bridge_app, record)

    assert [o["outcome"] for o in result["objects"]] == ["copied"]
    assert s3_copies(stack)[0]["form"]["source_file"] == "videos/replayed clip.mp4"


@pytest.mark.parametrize(
    ("key", "size", "reason"),
    [
        ("videos/notes.txt", 10, "extension_not_allowed"),
        ("videos/", 0, "folder_marker"),
        ("videos/empty.mp4", 0, "empty_object"),
        ("videos/../etc/clip.mp4", 10, "key_dot_segment"),
        ("videos/bad\x07bell.mp4", 10, "key_control_character"),
    ],
)
def test_rejected_object_is_logged_and_counted_and_never_sent(
    stack: Stack,
    bridge_app: ModuleType,
    function_output: Callable[[], list[dict[str, Any]]],
    key: str,
    size: int,
    reason: str,
) -> None:
    result = invoke(bridge_app, s3_event(key, size=size))

    assert result["objects"][0]["outcome"] == "rejected"
    assert result["objects"][0]["reason"] == reason
    assert stack.emulator.requests() == []
    assert stack.failure_records() == []
    records = function_output()
    assert any(r.get("message") == "rejected" and r.get("reason") == reason for r in records)
    by_reason = metric_values(records, "RejectedByReason")
    assert [(v, blob["reason"]) for v, blob in by_reason] == [(1, reason)]


def test_bucket_and_region_outside_the_allowlist_are_rejected(stack: Stack, bridge_app: ModuleType) -> None:
    other_bucket = invoke(bridge_app, s3_event("videos/a.mp4", bucket="someone-elses-bucket"))
    other_region = invoke(bridge_app, s3_event("videos/a.mp4", region="eu-west-1"))

    assert other_bucket["objects"][0]["reason"] == "bucket_not_allowed"
    assert other_region["objects"][0]["reason"] == "region_not_allowed"
    assert stack.emulator.requests() == []


def test_s3_test_event_and_deletions_are_skipped_not_failed(stack: Stack, bridge_app: ModuleType) -> None:
    test_event = invoke(bridge_app, load_event("s3-test-event.json"))
    deletion = invoke(bridge_app, s3_event("videos/a.mp4", event_name="ObjectRemoved:Delete"))

    assert test_event["objects"] == [
        {"outcome": "skipped", "reason": "s3_test_event", "message": test_event["objects"][0]["message"]}
    ]
    assert deletion["objects"][0] | {"message": None} == {
        "outcome": "skipped",
        "reason": "not_object_created",
        "message": None,
    }
    assert stack.emulator.requests() == []
    assert stack.failure_records() == []


def test_video_limit_is_a_permanent_failure_recorded_with_context(
    stack: Stack, bridge_app: ModuleType
) -> None:
    stack.emulator.video_limit = 0
    event = stack.put("videos/over the limit.mp4")

    result = invoke(bridge_app, event)  # returns: Lambda must not retry what cannot succeed

    assert result["objects"][0]["outcome"] == "permanent_failure"
    assert result["objects"][0]["reason"] == "wistia_video_limit"
    [record] = stack.failure_records()
    assert record["type"] == "s3-wistia-bridge.failure"
    assert record["reason"] == "wistia_video_limit"
    assert record["http"]["status"] == 400
    assert "exceeded its video limit" in record["http"]["wistiaError"]
    assert record["object"]["key"] == "videos/over the limit.mp4"
    assert record["object"]["bucket"] == BUCKET
    assert record["event"] == event
    assert record["requestId"] == LambdaContextStub().aws_request_id
    assert record["_attributes"]["reason"]["StringValue"] == "wistia_video_limit"
    assert len(s3_copies(stack)) == 1  # not retried


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (403, "wistia_forbidden"),
        (404, "wistia_not_found"),
        (422, "wistia_unprocessable"),
        (409, "wistia_http_error"),  # any other 4xx: the record's http.status says which
    ],
)
def test_other_client_errors_are_permanent_and_parse_the_nested_error_shape(
    stack: Stack, bridge_app: ModuleType, status: int, reason: str
) -> None:
    fail_requests(stack.emulator, status, body={"error": {"code": "nope", "detail": f"detail {status}"}})

    result = invoke(bridge_app, stack.put("videos/a.mp4"))

    assert result["objects"][0]["reason"] == reason
    [record] = stack.failure_records()
    assert record["http"] == {"status": status, "wistiaError": f"detail {status}", "wistiaErrorCode": "nope"}
    assert len(s3_copies(stack)) == 1


def test_missing_source_object_is_a_permanent_not_found(stack: Stack, bridge_app: ModuleType) -> None:
    result = invoke(bridge_app, s3_event("videos/never-uploaded.mp4"))

    assert result["objects"][0]["reason"] == "wistia_not_found"
    assert stack.failure_records()[0]["object"]["key"] == "videos/never-uploaded.mp4"


def test_transient_errors_are_retried_in_the_invocation_until_success(
    stack: Stack, bridge_app: ModuleType, function_output: Callable[[], list[dict[str, Any]]]
) -> None:
    fail_requests(stack.emulator, 503, times=1, retry_after=0)
    fail_requests(stack.emulator, 500, times=1)

    result = invoke(bridge_app, stack.put("videos/flaky.mp4"))

    assert result["objects"][0]["outcome"] == "copied"
    assert [r["status"] for r in s3_copies(stack)] == [503, 500, 200]
    assert len(stack.emulator.medias()) == 1
    records = function_output()
    assert sum(v for v, _ in metric_values(records, "WistiaRetry")) == 2


def test_dropped_connection_is_retried(stack: Stack, bridge_app: ModuleType) -> None:
    fail_requests(stack.emulator, "drop", times=1)

    result = invoke(bridge_app, stack.put("videos/dropped.mp4"))

    assert result["objects"][0]["outcome"] == "copied"
    assert len(stack.emulator.medias()) == 1


def test_exhausted_transient_failure_raises_for_lambda_retries_without_a_record(
    stack: Stack,
    load_app: Callable[[dict[str, str]], ModuleType],
    function_output: Callable[[], list[dict[str, Any]]],
) -> None:
    app = load_app(stack.env | {"WISTIA_MAX_ATTEMPTS": "3"})
    fail_requests(stack.emulator, 502)

    with pytest.raises(TransientFailure) as raised:
        invoke(app, stack.put("videos/down.mp4"))

    assert raised.value.reason == "wistia_server_error"
    assert raised.value.attempts == 3
    assert len(s3_copies(stack)) == 3
    assert stack.failure_records() == []  # Lambda's on-failure destination records it
    records = function_output()
    assert [v for v, _ in metric_values(records, "TransientFailure")] == [1]


def test_retry_after_beyond_the_remaining_time_gives_up_at_once(stack: Stack, bridge_app: ModuleType) -> None:
    fail_requests(stack.emulator, 429, retry_after=60)

    started = time.monotonic()
    with pytest.raises(TransientFailure) as raised:
        invoke(bridge_app, stack.put("videos/rate-limited.mp4"), remaining=20)

    assert raised.value.reason == "wistia_rate_limited"
    assert "no time left" in raised.value.message
    assert len(s3_copies(stack)) == 1
    assert time.monotonic() - started < 10


def test_read_timeouts_stay_inside_the_invocation_deadline(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    app = load_app(stack.env | {"WISTIA_READ_TIMEOUT_SECONDS": "20"})
    fail_requests(stack.emulator, "timeout")

    started = time.monotonic()
    with pytest.raises(TransientFailure):
        invoke(app, stack.put("videos/slow.mp4"), remaining=6)

    # 6 s left minus the 2 s reserve: the bridge must give up before Lambda would kill it.
    assert time.monotonic() - started < 5.5


def test_rotated_token_is_refetched_once_after_a_401(stack: Stack, bridge_app: ModuleType) -> None:
    invoke(bridge_app, stack.put("videos/first.mp4"))  # caches TOKEN
    stack.secrets.put_secret_value(SecretId=stack.secret_arn, SecretString=ROTATED_TOKEN)
    stack.emulator.set_tokens([ROTATED_TOKEN])

    result = invoke(bridge_app, stack.put("videos/second.mp4"))

    assert result["objects"][0]["outcome"] == "copied"
    assert [r["auth"] for r in s3_copies(stack)] == ["valid", "invalid", "valid"]


def test_second_401_is_a_permanent_unauthorized_failure(stack: Stack, bridge_app: ModuleType) -> None:
    stack.emulator.set_tokens(["a-token-the-secret-does-not-hold"])

    result = invoke(bridge_app, stack.put("videos/a.mp4"))

    assert result["objects"][0]["reason"] == "wistia_unauthorized"
    [record] = stack.failure_records()
    assert record["http"]["status"] == 401
    assert len(s3_copies(stack)) == 2


def test_malformed_secret_is_a_permanent_failure_that_names_the_fix(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    stack.secrets.put_secret_value(SecretId=stack.secret_arn, SecretString='{"token": "' + TOKEN + '"}')
    app = load_app(stack.env)  # a cold start: nothing cached

    result = invoke(app, stack.put("videos/a.mp4"))

    assert result["objects"][0]["reason"] == "secret_malformed"
    [record] = stack.failure_records()
    assert "access_token" in record["message"]
    assert TOKEN not in json.dumps(record)
    assert stack.emulator.requests() == []


def test_malformed_event_becomes_a_failure_record(stack: Stack, bridge_app: ModuleType) -> None:
    result = invoke(bridge_app, {"hello": "world"})

    assert result["objects"][0]["reason"] == "malformed_event"
    [record] = stack.failure_records()
    assert record["reason"] == "malformed_event"
    assert record["event"] == {"hello": "world"}


def test_sqs_batch_reports_only_the_transiently_failed_message(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    app = load_app(stack.env | {"WISTIA_MAX_ATTEMPTS": "1"})
    good, bad = stack.put("videos/good.mp4"), stack.put("videos/bad.mp4")
    fail_requests(stack.emulator, 500, match="bad.mp4")
    batch = {
        "Records": [
            {
                "messageId": "m-good",
                "eventSource": "aws:sqs",
                "body": json.dumps(good),
                "receiptHandle": "r1",
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            },
            {
                "messageId": "m-bad",
                "eventSource": "aws:sqs",
                "body": json.dumps(bad),
                "receiptHandle": "r2",
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            },
            {
                "messageId": "m-test",
                "eventSource": "aws:sqs",
                "body": json.dumps(load_event("s3-test-event.json")),
                "receiptHandle": "r3",
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            },
        ]
    }

    result = invoke(app, batch)

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    assert [m["name"] for m in stack.emulator.medias()] == ["good.mp4"]


def test_several_records_are_all_tried_before_a_transient_failure_is_raised(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    app = load_app(stack.env | {"WISTIA_MAX_ATTEMPTS": "1"})
    first, second = stack.put("videos/one.mp4"), stack.put("videos/two.mp4")
    fail_requests(stack.emulator, 503, match="one.mp4", retry_after=0)

    with pytest.raises(TransientFailure):
        invoke(app, {"Records": first["Records"] + second["Records"]})

    assert [m["name"] for m in stack.emulator.medias()] == ["two.mp4"]


def test_bad_configuration_fails_the_cold_start_naming_the_variable(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    with pytest.raises(ConfigError, match="WISTIA_UPLOAD_URL"):
        load_app(stack.env | {"WISTIA_UPLOAD_URL": "http://upload.wistia.com"})


def test_token_never_appears_in_output_records_or_errors(
    stack: Stack,
    load_app: Callable[[dict[str, str]], ModuleType],
    function_output: Callable[[], list[dict[str, Any]]],
    request: pytest.FixtureRequest,
) -> None:
    app = load_app(stack.env | {"WISTIA_MAX_ATTEMPTS": "2"})
    # The logger is created once per process, so POWERTOOLS_LOG_LEVEL in load_app would not apply.
    previous_level = logger.log_level
    logger.setLevel("DEBUG")
    request.addfinalizer(lambda: logger.setLevel(previous_level))
    invoke(app, stack.put("videos/ok.mp4"))
    fail_requests(stack.emulator, 400, times=1, body={"error": f"echoing {TOKEN} back"})
    invoke(app, stack.put("videos/echo.mp4"))
    fail_requests(stack.emulator, 500)
    with pytest.raises(TransientFailure) as raised:
        invoke(app, stack.put("videos/down.mp4"))

    printed = json.dumps(function_output(), ensure_ascii=False)
    records = json.dumps(stack.failure_records())
    assert '"copied"' in printed
    assert "retrying Wistia" in printed
    for text in (printed, records, str(raised.value), repr(raised.value)):
        assert TOKEN not in text
    assert "***" in records  # the echoed token was redacted, not dropped silently
