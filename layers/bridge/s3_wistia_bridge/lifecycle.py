"""A media's life after the copy: its statuses, their order, and what one observation changes. Pure.

Statuses (the ledger's `status`):

    accepted ─▶ queued ─▶ processing ─▶ ready
        │          │           │    └──▶ failed ─(replay)─▶ a new media, `replaces` the failed one
        └──────────┴───────────┴──────▶ deleted
    rejected, copy_failed: the object never became a media (the allowlist said no; Wistia refused the copy)
    skipped: a later version of a key that has a media, not sent (OverwritePolicy=skip)

Each status has a rank; an observation (a webhook event, or a Show Media answer of the sweeper)
moves a media only to a higher rank, so a late `media.processing` can never undo `media.ready`, and
only when it is not older than what was applied last (`generated_at`). The ledger's conditional
update (ledger.py) enforces the same rule in DynamoDB; `decide` is the rule itself, unit-tested.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from .models import utc_timestamp


class MediaStatus(StrEnum):
    """Where one object version stands, from the bridge's first look to Wistia's last word."""

    rank: int

    def __new__(cls, value: str, rank: int) -> MediaStatus:
        member = str.__new__(cls, value)
        member._value_ = value
        member.rank = rank
        return member

    REJECTED = ("rejected", -1)  # never sent: a rejection (validation.Reason)
    COPY_FAILED = ("copy_failed", -1)  # sent, refused for good: a failure record (reasons.FailureReason)
    SKIPPED = ("skipped", -1)  # OverwritePolicy=skip: a later version of a key already in Wistia, not sent
    ACCEPTED = ("accepted", 0)  # Wistia accepted the copy and named the media (hashed_id)
    QUEUED = ("queued", 1)
    PROCESSING = ("processing", 2)
    READY = ("ready", 3)
    FAILED = ("failed", 3)  # Wistia could not process it, or it was not ready by the deadline
    DELETED = ("deleted", 4)  # deleted in Wistia (media.deleted, or Show Media answered 404)

    @property
    def is_open(self) -> bool:
        """Wistia has not said its last word: the sweeper still looks at it."""
        return self in OPEN

    @property
    def holds_media(self) -> bool:
        return self.rank >= 0


def media_status(text: str) -> MediaStatus:
    """The status a ledger item names (ValueError for a value that is not one)."""
    return _BY_VALUE[text]


_BY_VALUE = {status.value: status for status in MediaStatus}
OPEN = (MediaStatus.ACCEPTED, MediaStatus.QUEUED, MediaStatus.PROCESSING)

# The Data API's `status` (queued | processing | ready | failed) as a ledger status.
_WISTIA_STATUSES = {status.value: status for status in (*OPEN[1:], MediaStatus.READY, MediaStatus.FAILED)}


def wistia_status(text: object) -> MediaStatus | None:
    return _WISTIA_STATUSES.get(text) if isinstance(text, str) else None


class Observation(NamedTuple):
    """Something Wistia said about one media, from a webhook event or a Show Media answer."""

    hashed_id: str
    status: MediaStatus | None  # None: attributes only (media.updated)
    at: str  # when Wistia said it, normalized (`normalize_time`): the order of observations
    event_id: str | None = None  # the webhook event's uuid (at-least-once delivery); None for a poll
    name: str | None = None
    url: str | None = None


class Current(NamedTuple):
    """What the ledger holds of a media, as far as ordering is concerned."""

    status: MediaStatus
    event_at: str | None  # the time of the last observation applied
    seen: frozenset[str]  # the webhook event ids applied or refused so far
    name_at: str | None = None


class Change(StrEnum):
    APPLY = "apply"  # the observation moves the media on (or renames it)
    DUPLICATE = "duplicate"  # this event id was handled already
    STALE = "stale"  # older than, or not past, what the ledger holds: nothing to do


def decide(current: Current, observation: Observation) -> Change:
    """What `observation` does to a media that stands at `current`."""
    if observation.event_id is not None and observation.event_id in current.seen:
        return Change.DUPLICATE
    if observation.status is None:  # a rename: the newest name wins
        newer = current.name_at is None or current.name_at < observation.at
        return Change.APPLY if observation.name is not None and newer else Change.STALE
    if observation.status.rank <= current.status.rank:
        return Change.STALE
    if current.event_at is not None and observation.at < current.event_at:
        return Change.STALE
    return Change.APPLY


def normalize_time(text: object) -> str | None:
    """An ISO 8601 time as the ledger writes it (UTC, milliseconds, `Z`), so times from Wistia
    (`2016-03-30T15:53:15Z`) and the bridge's own compare as strings; None when unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return utc_timestamp(parsed)


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from one ledger time to another; None when either is missing or unreadable."""
    if start is None or end is None:
        return None
    try:
        first = datetime.fromisoformat(start.replace("Z", "+00:00"))
        last = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (last - first).total_seconds()
