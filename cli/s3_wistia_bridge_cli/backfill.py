"""Backfill: every object already in a bucket (or under a prefix), sent through the function.

Each object becomes the `ObjectCreated:Put` notification S3 would have sent for it, so the
function treats it exactly like a new upload: the same validation (checked here first, so
rejected objects are never sent), routing, and idempotency (a rerun reports `duplicate`).
A direct stack's function is invoked with it synchronously (the outcome is known at once); a
buffered stack gets it on its ingest queue (`queued`), so the event source mapping's
MaximumConcurrency paces the copies towards Wistia, together with live uploads.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge.events import parse_event, s3_notification
from s3_wistia_bridge.models import JsonDict, Outcome, S3Object
from s3_wistia_bridge.validation import validate

from .queue import IngestQueue
from .replay import Invoker, outcome_of
from .resources import aws_error

CONFIGURATION_ID = "s3-wistia-bridge-backfill"


class BackfillStatus(StrEnum):
    """What a backfill did with one object, in the summary's order."""

    COPIED = "copied"
    QUEUED = "queued"  # a buffered stack: on the ingest queue, the function copies it later
    DUPLICATE = "duplicate"  # copied before (by the live function or an earlier backfill)
    WOULD_COPY = "would_copy"  # a dry run's answer
    REJECTED = "rejected"  # refused by validation here, or by the function
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def row(self) -> str:
        """Its row in the summary (text table and --json keys)."""
        return self.value.replace("_", " ")


# The function's outcome for the object, as a backfill status; any other (or none) is a failure.
_STATUS_OF_OUTCOME: dict[Outcome | None, BackfillStatus] = {
    Outcome.COPIED: BackfillStatus.COPIED,
    Outcome.DUPLICATE: BackfillStatus.DUPLICATE,
    Outcome.REJECTED: BackfillStatus.REJECTED,
    Outcome.SKIPPED: BackfillStatus.SKIPPED,
}


def object_event(
    bucket: str,
    region: str,
    key: str,
    *,
    size: int,
    etag: str | None,
    version_id: str | None = None,
    last_modified: datetime | None = None,
) -> JsonDict:
    """The notification S3 sends for a Put of this object, marked as coming from backfill."""
    return s3_notification(
        bucket,
        region,
        key,
        size=size,
        etag=etag,
        version_id=version_id,
        event_time=last_modified,
        configuration_id=CONFIGURATION_ID,
    )


# GetBucketLocation's constraints that are not region names: none, and the legacy "EU".
LEGACY_LOCATIONS = {"": "us-east-1", "EU": "eu-west-1"}


def bucket_region(s3: Any, bucket: str) -> str:
    try:
        location = str(s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "")
    except Exception as error:
        raise aws_error(error, "s3:GetBucketLocation", bucket) from None
    return LEGACY_LOCATIONS.get(location, location)


class RateLimiter:
    """At most `per_second` starts per second, across threads (None: unlimited)."""

    def __init__(self, per_second: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        delay = start - now
        if delay > 0:
            time.sleep(delay)


@dataclass(frozen=True)
class BackfillOptions:
    prefix: str = ""
    dry_run: bool = False
    concurrency: int = 4
    rate: float | None = None
    page_size: int = 1000


@dataclass
class ObjectResult:
    uri: str
    status: BackfillStatus
    reason: str | None = None
    detail: str | None = None
    hashed_id: str | None = None

    def as_dict(self) -> JsonDict:
        return {k: v for k, v in self.__dict__.items() if v is not None} | {"status": self.status.value}


# The rows of a buffered stack's summary: the outcomes come later, from the function.
_QUEUED_ROWS = (
    BackfillStatus.QUEUED,
    BackfillStatus.WOULD_COPY,
    BackfillStatus.REJECTED,
    BackfillStatus.FAILED,
)

# Where a backfill sends each event: the function (synchronous invoke) or the ingest queue.
BackfillTarget = Invoker | IngestQueue


@dataclass
class BackfillReport:
    results: list[ObjectResult] = field(default_factory=list)
    interrupted: bool = False
    queued: bool = False  # sent to a buffered stack's ingest queue

    def summary(self) -> dict[str, int]:
        rows = _QUEUED_ROWS if self.queued else [s for s in BackfillStatus if s is not BackfillStatus.QUEUED]
        counts = dict.fromkeys((status.row for status in rows), 0)
        for result in self.results:
            counts[result.status.row] += 1
        return counts

    @property
    def failed(self) -> bool:
        return any(result.status is BackfillStatus.FAILED for result in self.results)


def list_objects(s3: Any, bucket: str, prefix: str, page_size: int) -> Iterator[JsonDict]:
    paginator = s3.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size})
    try:
        for page in pages:
            yield from page.get("Contents", [])
    except Exception as error:
        raise aws_error(error, "s3:ListBucket", f"s3://{bucket}/{prefix}") from None


def backfill(
    s3: Any,
    bucket: str,
    config: BridgeConfig,
    invoker: BackfillTarget | None,
    options: BackfillOptions,
    *,
    on_result: Callable[[ObjectResult], None] = lambda _r: None,
) -> BackfillReport:
    """Validate every listed object; send the accepted ones (unless dry run) to `invoker`: the
    function, or a buffered stack's ingest queue."""
    if invoker is None and not options.dry_run:
        raise ValueError("an invoker is needed unless dry_run")
    return _Backfill(s3, bucket, config, invoker, options, on_result=on_result).run()


class _Backfill:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        config: BridgeConfig,
        invoker: BackfillTarget | None,
        options: BackfillOptions,
        *,
        on_result: Callable[[ObjectResult], None],
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.config = config
        self.invoker = invoker
        self.options = options
        self.on_result = on_result
        self.region = bucket_region(s3, bucket)
        self.versioned = is_versioned(s3, bucket)
        self.limiter = RateLimiter(options.rate)
        self.report = BackfillReport(queued=isinstance(invoker, IngestQueue))

    def run(self) -> BackfillReport:
        options = self.options
        pending: set[Future[ObjectResult]] = set()
        limit = max(1, options.concurrency) * 2
        pool = ThreadPoolExecutor(max_workers=max(1, options.concurrency))
        try:
            for item in list_objects(self.s3, self.bucket, options.prefix, options.page_size):
                obj = self._accepted(item)
                if obj is None:
                    continue
                if options.dry_run:
                    self._record(ObjectResult(obj.uri, BackfillStatus.WOULD_COPY))
                    continue
                pending.add(pool.submit(self._send, obj, item))
                while len(pending) >= limit:
                    pending = self._collect(pending)
            while pending:
                pending = self._collect(pending)
        except KeyboardInterrupt:
            self.report.interrupted = True
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return self.report

    def _collect(self, pending: set[Future[ObjectResult]]) -> set[Future[ObjectResult]]:
        done, rest = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            self._record(future.result())
        return rest

    def _accepted(self, item: JsonDict) -> S3Object | None:
        parsed = parse_event(_event_for(self.bucket, self.region, item, None))[0]
        if not isinstance(parsed, S3Object):
            uri = f"s3://{self.bucket}/{item.get('Key')}"
            self._record(ObjectResult(uri, BackfillStatus.REJECTED, "malformed", str(parsed)))
            return None
        rejection = validate(parsed, self.config)
        if rejection is not None:
            self._record(
                ObjectResult(parsed.uri, BackfillStatus.REJECTED, rejection.reason.value, rejection.message)
            )
            return None
        return parsed

    def _send(self, obj: S3Object, item: JsonDict) -> ObjectResult:
        assert self.invoker is not None  # noqa: S101 - checked by backfill()
        event = obj.source_event
        if self.versioned:
            # The live function keyed this object by its version id: use the same key.
            version = _head_version(self.s3, self.bucket, obj.key)
            event = _event_for(self.bucket, self.region, item, version)
        self.limiter.wait()
        if isinstance(self.invoker, IngestQueue):
            return _enqueue(self.invoker, obj.uri, event)
        result = self.invoker.invoke(event)
        if not result.ok:
            return ObjectResult(obj.uri, BackfillStatus.FAILED, None, result.error_message)
        reports = result.objects or [{"message": "the function returned no report"}]
        answer = reports[0]
        status = _STATUS_OF_OUTCOME.get(outcome_of(answer), BackfillStatus.FAILED)
        return ObjectResult(
            obj.uri,
            status,
            answer.get("reason") if status is not BackfillStatus.COPIED else None,
            answer.get("message"),
            answer.get("hashed_id"),
        )

    def _record(self, result: ObjectResult) -> None:
        self.report.results.append(result)
        self.on_result(result)


def _enqueue(ingest: IngestQueue, uri: str, event: JsonDict) -> ObjectResult:
    """The notification on the ingest queue, as S3 would have sent it there."""
    refused = ingest.send_batch([json.dumps(event)])
    if refused:
        return ObjectResult(uri, BackfillStatus.FAILED, None, f"not queued: {refused[0]}")
    return ObjectResult(uri, BackfillStatus.QUEUED)


def _event_for(bucket: str, region: str, item: JsonDict, version_id: str | None) -> JsonDict:
    etag = item.get("ETag")
    modified = item.get("LastModified")
    return object_event(
        bucket,
        region,
        str(item.get("Key")),
        size=int(item.get("Size", 0)),
        etag=str(etag) if etag else None,
        version_id=version_id,
        last_modified=modified if isinstance(modified, datetime) else None,
    )


def is_versioned(s3: Any, bucket: str) -> bool:
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except Exception as error:
        raise aws_error(error, "s3:GetBucketVersioning", bucket) from None
    return status in {"Enabled", "Suspended"}


def _head_version(s3: Any, bucket: str, key: str) -> str | None:
    try:
        version = s3.head_object(Bucket=bucket, Key=key).get("VersionId")
    except Exception as error:
        raise aws_error(error, "s3:GetObject", f"s3://{bucket}/{key}") from None
    return str(version) if version else None
