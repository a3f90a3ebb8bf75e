"""OverwritePolicy and DeletePolicy end to end on loopback: the real bridge (ingest handler), the
real ledger in moto DynamoDB, objects in moto S3 (versioned), and the Wistia emulator for the
copies and the Data API edits (swap with its background job and content fingerprint, delete,
archive); "nothing was sent" is read from the emulator's request log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from boto3.dynamodb.types import TypeDeserializer
from s3_wistia_bridge.aws import AwsClients
from s3_wistia_bridge.config import DeletePolicy
from s3_wistia_bridge.deletes import DeleteSweep
from s3_wistia_bridge.errors import TransientFailure
from s3_wistia_bridge.events import s3_notification
from s3_wistia_bridge.events_out import NoEvents
from s3_wistia_bridge.ledger import Ledger
from s3_wistia_bridge.lifecycle import MediaStatus
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge.s3_objects import S3Objects
from s3_wistia_bridge.sweeper import Pacer
from s3_wistia_bridge.wistia_media import WistiaMedia
from wistia_emulator.faults import FaultRule

from tests.conftest import LambdaContextStub
from tests.integration.conftest import BUCKET, REGION, TOKEN, Stack
from tests.lifecycle.conftest import LEDGER_TABLE, create_ledger_table

BODY_1 = b"\x00\x00\x00\x18ftypmp42 first cut"
BODY_2 = b"\x00\x00\x00\x18ftypmp42 second cut"


class StaticToken:
    def token(self, *, refresh: bool = False) -> str:
        return TOKEN


@pytest.fixture
def versioned(stack: Stack) -> Stack:
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    create_ledger_table(stack.dynamodb)
    return stack


def put(stack: Stack, key: str, body: bytes) -> dict[str, Any]:
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    head = stack.s3.head_object(Bucket=BUCKET, Key=key)
    return s3_notification(
        BUCKET,
        REGION,
        key,
        size=len(body),
        etag=head["ETag"].strip('"'),
        version_id=head["VersionId"],
        sequencer=head["VersionId"],
    )


def removal(key: str, event_name: str, version_id: str | None = None) -> dict[str, Any]:
    return s3_notification(BUCKET, REGION, key, size=0, version_id=version_id, event_name=event_name)


def ledger_rows(stack: Stack) -> list[dict[str, Any]]:
    items = stack.dynamodb.scan(TableName=LEDGER_TABLE, ConsistentRead=True)["Items"]
    rows = [{k: TypeDeserializer().deserialize(v) for k, v in item.items()} for item in items]
    return sorted(rows, key=lambda row: str(row.get("accepted_at") or row.get("status_at")))


def run(app: ModuleType, event: dict[str, Any]) -> list[dict[str, Any]]:
    return list(app.lambda_handler(event, LambdaContextStub())["objects"])


Load = Callable[[dict[str, str]], ModuleType]


def ingest(stack: Stack, load_app: Load, **env: str) -> ModuleType:
    return load_app(stack.env | {"LEDGER_TABLE": LEDGER_TABLE, **env})


# ---------------------------------------------------------------- the emulator


def edits(stack: Stack) -> list[tuple[str, str]]:
    """(method, path) of every Data API edit the emulator got (swap, delete, archive)."""
    return [
        (request["method"], request["path"])
        for request in stack.emulator.requests()
        if request["method"] in ("PUT", "DELETE") and request["path"].startswith("/modern/medias")
    ]


def uploaded_elsewhere(stack: Stack, name: str) -> str:
    """A media someone else uploaded (not the bridge): its hashed_id."""
    answer = requests.post(
        f"{stack.emulator.url}/",
        headers={"Authorization": f"Bearer {TOKEN}"},
        data={"name": name},
        files={"file": (name, BODY_1, "video/mp4")},
        timeout=5,
    )
    answer.raise_for_status()
    return str(answer.json()["hashed_id"])


def control(stack: Stack, path: str, change: dict[str, Any]) -> None:
    requests.post(f"{stack.emulator.url}/__emulator__/{path}", json=change, timeout=5).raise_for_status()


# ---------------------------------------------------------------- OverwritePolicy


def test_replace_swaps_the_new_version_into_the_keys_media_and_the_next_one_too(
    versioned: Stack, load_app: Load
) -> None:
    versioned.emulator.job_queued_seconds = 600  # the swap job waits for finish_jobs()
    app = ingest(versioned, load_app, OVERWRITE_POLICY="replace")
    [first] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    [second] = run(app, put(versioned, "videos/cut.mp4", BODY_2))
    assert first["outcome"] == second["outcome"] == "copied"
    assert edits(versioned) == [("PUT", f"/modern/medias/{first['hashed_id']}/swap")]
    row = ledger_rows(versioned)[-1]
    assert row["swapped_into"] == first["hashed_id"]
    assert row["hashed_id"] == second["hashed_id"]  # the replacement is kept and recorded
    assert row["swap_job_id"]
    before = versioned.emulator.media(first["hashed_id"])["content"]
    versioned.emulator.finish_jobs()
    served = versioned.emulator.media(first["hashed_id"])["content"]
    new = versioned.emulator.media(second["hashed_id"])["content"]
    assert served["swapped_from"] == second["hashed_id"]
    assert served["version_id"] == new["version_id"] == row["version_id"] != before["version_id"]
    [third] = run(app, put(versioned, "videos/cut.mp4", BODY_1 + b"3"))
    assert third["outcome"] == "copied"
    assert edits(versioned)[-1] == ("PUT", f"/modern/medias/{first['hashed_id']}/swap")  # the embed id


def test_a_crash_after_the_copy_before_the_swap_swaps_exactly_once_on_the_retries(
    versioned: Stack, load_app: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ingest(versioned, load_app, OVERWRITE_POLICY="replace")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    event = put(versioned, "videos/cut.mp4", BODY_2)
    with monkeypatch.context() as crash:
        crash.setattr(
            "s3_wistia_bridge.versions.KeyPolicies._swap",
            lambda *args: (_ for _ in ()).throw(SystemExit("killed")),
        )
        with pytest.raises(SystemExit):
            app.lambda_handler(event, LambdaContextStub())
    copies = len(versioned.emulator.medias())
    assert edits(versioned) == []
    for _ in range(3):  # the retry, then duplicate deliveries
        [report] = run(app, event)
        assert report["outcome"] == "duplicate"
    assert len(versioned.emulator.medias()) == copies  # not copied again
    assert [method for method, path in edits(versioned) if path.endswith("/swap")] == ["PUT"]


def test_a_swap_refused_as_not_ready_is_retried_and_then_done(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app, OVERWRITE_POLICY="replace")
    [first] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.emulator.add_rule(
        FaultRule(
            400,
            path_pattern="/modern/medias/[^/]+/swap",
            times=1,
            body={"error": "The replacement media is still processing"},
        )
    )
    event = put(versioned, "videos/cut.mp4", BODY_2)
    with pytest.raises(TransientFailure) as raised:
        app.lambda_handler(event, LambdaContextStub())
    assert raised.value.reason is FailureReason.SWAP_NOT_READY
    [report] = run(app, event)  # the retry
    assert report["outcome"] == "duplicate"
    assert len(edits(versioned)) == 2
    assert ledger_rows(versioned)[-1]["swapped_into"] == first["hashed_id"]


def test_a_swap_whose_media_is_gone_falls_back_to_a_media_of_its_own(
    versioned: Stack, load_app: Load
) -> None:
    app = ingest(versioned, load_app, OVERWRITE_POLICY="replace")
    [first] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    requests.delete(
        f"{versioned.emulator.url}/modern/medias/{first['hashed_id']}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).raise_for_status()  # deleted in Wistia by someone else: the ledger does not know
    [report] = run(app, put(versioned, "videos/cut.mp4", BODY_2))
    assert report["outcome"] == "copied"
    assert edits(versioned)[-1] == ("PUT", f"/modern/medias/{first['hashed_id']}/swap")  # answered 404
    row = ledger_rows(versioned)[-1]
    assert row["replace_fell_back_at"]
    assert "swapped_into" not in row
    assert versioned.failure_records() == []


def test_a_refused_swap_is_a_swap_refused_record_and_the_new_media_stands(
    versioned: Stack, load_app: Load
) -> None:
    app = ingest(versioned, load_app, OVERWRITE_POLICY="replace")
    [first] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    control(versioned, f"medias/{first['hashed_id']}", {"type": "Audio"})  # a swap between types: 400
    [report] = run(app, put(versioned, "videos/cut.mp4", BODY_2))
    assert report["outcome"] == "permanent_failure"
    assert report["reason"] == "swap_refused"
    assert report["hashed_id"]
    [record] = versioned.failure_records()
    assert record["reason"] == "swap_refused"
    assert ledger_rows(versioned)[-1]["status"] == "accepted"  # not copy_failed: the media exists


def test_skip_records_the_version_and_sends_nothing(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app, OVERWRITE_POLICY="skip")
    [first] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    sent = len(versioned.emulator.requests())
    event = put(versioned, "videos/cut.mp4", BODY_2)
    for _ in range(2):  # and its duplicate delivery
        [report] = run(app, event)
        assert report == {
            "outcome": "skipped",
            "uri": f"s3://{BUCKET}/videos/cut.mp4",
            "reason": "already_in_wistia",
            "message": report["message"],
            "hashed_id": first["hashed_id"],
        }
    assert len(versioned.emulator.requests()) == sent
    skipped = ledger_rows(versioned)[-1]
    assert (skipped["status"], skipped["kept_media"]) == (MediaStatus.SKIPPED.value, first["hashed_id"])


# ---------------------------------------------------------------- DeletePolicy


def sweep(stack: Stack, policy: str, *, dry_run: bool = False, at: datetime) -> dict[str, Any]:
    aws = AwsClients(boto3.session.Session(region_name=REGION))
    deletes = DeleteSweep(
        DeletePolicy(policy),
        dry_run,
        ledger=Ledger(stack.dynamodb, LEDGER_TABLE),
        media=WistiaMedia(stack.emulator.url, StaticToken()),
        objects=S3Objects(aws),
        events=NoEvents(),
    )
    return deletes.run(Pacer(100, 10, sleep=lambda _: None), lambda: 60.0, at, 10)


LATER = datetime.now(UTC) + timedelta(hours=2)


def test_a_delete_marker_deletes_only_the_bridges_media_after_the_grace_period(
    versioned: Stack, load_app: Load
) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_GRACE_SECONDS="3600")
    [copied] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    name = versioned.emulator.media(copied["hashed_id"])["name"]
    someone_elses = uploaded_elsewhere(versioned, name)  # same name, not the bridge's
    [other] = run(app, put(versioned, "videos/other.mp4", BODY_1))  # another key: never touched
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")  # a delete marker
    for _ in range(2):  # a duplicate removal event schedules nothing more
        [report] = run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
        assert report["outcome"] == "skipped"
    assert sweep(versioned, "delete", at=datetime.now(UTC))["stopped"] is None
    assert edits(versioned) == []  # not due yet
    done = sweep(versioned, "delete", at=LATER)
    assert done["deleted"] == 1
    assert edits(versioned) == [("DELETE", f"/modern/medias/{copied['hashed_id']}")]
    assert versioned.emulator.media(copied["hashed_id"])["deleted"] is True
    for kept in (someone_elses, other["hashed_id"]):
        assert versioned.emulator.media(kept)["deleted"] is False
    rows = {row["key"]: row for row in ledger_rows(versioned)}
    assert rows["videos/cut.mp4"]["status"] == "deleted"
    assert rows["videos/other.mp4"]["status"] == "accepted"


def test_a_media_already_gone_is_recorded_deleted(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_GRACE_SECONDS="0")
    [copied] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    versioned.emulator.add_rule(FaultRule(404, method="DELETE", times=1))
    assert sweep(versioned, "delete", at=LATER)["deleted"] == 1
    [row] = ledger_rows(versioned)
    assert (row["status"], row["hashed_id"]) == ("deleted", copied["hashed_id"])


def test_a_delete_of_one_noncurrent_version_does_nothing(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_GRACE_SECONDS="0")
    first = put(versioned, "videos/cut.mp4", BODY_1)
    run(app, first)
    run(app, put(versioned, "videos/cut.mp4", BODY_2))
    old = first["Records"][0]["s3"]["object"]["versionId"]
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4", VersionId=old)
    [report] = run(app, removal("videos/cut.mp4", "ObjectRemoved:Delete", old))
    assert report["reason"] == "object_still_exists"
    sweep(versioned, "delete", at=LATER)
    assert edits(versioned) == []


def test_a_reupload_inside_the_grace_period_cancels_the_delete(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    assert any(row.get("delete_pending") for row in ledger_rows(versioned))
    run(app, put(versioned, "videos/cut.mp4", BODY_2))
    assert not any(row.get("delete_pending") for row in ledger_rows(versioned))
    sweep(versioned, "delete", at=LATER)
    assert edits(versioned) == []


def test_the_sweeper_cancels_a_due_delete_whose_object_is_back(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    versioned.s3.put_object(Bucket=BUCKET, Key="videos/cut.mp4", Body=BODY_2)  # its event not yet handled
    assert sweep(versioned, "delete", at=LATER)["cancelled"] == 1
    assert edits(versioned) == []


def test_a_dry_run_sends_no_delete_and_clears_the_mark(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_DRY_RUN="true")
    [copied] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    assert sweep(versioned, "delete", dry_run=True, at=LATER)["dry_run"] == 1
    assert sweep(versioned, "delete", dry_run=True, at=LATER).get("dry_run") is None
    assert [r for r in versioned.emulator.requests() if r["method"] == "DELETE"] == []
    assert versioned.emulator.media(copied["hashed_id"])["deleted"] is False
    [row] = ledger_rows(versioned)
    assert row["delete_dry_run_at"]
    assert row["status"] == "accepted"


def test_archive_archives_the_bridges_media(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="archive", DELETE_GRACE_SECONDS="0")
    [copied] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    assert sweep(versioned, "archive", at=LATER)["archived"] == 1
    versioned.emulator.finish_jobs()
    assert versioned.emulator.media(copied["hashed_id"])["archived"] is True
    assert ledger_rows(versioned)[0]["archived_at"]


def test_archive_403_is_archive_not_in_plan_and_nothing_is_tried_again(
    versioned: Stack, load_app: Load
) -> None:
    versioned.emulator.archiving_enabled = False
    app = ingest(versioned, load_app, DELETE_POLICY="archive")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    assert sweep(versioned, "archive", at=LATER)["refused"] == 1
    [row] = ledger_rows(versioned)
    assert row["delete_failed_reason"] == "archive_not_in_plan"
    sweep(versioned, "archive", at=LATER)
    assert edits(versioned) == [("PUT", "/modern/medias/archive")]


def test_a_removal_of_a_key_the_bridge_never_copied_touches_nothing(versioned: Stack, load_app: Load) -> None:
    uploaded_elsewhere(versioned, "not-ours.mp4")
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_GRACE_SECONDS="0")
    [report] = run(app, removal("videos/not-ours.mp4", "ObjectRemoved:Delete"))
    assert report["reason"] == "no_media_of_key"
    sweep(versioned, "delete", at=LATER)
    assert edits(versioned) == []


def test_delete_policy_ignore_skips_removals_as_before(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app)
    [report] = run(app, removal("videos/cut.mp4", "ObjectRemoved:Delete"))
    assert (report["outcome"], report["reason"]) == ("skipped", "not_object_created")
