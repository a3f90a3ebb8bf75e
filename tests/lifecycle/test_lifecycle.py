"""Following every video until Wistia says it is ready: the real functions against moto and the
emulator, which processes medias over time and delivers signed webhooks to the webhook function."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from s3_wistia_bridge.webhooks import sign
from wistia_emulator import FaultRule

from tests.conftest import LambdaContextStub
from tests.integration.conftest import BUCKET, metric_values
from tests.lifecycle.conftest import WEBHOOK_SECRET, Tracked, function_url_event

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

FAST = {"enabled": True, "queued_seconds": 0.05, "processing_seconds": 0.15}


def copy(tracked: Tracked, app: Any, key: str, body: bytes | None = None) -> dict[str, Any]:
    event = tracked.stack.put(key, body) if body is not None else tracked.stack.put(key)
    return dict(app.lambda_handler(event, LambdaContextStub()))


def status_of(tracked: Tracked, key: str) -> str | None:
    rows = [row for row in tracked.ledger() if row["key"] == key]
    return rows[-1]["status"] if rows else None


def signed_post(body: dict[str, Any] | bytes, secret: str = WEBHOOK_SECRET, **headers: str) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return function_url_event("POST", raw, {"X-Wistia-Signature": sign(secret, raw), **headers})


def media_event(hashed_id: str, kind: str, uuid: str, at: str) -> dict[str, Any]:
    return {
        "hook": {"uuid": "bb812395-8d23-4285-9278-9ca014209ae7"},
        "events": [
            {
                "uuid": uuid,
                "type": kind,
                "generated_at": at,
                "metadata": {"account_id": "8lq25o0p9c"},
                "payload": {
                    "media": {
                        "id": hashed_id,
                        "name": "clip.mp4",
                        "url": f"https://x.wistia.com/medias/{hashed_id}",
                    }
                },
            }
        ],
    }


def test_an_upload_ends_ready_in_the_ledger_through_a_signed_webhook(tracked: Tracked, function_output):
    tracked.stack.emulator.configure_lifecycle(**FAST)
    tracked.serve_webhooks(tracked.webhook())
    result = copy(tracked, tracked.ingest(), "videos/launch.mp4")
    (hashed_id,) = [report["hashed_id"] for report in result["objects"]]
    assert status_of(tracked, "videos/launch.mp4") in {"accepted", "queued", "processing", "ready"}

    tracked.wait_for(lambda: status_of(tracked, "videos/launch.mp4") == "ready")
    tracked.wait_for(lambda: len(tracked.stack.emulator.webhook_deliveries()) == 3)
    entry = tracked.entry("videos/launch.mp4")
    assert entry["hashed_id"] == hashed_id
    assert entry["project"] == "defaultproj1"
    assert entry["media_url"].endswith(f"/medias/{hashed_id}")
    assert {"accepted_at", "processing_at", "ready_at"} <= set(entry)
    assert "open_status" not in entry
    # media.created may overtake the ledger write (it is sent the moment the copy is accepted):
    # it is then ignored as a media the ledger does not know yet; processing and ready are not.
    assert 2 <= len(entry["seen"]) <= 3
    deliveries = tracked.stack.emulator.webhook_deliveries()
    assert [d["status"] for d in deliveries] == [200, 200, 200]

    records = function_output()
    assert metric_values(records, "MediaReady")
    assert metric_values(records, "TimeToReady")
    kinds = [event["detail-type"] for event in tracked.events()]
    assert kinds == ["Media Accepted", "Media Ready"]


def test_events_name_the_object_and_the_media(tracked: Tracked):
    tracked.stack.emulator.configure_lifecycle(**FAST)
    tracked.serve_webhooks(tracked.webhook())
    copy(tracked, tracked.ingest(), "videos/named.mp4")
    tracked.wait_for(lambda: status_of(tracked, "videos/named.mp4") == "ready")
    ready = next(e for e in tracked.events() if e["detail-type"] == "Media Ready")
    assert ready["source"] == "s3-wistia-bridge"
    detail = ready["detail"]
    assert detail["bucket"] == BUCKET
    assert detail["key"] == "videos/named.mp4"
    assert detail["status"] == "ready"
    assert detail["url"].endswith(detail["hashed_id"])
    assert set(detail) >= {"version", "project", "name", "time_to_ready_seconds"}


def test_a_failed_media_lands_on_the_failure_queue_and_a_replay_makes_a_ready_media(
    tracked: Tracked, function_output
):
    tracked.stack.emulator.configure_lifecycle(**FAST, fail_match=["broken"], fail_times=1)
    tracked.serve_webhooks(tracked.webhook())
    ingest = tracked.ingest()
    first = copy(tracked, ingest, "videos/broken.mp4")["objects"][0]["hashed_id"]
    tracked.wait_for(lambda: status_of(tracked, "videos/broken.mp4") == "failed")

    (record,) = tracked.stack.failure_records()
    assert record["reason"] == "wistia_processing_failed"
    assert record["failureClass"] == "permanent"
    assert record["media"]["hashedId"] == first
    assert record["object"]["key"] == "videos/broken.mp4"
    assert metric_values(function_output(), "MediaFailed")

    replayed = ingest.lambda_handler(record["event"], LambdaContextStub())["objects"][0]
    assert replayed["outcome"] == "copied"  # not "duplicate": the first media failed in Wistia
    second = replayed["hashed_id"]
    assert second != first
    tracked.wait_for(lambda: status_of(tracked, "videos/broken.mp4") == "ready")
    old, new = [row for row in tracked.ledger() if row["key"] == "videos/broken.mp4"]
    assert (old["generation"], old["status"], old["replaced_by"]) == (1, "failed", second)
    assert (new["generation"], new["status"], new["replaces"]) == (2, "ready", first)

    again = ingest.lambda_handler(record["event"], LambdaContextStub())["objects"][0]
    assert again == {"outcome": "duplicate", "uri": f"s3://{BUCKET}/videos/broken.mp4", "hashed_id": second}
    assert len(tracked.stack.emulator.medias()) == 2
    kinds = [event["detail-type"] for event in tracked.events()]
    assert kinds.count("Media Failed") == 1
    assert kinds.count("Media Ready") == 1


def test_with_webhooks_off_the_sweeper_brings_the_ledger_to_ready(tracked: Tracked):
    tracked.stack.emulator.configure_lifecycle(**FAST)
    copy(tracked, tracked.ingest(), "videos/polled.mp4")
    sweeper = tracked.sweeper({"STATUS_TRACKING": "poll", "SWEEP_AFTER_MINUTES": "5"})

    early = sweeper.SWEEPER.run(lambda: 30.0)
    assert early["stopped"] is None
    assert status_of(tracked, "videos/polled.mp4") == "accepted"  # not yet 5 minutes old: not asked

    tracked.wait_for(lambda: tracked.stack.emulator.medias()[0]["status"] == "ready")
    later = datetime.now(UTC) + timedelta(minutes=6)
    report = sweeper.SWEEPER.run(lambda: 30.0, now=later)
    assert report["ready"] == 1
    assert status_of(tracked, "videos/polled.mp4") == "ready"
    shows = [r for r in tracked.stack.emulator.requests() if r["path"].startswith("/modern/medias/")]
    assert len(shows) == 1
    assert sweeper.SWEEPER.run(lambda: 30.0, now=later)["stopped"] is None  # nothing open: no request
    assert len([r for r in tracked.stack.emulator.requests() if r["path"].startswith("/modern/medias/")]) == 1


def test_the_sweeper_is_paced_and_bounded_per_run(tracked: Tracked):
    ingest = tracked.ingest()
    for index in range(5):
        copy(tracked, ingest, f"videos/many-{index}.mp4")
    sweeper = tracked.sweeper({"STATUS_TRACKING": "poll", "SWEEP_MAX_REQUESTS": "3"})
    report = sweeper.SWEEPER.run(lambda: 30.0, now=datetime.now(UTC) + timedelta(hours=1))
    assert report["ready"] == 3
    assert report["stopped"] == "SWEEP_MAX_REQUESTS"
    assert sorted(row["status"] for row in tracked.ledger()) == [
        "accepted",
        "accepted",
        "ready",
        "ready",
        "ready",
    ]


def test_a_media_not_ready_by_the_deadline_is_recorded_stuck(tracked: Tracked):
    tracked.stack.emulator.configure_lifecycle(enabled=True, queued_seconds=0, processing_seconds=3600)
    copy(tracked, tracked.ingest(), "videos/slow.mp4")
    sweeper = tracked.sweeper({"STATUS_TRACKING": "poll"})
    report = sweeper.SWEEPER.run(lambda: 30.0, now=datetime.now(UTC) + timedelta(minutes=241))
    assert report["stuck"] == 1
    entry = tracked.entry("videos/slow.mp4")
    assert (entry["status"], entry["reason"]) == ("failed", "wistia_processing_stuck")
    assert "processing_at" in entry
    (record,) = tracked.stack.failure_records()
    assert record["reason"] == "wistia_processing_stuck"


def test_with_tracking_off_the_sweeper_does_nothing(tracked: Tracked):
    copy(tracked, tracked.ingest(), "videos/untracked.mp4")
    sweeper = tracked.sweeper({"STATUS_TRACKING": "off"})
    assert sweeper.SWEEPER.run(lambda: 30.0, now=datetime.now(UTC) + timedelta(days=1)) == {"tracking": "off"}
    assert status_of(tracked, "videos/untracked.mp4") == "accepted"


def test_duplicated_late_and_out_of_order_webhooks_change_nothing_they_should_not(tracked: Tracked):
    tracked.stack.emulator.configure_lifecycle(**FAST)
    tracked.serve_webhooks(tracked.webhook(), duplicate_rate=1.0, reorder_rate=1.0, seed=7)
    copy(tracked, tracked.ingest(), "videos/noisy.mp4")
    tracked.wait_for(lambda: len(tracked.stack.emulator.webhook_deliveries()) == 6)
    deliveries = tracked.stack.emulator.webhook_deliveries()
    kinds = [d["type"] for d in deliveries]
    assert kinds.index("media.processing") > kinds.index("media.ready")  # delivered after ready
    assert sum(d["duplicate"] for d in deliveries) == 3
    assert all(d["status"] == 200 for d in deliveries)
    entry = tracked.entry("videos/noisy.mp4")
    assert entry["status"] == "ready"  # the late processing did not move it back
    assert 2 <= len(entry["seen"]) <= 3  # media.created may overtake the ledger write
    assert [e["detail-type"] for e in tracked.events()].count("Media Ready") == 1


def test_a_hand_made_duplicate_and_an_older_event_are_refused_by_the_ledger(tracked: Tracked):
    copy(tracked, tracked.ingest(), "videos/ordered.mp4")
    hashed_id = tracked.entry("videos/ordered.mp4")["hashed_id"]
    handler = tracked.webhook().lambda_handler
    ready = media_event(hashed_id, "media.ready", "aaaa000000000001", "2026-11-21T10:05:00Z")
    answers = [json.loads(handler(signed_post(ready), LambdaContextStub())["body"]) for _ in range(2)]
    assert [answer["applied"] for answer in answers] == [1, 0]
    assert answers[1]["duplicates"] == 1
    older = media_event(hashed_id, "media.processing", "aaaa000000000002", "2026-11-21T10:01:00Z")
    answer = json.loads(handler(signed_post(older), LambdaContextStub())["body"])
    assert (answer["applied"], answer["stale"]) == (0, 1)
    entry = tracked.entry("videos/ordered.mp4")
    assert entry["status"] == "ready"
    assert entry["ready_at"] == "2026-11-21T10:05:00.000Z"
    assert "processing_at" not in entry


def test_a_valid_signature_over_an_unknown_media_changes_nothing(tracked: Tracked):
    copy(tracked, tracked.ingest(), "videos/known.mp4")
    before = tracked.ledger()
    handler = tracked.webhook().lambda_handler
    answer = handler(
        signed_post(media_event("zzzzzzzzzz", "media.ready", "bbbb1", "2026-11-21T10:00:00Z")),
        LambdaContextStub(),
    )
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["unknown"] == 1
    assert tracked.ledger() == before
    assert tracked.stack.failure_records() == []


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (function_url_event("POST", b'{"events": []}', {}), 401),
        (
            function_url_event(
                "POST", b'{"events": []}', {"X-Wistia-Signature": sign("wrong", b'{"events": []}')}
            ),
            401,
        ),
        (function_url_event("GET", b"", {}), 405),
        (signed_post(b"not json"), 400),
        (signed_post({"hook": {}}), 400),
        (signed_post(b"x" * (256 * 1024 + 1)), 413),
    ],
    ids=["unsigned", "forged", "get", "not-json", "no-events", "too-large"],
)
def test_the_webhook_refuses_what_it_must(tracked: Tracked, event: dict[str, Any], status: int):
    copy(tracked, tracked.ingest(), "videos/guarded.mp4")
    before = tracked.ledger()
    answer = tracked.webhook().lambda_handler(event, LambdaContextStub())
    assert answer["statusCode"] == status
    assert tracked.ledger() == before


def test_a_renamed_text_file_is_rejected_before_any_wistia_request(tracked: Tracked, function_output):
    result = copy(
        tracked, tracked.ingest(), "videos/meeting-notes.mp4", b"Agenda\n1. budget\n2. launch video\n"
    )
    (report,) = result["objects"]
    assert report["outcome"] == "rejected"
    assert report["reason"] == "not_a_video"
    assert "first bytes are text" in report["message"]
    assert tracked.stack.emulator.requests() == []
    entry = tracked.entry("videos/meeting-notes.mp4")
    assert (entry["status"], entry["reason"]) == ("rejected", "not_a_video")
    (event,) = tracked.events()
    assert event["detail-type"] == "Object Rejected"
    assert event["detail"]["reason"] == "not_a_video"


def test_a_ready_source_gets_its_tag_and_a_failed_one_does_not(tracked: Tracked):
    tracked.stack.emulator.configure_lifecycle(**FAST, fail_match=["bad"])
    tracked.stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    tracked.serve_webhooks(tracked.webhook({"SOURCE_DISPOSITION": "archive_after_days"}))
    ingest = tracked.ingest()
    tracked.stack.s3.put_object(
        Bucket=BUCKET, Key="videos/good.mp4", Body=b"\x00\x00\x00\x18ftypmp42", Tagging="team=video"
    )
    good = tracked.stack.s3.head_object(Bucket=BUCKET, Key="videos/good.mp4")
    event = tracked.stack.put("videos/bad.mp4")
    ingest.lambda_handler(event, LambdaContextStub())
    from s3_wistia_bridge.events import s3_notification

    ingest.lambda_handler(
        s3_notification(
            BUCKET,
            "us-east-1",
            "videos/good.mp4",
            size=12,
            etag=good["ETag"].strip('"'),
            version_id=good["VersionId"],
        ),
        LambdaContextStub(),
    )
    tracked.wait_for(
        lambda: (
            {status_of(tracked, "videos/good.mp4"), status_of(tracked, "videos/bad.mp4")}
            == {"ready", "failed"}
        )
    )
    hashed_id = tracked.entry("videos/good.mp4")["hashed_id"]

    def tags() -> dict[str, str]:
        found = tracked.stack.s3.get_object_tagging(
            Bucket=BUCKET, Key="videos/good.mp4", VersionId=good["VersionId"]
        )
        return {tag["Key"]: tag["Value"] for tag in found["TagSet"]}

    tracked.wait_for(lambda: len(tags()) == 3)  # tagged just after the ledger says ready
    assert tags() == {"team": "video", "wistia-status": "ready", "wistia-hashed-id": hashed_id}
    assert tracked.stack.s3.get_object_tagging(Bucket=BUCKET, Key="videos/bad.mp4")["TagSet"] == []


def test_a_ledger_outage_never_blocks_or_duplicates_a_copy(tracked: Tracked, function_output):
    ingest = tracked.ingest({"LEDGER_TABLE": "no-such-ledger-table"})
    event = tracked.stack.put("videos/outage.mp4")
    first = ingest.lambda_handler(event, LambdaContextStub())["objects"][0]
    second = ingest.lambda_handler(event, LambdaContextStub())["objects"][0]
    assert first["outcome"] == "copied"
    assert second["outcome"] == "duplicate"  # idempotency still guards it
    assert second["hashed_id"] == first["hashed_id"]
    assert len(tracked.stack.emulator.medias()) == 1
    failures = metric_values(function_output(), "LedgerWriteFailed")
    assert sum(value for value, _ in failures) >= 3  # two reads, one write
    assert tracked.stack.failure_records() == []


def test_a_permanent_copy_failure_is_in_the_ledger_and_on_eventbridge(tracked: Tracked):
    tracked.stack.emulator.add_rule(FaultRule(action=403, match="forbidden"))
    copy(tracked, tracked.ingest(), "videos/forbidden.mp4")
    entry = tracked.entry("videos/forbidden.mp4")
    assert (entry["status"], entry["reason"]) == ("copy_failed", "wistia_forbidden")
    assert [event["detail-type"] for event in tracked.events()] == ["Copy Failed"]
    tracked.stack.emulator.reset_faults()
    record = tracked.stack.failure_records()[0]
    replayed = tracked.ingest().lambda_handler(record["event"], LambdaContextStub())["objects"][0]
    assert replayed["outcome"] == "copied"
    entry = tracked.entry("videos/forbidden.mp4")
    assert (entry["status"], entry["attempts"], entry["generation"]) == ("accepted", 2, 1)


def test_the_ledger_answers_duplicates_after_the_idempotency_record_is_gone(tracked: Tracked):
    ingest = tracked.ingest()
    event = tracked.stack.put("videos/long-ago.mp4")
    first = ingest.lambda_handler(event, LambdaContextStub())["objects"][0]
    for item in tracked.stack.dynamodb.scan(TableName="s3-wistia-bridge-idempotency")["Items"]:
        tracked.stack.dynamodb.delete_item(TableName="s3-wistia-bridge-idempotency", Key={"id": item["id"]})
    again = ingest.lambda_handler(event, LambdaContextStub())["objects"][0]
    assert again == {"outcome": "duplicate", "uri": first["uri"], "hashed_id": first["hashed_id"]}
    assert len(tracked.stack.emulator.medias()) == 1


def test_the_webhook_asks_for_a_redelivery_when_the_ledger_cannot_be_read(tracked: Tracked):
    handler = tracked.webhook({"LEDGER_TABLE": "no-such-ledger-table"}).lambda_handler
    answer = handler(
        signed_post(media_event("abc123", "media.ready", "cccc1", "2026-11-21T10:00:00Z")),
        LambdaContextStub(),
    )
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == {"message": "try again"}
