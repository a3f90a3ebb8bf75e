"""Backfill against moto S3 (paginated listing), the real handler in-process, and the emulator."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

import pytest
from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.models import S3Object
from s3_wistia_bridge_cli.backfill import (
    BackfillOptions,
    BackfillStatus,
    RateLimiter,
    backfill,
    bucket_region,
    object_event,
)
from s3_wistia_bridge_cli.replay import InvokeResult, LocalInvoker

from .conftest import BUCKET, RecordingInvoker, Stack, s3_copies

ACCEPTED = ["videos/a b+c.mp4", "videos/Été.mov", "videos/d.mp4", "videos/e.mp4", "videos/f.mp4"]
REJECTED = {"videos/notes.txt": "extension_not_allowed", "videos/": "folder_marker"}


def fill(stack: Stack) -> None:
    for key in ACCEPTED + list(REJECTED):
        body = b"" if key.endswith("/") else b"\x00\x00\x00\x18ftypmp42"
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    stack.s3.put_object(Bucket=BUCKET, Key="elsewhere/x.mp4", Body=b"1")


def list_calls(stack: Stack) -> list[int]:
    calls: list[int] = []
    stack.s3.meta.events.register("before-call.s3.ListObjectsV2", lambda **_kw: calls.append(1))
    return calls


def test_object_event_is_what_s3_sends() -> None:
    event = object_event("b", "eu-west-1", "a b+c/é%41.mp4", size=5, etag='"abc"', version_id="v1")

    [record] = event["Records"]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["awsRegion"] == "eu-west-1"
    assert record["s3"]["object"] == {
        "key": "a+b%2Bc/%C3%A9%2541.mp4",
        "size": 5,
        "eTag": "abc",
        "versionId": "v1",
    }
    assert record["s3"]["object"]["key"] == quote_plus("a b+c/é%41.mp4", safe="/")
    [obj] = parse_event(event)
    assert isinstance(obj, S3Object)
    assert (obj.key, obj.version) == ("a b+c/é%41.mp4", "v1")  # decoded exactly once


def test_bucket_region_of_us_east_1_and_elsewhere(stack: Stack) -> None:
    assert bucket_region(stack.s3, BUCKET) == "us-east-1"  # LocationConstraint None
    stack.s3.create_bucket(Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert bucket_region(stack.s3, "eu-bucket") == "eu-west-1"


class LegacyLocation:
    """A bucket created long ago in Ireland: S3 still answers the legacy constraint "EU"."""

    def get_bucket_location(self, Bucket: str) -> dict[str, Any]:
        return {"LocationConstraint": "EU"}


def test_bucket_region_of_the_legacy_eu_constraint_is_eu_west_1() -> None:
    assert bucket_region(LegacyLocation(), "old-bucket") == "eu-west-1"


def test_dry_run_pages_through_the_bucket_and_invokes_nothing(stack: Stack) -> None:
    fill(stack)
    calls = list_calls(stack)
    config = BridgeConfig.from_environ(stack.env | {"AWS_REGION": "us-east-1"})

    report = backfill(
        stack.s3, BUCKET, config, None, BackfillOptions(prefix="videos/", dry_run=True, page_size=2)
    )

    assert len(calls) == 4  # 7 objects, 2 per page
    would = sorted(r.uri for r in report.results if r.status is BackfillStatus.WOULD_COPY)
    assert would == sorted(f"s3://{BUCKET}/{k}" for k in ACCEPTED)
    rejected = {
        r.uri.removeprefix(f"s3://{BUCKET}/"): r.reason
        for r in report.results
        if r.status is BackfillStatus.REJECTED
    }
    assert rejected == REJECTED
    assert s3_copies(stack) == []


def test_backfill_copies_accepted_objects_only_and_a_rerun_gives_duplicates(
    stack: Stack, bridge_app: ModuleType
) -> None:
    fill(stack)
    config = BridgeConfig.from_environ(stack.env | {"AWS_REGION": "us-east-1"})
    local = LocalInvoker(lambda: bridge_app.lambda_handler)
    invoker = RecordingInvoker(local.invoke)
    options = BackfillOptions(prefix="videos/", page_size=2, concurrency=3)

    first = backfill(stack.s3, BUCKET, config, invoker, options)

    assert sorted(invoker.keys()) == sorted(ACCEPTED)  # rejected objects never invoked
    assert first.summary() | {"rejected": 0} == {
        "copied": 5,
        "duplicate": 0,
        "would copy": 0,
        "rejected": 0,
        "skipped": 0,
        "failed": 0,
    }
    assert sorted(m["name"] for m in stack.emulator.medias()) == sorted(k.rsplit("/", 1)[1] for k in ACCEPTED)

    second = backfill(stack.s3, BUCKET, config, invoker, options)

    assert second.summary()["duplicate"] == 5
    assert second.summary()["copied"] == 0
    assert len(stack.emulator.medias()) == 5
    assert len(s3_copies(stack)) == 5


def test_failed_invocations_are_counted_and_fail_the_run(stack: Stack, run_cli: Any, bridge_env: Any) -> None:
    stack.s3.put_object(Bucket=BUCKET, Key="videos/a.mp4", Body=b"1")
    invoker = RecordingInvoker(
        lambda _e: InvokeResult(200, "Unhandled", {"errorMessage": "wistia_timeout: x"})
    )
    config = BridgeConfig.from_environ(stack.env | {"AWS_REGION": "us-east-1"})

    report = backfill(stack.s3, BUCKET, config, invoker, BackfillOptions())

    [result] = report.results
    assert (result.status, result.detail) == (BackfillStatus.FAILED, "wistia_timeout: x")
    assert report.failed


def test_cli_backfill_dry_run_and_real_run(stack: Stack, bridge_env: Any, run_cli: Any) -> None:
    fill(stack)

    dry = run_cli("backfill", f"s3://{BUCKET}/videos/", "--dry-run", "--page-size", "3", "--json")

    assert dry.code == 0
    assert dry.json()["summary"] == {"would copy": 5, "rejected": 2}
    assert s3_copies(stack) == []

    real = run_cli("backfill", f"s3://{BUCKET}/videos/", "--local", "--rate", "100", "--yes")

    assert real.code == 0, real.err
    assert "copied     s3://media-uploads-example/videos/d.mp4  hashed_id=" in real.out
    assert "rejected   s3://media-uploads-example/videos/notes.txt  reason=extension_not_allowed" in real.out
    assert len(stack.emulator.medias()) == 5


def test_versioned_bucket_objects_are_sent_with_their_version_id(
    stack: Stack, bridge_app: ModuleType
) -> None:
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = stack.s3.put_object(Bucket=BUCKET, Key="videos/v.mp4", Body=b"1")["VersionId"]
    invoker = RecordingInvoker(LocalInvoker(lambda: bridge_app.lambda_handler).invoke)
    config = BridgeConfig.from_environ(stack.env | {"AWS_REGION": "us-east-1"})

    backfill(stack.s3, BUCKET, config, invoker, BackfillOptions())

    [event] = invoker.events
    assert event["Records"][0]["s3"]["object"]["versionId"] == version


def test_rate_limiter_spaces_starts() -> None:
    limiter = RateLimiter(50.0)
    started = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - started >= 5 / 50 - 0.01


def test_missing_bucket_is_a_clear_error(stack: Stack, bridge_env: Any, run_cli: Any) -> None:
    run = run_cli("backfill", "s3://no-such-bucket-here", "--dry-run")

    assert run.code == 2
    assert "bucket does not exist: no-such-bucket-here" in run.err


@pytest.mark.parametrize("target", ["media/x", "s3://"])
def test_bad_targets_are_refused(target: str, run_cli: Any) -> None:
    run = run_cli("backfill", target, "--dry-run")

    assert run.code == 2
    assert "error:" in run.err


def test_invalid_function_configuration_is_named(stack: Stack, run_cli: Any, monkeypatch: Any) -> None:
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALLOWED_BUCKETS", "Not_A_Bucket")

    run = run_cli("backfill", f"s3://{BUCKET}", "--dry-run")

    assert run.code == 2
    assert "ALLOWED_BUCKETS" in run.err
