"""OverwritePolicy and DeletePolicy end to end on loopback: the real bridge (ingest handler), the
real ledger in moto DynamoDB, objects in moto S3 (versioned), the Wistia emulator for the copies.

The emulator's edit endpoints (swap, delete, archive) are being added on another branch, so the
Data API edits go to `EditFake`, a scripted stand-in that records every request it gets: the
assertions on "nothing was sent" read its log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from s3_wistia_bridge.aws import AwsClients
from s3_wistia_bridge.config import DeletePolicy
from s3_wistia_bridge.deletes import DeleteSweep
from s3_wistia_bridge.events import s3_notification
from s3_wistia_bridge.events_out import NoEvents
from s3_wistia_bridge.ledger import Ledger
from s3_wistia_bridge.lifecycle import MediaStatus
from s3_wistia_bridge.s3_objects import S3Objects
from s3_wistia_bridge.sweeper import Pacer
from s3_wistia_bridge.wistia_media import Answer, Reply

from tests.conftest import LambdaContextStub
from tests.integration.conftest import BUCKET, REGION, Stack
from tests.lifecycle.conftest import LEDGER_TABLE, create_ledger_table

BODY_1 = b"\x00\x00\x00\x18ftypmp42 first cut"
BODY_2 = b"\x00\x00\x00\x18ftypmp42 second cut"


class EditFake:
    """The Data API edits, scripted: `answers[(method, name)]` is the Answer to give (OK by default)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.answers: dict[str, Answer] = {}

    def swap(self, original: str, replacement: str) -> Answer:
        self.requests.append(("swap", (original, replacement)))
        return self.answers.get(
            "swap", Answer(Reply.OK, {"background_job_status": {"id": 7, "status": "queued"}}, 200)
        )

    def delete(self, hashed_id: str) -> Answer:
        self.requests.append(("delete", hashed_id))
        return self.answers.get("delete", Answer(Reply.OK, {}, 200))

    def archive(self, hashed_ids: list[str]) -> Answer:
        self.requests.append(("archive", list(hashed_ids)))
        return self.answers.get("archive", Answer(Reply.OK, {}, 200))


@pytest.fixture
def versioned(stack: Stack) -> Stack:
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    create_ledger_table(stack.dynamodb)
    return stack


@pytest.fixture
def edits(monkeypatch: pytest.MonkeyPatch) -> EditFake:
    fake = EditFake()
    monkeypatch.setattr("s3_wistia_bridge.wistia_media.WistiaMedia.swap", lambda self, o, r: fake.swap(o, r))
    return fake


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


# ---------------------------------------------------------------- OverwritePolicy


def test_replace_swaps_the_new_version_into_the_keys_media_and_the_next_one_too(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    app = ingest(versioned, load_app, OVERWRITE_POLICY="replace")
    [first] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    [second] = run(app, put(versioned, "videos/cut.mp4", BODY_2))
    assert first["outcome"] == second["outcome"] == "copied"
    assert edits.requests == [("swap", (first["hashed_id"], second["hashed_id"]))]
    row = ledger_rows(versioned)[-1]
    assert row["swapped_into"] == first["hashed_id"]
    assert row["hashed_id"] == second["hashed_id"]  # the replacement is kept and recorded
    assert row["swap_job_id"] == "7"
    [third] = run(app, put(versioned, "videos/cut.mp4", BODY_1 + b"3"))
    assert edits.requests[-1] == ("swap", (first["hashed_id"], third["hashed_id"]))  # the embed id


def test_a_crash_after_the_copy_before_the_swap_swaps_exactly_once_on_the_retries(
    versioned: Stack, load_app: Load, edits: EditFake, monkeypatch: pytest.MonkeyPatch
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
    for _ in range(3):  # the retry, then duplicate deliveries
        [report] = run(app, event)
        assert report["outcome"] == "duplicate"
    assert len(versioned.emulator.medias()) == copies  # not copied again
    assert [name for name, _ in edits.requests] == ["swap"]


def test_a_swap_whose_media_is_gone_falls_back_to_a_media_of_its_own(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    edits.answers["swap"] = Answer(Reply.NOT_FOUND, None, 404, "Media not found")
    app = ingest(versioned, load_app, OVERWRITE_POLICY="replace")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    [report] = run(app, put(versioned, "videos/cut.mp4", BODY_2))
    assert report["outcome"] == "copied"
    row = ledger_rows(versioned)[-1]
    assert row["replace_fell_back_at"]
    assert "swapped_into" not in row
    assert versioned.failure_records() == []


def test_a_refused_swap_is_a_swap_refused_record_and_the_new_media_stands(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    edits.answers["swap"] = Answer(Reply.REFUSED, None, 400, "Replacement media must be the same type")
    app = ingest(versioned, load_app, OVERWRITE_POLICY="replace")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    [report] = run(app, put(versioned, "videos/cut.mp4", BODY_2))
    assert report["outcome"] == "permanent_failure"
    assert report["reason"] == "swap_refused"
    assert report["hashed_id"]
    [record] = versioned.failure_records()
    assert record["reason"] == "swap_refused"
    assert ledger_rows(versioned)[-1]["status"] == "accepted"  # not copy_failed: the media exists


def test_skip_records_the_version_and_sends_nothing(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
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
    assert edits.requests == []
    skipped = ledger_rows(versioned)[-1]
    assert (skipped["status"], skipped["kept_media"]) == (MediaStatus.SKIPPED.value, first["hashed_id"])


# ---------------------------------------------------------------- DeletePolicy


def sweep(
    stack: Stack, policy: str, edits: EditFake, *, dry_run: bool = False, at: datetime
) -> dict[str, Any]:
    aws = AwsClients(boto3.session.Session(region_name=REGION))
    deletes = DeleteSweep(
        DeletePolicy(policy),
        dry_run,
        ledger=Ledger(stack.dynamodb, LEDGER_TABLE),
        media=edits,
        objects=S3Objects(aws),
        events=NoEvents(),
    )
    return deletes.run(Pacer(100, 10, sleep=lambda _: None), lambda: 60.0, at, 10)


LATER = datetime.now(UTC) + timedelta(hours=2)


def test_a_delete_marker_deletes_only_the_bridges_media_after_the_grace_period(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_GRACE_SECONDS="3600")
    [copied] = run(app, put(versioned, "videos/cut.mp4", BODY_1))
    run(app, put(versioned, "videos/other.mp4", BODY_1))  # the same name elsewhere: never touched
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")  # a delete marker
    for _ in range(2):  # a duplicate removal event schedules nothing more
        [report] = run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
        assert report["outcome"] == "skipped"
    assert sweep(versioned, "delete", edits, at=datetime.now(UTC))["stopped"] is None
    assert edits.requests == []  # not due yet
    done = sweep(versioned, "delete", edits, at=LATER)
    assert done["deleted"] == 1
    assert edits.requests == [("delete", copied["hashed_id"])]
    rows = {row["key"]: row for row in ledger_rows(versioned)}
    assert rows["videos/cut.mp4"]["status"] == "deleted"
    assert rows["videos/other.mp4"]["status"] == "accepted"


def test_a_delete_of_one_noncurrent_version_does_nothing(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_GRACE_SECONDS="0")
    first = put(versioned, "videos/cut.mp4", BODY_1)
    run(app, first)
    run(app, put(versioned, "videos/cut.mp4", BODY_2))
    old = first["Records"][0]["s3"]["object"]["versionId"]
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4", VersionId=old)
    [report] = run(app, removal("videos/cut.mp4", "ObjectRemoved:Delete", old))
    assert report["reason"] == "object_still_exists"
    sweep(versioned, "delete", edits, at=LATER)
    assert edits.requests == []


def test_a_reupload_inside_the_grace_period_cancels_the_delete(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    assert any(row.get("delete_pending") for row in ledger_rows(versioned))
    run(app, put(versioned, "videos/cut.mp4", BODY_2))
    assert not any(row.get("delete_pending") for row in ledger_rows(versioned))
    sweep(versioned, "delete", edits, at=LATER)
    assert edits.requests == []


def test_the_sweeper_cancels_a_due_delete_whose_object_is_back(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    versioned.s3.put_object(Bucket=BUCKET, Key="videos/cut.mp4", Body=BODY_2)  # its event not yet handled
    assert sweep(versioned, "delete", edits, at=LATER)["cancelled"] == 1
    assert edits.requests == []


def test_a_dry_run_sends_nothing_and_clears_the_mark(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_DRY_RUN="true")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    assert sweep(versioned, "delete", edits, dry_run=True, at=LATER)["dry_run"] == 1
    assert sweep(versioned, "delete", edits, dry_run=True, at=LATER).get("dry_run") is None
    assert edits.requests == []
    [row] = ledger_rows(versioned)
    assert row["delete_dry_run_at"]
    assert row["status"] == "accepted"


def test_archive_403_is_archive_not_in_plan_and_nothing_is_tried_again(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    edits.answers["archive"] = Answer(Reply.FORBIDDEN, None, 403, "Archiving is not available on your plan")
    app = ingest(versioned, load_app, DELETE_POLICY="archive")
    run(app, put(versioned, "videos/cut.mp4", BODY_1))
    versioned.s3.delete_object(Bucket=BUCKET, Key="videos/cut.mp4")
    run(app, removal("videos/cut.mp4", "ObjectRemoved:DeleteMarkerCreated"))
    assert sweep(versioned, "archive", edits, at=LATER)["refused"] == 1
    [row] = ledger_rows(versioned)
    assert row["delete_failed_reason"] == "archive_not_in_plan"
    sweep(versioned, "archive", edits, at=LATER)
    assert len(edits.requests) == 1


def test_a_removal_of_a_key_the_bridge_never_copied_touches_nothing(
    versioned: Stack, load_app: Load, edits: EditFake
) -> None:
    app = ingest(versioned, load_app, DELETE_POLICY="delete", DELETE_GRACE_SECONDS="0")
    [report] = run(app, removal("videos/not-ours.mp4", "ObjectRemoved:Delete"))
    assert report["reason"] == "no_media_of_key"
    sweep(versioned, "delete", edits, at=LATER)
    assert edits.requests == []


def test_delete_policy_ignore_skips_removals_as_before(versioned: Stack, load_app: Load) -> None:
    app = ingest(versioned, load_app)
    [report] = run(app, removal("videos/cut.mp4", "ObjectRemoved:Delete"))
    assert (report["outcome"], report["reason"]) == ("skipped", "not_object_created")
