"""The sweeper's side of DeletePolicy: the due deletes, checked again, then done (or not), paced.

Each run reads the ledger's `pending-deletes` index for what is due (versions.py marks it), and for
each media first asks again whether the delete is still wanted: the object is back in S3
(HeadObject of the key), or the ledger has a version of the key newer than the removal, cancels it
(`Delete Cancelled`). Then, with DELETE_DRY_RUN, it only says what it would do (log line and
`Delete Skipped`, the mark cleared, `delete_dry_run_at`): nothing is sent, ever. Otherwise:

- `delete`: `DELETE /modern/medias/{id}`, treated as permanent; 200 or 404 (already gone) make the
  ledger status `deleted` (`deleted_by=bridge`) and `Media Deleted`;
- `archive`: `PUT /modern/medias/archive`, at most 100 ids a call; the media keeps its status and
  gets `archived_at` (it still exists in Wistia and can be restored) and `Media Archived`; a 403 is
  `archive_not_in_plan`.

A refusal (`archive_not_in_plan`, `wistia_edit_forbidden`, another 4xx) ends the pending delete
with `delete_failed_reason` in the ledger, an error log line and `Delete Failed`; a transient answer
leaves it pending for the next run (a 429/503 ends the run). Every Wistia request takes a slot of
the sweeper's Pacer, so deletes share its SWEEP_MAX_REQUESTS and SWEEP_REQUESTS_PER_SECOND.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from .config import DeletePolicy
from .errors import PermanentFailure
from .events_out import DetailType, event_detail
from .ledger import Entry, Ledger
from .lifecycle import MediaStatus
from .models import JsonDict, S3Object, utc_timestamp
from .observability import count, logger
from .reasons import FailureReason
from .versions import EventSink, ObjectLookup
from .wistia_media import ARCHIVE_BATCH, Answer, Reply

# The sweeper stops asking when less than this is left of its invocation (sweeper.py's reserve).
RESERVE_SECONDS = 5.0


class MediaEditor(Protocol):
    def delete(self, hashed_id: str) -> Answer: ...

    def archive(self, hashed_ids: list[str]) -> Answer: ...


class Slots(Protocol):
    """The sweeper's Pacer: False when the run has used all its requests."""

    def take(self) -> bool: ...


def cancel_reason(entry: Entry, history: list[Entry], object_exists: bool) -> str | None:
    """Why a due delete is no longer wanted, or None. Pure."""
    if object_exists:
        return "the object is back in S3"
    requested = str(entry.get("delete_requested_at") or "")
    for other in history:
        arrived = str(other.get("accepted_at") or other.get("skipped_at") or "")
        if arrived > requested and other.sk != entry.sk:
            return "a newer version of the key is in the ledger"
    return None


class DeleteSweep:
    def __init__(
        self,
        policy: DeletePolicy,
        dry_run: bool,
        *,
        ledger: Ledger,
        media: MediaEditor,
        objects: ObjectLookup,
        events: EventSink,
    ) -> None:
        self._policy = policy
        self._dry_run = dry_run
        self._ledger = ledger
        self._media = media
        self._objects = objects
        self._events = events

    def run(self, slots: Slots, remaining: Callable[[], float], now: datetime, most: int) -> JsonDict:
        """The deletes due at `now` (at most `most`); what it did, by outcome."""
        if self._policy is DeletePolicy.IGNORE:
            return {}
        counts: Counter[str] = Counter()
        at = utc_timestamp(now)
        to_archive, stopped = self._each_due(slots, remaining, at, most, counts)
        for start in range(0, len(to_archive), ARCHIVE_BATCH):
            if stopped or not slots.take():
                stopped = stopped or "SWEEP_MAX_REQUESTS"
                break
            batch = to_archive[start : start + ARCHIVE_BATCH]
            counts[self._archive(batch, at)] += len(batch)
        report: JsonDict = {"delete_policy": self._policy.value, "delete_dry_run": self._dry_run, **counts}
        report["stopped"] = stopped
        for name, value in counts.items():
            count(f"Delete{name.title().replace('_', '')}", value)
        return report

    def _each_due(
        self, slots: Slots, remaining: Callable[[], float], at: str, most: int, counts: Counter[str]
    ) -> tuple[list[Entry], str | None]:
        """Check (and delete) each due media; the ones to archive are returned, for batches."""
        to_archive: list[Entry] = []
        for due in self._ledger.pending_deletes(at, most):
            if remaining() < RESERVE_SECONDS:
                return to_archive, "out of time"
            entry = self._ledger.entry(due.pk, due.sk)
            if entry is None or not entry.get("delete_pending"):
                continue  # done or cancelled since the index was read
            outcome = self._checked(entry, at)
            if outcome is None and self._policy is DeletePolicy.ARCHIVE:
                to_archive.append(entry)
                continue
            if outcome is None:
                if not slots.take():
                    return to_archive, "SWEEP_MAX_REQUESTS"
                outcome = self._delete(entry, at)
            counts[outcome] += 1
            if outcome == "rate_limited":
                return to_archive, "rate_limited"
        return to_archive, None

    def _checked(self, entry: Entry, at: str) -> str | None:
        """`cancelled` or `dry_run` when that is all there is to do (done here), else None."""
        bucket, key = str(entry.get("bucket")), str(entry.get("key"))
        current = S3Object(bucket=bucket, key=key, region=str(entry.get("region") or "us-east-1"), size=None)
        history = list(self._ledger.versions_of_key(bucket, key))
        why = cancel_reason(entry, history, self._objects.head(current) is not None)
        if why is not None:
            if self._ledger.end_delete(entry, {"delete_cancelled_at": at}):
                logger.info("delete cancelled", hashed_id=entry.hashed_id, detail=why, **_where(entry))
                self._events.publish(DetailType.DELETE_CANCELLED, _detail(entry, message=why))
            return "cancelled"
        if not self._dry_run:
            return None
        if self._ledger.end_delete(entry, {"delete_dry_run_at": at}):
            action = "archive" if self._policy is DeletePolicy.ARCHIVE else "delete"
            logger.info(f"dry run: would {action} the media", hashed_id=entry.hashed_id, **_where(entry))
            self._events.publish(
                DetailType.DELETE_SKIPPED, _detail(entry, message=f"dry run: would {action}")
            )
        return "dry_run"

    def _delete(self, entry: Entry, at: str) -> str:
        hashed_id = str(entry.hashed_id)
        answer = self._media.delete(hashed_id)
        if answer.reply in (Reply.OK, Reply.NOT_FOUND):
            gone = answer.reply is Reply.NOT_FOUND
            fields = {"deleted_at": at, "deleted_by": "bridge"}
            if self._ledger.end_delete(entry, fields, status=MediaStatus.DELETED):
                logger.info("media deleted", hashed_id=hashed_id, already_gone=gone, **_where(entry))
                self._events.publish(
                    DetailType.MEDIA_DELETED, _detail(entry, message="already gone (404)" if gone else None)
                )
            return "deleted"
        return self._not_done(entry, answer, "delete", at)

    def _archive(self, batch: list[Entry], at: str) -> str:
        answer = self._media.archive([str(entry.hashed_id) for entry in batch])
        if not answer.ok:
            outcomes = [self._not_done(entry, answer, "archive", at) for entry in batch]
            return outcomes[0]
        for entry in batch:
            if self._ledger.end_delete(entry, {"archived_at": at}):
                logger.info("media archived", hashed_id=entry.hashed_id, **_where(entry))
                self._events.publish(DetailType.MEDIA_ARCHIVED, _detail(entry))
        return "archived"

    def _not_done(self, entry: Entry, answer: Answer, what: str, at: str) -> str:
        """A transient answer leaves the delete pending; a refusal ends it, recorded and said."""
        if answer.reply in (Reply.RATE_LIMITED, Reply.UNAVAILABLE):
            logger.warning(
                f"{what} not done: left pending for the next run",
                hashed_id=entry.hashed_id,
                http_status=answer.http_status,
            )
            return "rate_limited" if answer.reply is Reply.RATE_LIMITED else "error"
        failure = answer.failure(f"{what} {entry.hashed_id}")
        reason = failure.reason if isinstance(failure, PermanentFailure) else FailureReason.WISTIA_HTTP_ERROR
        if what == "archive" and answer.http_status == 403:
            reason = FailureReason.ARCHIVE_NOT_IN_PLAN
        message = str(failure)[:1000]
        fields = {
            "delete_failed_reason": reason.value,
            "delete_failed_at": at,
            "delete_failed_message": message,
        }
        if self._ledger.end_delete(entry, fields):
            logger.error(
                f"{what} refused by Wistia: nothing more is tried for this media",
                hashed_id=entry.hashed_id,
                reason=reason.value,
                detail=message,
                advice=reason.advice,
                **_where(entry),
            )
            self._events.publish(
                DetailType.DELETE_FAILED, _detail(entry, reason=reason.value, message=message)
            )
        return "refused"


def _where(entry: Entry) -> dict[str, Any]:
    return {"object": f"s3://{entry.get('bucket')}/{entry.get('key')}", "version": entry.version}


def _detail(entry: Entry, **fields: str | None) -> JsonDict:
    return event_detail(
        bucket=entry.get("bucket"),
        key=entry.get("key"),
        version=entry.version,
        hashed_id=entry.hashed_id,
        **fields,
    )
