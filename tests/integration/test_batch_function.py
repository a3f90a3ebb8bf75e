"""The batch function against moto and the Wistia emulator: S3 Batch Operations' invocations of
schema 1.0 and 2.0, through the real handler module (functions/batch/app.py)."""

from __future__ import annotations

from types import ModuleType
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from s3_wistia_bridge.rate_share import RATE_KEY
from wistia_emulator import FaultRule

from tests.conftest import LambdaContextStub, load_event

from .conftest import BUCKET, IDEMPOTENCY_TABLE, LoadBatch, Stack

pytestmark = pytest.mark.integration

BODY = b"\x00\x00\x00\x18ftypmp42"
HARD_KEYS = (
    "videos/plain.mp4",
    "videos/with space.mp4",
    "videos/a+b.mp4",
    "videos/100%.mp4",
    "videos/%41 literal.mp4",  # a real key that a double decode would turn into 'A literal'
    "videos/Café crème + friends.mp4",
    "videos/日本語/動画.mov",
)


def versioned(stack: Stack) -> None:
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


def put(stack: Stack, key: str, body: bytes = BODY) -> str | None:
    version: str | None = stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body).get("VersionId")
    return version


def task(key: str, version: str | None, schema: str, index: int = 0, encode: Any = quote) -> dict[str, Any]:
    """A task as Batch Operations writes it: the key URL-encoded as in the manifest."""
    entry: dict[str, Any] = {
        "taskId": f"task-{index}",
        "s3Key": encode(key, safe="/"),
        "s3VersionId": version,
    }
    if schema == "2.0":
        entry["s3Bucket"] = BUCKET
    else:
        entry["s3BucketArn"] = f"arn:aws:s3:::{BUCKET}"
    return entry


def batch_event(schema: str, tasks: list[dict[str, Any]], user_arguments: Any = None) -> dict[str, Any]:
    job: dict[str, Any] = {"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"}
    if user_arguments is not None:
        job["userArguments"] = user_arguments
    return {"invocationSchemaVersion": schema, "invocationId": "inv-1", "job": job, "tasks": tasks}


def invoke(app: ModuleType, event: Any) -> dict[str, Any]:
    response: dict[str, Any] = app.lambda_handler(event, LambdaContextStub(remaining_seconds=30))
    return response


def results(app: ModuleType, event: Any) -> list[tuple[str, str]]:
    response = invoke(app, event)
    return [(r["resultCode"], r["resultString"]) for r in response["results"]]


def test_both_schemas_copy_each_object_version_once_and_answer_duplicate_after(
    stack: Stack, batch_app: ModuleType
):
    versioned(stack)
    listed = [(key, put(stack, key)) for key in HARD_KEYS]
    listed.append(("videos/plain.mp4", put(stack, "videos/plain.mp4", BODY + b"v2")))  # a second version

    first = []
    for index, (key, version) in enumerate(listed):
        response = invoke(batch_app, batch_event("1.0", [task(key, version, "1.0", index)]))
        assert response["invocationSchemaVersion"] == "1.0"
        assert response["invocationId"] == "inv-1"
        assert response["treatMissingKeysAs"] == "PermanentFailure"
        (result,) = response["results"]
        assert result["taskId"] == f"task-{index}"
        assert result["resultCode"] == "Succeeded", result
        first.append(result["resultString"])

    # One media per object version, named after the decoded key's file name.
    medias = stack.emulator.medias()
    assert len(medias) == len(listed)
    assert sorted(m["hashed_id"] for m in medias) == sorted(first)
    sources = sorted(r["form"]["source_file"] for r in stack.emulator.requests() if r["path"] == "/s3_copy")
    assert sources == sorted(key for key, _ in listed)

    # The same objects again, schema 2.0 and form encoding ('+' for a space): duplicates.
    again = [
        results(batch_app, batch_event("2.0", [task(key, version, "2.0", i, quote_plus)], {}))[0]
        for i, (key, version) in enumerate(listed)
    ]
    assert again == [("Succeeded", f"duplicate:{hashed_id}") for hashed_id in first]
    assert len(stack.emulator.medias()) == len(listed)


def test_live_upload_and_backfill_agree_on_the_object_version(
    stack: Stack, batch_app: ModuleType, bridge_app: ModuleType
):
    """Unversioned bucket: the live event's identity is the ETag; the batch task's too (HeadObject)."""
    event = stack.put("videos/live then backfill.mp4")
    live = bridge_app.lambda_handler(event, LambdaContextStub())["objects"][0]
    assert live["outcome"] == "copied"

    assert results(batch_app, batch_event("2.0", [task("videos/live then backfill.mp4", None, "2.0")])) == [
        ("Succeeded", f"duplicate:{live['hashed_id']}")
    ]
    assert len(stack.emulator.medias()) == 1


def test_rejected_and_missing_objects_succeed_with_the_reason(stack: Stack, batch_app: ModuleType):
    put(stack, "videos/notes.txt")
    put(stack, "videos/empty.mp4", b"")
    event = batch_event(
        "2.0",
        [
            task("videos/notes.txt", None, "2.0", 0),
            task("videos/empty.mp4", None, "2.0", 1),
            task("videos/gone.mp4", None, "2.0", 2),
            task("other/prefix.mp4", None, "2.0", 3) | {"s3Bucket": "not-allowed-bucket"},
        ],
    )
    assert results(batch_app, event) == [
        ("Succeeded", "rejected:extension_not_allowed"),
        ("Succeeded", "rejected:empty_object"),
        ("Succeeded", "rejected:object_missing"),
        ("Succeeded", "rejected:bucket_not_allowed"),
    ]
    assert stack.emulator.medias() == []
    assert stack.failure_records() == []


def test_a_transient_outage_is_a_temporary_failure_and_its_retry_copies_once(
    stack: Stack, batch_app: ModuleType
):
    put(stack, "videos/outage.mp4")
    event = batch_event("2.0", [task("videos/outage.mp4", None, "2.0")])
    stack.emulator.add_rule(FaultRule(action=503, times=1))

    ((code, text),) = results(batch_app, event)
    assert code == "TemporaryFailure"
    assert text.startswith("wistia_rate_limited: HTTP 503")
    assert stack.failure_records() == []  # Batch Operations retries it: nothing for the operator

    ((code, hashed_id),) = results(batch_app, event)
    assert code == "Succeeded"
    assert [m["hashed_id"] for m in stack.emulator.medias()] == [hashed_id]


def test_a_permanent_failure_has_its_reason_and_a_failure_record(stack: Stack, batch_app: ModuleType):
    put(stack, "videos/over-limit.mp4")
    stack.emulator.add_rule(
        FaultRule(action=400, body={"error": "This account has exceeded its video limit"}, times=1)
    )
    ((code, text),) = results(batch_app, batch_event("1.0", [task("videos/over-limit.mp4", None, "1.0")]))
    assert code == "PermanentFailure"
    assert text.startswith("wistia_video_limit: ")
    (record,) = stack.failure_records()
    assert record["reason"] == "wistia_video_limit"
    # The record replays through the live function: an S3 notification of exactly this object.
    replayed = record["event"]["Records"][0]["s3"]["object"]
    assert replayed["key"] == "videos/over-limit.mp4"
    assert replayed["size"] == len(BODY)


def test_malformed_invocations_and_tasks_get_one_result_each(stack: Stack, batch_app: ModuleType):
    tasks: list[Any] = [
        task("videos/ok.mp4", None, "2.0", 0) | {"s3Key": "videos/bad%FF.mp4"},
        {"taskId": "task-1", "s3Bucket": BUCKET},
        "not a task",
        {"taskId": "task-3", "s3Key": "videos/x.mp4", "s3BucketArn": "arn:aws:s3:::" + BUCKET},  # 1.0 field
    ]
    response = invoke(batch_app, batch_event("2.0", tasks))
    assert [r["taskId"] for r in response["results"]] == ["task-0", "task-1", "", "task-3"]
    assert {r["resultCode"] for r in response["results"]} == {"PermanentFailure"}
    assert all(r["resultString"].startswith("malformed_event: ") for r in response["results"])
    assert len(stack.failure_records()) == 4

    assert invoke(batch_app, "not an event")["results"] == []
    assert invoke(
        batch_app, {"invocationSchemaVersion": "9.0", "tasks": [task("videos/a.mp4", None, "2.0")]}
    )["results"][0]["resultString"].startswith("malformed_event: invocationSchemaVersion '9.0'")


def test_unknown_user_arguments_are_refused_per_task_with_a_clear_result(stack: Stack, batch_app: ModuleType):
    """Powertools' own schema 2.0 sample carries k1/k2: not ours."""
    response = invoke(batch_app, load_event("s3-batch-powertools-schema2.json"))
    (result,) = response["results"]
    assert result["taskId"] == "dGFza2lkZ29lc2hlcmUK"
    assert result["resultCode"] == "PermanentFailure"
    assert result["resultString"] == (
        "malformed_event: job.userArguments: unknown key(s) ['k1', 'k2']; allowed: low_priority, project_id"
    )
    bad_value = batch_event("2.0", [task("videos/a.mp4", None, "2.0")], {"low_priority": "maybe"})
    assert results(batch_app, bad_value) == [
        ("PermanentFailure", "malformed_event: job.userArguments: low_priority: 'maybe' is not true or false")
    ]
    assert stack.emulator.requests() == []


def test_the_sample_events_in_events_are_answered(stack: Stack, batch_app: ModuleType):
    put(stack, "videos/Café crème + friends.mp4")
    for name in ("s3-batch-schema1.json", "s3-batch-schema2.json"):
        response = invoke(batch_app, load_event(name))
        assert [r["resultCode"] for r in response["results"]] == ["Succeeded"], response
    assert len(stack.emulator.medias()) == 1


def test_job_arguments_set_project_and_low_priority_on_url_imports_only(stack: Stack, load_batch: LoadBatch):
    put(stack, "videos/url.mp4")
    app = load_batch(stack.env | {"COPY_MODE": "url_import"})
    arguments = {"project_id": "backfill01", "low_priority": "true"}
    ((code, _),) = results(app, batch_event("2.0", [task("videos/url.mp4", None, "2.0")], arguments))
    assert code == "Succeeded"
    (sent,) = [r for r in stack.emulator.requests() if r["path"] == "/"]
    assert sent["form"]["low_priority"] == "true"
    assert sent["form"]["project_id"] == "backfill01"


def test_s3_copy_never_sends_low_priority(stack: Stack, batch_app: ModuleType):
    put(stack, "videos/copy.mp4")
    results(batch_app, batch_event("2.0", [task("videos/copy.mp4", None, "2.0")], {"low_priority": "true"}))
    (sent,) = [r for r in stack.emulator.requests() if r["path"] == "/s3_copy"]
    assert "low_priority" not in sent["form"]
    assert sent["form"]["project_id"] == "defaultproj1"


def test_the_rate_share_answers_temporary_failure_when_used_up(stack: Stack, load_batch: LoadBatch):
    app = load_batch(
        stack.env
        | {"BACKFILL_RATE_PER_MINUTE": "1", "BACKFILL_RATE_BURST": "1", "BACKFILL_MAX_WAIT_SECONDS": "0"}
    )
    put(stack, "videos/one.mp4")
    put(stack, "videos/two.mp4")
    first = results(app, batch_event("2.0", [task("videos/one.mp4", None, "2.0")]))
    second = results(app, batch_event("2.0", [task("videos/two.mp4", None, "2.0")]))
    assert first[0][0] == "Succeeded"
    assert second == [
        (
            "TemporaryFailure",
            "backfill_rate_limited: the backfill's share of the Wistia rate budget is used up for now; "
            "nothing was sent",
        )
    ]
    # A duplicate takes no token: it is answered before any request.
    assert results(app, batch_event("2.0", [task("videos/one.mp4", None, "2.0")]))[0][1].startswith(
        "duplicate:"
    )
    item = stack.dynamodb.get_item(TableName=IDEMPOTENCY_TABLE, Key={"id": {"S": RATE_KEY}})["Item"]
    assert int(item["tat"]["N"]) > 0
    assert len(stack.emulator.medias()) == 1


def test_a_task_the_rate_share_refused_is_sent_on_its_retry_not_looked_up(
    stack: Stack, load_batch: LoadBatch
):
    """A refusal sent nothing: it leaves no "sent at" entry, so the retry sends its request instead
    of adopting a same-named media in the folder (here a live upload's, seconds old)."""
    app = load_batch(
        stack.env
        | {"BACKFILL_RATE_PER_MINUTE": "1", "BACKFILL_RATE_BURST": "1", "BACKFILL_MAX_WAIT_SECONDS": "0"}
    )
    put(stack, "live/clip.mp4")
    put(stack, "old/clip.mp4")
    (live,) = results(app, batch_event("2.0", [task("live/clip.mp4", None, "2.0")]))
    (refused,) = results(app, batch_event("2.0", [task("old/clip.mp4", None, "2.0")]))
    assert refused[0] == "TemporaryFailure"
    assert len(stack.journal_items()) == 1  # the copy that was sent
    stack.dynamodb.delete_item(TableName=IDEMPOTENCY_TABLE, Key={"id": {"S": RATE_KEY}})  # a minute later
    (retried,) = results(app, batch_event("2.0", [task("old/clip.mp4", None, "2.0")]))
    assert retried[0] == "Succeeded"
    assert retried[1] != live[1]
    assert len(stack.emulator.medias()) == 2
    assert [r["path"] for r in stack.emulator.requests()] == ["/s3_copy", "/s3_copy"]
