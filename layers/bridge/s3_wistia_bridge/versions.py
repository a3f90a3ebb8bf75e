"""Re-uploads and removals on the ingest path: OverwritePolicy and the scheduling side of DeletePolicy.

A new version of a key the ledger already holds a media for (docs/versions-and-deletes.md):

- `new_media`: a media of its own, as always (nothing here runs);
- `skip`: recorded in the ledger (status `skipped`, `kept_media`), reported, nothing sent;
- `replace`: copied as a new media exactly as before (idempotent per version), then swapped into
  the key's media (`PUT /modern/medias/{id}/swap`), which keeps its hashed_id and embeds. The swap
  runs after every accepted copy *and* after every duplicate answer, until the ledger says it was
  done: a crash between the copy and the swap swaps on the retry. A claim with a lease on the
  version's ledger item (a conditional write) keeps two deliveries from swapping at once; `swapped_at`
  (conditional too) ends it. A media to replace that is gone (404, or `deleted` in the ledger) makes
  the new media stand on its own (`replace_fell_back_at`), never a failure.

A removal (`RemovedObject`) with DeletePolicy other than `ignore`: HeadObject of the key decides
whether the object is gone (a delete marker is current, or nothing is left) or only one version of
it; then every media the ledger says the bridge made of the key gets a pending delete, due after
DELETE_GRACE_SECONDS (the ledger's sparse `pending-deletes` index; the sweeper does the rest,
deletes.py). A new version of the key accepted within the grace period cancels them.

Decisions are pure (`existing_media`, `decide_overwrite`, `deletable`) and unit-tested; `KeyPolicies`
is the adapter. Unlike the recorder, a policy cannot be applied without the ledger: a LedgerError
is a transient `ledger_unavailable` (retried), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import NamedTuple, Protocol, TypeVar

from .config import DeletePolicy, OverwritePolicy
from .errors import TransientFailure
from .events_out import DetailType, event_detail
from .ledger import Entry, Ledger, LedgerError, ledger_version, newest_media
from .lifecycle import MediaStatus
from .models import JsonDict, ObjectReport, Outcome, RemovedObject, S3Object, utc_timestamp
from .observability import count, logger
from .reasons import FailureReason
from .s3_objects import ObjectHead
from .wistia_media import Answer, Reply

# How long a swap claim keeps another delivery from swapping the same version: longer than one
# swap request takes (connect + read timeouts), short enough for a retry after a crash.
SWAP_LEASE_SECONDS = 120
# Wistia's refusal of a swap whose replacement is still processing (wording undocumented).
_NOT_READY = re.compile(r"not (yet )?ready|processing|still being|queued|not finished", re.IGNORECASE)


class Step(StrEnum):
    """What a new version of a key becomes under the overwrite policy."""

    COPY = "copy"  # a media of its own: new_media, nothing to replace, or the key's media failed
    SKIP = "skip"  # recorded, not sent: the key's media stays
    REPLACE = "replace"  # copied, then swapped into `target`
    FALL_BACK = "fall_back"  # replace, but the media to replace is deleted: a media of its own


class Decision(NamedTuple):
    step: Step
    target: str | None = None  # the media embeds show (the one to keep or swap into)


class RemovalResult(StrEnum):
    """The report reason of a removal the bridge looked at (Outcome.SKIPPED: nothing is copied)."""

    DELETE_SCHEDULED = "delete_scheduled"
    ALREADY_PENDING = "delete_already_pending"
    OBJECT_STILL_EXISTS = "object_still_exists"
    NO_MEDIA_OF_KEY = "no_media_of_key"


SKIPPED_REASON = "already_in_wistia"
_T = TypeVar("_T")


# ---------------------------------------------------------------- pure decisions


def existing_media(history: Iterable[Entry], version: str) -> Entry | None:
    """The entry of the key's media that a new `version` meets: the newest (by `accepted_at`) of
    the other versions' entries that became a media; a swapped entry stands for the media it was
    swapped into, so its status is that media's."""
    entries = list(history)
    newest = newest_media(entries, besides_version=version)
    if newest is None or newest.embed_hashed_id == newest.hashed_id:
        return newest
    original = next((e for e in entries if e.hashed_id == newest.embed_hashed_id), None)
    return original or newest


def decide_overwrite(policy: OverwritePolicy, existing: Entry | None) -> Decision:
    """What a new version becomes, given the key's media (`existing_media`)."""
    if policy is OverwritePolicy.NEW_MEDIA or existing is None:
        return Decision(Step.COPY)
    target = existing.embed_hashed_id
    if existing.status is MediaStatus.DELETED:
        return Decision(Step.FALL_BACK if policy is OverwritePolicy.REPLACE else Step.COPY, target)
    if existing.status is MediaStatus.FAILED:  # nothing worth keeping or swapping into
        return Decision(Step.COPY, target)
    return Decision(Step.SKIP if policy is OverwritePolicy.SKIP else Step.REPLACE, target)


def deletable(history: Iterable[Entry]) -> list[Entry]:
    """The key's entries whose media the bridge made and that is neither deleted nor archived."""
    return [
        entry
        for entry in history
        if entry.hashed_id
        and entry.status.holds_media
        and entry.status is not MediaStatus.DELETED
        and not entry.get("archived_at")
    ]


def own_entry(history: Iterable[Entry], version: str) -> Entry | None:
    """The newest generation of `version` among the key's entries."""
    mine = [entry for entry in history if entry.version == version]
    return max(mine, key=lambda entry: entry.generation) if mine else None


def swap_job_id(body: object) -> str | None:
    """The background job of a swap answer (`background_job_status.id`), when there is one."""
    job = body.get("background_job_status") if isinstance(body, dict) else None
    value = job.get("id") if isinstance(job, dict) else None
    return str(value) if value is not None else None


def looks_not_ready(answer: Answer) -> bool:
    return answer.reply is Reply.REFUSED and bool(_NOT_READY.search(answer.detail))


# ---------------------------------------------------------------- the adapter


class EventSink(Protocol):
    def publish(self, detail_type: DetailType, detail: JsonDict) -> bool: ...


class Swapper(Protocol):
    def swap(self, original: str, replacement: str) -> Answer: ...


class ObjectLookup(Protocol):
    def head(self, obj: S3Object) -> ObjectHead | None: ...


class KeyPolicies:
    def __init__(
        self,
        overwrite: OverwritePolicy,
        delete: DeletePolicy,
        grace_seconds: int,
        *,
        ledger: Ledger,
        events: EventSink,
        media: Swapper,
        objects: ObjectLookup,
        clock: Callable[[], datetime],
    ) -> None:
        self.overwrite = overwrite
        self.delete = delete
        self._grace = timedelta(seconds=grace_seconds)
        self._ledger = ledger
        self._events = events
        self._media = media
        self._objects = objects
        self._clock = clock

    @property
    def handles_removals(self) -> bool:
        return self.delete is not DeletePolicy.IGNORE

    # -- a new version -------------------------------------------------------------------------

    def before_copy(self, obj: S3Object) -> ObjectReport | None:
        """OverwritePolicy=skip: the report of a version that is not sent; None: copy it."""
        if self.overwrite is not OverwritePolicy.SKIP:
            return None
        history = self._history(obj.bucket, obj.key)
        version = ledger_version(obj)
        decision = decide_overwrite(self.overwrite, existing_media(history, version))
        if decision.step is not Step.SKIP or decision.target is None:
            return None
        own = own_entry(history, version)
        message = f"the key already has a media in Wistia ({decision.target}): this version is not sent"
        if own is None or own.status is not MediaStatus.SKIPPED:  # a redelivery is reported again only
            self._write(lambda: self._ledger.record_skipped(obj, decision.target or "", message))
            self._events.publish(
                DetailType.VERSION_SKIPPED,
                _detail(obj, hashed_id=decision.target, reason=SKIPPED_REASON, message=message),
            )
            self._cancel_deletes(obj, history)
        logger.info("skipped: the key already has a media", reason=SKIPPED_REASON, hashed_id=decision.target)
        count("VersionSkipped")
        return ObjectReport(Outcome.SKIPPED, obj.uri, SKIPPED_REASON, message, hashed_id=decision.target)

    def after_accept(self, obj: S3Object, hashed_id: str | None) -> str | None:
        """After a copy, or the duplicate answer of one: cancel the key's pending deletes and, under
        `replace`, swap the version into the key's media unless the ledger says it was done.
        Returns the media embeds show for this version (the one its captions and tags go to): the
        key's media it was swapped into, else its own. Raises TransientFailure (the retry's
        duplicate runs this again) or PermanentFailure."""
        if self.overwrite is not OverwritePolicy.REPLACE and not self.handles_removals:
            return hashed_id
        history = self._history(obj.bucket, obj.key)
        if self.handles_removals:
            self._cancel_deletes(obj, history)
        if self.overwrite is OverwritePolicy.REPLACE and hashed_id:
            return self._replace(obj, history, hashed_id)
        return hashed_id

    def _replace(self, obj: S3Object, history: list[Entry], hashed_id: str) -> str:
        version = ledger_version(obj)
        own = own_entry(history, version)
        if own is None or own.hashed_id != hashed_id:
            raise TransientFailure(
                FailureReason.LEDGER_UNAVAILABLE,
                "the copy is not in the ledger yet: the swap waits for the retry",
            )
        if own.get("swapped_at") or own.get("replace_fell_back_at"):
            return own.embed_hashed_id or hashed_id
        decision = decide_overwrite(self.overwrite, existing_media(history, version))
        if decision.step is Step.FALL_BACK and decision.target:
            self._fell_back(obj, own, decision.target, "the media to replace is deleted (ledger)")
        elif decision.step is Step.REPLACE and decision.target:
            return self._swap(obj, own, decision.target, hashed_id)
        return hashed_id

    def _swap(self, obj: S3Object, own: Entry, target: str, replacement: str) -> str:
        """The media embeds show once this returns: `target` when swapped, else the replacement."""
        now = self._clock()
        lease = utc_timestamp(now + timedelta(seconds=SWAP_LEASE_SECONDS))
        if not self._write(lambda: self._ledger.claim_swap(own, target, utc_timestamp(now), lease)):
            fresh = own_entry(self._history(str(own.get("bucket")), str(own.get("key"))), own.version)
            if fresh is not None and (fresh.get("swapped_at") or fresh.get("replace_fell_back_at")):
                return fresh.embed_hashed_id or replacement
            raise TransientFailure(
                FailureReason.DUPLICATE_IN_PROGRESS, "another invocation is swapping this version now"
            )
        answer = self._media.swap(target, replacement)
        if answer.reply is Reply.NOT_FOUND:
            self._fell_back(obj, own, target, "Wistia has no media to swap into (404)")
            return replacement
        if not answer.ok:
            self._write(lambda: self._ledger.release_swap(own, utc_timestamp(self._clock())))
            if looks_not_ready(answer):
                raise TransientFailure(
                    FailureReason.SWAP_NOT_READY, f"swap into {target}: {answer.detail}", http_status=400
                )
            raise answer.failure(f"swap into {target}", refused=FailureReason.SWAP_REFUSED)
        job = swap_job_id(answer.body)
        self._write(lambda: self._ledger.swapped(own, target, job, utc_timestamp(self._clock())))
        logger.info(
            "swapped: the key's media shows the new version",
            hashed_id=target,
            replacement=replacement,
            swap_job_id=job,
        )
        count("MediaSwapped")
        self._events.publish(
            DetailType.MEDIA_SWAPPED, _detail(obj, hashed_id=target, replacement=replacement, swap_job_id=job)
        )
        return target

    def _fell_back(self, obj: S3Object, own: Entry, target: str, why: str) -> None:
        self._write(lambda: self._ledger.replace_fell_back(own, target, utc_timestamp(self._clock())))
        logger.warning(
            "replace fell back: the new version is a media of its own",
            hashed_id=own.hashed_id,
            replaced_media=target,
            detail=why,
        )
        count("ReplaceFellBack")
        self._events.publish(
            DetailType.REPLACE_FELL_BACK, _detail(obj, hashed_id=own.hashed_id, replaces=target, message=why)
        )

    def _cancel_deletes(self, obj: S3Object, history: list[Entry]) -> None:
        at = utc_timestamp(self._clock())
        for entry in history:
            if not entry.get("delete_pending"):
                continue
            if self._write(partial(self._ledger.end_delete, entry, {"delete_cancelled_at": at})):
                logger.info("delete cancelled: a new version of the key arrived", hashed_id=entry.hashed_id)
                count("DeleteCancelled")
                self._events.publish(
                    DetailType.DELETE_CANCELLED,
                    _detail(obj, hashed_id=entry.hashed_id, message="a new version of the key arrived"),
                )

    # -- a removal -----------------------------------------------------------------------------

    def removed(self, item: RemovedObject) -> ObjectReport:
        """Schedule the deletes of the key's medias when the object is gone from S3."""
        key, history = self._key_with_media(item)
        if key is None:
            logger.info("removal: the ledger has no media of this key: nothing to delete")
            return ObjectReport(Outcome.SKIPPED, item.uri, RemovalResult.NO_MEDIA_OF_KEY.value)
        current = S3Object(bucket=item.bucket, key=key, region=item.region, size=None)
        if self._objects.head(current) is not None:
            logger.info(
                "removal of one version: the object still exists, nothing to delete",
                version_id=item.version_id,
            )
            return ObjectReport(Outcome.SKIPPED, current.uri, RemovalResult.OBJECT_STILL_EXISTS.value)
        now = self._clock()
        due = utc_timestamp(now + self._grace)
        scheduled = [
            entry
            for entry in deletable(history)
            if self._write(partial(self._ledger.mark_delete, entry, due, utc_timestamp(now)))
        ]
        for entry in scheduled:
            logger.info(
                "delete scheduled",
                hashed_id=entry.hashed_id,
                delete_due_at=due,
                delete_policy=self.delete.value,
            )
            count("DeleteScheduled")
            self._events.publish(
                DetailType.DELETE_SCHEDULED,
                event_detail(
                    bucket=item.bucket,
                    key=key,
                    version=entry.version,
                    hashed_id=entry.hashed_id,
                    delete_policy=self.delete.value,
                    delete_due_at=due,
                ),
            )
        result = RemovalResult.DELETE_SCHEDULED if scheduled else RemovalResult.ALREADY_PENDING
        ids = ", ".join(str(entry.hashed_id) for entry in scheduled)
        return ObjectReport(Outcome.SKIPPED, current.uri, result.value, ids or None)

    def _key_with_media(self, item: RemovedObject) -> tuple[str | None, list[Entry]]:
        for key in item.key_candidates():
            history = self._history(item.bucket, key)
            if any(entry.hashed_id for entry in history):
                return key, history
        return None, []

    # -- the ledger ----------------------------------------------------------------------------

    def _history(self, bucket: str, key: str) -> list[Entry]:
        return self._write(lambda: list(self._ledger.versions_of_key(bucket, key)))

    def _write(self, call: Callable[[], _T]) -> _T:
        """A ledger call whose answer the policy needs: a LedgerError is retried, not guessed over."""
        try:
            return call()
        except LedgerError as error:
            raise TransientFailure(FailureReason.LEDGER_UNAVAILABLE, str(error)) from None


def _detail(obj: S3Object, **fields: str | None) -> JsonDict:
    return event_detail(bucket=obj.bucket, key=obj.key, version=ledger_version(obj), **fields)
