"""The ingest path's ledger and events (recorder.py): best effort, never raised, never twice."""

from __future__ import annotations

from typing import Any

from s3_wistia_bridge.errors import PermanentFailure
from s3_wistia_bridge.events_out import DetailType
from s3_wistia_bridge.ledger import LedgerError, Outcome
from s3_wistia_bridge.lifecycle import MediaStatus
from s3_wistia_bridge.models import CopyRequest, CopyResult, S3Object
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge.recorder import Recorder
from s3_wistia_bridge.validation import Reason, Rejection

OBJ = S3Object("media-uploads-example", "videos/a.mp4", "us-east-1", 10, etag="e1")
REQUEST = CopyRequest("media-uploads-example", "videos/a.mp4", "us-east-1", "a.mp4", project_id="p1")
RESULT = CopyResult("abc123", 1, 1)


class FakeLedger:
    def __init__(self, answer: bool | Exception = True) -> None:
        self.answer = answer
        self.written: list[Outcome] = []

    def record(self, obj: S3Object, outcome: Outcome) -> bool:
        if isinstance(self.answer, Exception):
            raise self.answer
        self.written.append(outcome)
        return self.answer

    def latest(self, obj: S3Object) -> Any:
        raise LedgerError("query on LEDGER_TABLE failed (ResourceNotFoundException)")


class FakeEvents:
    def __init__(self) -> None:
        self.published: list[tuple[DetailType, dict[str, Any]]] = []

    def publish(self, detail_type: DetailType, detail: dict[str, Any]) -> bool:
        self.published.append((detail_type, detail))
        return True


def test_a_copy_is_written_and_announced():
    ledger, events = FakeLedger(), FakeEvents()
    Recorder(ledger, events).accepted(OBJ, REQUEST, RESULT, None, duplicate=False)  # type: ignore[arg-type]
    assert [o.status for o in ledger.written] == [MediaStatus.ACCEPTED]
    ((kind, detail),) = events.published
    assert kind is DetailType.MEDIA_ACCEPTED
    assert detail == {
        "bucket": OBJ.bucket,
        "key": OBJ.key,
        "version": "e1",
        "hashed_id": "abc123",
        "project": "p1",
        "name": "a.mp4",
        "status": "accepted",
    }


def test_a_duplicate_heals_the_ledger_but_is_not_announced_again():
    ledger, events = FakeLedger(), FakeEvents()
    Recorder(ledger, events).accepted(OBJ, REQUEST, RESULT, None, duplicate=True)  # type: ignore[arg-type]
    assert len(ledger.written) == 1
    assert events.published == []


def test_a_version_the_ledger_already_holds_is_not_announced_again():
    ledger, events = FakeLedger(answer=False), FakeEvents()
    Recorder(ledger, events).accepted(OBJ, REQUEST, RESULT, None, duplicate=False)  # type: ignore[arg-type]
    assert events.published == []


def test_a_ledger_outage_is_swallowed_and_the_event_still_goes_out():
    ledger, events = (
        FakeLedger(answer=LedgerError("update_item on LEDGER_TABLE failed (Throttled)")),
        FakeEvents(),
    )
    recorder = Recorder(ledger, events)  # type: ignore[arg-type]
    recorder.accepted(OBJ, REQUEST, RESULT, None, duplicate=False)
    recorder.rejected(OBJ, Rejection(Reason.NOT_A_VIDEO, "text"))
    recorder.copy_failed(OBJ, PermanentFailure(FailureReason.WISTIA_FORBIDDEN, "403"), None)
    assert [kind for kind, _ in events.published] == [
        DetailType.MEDIA_ACCEPTED,
        DetailType.OBJECT_REJECTED,
        DetailType.COPY_FAILED,
    ]
    assert recorder.plan(OBJ).answer is None  # unreadable: an ordinary copy, idempotency guards it


def test_without_a_ledger_only_events():
    events = FakeEvents()
    Recorder(None, events).rejected(OBJ, Rejection(Reason.NOT_A_VIDEO, "text"))
    assert events.published[0][1]["reason"] == "not_a_video"
