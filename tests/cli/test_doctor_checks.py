"""Each doctor check's decision, as a pure function over the answers AWS and Wistia give."""

from __future__ import annotations

import json

import pytest
from s3_wistia_bridge_cli.doctor import checks
from s3_wistia_bridge_cli.doctor.checks import Concurrency, Depth, Failure, Http, Verdict

QUEUE_ARN = "arn:aws:sqs:us-east-1:111122223333:bridge-ingest"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:bridge-ingest"
OUTPUTS = {
    "FailureQueueUrl": "q",
    "IngestFunctionName": "f",
    "IdempotencyTableName": "t",
    "Delivery": "direct",
    "BucketName": "b",
    "AlarmTopicArn": "a",
}


def test_stack_passes_when_complete_with_every_output() -> None:
    assert checks.stack("s", "UPDATE_COMPLETE", OUTPUTS).verdict is Verdict.PASS


@pytest.mark.parametrize(
    ("status", "outputs", "verdict", "words"),
    [
        (Failure("unknown stack 's'"), {}, Verdict.FAIL, "unknown stack"),
        ("CREATE_COMPLETE", {**OUTPUTS, "Delivery": "buffered"}, Verdict.FAIL, "IngestQueueUrl"),
        ("UPDATE_IN_PROGRESS", OUTPUTS, Verdict.WARN, "UPDATE_IN_PROGRESS"),
        ("UPDATE_ROLLBACK_COMPLETE", OUTPUTS, Verdict.FAIL, "UPDATE_ROLLBACK_COMPLETE"),
    ],
)
def test_stack_problems(status: str | Failure, outputs: dict[str, str], verdict: Verdict, words: str) -> None:
    result = checks.stack("s", status, outputs)

    assert result.verdict is verdict
    assert words in result.found
    assert result.fix


def test_a_refused_token_fails_with_the_fix() -> None:
    result = checks.token(Http(401, {"error": "Invalid credentials."}))

    assert result.verdict is Verdict.FAIL
    assert "valid API token in the secret" in result.fix


@pytest.mark.parametrize(
    ("scopes", "verdict", "words"),
    [
        (["all:all"], Verdict.PASS, "scopes all:all"),
        (["media:upload", "media:read"], Verdict.PASS, "media:read, media:upload"),
        (["media:upload"], Verdict.FAIL, "may not read medias"),  # the unanswered-request recovery
        (["all:read"], Verdict.FAIL, "may not upload"),
        (["stats:read"], Verdict.FAIL, "may not upload or read medias"),
        (["something:new"], Verdict.WARN, "none this check knows"),
    ],
)
def test_the_token_needs_upload_and_media_read(scopes: list[str], verdict: Verdict, words: str) -> None:
    result = checks.token(
        Http(200, {"type": "permanent", "scopes": scopes, "name": "n", "application": None})
    )

    assert result.verdict is verdict
    assert words in result.found


def test_an_expiring_token_warns() -> None:
    body = {"type": "expiring", "scopes": ["all:all"], "expires_at": "2026-12-24T00:00:00Z"}

    assert checks.token(Http(200, body)).verdict is Verdict.WARN


def test_wistia_not_answering_warns() -> None:
    assert checks.token(Failure("GET /modern/token: ConnectTimeout")).verdict is Verdict.WARN
    assert checks.token(Http(503, None)).verdict is Verdict.WARN


def test_a_reached_media_limit_fails_with_its_fix() -> None:
    result = checks.account(Http(200, {"can_upload": False, "upload_blocked_reason": "reached_media_limit"}))

    assert result.verdict is Verdict.FAIL
    assert "reached_media_limit" in result.found
    assert "archive or delete medias" in result.fix
    assert checks.account(Http(200, {"can_upload": True, "plan": {"name": "Pro"}})).verdict is Verdict.PASS


def test_a_bad_secret_fails() -> None:
    assert checks.secret("s", "ok").verdict is Verdict.PASS
    assert checks.secret("s", Failure("secret_malformed: ...")).verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("config", "buffered", "verdict"),
    [
        (
            {"QueueConfigurations": [{"QueueArn": QUEUE_ARN, "Events": ["s3:ObjectCreated:*"]}]},
            True,
            Verdict.PASS,
        ),
        (
            {"QueueConfigurations": [{"QueueArn": "arn:other", "Events": ["s3:ObjectCreated:*"]}]},
            True,
            Verdict.FAIL,
        ),
        (
            {"QueueConfigurations": [{"QueueArn": QUEUE_ARN, "Events": ["s3:ObjectRemoved:*"]}]},
            True,
            Verdict.FAIL,
        ),
        (
            {
                "LambdaFunctionConfigurations": [
                    {"LambdaFunctionArn": f"{FUNCTION_ARN}:$LATEST", "Events": ["s3:ObjectCreated:Put"]}
                ]
            },
            False,
            Verdict.PASS,
        ),
        ({}, False, Verdict.FAIL),
    ],
)
def test_a_new_buckets_notification_reaches_this_stack(
    config: dict[str, object], buffered: bool, verdict: Verdict
) -> None:
    target = QUEUE_ARN if buffered else FUNCTION_ARN

    assert checks.s3_notification("b", config, target, buffered=buffered).verdict is verdict


def test_an_existing_bucket_needs_eventbridge_and_an_enabled_rule() -> None:
    off = checks.eventbridge_bucket("b", {"QueueConfigurations": []})
    disabled = checks.eventbridge_rule({"Name": "r", "State": "DISABLED"}, [QUEUE_ARN], QUEUE_ARN)
    elsewhere = checks.eventbridge_rule({"Name": "r", "State": "ENABLED"}, ["arn:other"], QUEUE_ARN)

    assert checks.eventbridge_bucket("b", {"EventBridgeConfiguration": {}}).verdict is Verdict.PASS
    assert off.verdict is Verdict.FAIL
    assert "put-bucket-notification-configuration --bucket b" in off.fix
    assert (disabled.verdict, disabled.fix) == (Verdict.FAIL, "aws events enable-rule --name r")
    assert elsewhere.verdict is Verdict.FAIL
    assert (
        checks.eventbridge_rule({"Name": "r", "State": "ENABLED"}, [QUEUE_ARN], QUEUE_ARN).verdict
        is Verdict.PASS
    )


def test_a_disabled_mapping_warns_that_the_bridge_is_paused() -> None:
    assert checks.mapping("Enabled").verdict is Verdict.PASS
    assert checks.mapping("Disabled").verdict is Verdict.WARN


def policy(principal: object, action: object = "s3:GetObject", effect: str = "Allow") -> str:
    statement = {
        "Effect": effect,
        "Principal": {"AWS": principal},
        "Action": action,
        "Resource": "arn:aws:s3:::b/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(
    ("document", "account", "new_bucket", "verdict"),
    [
        (policy("arn:aws:iam::999988887777:root"), "999988887777", True, Verdict.PASS),
        (
            policy(["arn:aws:iam::999988887777:root"], ["s3:GetObject", "s3:GetObjectVersion"]),
            "999988887777",
            True,
            Verdict.PASS,
        ),
        (policy("999988887777", "s3:*"), "999988887777", False, Verdict.PASS),
        (policy("arn:aws:iam::999988887777:root", effect="Deny"), "999988887777", True, Verdict.FAIL),
        (policy("arn:aws:iam::999988887777:root", "s3:PutObject"), "999988887777", True, Verdict.FAIL),
        (None, "", True, Verdict.FAIL),  # no grant parameter, no policy
        (policy("arn:aws:iam::999988887777:root"), "", False, Verdict.WARN),  # a grant, to whom?
        (None, "", False, Verdict.FAIL),
    ],
)
def test_s3_copy_needs_wistias_account_to_read(
    document: str | None, account: str, new_bucket: bool, verdict: Verdict
) -> None:
    result = checks.wistia_grant("arn:aws:s3:::b", document, account, new_bucket=new_bucket)

    assert result.verdict is verdict
    assert "bucket ARN to give Wistia: arn:aws:s3:::b" in result.found


@pytest.mark.parametrize(
    ("settings", "verdict", "words"),
    [
        (Concurrency(1000, 1000, None, buffered=True, max_concurrency=5), Verdict.PASS, "MaxConcurrency 5"),
        (Concurrency(1000, 900, 100, buffered=False, max_concurrency=None), Verdict.PASS, "100 reserved"),
        (Concurrency(1000, 1000, 0, buffered=False, max_concurrency=None), Verdict.WARN, "pauses the bridge"),
        (Concurrency(10, 10, None, buffered=True, max_concurrency=50), Verdict.WARN, "more than the 10"),
        (Concurrency(1000, 990, 2, buffered=True, max_concurrency=5), Verdict.WARN, "more than the 2"),
        (Concurrency(150, 50, 100, buffered=False, max_concurrency=None), Verdict.WARN, "AWS keeps 100"),
    ],
)
def test_concurrency_against_the_account(settings: Concurrency, verdict: Verdict, words: str) -> None:
    result = checks.concurrency(settings)

    assert result.verdict is verdict
    assert words in result.found


def test_concurrency_not_available_is_skipped() -> None:
    assert checks.concurrency(Failure("not implemented")).verdict is Verdict.SKIP


def test_queues() -> None:
    assert checks.failure_queue(Depth(0, 0, None)).verdict is Verdict.PASS
    assert checks.failure_queue(Depth(3, 0, 7200.0)).verdict is Verdict.WARN
    assert "oldest 7200s" in checks.failure_queue(Depth(3, 0, 7200.0)).found
    assert checks.ingest_backlog(Depth(40, 5, 60.0), 900).verdict is Verdict.PASS
    assert checks.ingest_backlog(Depth(40, 5, 1000.0), 900).verdict is Verdict.WARN
    assert "oldest not available" in checks.ingest_backlog(Depth(1, 0, None), 900).found


@pytest.mark.parametrize(
    ("subscriptions", "verdict"),
    [
        (
            [{"SubscriptionArn": "arn:aws:sns:us-east-1:1:t:abc", "Protocol": "email", "Endpoint": "o@x.io"}],
            Verdict.PASS,
        ),
        (
            [{"SubscriptionArn": "PendingConfirmation", "Protocol": "email", "Endpoint": "o@x.io"}],
            Verdict.FAIL,
        ),
        ([], Verdict.FAIL),
    ],
)
def test_the_alarm_topic_needs_a_confirmed_subscription(
    subscriptions: list[dict[str, str]], verdict: Verdict
) -> None:
    result = checks.alarm_subscriptions("arn:aws:sns:us-east-1:1:t", subscriptions)

    assert result.verdict is verdict
    if verdict is Verdict.FAIL:
        assert "nobody hears the alarms" in result.found
        assert "AlarmEmail" in result.fix


def test_recent_function_errors() -> None:
    assert checks.function_errors(None, 1).verdict is Verdict.PASS
    assert checks.function_errors(0.0, 1).verdict is Verdict.PASS
    assert checks.function_errors(4.0, 1).verdict is Verdict.WARN
    skipped = checks.function_errors(Failure("InvalidAction"), 1)
    assert (skipped.verdict, skipped.found) == (Verdict.SKIP, "not available: InvalidAction")


def test_only_a_failed_check_fails_the_run() -> None:
    warn = checks.Result("x", Verdict.WARN, "")

    assert not checks.exit_failed([warn, checks.Result("y", Verdict.SKIP, "")])
    assert checks.exit_failed([warn, checks.Result("z", Verdict.FAIL, "")])
