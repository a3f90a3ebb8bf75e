"""Following each media to ready, deployed: the emulator's media lifecycle and its signed webhooks to
the webhook function's Function URL in ministack, the ledger, a failure in Wistia replayed as a new
media, (StatusTracking=poll, a second stack in the same ministack) the sweeper alone, and a
backfill manifest played through the deployed batch function's alias by the local job runner."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import pytest
import requests
from local_stack import batch_runner
from local_stack.harness import WEBHOOK_SECRET, LocalStack
from s3_wistia_bridge import batch_report
from s3_wistia_bridge_cli import batch_jobs
from s3_wistia_bridge_cli.cli import main as cli

from .support import E2E, VIDEO, copies_of, eventually

pytestmark = E2E


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack("e2e-track", parameters={"Delivery": "direct"}) as local:
        yield local


def failure_records(stack: LocalStack, key: str) -> list[dict[str, Any]]:
    return [
        m
        for m in stack.queue_messages()
        if m.get("type") == "s3-wistia-bridge.failure" and m["object"]["key"] == key
    ]


def post_webhook(stack: LocalStack, body: bytes, *, secret: str = WEBHOOK_SECRET) -> requests.Response:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Wistia-Signature": signature}
    return requests.post(stack.webhook_url, data=body, headers=headers, timeout=10)


def webhook_body(kind: str, hashed_id: str, at: datetime, uuid: str) -> bytes:
    event = {
        "uuid": uuid,
        "type": kind,
        "generated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "payload": {"media": {"id": hashed_id, "name": "x"}},
    }
    return json.dumps({"hook": {"uuid": f"hook-{uuid}"}, "events": [event]}).encode()


@pytest.fixture
def wistia(stack: LocalStack) -> Any:
    """The emulator, faults cleared, its lifecycle and webhooks on (a test may change them)."""
    emulator = stack.emulator
    assert emulator is not None
    emulator.reset_faults()
    stack.follow_medias()
    return emulator


def test_an_upload_ends_ready_in_the_ledger_through_signed_webhooks(stack: LocalStack, wistia: Any) -> None:
    key = "e2e/track/Été ready+1.mp4"
    stack.upload(key, VIDEO)

    eventually(lambda: stack.ledger_status(key) == "ready", timeout=30)
    [item] = stack.ledger(key)
    [media] = [m for m in wistia.medias() if m["name"] == "Été ready+1.mp4"]
    assert item["hashed_id"] == media["hashed_id"]
    assert {"accepted_at", "queued_at", "processing_at", "ready_at"} <= set(item)
    assert item["media_url"].endswith(f"/medias/{media['hashed_id']}")

    def mine() -> list[dict[str, Any]]:
        return [d for d in wistia.webhook_deliveries() if d["hashed_id"] == media["hashed_id"]]

    # The emulator lists a delivery once it has its answer.
    eventually(lambda: {d["type"] for d in mine()} >= {"media.processing", "media.ready"}, timeout=5)
    assert all(d["status"] == 200 for d in mine())  # signed with the deployed secret
    assert "open_status" not in item  # final: out of the sweeper's index


def test_a_media_that_fails_in_wistia_is_recorded_and_a_replay_makes_a_ready_one(
    stack: LocalStack, wistia: Any
) -> None:
    key = "e2e/track/broken-once.mp4"
    stack.follow_medias(fail_match=["broken-once"], fail_times=1)
    stack.upload(key, VIDEO)

    eventually(lambda: stack.ledger_status(key) == "failed", timeout=30)
    eventually(lambda: bool(failure_records(stack, key)), timeout=10)
    [record] = failure_records(stack, key)
    assert record["reason"] == "wistia_processing_failed"
    failed = stack.ledger(key)[-1]
    assert record["media"]["hashedId"] == failed["hashed_id"]

    os.environ.update(stack.aws_env())
    argv = ["replay", "--queue-url", stack.queue_url, "--function-name", stack.function_name, "--yes"]
    assert cli(argv) == 0

    eventually(lambda: stack.ledger_status(key) == "ready", timeout=30)
    first, second = stack.ledger(key)
    assert (first["status"], second["status"]) == ("failed", "ready")
    assert second["replaces"] == first["hashed_id"]
    assert first["replaced_by"] == second["hashed_id"]
    assert len(copies_of(wistia, key)) == 2  # the first copy and the replay's new media
    assert failure_records(stack, key) == []


def test_duplicated_reordered_and_late_webhooks_change_nothing_they_should_not(
    stack: LocalStack, wistia: Any
) -> None:
    key = "e2e/track/noisy.mp4"
    stack.follow_medias(duplicate_rate=1.0, reorder_rate=1.0, seed=7)
    stack.upload(key, VIDEO)

    eventually(lambda: stack.ledger_status(key) == "ready", timeout=30)
    hashed_id = stack.ledger(key)[-1]["hashed_id"]
    mine = [d for d in wistia.webhook_deliveries() if d["hashed_id"] == hashed_id]
    eventually(
        lambda: any(d["reordered"] for d in wistia.webhook_deliveries() if d["hashed_id"] == hashed_id)
    )
    assert any(d["duplicate"] for d in mine)
    [item] = stack.ledger(key)
    assert item["status"] == "ready"

    # Signed by Wistia's secret, after the media is ready: an older processing and a late failure.
    old = datetime.now(UTC) - timedelta(hours=1)
    late = post_webhook(stack, webhook_body("media.processing", hashed_id, old, "e2e-late-processing"))
    failed_body = webhook_body("media.failed", hashed_id, datetime.now(UTC), "e2e-late-failed")
    answers = [post_webhook(stack, failed_body), post_webhook(stack, failed_body)]
    assert [r.status_code for r in (late, *answers)] == [200, 200, 200]
    assert late.json()["applied"] == 0
    assert answers[0].json()["applied"] == 0  # the first final word stands
    assert answers[1].json()["applied"] == 0
    assert stack.ledger(key)[-1]["status"] == "ready"
    assert failure_records(stack, key) == []
    # Unsigned or signed with another secret: refused before parsing.
    assert post_webhook(stack, failed_body, secret="not-the-secret").status_code == 401
    assert requests.post(stack.webhook_url, data=failed_body, timeout=10).status_code == 401


# ---------------------------------------------------------------- StatusTracking=poll


@pytest.fixture(scope="module")
def poll_stack(stack: LocalStack) -> dict[str, str]:
    """A second stack in the same ministack: no webhook function, the sweeper alone."""
    name = f"{stack.stack_name}-poll"
    bucket = f"{stack.bucket}-poll"
    # The webhook secret left out (its default, empty): only webhooks need it.
    overrides = {k: v for k, v in stack.overrides.items() if k != "WistiaWebhookSecretArn"}
    overrides |= {"BucketName": bucket, "StatusTracking": "poll"}
    stack.sam_deploy(name, overrides)
    described = stack.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    assert "WebhookUrl" not in outputs
    return outputs | {"bucket": bucket}


def test_with_poll_the_sweeper_brings_the_ledger_to_ready(
    stack: LocalStack, wistia: Any, poll_stack: dict[str, str]
) -> None:
    key = "e2e/poll/swept.mp4"
    stack.client("s3").put_object(Bucket=poll_stack["bucket"], Key=key, Body=VIDEO)
    dynamodb, table = stack.client("dynamodb"), poll_stack["LedgerTableName"]
    pk = {"S": f"{poll_stack['bucket']}/{key}"}

    def items() -> list[dict[str, Any]]:
        return list(
            dynamodb.query(
                TableName=table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": pk},
                ConsistentRead=True,
            )["Items"]
        )

    eventually(lambda: bool(items()), timeout=30)
    [item] = items()
    assert item["status"]["S"] == "accepted"  # no webhooks here
    # SWEEP_AFTER_MINUTES is at least 1: make the copy look older instead of waiting for it.
    before = (datetime.now(UTC) - timedelta(minutes=31)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    dynamodb.update_item(
        TableName=table,
        Key={"pk": pk, "sk": item["sk"]},
        UpdateExpression="SET accepted_at = :before",
        ExpressionAttributeValues={":before": {"S": before}},
    )
    hashed_id = item["hashed_id"]["S"]
    eventually(lambda: any(m["hashed_id"] == hashed_id and m["status"] == "ready" for m in wistia.medias()))

    response = stack.client("lambda").invoke(FunctionName=poll_stack["SweeperFunctionName"], Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()

    [item] = items()
    assert item["status"]["S"] == "ready"
    show_media = [r for r in wistia.requests() if r["path"] == f"/modern/medias/{hashed_id}"]
    assert len(show_media) == 1  # one request per open media, nothing else


# ---------------------------------------------------------------- S3 Batch Operations (local runner)


def test_the_local_batch_runner_plays_a_manifest_through_the_deployed_alias(
    stack: LocalStack, wistia: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = stack.client("s3")
    copied = "e2e/batch/live already.mp4"
    stack.upload(copied, VIDEO)
    eventually(lambda: bool(copies_of(wistia, copied)))
    # Objects the live path never saw (its notification off meanwhile), as in a backfill.
    notification = s3.get_bucket_notification_configuration(Bucket=stack.bucket)
    notification.pop("ResponseMetadata", None)
    new_keys = ["e2e/batch/with space.mp4", "e2e/batch/a+b.mp4", "e2e/batch/Café crème.mp4"]
    s3.put_bucket_notification_configuration(Bucket=stack.bucket, NotificationConfiguration={})
    try:
        for key in [*new_keys, "e2e/batch/notes.txt"]:
            stack.upload(key, VIDEO)
    finally:
        s3.put_bucket_notification_configuration(Bucket=stack.bucket, NotificationConfiguration=notification)
    keys = [*new_keys, copied, "e2e/batch/notes.txt"]
    rows = []
    for key in keys:
        version = s3.head_object(Bucket=stack.bucket, Key=key)["VersionId"]
        rows.append(f"{stack.bucket},{quote(key, safe='/')},{version}\n")  # manifests are URL-encoded

    report = io.StringIO()
    invoke = batch_runner.deployed(stack.client("lambda"), stack.outputs["BatchFunctionAliasArn"])
    assert batch_runner.run_job(invoke, rows, report) == len(keys)

    report_rows = list(csv.reader(io.StringIO(report.getvalue())))
    assert [unquote(row[1]) for row in report_rows] == keys
    assert [row[3] for row in report_rows] == ["succeeded"] * len(keys)  # rejections are not failures
    results = {unquote(row[1]): row[6] for row in report_rows}
    assert results["e2e/batch/live already.mp4"].startswith("duplicate:")
    assert results["e2e/batch/notes.txt"] == "rejected:extension_not_allowed"
    for key in new_keys:
        assert len(copies_of(wistia, key)) == 1, key  # one media per object
        [media] = [m for m in wistia.medias() if m["hashed_id"] == results[key]]
        assert media["name"] == key.rsplit("/", 1)[1]
    assert len(copies_of(wistia, copied)) == 1
    # --status's summary, read as it reads a job's report: manifest.json, then its result files.
    job: dict[str, Any] = {
        "JobId": "local-job",
        "Report": {
            "Bucket": f"arn:aws:s3:::{stack.bucket}",
            "Enabled": True,
            "Prefix": "batch-operations/reports",
        },
    }
    results_key = "batch-operations/reports/job-local-job/results/all.csv"
    s3.put_object(Bucket=stack.bucket, Key=results_key, Body=report.getvalue().encode())
    s3.put_object(
        Bucket=stack.bucket,
        Key="batch-operations/reports/job-local-job/manifest.json",
        Body=json.dumps(
            {
                "Format": batch_report.REPORT_FORMAT,
                "Results": [{"TaskExecutionStatus": "succeeded", "Bucket": stack.bucket, "Key": results_key}],
            }
        ).encode(),
    )
    lines = batch_jobs.report_lines(s3, job)
    assert lines is not None
    summary = batch_report.summarise(lines).as_dict()
    assert (summary["copied"], summary["duplicate"], summary["failed"]) == (len(new_keys), 1, {})
    assert summary["rejected"] == {"extension_not_allowed": 1}

    # The manifest a `backfill --batch` would submit: counted against the deployed stack.
    os.environ.update(stack.aws_env())
    capsys.readouterr()
    code = cli(["backfill", f"s3://{stack.bucket}/e2e/batch/", "--batch", "--dry-run", "--json",
                "--stack", stack.stack_name])  # fmt: skip
    dry = json.loads(capsys.readouterr().out)
    assert code == 0
    assert dry["summary"] == {
        "objects": len(keys) - 1,
        "bytes": (len(keys) - 1) * len(VIDEO),
        "rejected": {"extension_not_allowed": 1},
    }
    assert dry["missingOutputs"] == ["BatchOperationsRoleArn"]  # deployed without BatchOperationsRole
    assert [k for k in keys_of(s3, stack.bucket) if k.startswith("batch-operations/manifests/")] == []


def keys_of(s3: Any, bucket: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
