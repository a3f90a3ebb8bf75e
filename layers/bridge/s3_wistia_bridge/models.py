"""Values that flow through the bridge: objects, copy requests and outcomes. No I/O here.

Immutable records on the function's cold path are NamedTuples: defining one costs about a
seventh of a frozen dataclass, and the cold start pays for every class it defines (`make bench`,
figure 3). S3Object and CopyRequest stay dataclasses: each keeps a field out of equality or repr
(a NamedTuple would also hand the presigned URL to json.dumps).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

JsonDict = dict[str, Any]


def utc_timestamp(when: datetime | None = None, timespec: str = "milliseconds") -> str:
    """ISO 8601 in UTC with a `Z`, as AWS writes event times (`now` when `when` is None)."""
    return (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


@dataclass(frozen=True)
class S3Object:
    """One created object, as announced by an event; `key` is decoded exactly once."""

    bucket: str
    key: str
    region: str
    size: int | None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    event_name: str = "ObjectCreated:Put"
    event_id: str | None = None
    # The key exactly as an EventBridge event carried it, when decoding it changes it: AWS does not
    # document whether those keys are URL-encoded, so the bridge asks S3 which of the two exists.
    raw_key: str | None = None
    # A replayable event for exactly this object (one S3 record, or the EventBridge event),
    # so a failure record can be fed straight back to the function.
    source_event: JsonDict = field(default_factory=dict, compare=False, repr=False)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def key_candidates(self) -> tuple[S3Object, ...]:
        """This object under each key the event may mean: the raw key first, then the decoded one."""
        if self.raw_key is None or self.raw_key == self.key:
            return (self,)
        return (replace(self, key=self.raw_key, raw_key=None), replace(self, raw_key=None))

    @property
    def version(self) -> str | None:
        """What distinguishes an overwrite from a duplicate event: version id, else ETag."""
        return self.version_id or self.etag

    def describe(self) -> JsonDict:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "region": self.region,
            "size": self.size,
            "etag": self.etag,
            "versionId": self.version_id,
            "sequencer": self.sequencer,
            "eventName": self.event_name,
        }


class SkippedEvent(NamedTuple):
    """An event that is not an object creation (S3 test event, deletions, ...)."""

    reason: str
    detail: str


@dataclass(frozen=True)
class RemovedObject:
    """A removal S3 announced: `ObjectRemoved:Delete` (a version, or an unversioned object, is gone
    for good), `ObjectRemoved:DeleteMarkerCreated`, or EventBridge `Object Deleted`. Whether the
    object itself is gone is asked of S3 (HeadObject of the key), not read from the event: removing
    one non-current version leaves the object in place (versions_and_deletes.py)."""

    bucket: str
    key: str
    region: str
    event_name: str  # ObjectRemoved:Delete | ObjectRemoved:DeleteMarkerCreated
    version_id: str | None = None
    sequencer: str | None = None
    eventbridge: bool = False
    # The key exactly as an EventBridge event carried it, when decoding changes it (see S3Object).
    raw_key: str | None = None
    source_event: JsonDict = field(default_factory=dict, compare=False, repr=False)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def delete_marker(self) -> bool:
        return self.event_name.endswith("DeleteMarkerCreated")

    def key_candidates(self) -> tuple[str, ...]:
        """The keys the event may mean: the raw one first (see S3Object.key_candidates)."""
        return (self.key,) if self.raw_key is None or self.raw_key == self.key else (self.raw_key, self.key)

    def skipped(self) -> SkippedEvent:
        """What the bridge does with it under DeletePolicy=ignore: skip it, as it always did."""
        if self.eventbridge:
            return SkippedEvent("not_object_created", f"EventBridge {'Object Deleted'!r}")
        return SkippedEvent("not_object_created", f"event {self.event_name}")


class MalformedEvent(NamedTuple):
    """Input the bridge cannot understand; it becomes a failure record, never a silent drop."""

    detail: str
    payload: Any


@dataclass(frozen=True)
class CopyRequest:
    """Everything Wistia needs for one object: an s3_copy, or a URL import when `url` is set.

    `url` is a presigned GET of the object: anyone holding it can read the object until it
    expires, so it is kept out of repr() and never logged.
    """

    bucket: str
    source_file: str
    region: str
    name: str
    project_id: str | None = None
    description: str | None = None
    contact_id: int | None = None
    url: str | None = field(default=None, repr=False)
    # A backfill asks Wistia to encode behind live uploads. Wistia documents `low_priority` only on
    # the Upload API's URL import (WISTIA-API §6); nothing public says /s3_copy accepts it, so it is
    # sent with a `url` only and an s3_copy goes without it.
    low_priority: bool = False
    # A sidecar's custom fields: not sent (Wistia documents no field for them), kept in the ledger
    # and the Media Accepted event (companions.py).
    custom_fields: tuple[tuple[str, str], ...] = ()

    def form(self) -> dict[str, str]:
        """The form fields, optional ones only when set.

        s3_copy: bucket, source_file, region. URL import (Upload API): url, and nothing that
        names the bucket (Wistia reads only the URL).
        """
        fields: dict[str, str]
        if self.url is not None:
            fields = {"url": self.url, "name": self.name}
        else:
            fields = {
                "bucket": self.bucket,
                "source_file": self.source_file,
                "region": self.region,
                "name": self.name,
            }
        if self.project_id:
            fields["project_id"] = self.project_id
        if self.description:
            fields["description"] = self.description
        if self.contact_id is not None:
            fields["contact_id"] = str(self.contact_id)
        if self.low_priority and self.url is not None:
            fields["low_priority"] = "true"
        return fields


class RequestOverrides(NamedTuple):
    """What a backfill job asks of every request (S3 Batch Operations' `userArguments`)."""

    project_id: str | None = None  # replaces the routed (or metadata's) project
    low_priority: bool = False

    def apply(self, request: CopyRequest) -> CopyRequest:
        if self.project_id is None and not self.low_priority:
            return request
        return replace(
            request,
            project_id=self.project_id or request.project_id,
            low_priority=self.low_priority or request.low_priority,
        )


class CopyResult(NamedTuple):
    hashed_id: str | None
    media_id: int | None
    attempts: int
    recovered: bool = False  # found through the Data API after an unanswered request


class Outcome(StrEnum):
    COPIED = "copied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    PERMANENT_FAILURE = "permanent_failure"
    TRANSIENT_FAILURE = "transient_failure"
    UPDATED = "updated"  # a sidecar or caption file applied to the media its video became


class ObjectReport(NamedTuple):
    """What happened to one object (or one unusable piece of input)."""

    outcome: Outcome
    uri: str | None
    reason: str | None = None
    message: str | None = None
    hashed_id: str | None = None

    def as_dict(self) -> JsonDict:
        return {k: v for k, v in self._asdict().items() if v is not None} | {"outcome": self.outcome.value}
