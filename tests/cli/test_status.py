"""`status s3://bucket/key`: copied, in the failure queue, or nothing known."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from s3_wistia_bridge.reasons import FailureReason

from tests.conftest import LambdaContextStub

from .conftest import BUCKET, IDEMPOTENCY_TABLE, Stack, permanent_record, send, visible_count

Run = Any


def where(stack: Stack) -> list[str]:
    return ["--table", IDEMPOTENCY_TABLE, "--queue-url", stack.queue_url]


def test_copied_object_shows_its_hashed_id_and_time(
    stack: Stack, bridge_app: ModuleType, run_cli: Run
) -> None:
    bridge_app.lambda_handler(stack.put("videos/done.mp4"), LambdaContextStub())
    [media] = stack.emulator.medias()

    run = run_cli("status", f"s3://{BUCKET}/videos/done.mp4", *where(stack))

    assert run.code == 0
    assert f"copied: hashed_id {media['hashed_id']} at 20" in run.out
    document = run_cli("status", f"s3://{BUCKET}/videos/done.mp4", *where(stack), "--json").json()
    assert (document["state"], document["hashedId"]) == ("copied", media["hashed_id"])


def test_an_overwritten_object_is_a_new_version_not_yet_copied(
    stack: Stack, bridge_app: ModuleType, run_cli: Run
) -> None:
    bridge_app.lambda_handler(stack.put("videos/over.mp4"), LambdaContextStub())
    stack.put("videos/over.mp4", body=b"a different video")

    run = run_cli("status", f"s3://{BUCKET}/videos/over.mp4", *where(stack), "--json")

    assert run.json()["state"] == "unknown"


def test_failed_object_shows_the_failure_reason_and_leaves_the_queue_as_it_was(
    stack: Stack, run_cli: Run
) -> None:
    failed = stack.put("videos/failed.mp4")
    send(stack, permanent_record(stack.put("videos/other.mp4")))
    send(stack, permanent_record(failed, FailureReason.WISTIA_FORBIDDEN, 403))
    send(stack, "junk")

    run = run_cli("status", f"s3://{BUCKET}/videos/failed.mp4", *where(stack))

    assert run.code == 1  # the exit status of `status`: 0 copied, 1 in the failure queue, 3 not known
    assert "in the failure queue: wistia_forbidden (permanent)" in run.out
    assert "HTTP 403" in run.out
    assert visible_count(stack) == 3
    assert len(stack.queue_messages()) == 3


def test_unknown_object(stack: Stack, run_cli: Run) -> None:
    stack.put("videos/new.mp4")

    run = run_cli("status", f"s3://{BUCKET}/videos/new.mp4", *where(stack), "--json")

    assert json.loads(run.out)["state"] == "unknown"
    assert "nothing known" in run_cli("status", f"s3://{BUCKET}/videos/new.mp4", *where(stack)).out


def test_missing_object_and_missing_key_are_errors(stack: Stack, run_cli: Run) -> None:
    missing = run_cli("status", f"s3://{BUCKET}/videos/none.mp4", *where(stack))
    no_key = run_cli("status", f"s3://{BUCKET}", *where(stack))

    assert (missing.code, no_key.code) == (2, 2)
    assert "object not found" in missing.err
    assert "has no object key" in no_key.err


def test_backfilled_versioned_object_is_found_by_status(stack: Stack, bridge_env: Any, run_cli: Run) -> None:
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    stack.s3.put_object(Bucket=BUCKET, Key="videos/v.mp4", Body=b"1")
    assert run_cli("backfill", f"s3://{BUCKET}/videos/", "--local", "--yes").code == 0

    run = run_cli("status", f"s3://{BUCKET}/videos/v.mp4", *where(stack), "--json")

    assert run.json()["state"] == "copied"
    assert run.json()["hashedId"] == stack.emulator.medias()[0]["hashed_id"]
