"""`s3-wistia-bridge doctor` against stacks deployed into ministack, Wistia being the emulator:
it passes on a healthy stack, and fails with the right fix for each broken setup made here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from local_stack.harness import BUILT_TEMPLATE, MINISTACK, SAM, TOKEN, LocalStack
from s3_wistia_bridge_cli.cli import main as cli

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (MINISTACK.exists() and SAM.exists() and BUILT_TEMPLATE.exists()),
        reason="needs the ministack and SAM venvs and a sam build: run `make e2e`",
    ),
]
EVERY_CHECK = {
    "stack", "wistia secret", "wistia token", "wistia account", "wistia grant", "concurrency",
    "failure queue", "alarm topic", "function errors",
}  # fmt: skip


def hear_alarms(stack: LocalStack) -> str:
    """An SQS queue subscribed to the alarm topic (confirmed at once); the subscription's ARN."""
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=f"{stack.stack_name}-alarms")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = stack.outputs["AlarmTopicArn"]
    return str(stack.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"])


@pytest.fixture(scope="module")
def existing() -> Iterator[LocalStack]:
    """Buffered, an existing bucket (EventBridge), url_import (no bucket grant to check)."""
    parameters = {"Delivery": "buffered", "CopyMode": "url_import"}
    with LocalStack("e2e-doc", parameters=parameters, existing_bucket=True) as local:
        hear_alarms(local)
        yield local


@pytest.fixture
def wistia(existing: LocalStack) -> Iterator[Any]:
    assert existing.emulator is not None
    yield existing.emulator
    existing.emulator.set_tokens([TOKEN])
    existing.emulator.video_limit = None


def doctor(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    for name, value in stack.aws_env().items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = cli(["doctor", "--stack", stack.stack_name, "--json"])
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    return code, {c["check"]: c for c in json.loads(captured.out)["checks"]}


def test_doctor_passes_on_a_healthy_existing_bucket_stack(
    existing: LocalStack, wistia: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = doctor(existing, monkeypatch, capsys)

    assert code == 0, found
    assert set(found) >= EVERY_CHECK | {
        "eventbridge on",
        "eventbridge rule",
        "event source mapping",
        "ingest backlog",
    }
    assert {c["verdict"] for c in found.values()} <= {"pass", "warn", "skip"}
    assert found["wistia token"]["verdict"] == "pass"
    assert found["eventbridge rule"]["verdict"] == "pass"


def test_eventbridge_delivery_off_fails_with_the_command_that_turns_it_on(
    existing: LocalStack, wistia: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = existing.client("s3")
    s3.put_bucket_notification_configuration(Bucket=existing.bucket, NotificationConfiguration={})
    try:
        code, found = doctor(existing, monkeypatch, capsys)
    finally:
        s3.put_bucket_notification_configuration(
            Bucket=existing.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )

    assert code == 1
    assert found["eventbridge on"]["verdict"] == "fail"
    assert (
        f"put-bucket-notification-configuration --bucket {existing.bucket}" in found["eventbridge on"]["fix"]
    )


def test_a_token_wistia_refuses_fails_and_says_to_replace_it(
    existing: LocalStack, wistia: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wistia.set_tokens(["another-token-0123456789abcdef"])

    code, found = doctor(existing, monkeypatch, capsys)

    assert code == 1
    assert found["wistia secret"]["verdict"] == "pass"
    assert (found["wistia token"]["verdict"], found["wistia token"]["found"]) == (
        "fail",
        "Wistia refuses the token (HTTP 401)",
    )
    assert "valid API token in the secret" in found["wistia token"]["fix"]


def test_a_reached_media_limit_fails_and_says_what_to_free(
    existing: LocalStack, wistia: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wistia.video_limit = 0

    code, found = doctor(existing, monkeypatch, capsys)

    assert code == 1
    assert found["wistia account"]["found"] == "uploads are blocked: reached_media_limit"
    assert "archive or delete medias" in found["wistia account"]["fix"]


def test_an_alarm_topic_without_a_confirmed_subscription_fails(
    existing: LocalStack, wistia: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sns = existing.client("sns")
    topic = existing.outputs["AlarmTopicArn"]
    for subscription in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    try:
        code, found = doctor(existing, monkeypatch, capsys)
    finally:
        hear_alarms(existing)

    assert code == 1
    assert found["alarm topic"]["verdict"] == "fail"
    assert "AlarmEmail" in found["alarm topic"]["fix"]


@pytest.fixture(scope="module")
def direct_new_bucket() -> Iterator[LocalStack]:
    """Direct delivery, a new bucket (S3 notifications to the function), s3_copy granted to a
    stand-in for Wistia's account."""
    parameters = {"Delivery": "direct", "WistiaAwsAccountId": "999988887777"}
    with LocalStack("e2e-docd", parameters=parameters) as local:
        hear_alarms(local)
        yield local


def test_doctor_passes_on_a_healthy_new_bucket_stack(
    direct_new_bucket: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = doctor(direct_new_bucket, monkeypatch, capsys)

    assert code == 0, found
    assert found["s3 notifications"]["verdict"] == "pass"
    assert found["wistia grant"]["verdict"] == "pass"
    assert f"arn:aws:s3:::{direct_new_bucket.bucket}" in found["wistia grant"]["found"]
