"""S3 Batch Operations completion reports, summarised: copied, duplicate, rejected by reason,
failed by reason. Pure and streaming (one row at a time).

Format `Report_CSV_20180820`, columns Bucket, Key, VersionId, TaskStatus, ErrorCode,
HTTPStatusCode, ResultMessage (S3 User Guide, "Examples: S3 Batch Operations completion
reports"). That page's own example rows put the HTTP status fifth and the result code sixth
(`failed,200,PermanentFailure,...`), against its header: both orders are read. The result message
of a task the function answered is its resultString (batch.py); a function error (a timeout, a
crash) has S3's own message.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any, NamedTuple

from .batch import ResultCode
from .reasons import FailureReason

REPORT_FORMAT = "Report_CSV_20180820"
_COLUMNS = 7


class TaskStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ReportRow(NamedTuple):
    bucket: str
    key: str  # as the manifest wrote it (URL-encoded)
    version_id: str
    status: str
    error_code: str
    http_status: str
    message: str


class ReportSummary(NamedTuple):
    copied: int
    duplicate: int
    rejected: Counter[str]
    failed: Counter[str]
    unreadable: int  # rows that are not seven columns

    @property
    def tasks(self) -> int:
        return self.copied + self.duplicate + sum(self.rejected.values()) + sum(self.failed.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "copied": self.copied,
            "duplicate": self.duplicate,
            "rejected": dict(self.rejected),
            "failed": dict(self.failed),
            "unreadable": self.unreadable,
        }


def report_rows(lines: Iterable[str]) -> Iterator[ReportRow | None]:
    """Each row of a result file; None for a row that is not seven columns."""
    for fields in csv.reader(lines):
        if not fields:
            continue
        if len(fields) != _COLUMNS:
            yield None
            continue
        bucket, key, version, status, fifth, sixth, message = fields
        # The documented header says ErrorCode then HTTPStatusCode; the documented rows say otherwise.
        error_code, http_status = (
            (sixth, fifth) if fifth.isdigit() and not sixth.isdigit() else (fifth, sixth)
        )
        yield ReportRow(bucket, key, version, status, error_code, http_status, message)


def classify(row: ReportRow) -> tuple[str, str | None]:
    """(category, reason): copied, duplicate, rejected or failed, with the reason when it has one."""
    message = row.message
    if row.status == TaskStatus.SUCCEEDED:
        if message.startswith("duplicate:"):
            return "duplicate", None
        if message.startswith("rejected:"):
            return "rejected", message.removeprefix("rejected:")
        return "copied", None
    return "failed", failure_reason(row)


def failure_reason(row: ReportRow) -> str:
    """The bridge's reason (`<reason>: <message>`), else what S3 says of the task."""
    head, colon, _ = row.message.partition(":")
    if colon and FailureReason.parse(head.strip()) is not None:
        return head.strip()
    if "Task timed out" in row.message:
        return FailureReason.FUNCTION_TIMEOUT.value
    if row.message.startswith("Lambda returned function error"):
        return FailureReason.FUNCTION_ERROR.value
    return row.error_code or ResultCode.PERMANENT_FAILURE.value


def summarise(lines: Iterable[str]) -> ReportSummary:
    counts: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for row in report_rows(lines):
        if row is None:
            counts["unreadable"] += 1
            continue
        category, reason = classify(row)
        counts[category] += 1
        if category == "rejected":
            rejected[reason or "unknown"] += 1
        elif category == "failed":
            failed[reason or "unknown"] += 1
    return ReportSummary(counts["copied"], counts["duplicate"], rejected, failed, counts["unreadable"])


def result_files(manifest_json: str) -> list[tuple[str, str, str]]:
    """(bucket, key, TaskExecutionStatus) of each result file a report's manifest.json lists."""
    body = json.loads(manifest_json)
    if body.get("Format") != REPORT_FORMAT:
        raise ValueError(f"not a completion report manifest (Format {body.get('Format')!r})")
    return [(r["Bucket"], r["Key"], r["TaskExecutionStatus"]) for r in body.get("Results", [])]
