"""The deployed system, not only the code: the real template in ministack, real S3 events, the
real function with its layer, Lambda's async retries and on-failure destination, and a replay."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from local_stack.harness import LocalStack
from local_stack.observe import wait_for
from s3_wistia_bridge_cli.cli import main as cli
from wistia_emulator import FaultRule

from .support import E2E, VIDEO, copies_of, eventually

pytestmark = E2E


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Lambda's asynchronous invocation, as before the ingest queue (Delivery=buffered, the
    # default, is tests/e2e/test_buffered.py).
    with LocalStack("e2e", parameters={"Delivery": "direct"}) as local:
        yield local


@pytest.fixture
def wistia(stack: LocalStack) -> Any:
    assert stack.emulator is not None
    stack.emulator.reset_faults()
    return stack.emulator


def test_an_uploaded_video_is_copied_once_with_the_buckets_region_and_project(
    stack: LocalStack, wistia: Any
) -> None:
    key = "e2e/Été + friends.mp4"
    stack.upload(key, VIDEO)

    eventually(lambda: bool(copies_of(wistia, key)))
    time.sleep(1)  # a late duplicate would show up now
    [request] = copies_of(wistia, key)
    assert request["status"] == 200
    assert request["form"] == {
        "bucket": stack.bucket,
        "source_file": key,
        "region": "us-east-1",
        "name": "Été + friends.mp4",
        "project_id": "localdemo",
    }


def test_a_rejected_object_is_never_sent_and_is_logged_with_its_reason(
    stack: LocalStack, wistia: Any
) -> None:
    key = "e2e/readme.txt"
    stack.upload(key, b"not a video")

    found = wait_for(stack, {key: "rejected"}, timeout=30)
    assert found[key].detail == "extension_not_allowed"
    assert copies_of(wistia, key) == []


def test_exhausted_transient_failure_lands_as_an_on_failure_record_and_replays(
    stack: LocalStack, wistia: Any
) -> None:
    key = "e2e/outage.mp4"
    wistia.add_rule(FaultRule(action=503, match="outage", retry_after=0))
    stack.upload(key, VIDEO)

    found = wait_for(stack, {key: "transient_failure"}, timeout=60)
    assert found[key].outcome == "transient_failure"
    [record] = [m for m in stack.queue_messages() if "requestPayload" in m]
    payload_key = record["requestPayload"]["Records"][0]["s3"]["object"]["key"]
    assert payload_key == "e2e/outage.mp4"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert "wistia_rate_limited" in record["responsePayload"]["errorMessage"]
    assert len(copies_of(wistia, key)) == 3 * 4  # 3 invocations x WISTIA_MAX_ATTEMPTS

    wistia.reset_faults()
    os.environ.update(stack.aws_env())
    status = cli(["replay", "--queue-url", stack.queue_url, "--function-name", stack.function_name, "--yes"])

    assert status == 0
    assert copies_of(wistia, key)[-1]["status"] == 200
    assert stack.queue_messages() == []


def test_permanent_failure_is_recorded_by_the_function_and_replayed_after_the_fix(
    stack: LocalStack, wistia: Any
) -> None:
    key = "e2e/limit.mp4"
    wistia.video_limit = 0
    try:
        stack.upload(key, VIDEO)
        found = wait_for(stack, {key: "permanent_failure"}, timeout=60)
    finally:
        wistia.video_limit = None
    assert found[key].detail == "wistia_video_limit"
    [record] = [m for m in stack.queue_messages() if m.get("type") == "s3-wistia-bridge.failure"]
    assert record["object"]["key"] == key
    assert record["http"]["status"] == 400
    assert len(copies_of(wistia, key)) == 1  # not retried by Lambda

    os.environ.update(stack.aws_env())
    assert (
        cli(["replay", "--queue-url", stack.queue_url, "--function-name", stack.function_name, "--yes"]) == 0
    )
    assert copies_of(wistia, key)[-1]["status"] == 200
    assert stack.queue_messages() == []


def test_a_duplicate_delivery_to_the_deployed_function_is_absorbed(stack: LocalStack, wistia: Any) -> None:
    key = "e2e/twice.mp4"
    stack.upload(key, VIDEO)
    eventually(lambda: bool(copies_of(wistia, key)))
    head = stack.client("s3").head_object(Bucket=stack.bucket, Key=key)
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": stack.bucket},
                    "object": {
                        "key": key,
                        "size": len(VIDEO),
                        "eTag": head["ETag"].strip('"'),
                        "versionId": head["VersionId"],
                    },
                },  # the bucket is versioned
            }
        ]
    }

    response = stack.client("lambda").invoke(FunctionName=stack.function_name, Payload=json.dumps(event))

    result = json.loads(response["Payload"].read())
    assert result["objects"][0]["outcome"] == "duplicate"
    assert len(copies_of(wistia, key)) == 1


@pytest.fixture(scope="module")
def url_import_stack() -> Iterator[LocalStack]:
    parameters = {
        "Delivery": "direct",
        "CopyMode": "url_import",
        "PresignedUrlHours": "1",
        "WriteBackTagKey": "wistia-hashed-id",
    }
    with LocalStack("e2e-url", parameters=parameters) as local:
        yield local


def test_url_import_mode_has_wistia_fetch_a_presigned_url_and_tags_the_object(
    url_import_stack: LocalStack,
) -> None:
    stack, wistia = url_import_stack, url_import_stack.emulator
    assert wistia is not None
    key = "e2e/by url+é.mp4"
    stack.upload(key, VIDEO)

    eventually(lambda: bool(wistia.medias()))
    [request] = [r for r in wistia.requests() if r["path"] == "/"]
    [media] = wistia.medias()
    assert request["status"] == 200
    assert set(request["form"]) == {"url", "name", "project_id"}  # no bucket/source_file/region
    assert media["source"]["bytes"] == len(VIDEO)  # Wistia (the emulator) fetched every byte
    assert media["name"] == "by url+é.mp4"
    s3 = stack.client("s3")
    eventually(lambda: bool(s3.get_object_tagging(Bucket=stack.bucket, Key=key)["TagSet"]), timeout=10)
    tags = s3.get_object_tagging(Bucket=stack.bucket, Key=key)["TagSet"]
    assert tags == [{"Key": "wistia-hashed-id", "Value": media["hashed_id"]}]
    time.sleep(1)
    assert len(wistia.medias()) == 1  # tagging did not trigger a second copy
