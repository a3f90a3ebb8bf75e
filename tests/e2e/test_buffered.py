"""Delivery=buffered deployed into ministack: S3 (or EventBridge) -> the ingest queue -> the event
source mapping -> the real function, with the failure queue as the ingest queue's dead-letter
queue. Each stack is deployed once per module and shared by its tests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from local_stack.harness import REGION, LocalStack
from s3_wistia_bridge.events import s3_notification
from wistia_emulator import FaultRule

from .support import E2E, VIDEO, copies_of, eventually

pytestmark = E2E
# A 5 s function timeout gives a 30 s visibility timeout (6x, the template's mapping): a failed
# message comes back after 30 s, so MaxReceiveCount=2 lands it on the failure queue in ~60 s.
# One Wistia attempt per delivery: the requests Wistia saw count the deliveries.
BUFFERED = {
    "Delivery": "buffered",
    "FunctionTimeoutSeconds": "5",
    "MaxReceiveCount": "2",
    "MaxConcurrency": "2",
    "WistiaConnectTimeoutSeconds": "1",
    "WistiaReadTimeoutSeconds": "3",
    "WistiaMaxAttempts": "1",
}


@pytest.fixture(scope="module")
def buffered() -> Iterator[LocalStack]:
    with LocalStack("e2e-buf", parameters=BUFFERED) as local:
        yield local


@pytest.fixture
def wistia(buffered: LocalStack) -> Any:
    assert buffered.emulator is not None
    buffered.emulator.reset_faults()
    return buffered.emulator


def drained(stack: LocalStack) -> bool:
    return stack.queue_depth(stack.ingest_queue_url) == 0


def failure_records(stack: LocalStack, key: str) -> list[dict[str, Any]]:
    """The bridge's own failure records about `key` on the failure queue."""
    return [
        m
        for m in stack.queue_messages()
        if m.get("type") == "s3-wistia-bridge.failure" and m["object"]["key"] == key
    ]


def test_the_stack_wires_the_ingest_queue_to_the_function_as_the_template_says(buffered: LocalStack) -> None:
    assert buffered.outputs["Delivery"] == "buffered"
    sqs = buffered.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=buffered.ingest_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["VisibilityTimeout"] == "30"  # 6 x FunctionTimeoutSeconds
    assert attributes["MessageRetentionPeriod"] == str(4 * 24 * 3600)
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == buffered.outputs["FailureQueueArn"]
    assert int(redrive["maxReceiveCount"]) == 2  # a string from the Number parameter; SQS takes both
    (mapping,) = buffered.client("lambda").list_event_source_mappings(FunctionName=buffered.function_name)[
        "EventSourceMappings"
    ]
    assert mapping["EventSourceArn"] == buffered.outputs["IngestQueueArn"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 1


def test_an_uploaded_video_goes_through_the_queue_and_is_copied_once(
    buffered: LocalStack, wistia: Any
) -> None:
    key = "buf/Été + friends.mp4"
    buffered.upload(key, VIDEO)

    eventually(lambda: bool(copies_of(wistia, key)))
    eventually(lambda: drained(buffered), timeout=20)  # also S3's s3:TestEvent, acknowledged
    time.sleep(1)  # a late duplicate would show up now
    [request] = copies_of(wistia, key)
    assert request["status"] == 200
    assert request["form"]["bucket"] == buffered.bucket
    assert [m["name"] for m in wistia.medias()].count("Été + friends.mp4") == 1


def test_a_permanent_failure_is_recorded_and_its_message_acknowledged(
    buffered: LocalStack, wistia: Any
) -> None:
    key = "buf/limit.mp4"
    wistia.video_limit = 0
    try:
        buffered.upload(key, VIDEO)
        eventually(lambda: bool(failure_records(buffered, key)))
    finally:
        wistia.video_limit = None
    [record] = failure_records(buffered, key)
    assert record["reason"] == "wistia_video_limit"
    eventually(lambda: drained(buffered), timeout=20)  # acknowledged, not redelivered
    assert len(copies_of(wistia, key)) == 1


def test_the_same_s3_event_delivered_twice_more_is_copied_once(buffered: LocalStack, wistia: Any) -> None:
    key = "buf/twice.mp4"
    buffered.upload(key, VIDEO)
    eventually(lambda: bool(copies_of(wistia, key)))
    head = buffered.client("s3").head_object(Bucket=buffered.bucket, Key=key)
    body = json.dumps(
        s3_notification(
            buffered.bucket,
            REGION,
            key,
            size=len(VIDEO),
            etag=head["ETag"],
            version_id=head["VersionId"],  # the bucket is versioned: the idempotency key has it
        )
    )
    sqs = buffered.client("sqs")
    for _ in range(2):
        sqs.send_message(QueueUrl=buffered.ingest_queue_url, MessageBody=body)

    eventually(lambda: drained(buffered), timeout=20)
    time.sleep(1)
    assert len(copies_of(wistia, key)) == 1
    assert failure_records(buffered, key) == []


def test_a_persistent_transient_failure_moves_the_original_event_to_the_failure_queue(
    buffered: LocalStack, wistia: Any
) -> None:
    key = "buf/stuck.mp4"
    wistia.add_rule(FaultRule(action=503, match="stuck", retry_after=0))
    buffered.upload(key, VIDEO)

    def moved() -> list[dict[str, Any]]:
        return [
            m
            for m in buffered.queue_messages()
            if m.get("Records", [{}])[0].get("s3", {}).get("object", {}).get("key") == key
        ]

    eventually(lambda: bool(moved()), timeout=100)
    [original] = moved()
    # The S3 notification itself, as S3 sent it: SQS's own redrive can send it back.
    assert original["Records"][0]["eventSource"] == "aws:s3"
    assert original["Records"][0]["s3"]["bucket"]["name"] == buffered.bucket
    assert len(copies_of(wistia, key)) == int(BUFFERED["MaxReceiveCount"])  # one per delivery
    assert failure_records(buffered, key) == []  # transient: the bridge wrote no record
    assert drained(buffered)


@pytest.fixture(scope="module")
def existing() -> Iterator[LocalStack]:
    with LocalStack("e2e-bufx", parameters={"Delivery": "buffered"}, existing_bucket=True) as local:
        yield local


def test_an_existing_bucket_sends_through_eventbridge_and_the_queue_and_is_copied_once(
    existing: LocalStack,
) -> None:
    wistia = existing.emulator
    assert wistia is not None
    key = "buf/by eventbridge.mp4"
    existing.upload(key, VIDEO)

    eventually(lambda: bool(copies_of(wistia, key)))
    eventually(lambda: drained(existing), timeout=20)
    time.sleep(1)
    [request] = copies_of(wistia, key)
    assert (request["status"], request["form"]["bucket"]) == (200, existing.bucket)
    assert [m["name"] for m in wistia.medias()].count("by eventbridge.mp4") == 1


# ministack's EventBridge puts the raw key in the event (as moto does), AWS does not document
# whether it is URL-encoded: the function asks S3 which of the raw and the decoded key exists.
def test_an_existing_bucket_key_with_a_plus_and_a_space_arrives_intact(existing: LocalStack) -> None:
    wistia = existing.emulator
    assert wistia is not None
    key = "buf/a test+1.mp4"
    before = len(wistia.requests())
    existing.upload(key, VIDEO)

    eventually(lambda: any(r["path"] == "/s3_copy" for r in wistia.requests()[before:]), timeout=30)
    [request] = [r for r in wistia.requests()[before:] if r["path"] == "/s3_copy"]
    assert request["form"]["source_file"] == key
    assert request["status"] == 200
    assert [m["name"] for m in wistia.medias()].count("a test+1.mp4") == 1
