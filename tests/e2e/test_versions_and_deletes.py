"""OverwritePolicy and DeletePolicy deployed into ministack: the template's versioned bucket sends
its ObjectRemoved events (ministack sends `ObjectRemoved:DeleteMarkerCreated` with the marker's
versionId, as S3 does) to the real function, the deployed sweeper executes the due deletes.

Two stacks in one ministack, each deployed once for the module: `replace` with `delete` after a
short grace period, and `skip` with a `delete` dry run. The sweeper is invoked directly rather
than waiting for its 5-minute schedule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from boto3.dynamodb.types import TypeDeserializer
from local_stack.harness import TOKEN, LocalStack

from .support import E2E, VIDEO, copies_of, eventually

pytestmark = E2E
# Long enough for a re-upload to land inside it, short enough to wait out in a test.
GRACE_SECONDS = 4
REPLACE = {
    "OverwritePolicy": "replace",
    "DeletePolicy": "delete",
    "DeleteGraceSeconds": str(GRACE_SECONDS),
}
SKIP_DRY_RUN = {
    "OverwritePolicy": "skip",
    "DeletePolicy": "delete",
    "DeleteDryRun": "true",
    "DeleteGraceSeconds": "0",
}
SECOND_CUT = b"\x00\x00\x00\x18ftypmp42" + bytes(2048)


@pytest.fixture(scope="module")
def replacing() -> Iterator[LocalStack]:
    with LocalStack("e2e-ver", parameters=REPLACE) as local:
        yield local


@pytest.fixture(scope="module")
def skipping(replacing: LocalStack) -> dict[str, str]:
    """The second stack, in the same ministack and against the same emulator: its outputs."""
    name, bucket = f"{replacing.stack_name}-skip", f"{replacing.bucket}-skip"
    replacing.sam_deploy(name, replacing.overrides | SKIP_DRY_RUN | {"BucketName": bucket})
    described = replacing.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])} | {"bucket": bucket}


@pytest.fixture
def wistia(replacing: LocalStack) -> Any:
    assert replacing.emulator is not None
    replacing.emulator.reset_faults()
    return replacing.emulator


def ledger(stack: LocalStack, key: str, bucket: str | None = None, table: str | None = None) -> list[Any]:
    """The key's ledger items (`bucket`/`table`: the second stack's)."""
    items = stack.client("dynamodb").query(
        TableName=table or stack.outputs["LedgerTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{bucket or stack.bucket}/{key}"}},
        ConsistentRead=True,
    )["Items"]
    decode = TypeDeserializer().deserialize
    return [{name: decode(value) for name, value in item.items()} for item in items]


def upload(stack: LocalStack, bucket: str, key: str, body: bytes) -> str:
    """Put the object; its VersionId (the template's bucket is versioned)."""
    return str(stack.client("s3").put_object(Bucket=bucket, Key=key, Body=body)["VersionId"])


def sweep(stack: LocalStack, function_name: str) -> None:
    response = stack.client("lambda").invoke(FunctionName=function_name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()


def edits(wistia: Any, method: str) -> list[str]:
    """The paths of the Data API edits (`method`: PUT for swaps, DELETE) the emulator got."""
    return [r["path"] for r in wistia.requests() if r["method"] == method and r["path"].startswith("/modern")]


def uploaded_elsewhere(wistia: Any, name: str) -> str:
    """A media someone else uploaded under `name` (not through the bridge): its hashed_id."""
    answer = requests.post(
        f"{wistia.url}/",
        headers={"Authorization": f"Bearer {TOKEN}"},
        data={"name": name},
        files={"file": (name, VIDEO, "video/mp4")},
        timeout=5,
    )
    answer.raise_for_status()
    return str(answer.json()["hashed_id"])


def wait_until(timestamp: str) -> None:
    """Sleep past a ledger timestamp (a due delete)."""
    due = datetime.fromisoformat(timestamp)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.5)


def removed_and_pending(stack: LocalStack, key: str, **where: str) -> dict[str, Any]:
    """Delete the object (a delete marker) and wait for the function to mark its media's delete."""
    stack.client("s3").delete_object(Bucket=where.get("bucket", stack.bucket), Key=key)
    eventually(lambda: any(item.get("delete_pending") for item in ledger(stack, key, **where)), timeout=30)
    [item] = [item for item in ledger(stack, key, **where) if item.get("delete_pending")]
    return dict(item)


# ---------------------------------------------------------------- OverwritePolicy


def test_a_reupload_under_replace_keeps_the_hashed_id_and_serves_the_new_file(
    replacing: LocalStack, wistia: Any
) -> None:
    key = "ver/replaced.mp4"
    queued, wistia.job_queued_seconds = wistia.job_queued_seconds, 600  # until finish_jobs()
    try:
        upload(replacing, replacing.bucket, key, VIDEO)
        eventually(lambda: any(item.get("hashed_id") for item in ledger(replacing, key)), timeout=30)
        [first] = ledger(replacing, key)
        original = first["hashed_id"]
        second_version = upload(replacing, replacing.bucket, key, SECOND_CUT)
        eventually(lambda: any(item.get("swapped_into") for item in ledger(replacing, key)), timeout=30)
    finally:
        wistia.job_queued_seconds = queued
    [second] = [item for item in ledger(replacing, key) if item.get("swapped_into")]
    assert second["swapped_into"] == original
    assert second["version_id"] == second_version
    assert edits(wistia, "PUT") == [f"/modern/medias/{original}/swap"]
    assert wistia.media(original)["content"]["version_id"] == first["version_id"]  # not yet swapped
    wistia.finish_jobs()
    served = wistia.media(original)["content"]
    assert (served["version_id"], served["swapped_from"]) == (second_version, second["hashed_id"])
    assert served["bytes"] == len(SECOND_CUT)


def test_a_reupload_under_skip_sends_nothing(
    replacing: LocalStack, skipping: dict[str, str], wistia: Any
) -> None:
    key, where = "ver/skipped.mp4", {"bucket": skipping["bucket"], "table": skipping["LedgerTableName"]}
    upload(replacing, skipping["bucket"], key, VIDEO)
    eventually(lambda: any(item.get("hashed_id") for item in ledger(replacing, key, **where)), timeout=30)
    sent = len(wistia.requests())
    upload(replacing, skipping["bucket"], key, SECOND_CUT)
    eventually(
        lambda: any(item["status"] == "skipped" for item in ledger(replacing, key, **where)), timeout=30
    )
    [kept, skipped] = sorted(ledger(replacing, key, **where), key=lambda item: item["status"] != "accepted")
    assert skipped["kept_media"] == kept["hashed_id"]
    assert len(wistia.requests()) == sent
    assert len(copies_of(wistia, key)) == 1


# ---------------------------------------------------------------- DeletePolicy


def test_a_removed_object_deletes_only_the_bridges_media_after_the_grace_period(
    replacing: LocalStack, wistia: Any
) -> None:
    key = "ver/deleted.mp4"
    upload(replacing, replacing.bucket, key, VIDEO)
    eventually(lambda: any(item.get("hashed_id") for item in ledger(replacing, key)), timeout=30)
    hashed_id = ledger(replacing, key)[0]["hashed_id"]
    someone_elses = uploaded_elsewhere(wistia, wistia.media(hashed_id)["name"])
    pending = removed_and_pending(replacing, key)
    [scheduled] = [
        r
        for r in replacing.function_logs()
        if r.get("message") == "delete scheduled" and r.get("hashed_id") == hashed_id
    ]
    assert scheduled["event_name"] == "ObjectRemoved:DeleteMarkerCreated"  # S3's own event, as on AWS
    sweeper = replacing.outputs["SweeperFunctionName"]
    sweep(replacing, sweeper)  # within the grace period: nothing yet
    assert f"/modern/medias/{hashed_id}" not in edits(wistia, "DELETE")
    wait_until(pending["delete_due_at"])
    sweep(replacing, sweeper)
    assert edits(wistia, "DELETE") == [f"/modern/medias/{hashed_id}"]
    assert wistia.media(hashed_id)["deleted"] is True
    assert wistia.media(someone_elses)["deleted"] is False
    [item] = ledger(replacing, key)
    assert (item["status"], item["deleted_by"]) == ("deleted", "bridge")


def test_a_reupload_inside_the_grace_period_cancels_the_delete(replacing: LocalStack, wistia: Any) -> None:
    key = "ver/back again.mp4"
    upload(replacing, replacing.bucket, key, VIDEO)
    eventually(lambda: any(item.get("hashed_id") for item in ledger(replacing, key)), timeout=30)
    pending = removed_and_pending(replacing, key)
    upload(replacing, replacing.bucket, key, SECOND_CUT)
    eventually(lambda: any(item.get("delete_cancelled_at") for item in ledger(replacing, key)), timeout=30)
    [cancelled] = [item for item in ledger(replacing, key) if item.get("delete_cancelled_at")]
    assert cancelled["delete_cancelled_at"] < pending["delete_due_at"]  # inside the grace period
    assert "delete_pending" not in cancelled
    wait_until(pending["delete_due_at"])
    sweep(replacing, replacing.outputs["SweeperFunctionName"])
    assert f"/modern/medias/{pending['hashed_id']}" not in edits(wistia, "DELETE")


def test_a_dry_run_deletes_nothing(replacing: LocalStack, skipping: dict[str, str], wistia: Any) -> None:
    key, where = "ver/dry run.mp4", {"bucket": skipping["bucket"], "table": skipping["LedgerTableName"]}
    upload(replacing, skipping["bucket"], key, VIDEO)
    eventually(lambda: any(item.get("hashed_id") for item in ledger(replacing, key, **where)), timeout=30)
    pending = removed_and_pending(replacing, key, **where)
    deletes = edits(wistia, "DELETE")
    sweep(replacing, skipping["SweeperFunctionName"])
    assert edits(wistia, "DELETE") == deletes
    assert wistia.media(pending["hashed_id"])["deleted"] is False
    [item] = ledger(replacing, key, **where)
    assert item["delete_dry_run_at"]
    assert item["status"] == "accepted"
