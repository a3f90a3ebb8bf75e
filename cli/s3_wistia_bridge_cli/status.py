"""What the bridge knows about one object: copied (hashed_id, when), in progress, in the
failure queue (reason), or nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemNotFoundError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS
from s3_wistia_bridge.idempotency import KEY_PREFIX, idempotency_data
from s3_wistia_bridge.models import JsonDict, S3Object

from .queue import FailureQueue, scan
from .resources import aws_error

SCAN_VISIBILITY_SECONDS = 5


class State(StrEnum):
    """What the bridge knows about the object."""

    COPIED = "copied"  # a completed idempotency record for this version
    IN_PROGRESS = "in_progress"  # an invocation holds the copy lock for this version
    FAILED = "failed"  # in the failure queue
    UNKNOWN = "unknown"  # nothing known


@dataclass
class StatusReport:
    uri: str
    state: State
    version: str | None = None
    hashed_id: str | None = None
    copied_at: str | None = None
    failures: list[JsonDict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> JsonDict:
        data: JsonDict = {"object": self.uri, "state": self.state.value, "version": self.version}
        if self.hashed_id or self.copied_at:
            data |= {"hashedId": self.hashed_id, "copiedAt": self.copied_at}
        if self.failures:
            data["failures"] = self.failures
        if self.notes:
            data["notes"] = self.notes
        return data

    def text(self) -> str:
        if self.state is State.COPIED:
            line = f"copied: hashed_id {self.hashed_id} at {self.copied_at}"
        elif self.state is State.IN_PROGRESS:
            line = "in progress: an invocation holds the copy lock for this version now"
        elif self.state is State.FAILED:
            first = self.failures[0]
            line = f"in the failure queue: {first.get('reason')} ({first.get('reasonClass')})"
            if len(self.failures) > 1:
                line += f" and {len(self.failures) - 1} more message(s)"
        else:
            line = "nothing known"
        lines = [f"{self.uri} (version {self.version or '?'})", line]
        for failure in self.failures:
            lines.append(f"  {failure.get('kind')}: {failure.get('detail')}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def object_status(
    s3: Any,
    bucket: str,
    key: str,
    *,
    table: str | None,
    queue: FailureQueue | None,
    version_id: str | None = None,
    scan_limit: int = 1000,
    dynamodb: Any = None,
) -> StatusReport:
    uri = f"s3://{bucket}/{key}"
    head: JsonDict = {}
    try:
        kwargs = {"Bucket": bucket, "Key": key} | ({"VersionId": version_id} if version_id else {})
        head = s3.head_object(**kwargs)
    except Exception as error:
        raise aws_error(error, "s3:GetObject (HeadObject)", uri) from None
    etag = str(head.get("ETag", "")).strip('"') or None
    version = version_id or head.get("VersionId")
    obj = S3Object(
        bucket=bucket, key=key, region="", size=head.get("ContentLength"), etag=etag, version_id=version
    )
    report = StatusReport(uri, State.UNKNOWN, obj.version)
    if table:
        _from_table(report, table, obj, dynamodb)
        if report.state in {State.COPIED, State.IN_PROGRESS}:
            return report
    else:
        report.notes.append("idempotency table not checked (pass --table or --stack)")
    if queue is not None:
        _from_queue(report, queue, bucket, key, scan_limit)
    else:
        report.notes.append("failure queue not checked (pass --queue-url or --stack)")
    return report


def _from_table(report: StatusReport, table: str, obj: S3Object, client: Any) -> None:
    identity = idempotency_data(obj)
    if identity is None:
        report.notes.append("the object has neither a version id nor an ETag")
        return
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    persistence.configure(IdempotencyConfig(), key_prefix=KEY_PREFIX)
    try:
        record = persistence.get_record(identity)
    except IdempotencyItemNotFoundError:
        return
    except Exception as error:
        raise aws_error(error, "dynamodb:GetItem", table) from None
    if record is None:
        return
    status = record.status
    if status == STATUS_CONSTANTS["COMPLETED"]:
        stored = record.response_json_as_dict() or {}
        report.state = State.COPIED
        report.hashed_id = stored.get("hashed_id")
        report.copied_at = stored.get("copied_at")
    elif status == STATUS_CONSTANTS["INPROGRESS"]:
        report.state = State.IN_PROGRESS
    elif status == STATUS_CONSTANTS["EXPIRED"]:
        report.notes.append("an expired idempotency record exists: copied once, longer ago than the TTL")


def _from_queue(report: StatusReport, queue: FailureQueue, bucket: str, key: str, limit: int) -> None:
    messages = scan(queue, SCAN_VISIBILITY_SECONDS, int(time.time() * 1000), limit)
    try:
        for message in messages:
            if any(obj.bucket == bucket and obj.key == key for obj in message.objects):
                report.failures.append(message.summary())
    finally:
        if messages:
            queue.release([m.receipt_handle for m in messages])
    if report.failures:
        report.state = State.FAILED
    if len(messages) >= limit:
        report.notes.append(f"only the first {limit} queue messages were searched (--scan-limit)")
