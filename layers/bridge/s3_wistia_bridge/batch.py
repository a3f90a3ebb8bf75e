"""S3 Batch Operations' `LambdaInvoke`: its invocation event in, its response out. Pure.

Invocation schema 1.0 names the bucket by ARN (`s3BucketArn`), 2.0 by name (`s3Bucket`) and adds
`job.userArguments` (S3 API reference, LambdaInvokeOperation; S3 User Guide, "Invoking an AWS
Lambda function from S3 Batch Operations"). Each task's `s3Key` is URL-encoded, as in the
manifest: it is decoded exactly once, by the same decoder as S3 notifications.

The response carries exactly one result per task, whatever the task held:
- `Succeeded`: the media's hashed_id, `duplicate:<hashed_id>` (copied before, by the live function
  or an earlier job) or `rejected:<reason>` (the allowlist said no: not a job failure);
- `TemporaryFailure`: `<reason>: <message>`; Batch Operations retries the task;
- `PermanentFailure`: `<reason>: <message>`; the bridge has written its failure record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from .config import JOB_ARGUMENTS, ConfigError
from .events import decode_key
from .models import JsonDict, ObjectReport, Outcome, RequestOverrides
from .reasons import FailureReason

SCHEMA_VERSIONS = frozenset({"1.0", "2.0"})
_BUCKET_ARN_PREFIX = "arn:aws:s3:::"
# A version id S3 writes for objects stored before versioning was enabled: no version of its own.
NULL_VERSION = "null"
# resultString lands in the completion report; keep it short and one line.
MAX_RESULT_CHARS = 1024


class ResultCode(StrEnum):
    """A task's `resultCode` (S3 User Guide, "Invoke AWS Lambda function")."""

    SUCCEEDED = "Succeeded"
    TEMPORARY_FAILURE = "TemporaryFailure"
    PERMANENT_FAILURE = "PermanentFailure"


class BatchTask(NamedTuple):
    """One task, its key decoded; `problem` says why it cannot be processed, when it cannot."""

    task_id: str
    bucket: str = ""
    key: str = ""
    version_id: str | None = None  # as the task gave it (may be "null")
    problem: str | None = None
    payload: Any = None  # the task as it came, for a failure record

    @property
    def own_version(self) -> str | None:
        """The version that identifies the object; None for an unversioned (or `null`) one."""
        return self.version_id if self.version_id and self.version_id != NULL_VERSION else None


class BatchInvocation(NamedTuple):
    schema: str
    invocation_id: str
    job_id: str
    tasks: list[BatchTask]
    overrides: RequestOverrides = RequestOverrides()
    problem: str | None = None  # the whole invocation's (every task fails with it)


class TaskResult(NamedTuple):
    task_id: str
    code: ResultCode
    result: str

    def as_dict(self) -> JsonDict:
        return {"taskId": self.task_id, "resultCode": self.code.value, "resultString": self.result}


def is_batch_event(event: Any) -> bool:
    return isinstance(event, dict) and "invocationSchemaVersion" in event and "tasks" in event


def parse_batch_event(event: Any) -> BatchInvocation:
    """The invocation and its tasks; never raises (a bad field becomes a `problem`)."""
    body: JsonDict = event if isinstance(event, dict) else {}
    schema = _text(body.get("invocationSchemaVersion")) or "1.0"
    job: JsonDict = body["job"] if isinstance(body.get("job"), dict) else {}
    raw_tasks = body.get("tasks")
    tasks = [parse_task(task, schema) for task in raw_tasks] if isinstance(raw_tasks, list) else []
    invocation = BatchInvocation(schema, _text(body.get("invocationId")), _text(job.get("id")), tasks)
    if schema not in SCHEMA_VERSIONS:
        return invocation._replace(problem=f"invocationSchemaVersion {schema!r} is not 1.0 or 2.0")
    arguments = job.get("userArguments")
    try:
        return invocation._replace(overrides=job_overrides(arguments))
    except ConfigError as error:
        return invocation._replace(problem=f"job.userArguments: {error}")


def job_overrides(arguments: Any) -> RequestOverrides:
    """The job's `userArguments`, validated like configuration; ConfigError names the problem.

    No arguments at all still asks for low priority: every Batch Operations job is a backfill."""
    given = {} if arguments is None else arguments
    if not isinstance(given, dict):
        raise ConfigError("must be an object of string values")
    allowed = {variable.name for variable in JOB_ARGUMENTS}
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
    wrong = sorted(name for name, value in given.items() if not isinstance(value, str))
    if wrong:
        raise ConfigError(f"{', '.join(wrong)}: must be a string")
    values = {variable.field: variable.read(given) for variable in JOB_ARGUMENTS if variable.field}
    return RequestOverrides(**values)


def parse_task(task: Any, schema: str) -> BatchTask:
    if not isinstance(task, dict):
        return BatchTask("", problem="task is not a JSON object", payload=task)
    task_id = _text(task.get("taskId"))
    bucket = _bucket(task, schema)
    raw_key = task.get("s3Key")
    version = task.get("s3VersionId")
    problem = _task_problem(task_id, bucket, raw_key, version)
    if problem is not None or not isinstance(raw_key, str):
        return BatchTask(task_id, problem=problem or "task has no s3Key", payload=task)
    try:
        key = decode_key(raw_key)
    except UnicodeDecodeError:
        return BatchTask(task_id, problem="s3Key has percent-escapes that are not UTF-8", payload=task)
    return BatchTask(task_id, bucket, key, version or None, payload=task)


def _bucket(task: JsonDict, schema: str) -> str:
    """Schema 2.0's bucket name, or the name in schema 1.0's bucket ARN."""
    if schema == "2.0":
        return _text(task.get("s3Bucket"))
    arn = _text(task.get("s3BucketArn"))
    return arn.removeprefix(_BUCKET_ARN_PREFIX) if arn.startswith(_BUCKET_ARN_PREFIX) else ""


def _task_problem(task_id: str, bucket: str, raw_key: Any, version: Any) -> str | None:
    if not task_id:
        return "task has no taskId"
    if not bucket:
        return "task names no bucket (s3Bucket in schema 2.0, an s3BucketArn in 1.0)"
    if not isinstance(raw_key, str) or not raw_key:
        return "task has no s3Key"
    if version is not None and not isinstance(version, str):
        return "s3VersionId is not a string"
    return None


def result_for(task_id: str, report: ObjectReport) -> TaskResult:
    """A task's result from what the bridge did with its object."""
    code, text = _RESULTS[report.outcome](report)
    return TaskResult(task_id, code, _clip(text))


def failed(task_id: str, code: ResultCode, reason: str, message: str) -> TaskResult:
    return TaskResult(task_id, code, _clip(f"{reason}: {message}"))


def malformed(task_id: str, message: str) -> TaskResult:
    return failed(task_id, ResultCode.PERMANENT_FAILURE, FailureReason.MALFORMED_EVENT.value, message)


def batch_response(invocation: BatchInvocation, results: Iterable[TaskResult]) -> JsonDict:
    """The response Batch Operations reads; a task without a result would count as permanent."""
    return {
        "invocationSchemaVersion": invocation.schema,
        "treatMissingKeysAs": ResultCode.PERMANENT_FAILURE.value,
        "invocationId": invocation.invocation_id,
        "results": [result.as_dict() for result in results],
    }


def _copied(report: ObjectReport) -> tuple[ResultCode, str]:
    return ResultCode.SUCCEEDED, report.hashed_id or "copied"


def _duplicate(report: ObjectReport) -> tuple[ResultCode, str]:
    return ResultCode.SUCCEEDED, f"duplicate:{report.hashed_id or 'unknown'}"


def _updated(report: ObjectReport) -> tuple[ResultCode, str]:
    return ResultCode.SUCCEEDED, f"updated:{report.hashed_id or 'unknown'}"


def _rejected(report: ObjectReport) -> tuple[ResultCode, str]:
    return ResultCode.SUCCEEDED, f"rejected:{report.reason}"


def _skipped(report: ObjectReport) -> tuple[ResultCode, str]:
    return ResultCode.SUCCEEDED, f"skipped:{report.reason}"


def _permanent(report: ObjectReport) -> tuple[ResultCode, str]:
    return ResultCode.PERMANENT_FAILURE, f"{report.reason}: {report.message}"


def _transient(report: ObjectReport) -> tuple[ResultCode, str]:
    return ResultCode.TEMPORARY_FAILURE, f"{report.reason}: {report.message}"


_RESULTS = {
    Outcome.COPIED: _copied,
    Outcome.DUPLICATE: _duplicate,
    Outcome.REJECTED: _rejected,
    Outcome.SKIPPED: _skipped,
    Outcome.PERMANENT_FAILURE: _permanent,
    Outcome.TRANSIENT_FAILURE: _transient,
    Outcome.UPDATED: _updated,
}


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_RESULT_CHARS else flat[: MAX_RESULT_CHARS - 1] + "…"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def user_arguments(overrides: RequestOverrides) -> Mapping[str, str]:
    """The CreateJob `UserArguments` that ask for these overrides (the inverse of job_overrides)."""
    arguments = {"low_priority": "true" if overrides.low_priority else "false"}
    if overrides.project_id:
        arguments["project_id"] = overrides.project_id
    return arguments
