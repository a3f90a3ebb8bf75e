"""What an observation of Wistia does, for the webhook receiver and the sweeper alike.

`observe` finds the media in the ledger (by hashed id; a media the bridge did not create is logged
and ignored), decides with lifecycle.decide, and applies it with the ledger's conditional update.
Its consequences:

- ready: metrics `MediaReady` and `TimeToReady` (seconds from the copy to ready), the event
  `Media Ready`, and with SOURCE_DISPOSITION other than `keep` the source version's tags
  (`wistia-status=ready`, `wistia-hashed-id`), best effort;
- failed (`media.failed`, Show Media `failed`, or not ready by READY_DEADLINE_MINUTES): a failure
  record on the failure queue, *before* the ledger update, so a queue that cannot be written leaves
  the ledger as it was and the delivery is retried (a rare second record replays as a duplicate);
  metric `MediaFailed`, event `Media Failed`. The record's `event` is a replayable S3 notification of
  the object version: the ingest function, seeing the ledger's `failed`, copies it again as a new
  media.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from .errors import PermanentFailure
from .events_out import DetailType, event_detail
from .failures import failure_record
from .ledger import Entry, Ledger
from .lifecycle import Change, MediaStatus, Observation, decide, seconds_between
from .models import JsonDict, S3Object, utc_timestamp
from .observability import count, logger, seconds
from .reasons import FailureReason
from .recorder import EventSink
from .s3_objects import TagWrite, error_code
from .tracking_config import SourceDisposition

STATUS_TAG = "wistia-status"
HASHED_ID_TAG = "wistia-hashed-id"


class FailureSink(Protocol):
    def send(self, record: JsonDict) -> None: ...


class Tagger(Protocol):
    def tag_all(self, obj: S3Object, tags: dict[str, str]) -> TagWrite: ...


class Seen(NamedTuple):
    """What one observation did."""

    change: Change | None  # None: not a media the bridge created
    status: MediaStatus | None = None  # the media's status afterwards, when known


class Tracker:
    def __init__(
        self,
        ledger: Ledger,
        failures: FailureSink,
        events: EventSink,
        *,
        disposition: SourceDisposition = SourceDisposition.KEEP,
        tagger: Tagger | None = None,
        request_id: str | None = None,
        function_arn: str | None = None,
    ) -> None:
        self._ledger = ledger
        self._failures = failures
        self._events = events
        self._disposition = disposition
        self._tagger = tagger
        self.request_id = request_id
        self.function_arn = function_arn

    def observe(self, observation: Observation) -> Seen:
        """Apply one observation; raises LedgerError or TransientFailure (retry the delivery)."""
        entry = self._ledger.by_hashed_id(observation.hashed_id)
        if entry is None:
            logger.info("ignored: not a media the bridge created", hashed_id=observation.hashed_id)
            count("WebhookUnknownMedia")
            return Seen(None)
        return self.apply(entry, observation)

    def apply(self, entry: Entry, observation: Observation, reason: FailureReason | None = None) -> Seen:
        change = self._change(entry, observation)
        if change is not Change.APPLY:
            return Seen(change, entry.status)
        if observation.status is MediaStatus.FAILED:
            reason = reason or FailureReason.WISTIA_PROCESSING_FAILED
            self._record_failure(entry, observation, reason)
        if not self._ledger.observe(entry, observation, reason.value if reason else None):
            return Seen(Change.STALE, entry.status)  # a concurrent delivery applied it first
        logger.info("media status", **_fields(entry, observation))
        self._after(entry, observation, reason)
        return Seen(Change.APPLY, observation.status or entry.status)

    def _change(self, entry: Entry, observation: Observation) -> Change:
        """What the observation does; what changes nothing is logged (and its uuid kept) here."""
        change = decide(entry.current(), observation)
        if change is Change.APPLY and entry.get("replaced_by"):
            change = Change.STALE  # replaced after it failed: the new media is the one followed
        if change is Change.APPLY:
            return change
        if change is Change.STALE and observation.event_id is not None:
            self._ledger.note_seen(entry, observation.event_id)
        logger.info("observation changes nothing", change=change.value, **_fields(entry, observation))
        return change

    def stuck(self, entry: Entry, now: datetime) -> Seen:
        """A media not ready by its deadline: failed, as `wistia_processing_stuck`."""
        observation = Observation(str(entry.hashed_id), MediaStatus.FAILED, utc_timestamp(now))
        return self.apply(entry, observation, FailureReason.WISTIA_PROCESSING_STUCK)

    def _after(self, entry: Entry, observation: Observation, reason: FailureReason | None) -> None:
        if observation.status is MediaStatus.READY:
            self._ready(entry, observation)
        elif observation.status is MediaStatus.FAILED:
            count("MediaFailed")
            self._events.publish(DetailType.MEDIA_FAILED, _detail(entry, observation, reason=reason))

    def _ready(self, entry: Entry, observation: Observation) -> None:
        count("MediaReady")
        took = seconds_between(entry.get("accepted_at"), observation.at)
        if took is not None:
            seconds("TimeToReady", max(took, 0.0))
        self._events.publish(DetailType.MEDIA_READY, _detail(entry, observation, time_to_ready_seconds=took))
        if self._disposition is not SourceDisposition.KEEP:
            self._tag(entry)

    def _tag(self, entry: Entry) -> None:
        """Tag the ready media's source version, best effort (its media exists whatever happens)."""
        tags = {STATUS_TAG: MediaStatus.READY.value, HASHED_ID_TAG: str(entry.hashed_id)}
        if self._tagger is None:
            return
        try:
            written = self._tagger.tag_all(entry.s3_object(), tags)
        except Exception as error:  # a missing tag only delays the lifecycle rule
            logger.warning("source not tagged", hashed_id=entry.hashed_id, error=error_code(error))
            count("DispositionFailed")
            return
        if written is TagWrite.NO_ROOM:
            logger.warning("source not tagged: it already has 10 tags", hashed_id=entry.hashed_id)
            count("DispositionFailed")
            return
        logger.info("source tagged", hashed_id=entry.hashed_id, tag=written.value)

    def _record_failure(self, entry: Entry, observation: Observation, reason: FailureReason) -> None:
        message = (
            f"Wistia media {entry.hashed_id} failed to process"
            if reason is FailureReason.WISTIA_PROCESSING_FAILED
            else f"Wistia media {entry.hashed_id} was not ready by the deadline (status {entry.status.value})"
        )
        record = failure_record(
            PermanentFailure(reason, message),
            entry.s3_object(),
            request_id=self.request_id,
            function_arn=self.function_arn,
        )
        record["media"] = {
            "hashedId": entry.hashed_id,
            "url": observation.url or entry.get("media_url"),
            "project": entry.get("project"),
            "name": entry.get("name"),
            "acceptedAt": entry.get("accepted_at"),
            "generation": entry.generation,
        }
        self._failures.send(record)  # TransientFailure when the queue is unreachable: retried


def _fields(entry: Entry, observation: Observation) -> dict[str, Any]:
    return {
        "hashed_id": entry.hashed_id,
        "object": f"s3://{entry.pk}",
        "from_status": entry.status.value,
        "to_status": observation.status.value if observation.status else None,
        "event_id": observation.event_id,
        "at": observation.at,
    }


def _detail(entry: Entry, observation: Observation, **extra: Any) -> JsonDict:
    return event_detail(
        bucket=entry.get("bucket"),
        key=entry.get("key"),
        version=entry.get("version"),
        hashed_id=entry.hashed_id,
        project=entry.get("project"),
        name=observation.name or entry.get("name"),
        url=observation.url or entry.get("media_url"),
        status=observation.status.value if observation.status else None,
        replaces=entry.get("replaces"),
        **{name: value.value if isinstance(value, FailureReason) else value for name, value in extra.items()},
    )


def now_utc() -> datetime:
    return datetime.now(UTC)
