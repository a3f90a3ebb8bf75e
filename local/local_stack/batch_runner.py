"""A local S3 Batch Operations job: plays a manifest through a function as Batch Operations does.

One task per object (Batch Operations sends one task per invocation), invocation payloads of
schema 2.0 (with UserArguments) or 1.0, `TemporaryFailure` retried a bounded number of times with
backoff, a function error taken as a failed task, and a completion report in the documented CSV
(`Report_CSV_20180820`: Bucket, Key, VersionId, TaskStatus, then as S3's own example rows write
them the HTTP status and the result code, then the result message).

The function is either the handler in this process (`in_process`) or a deployed one through
`lambda:Invoke` (`deployed`; also ministack's).

    python -m local_stack.batch_runner --manifest m.csv --function NAME:alias --report report.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, TextIO

import boto3
from s3_wistia_bridge.batch import ResultCode
from s3_wistia_bridge.batch_report import summarise
from s3_wistia_bridge.models import JsonDict

# A function answers with its response payload, or raises FunctionError.
Invoke = Callable[[JsonDict], JsonDict]


class FunctionError(Exception):
    """The invocation failed (Lambda's FunctionError): the task fails with S3's message."""


class ManifestRow(NamedTuple):
    bucket: str
    key: str  # URL-encoded, as in the manifest and in each task's s3Key
    version_id: str | None


class TaskOutcome(NamedTuple):
    row: ManifestRow
    code: ResultCode
    result: str
    attempts: int

    def report_row(self) -> list[str]:
        status = "succeeded" if self.code is ResultCode.SUCCEEDED else "failed"
        error_code = "" if self.code is ResultCode.SUCCEEDED else self.code.value
        return [
            self.row.bucket,
            self.row.key,
            self.row.version_id or "",
            status,
            "200",
            error_code,
            self.result,
        ]


class JobOptions(NamedTuple):
    schema: str = "2.0"
    user_arguments: dict[str, str] | None = None
    max_attempts: int = 5  # per task, TemporaryFailure retries included
    backoff_seconds: float = 0.5  # doubled after each TemporaryFailure
    job_id: str = "local-job"


def read_manifest(lines: Iterable[str]) -> Iterator[ManifestRow]:
    for fields in csv.reader(lines):
        if fields:
            yield ManifestRow(fields[0], fields[1], fields[2] if len(fields) > 2 and fields[2] else None)


def payload(row: ManifestRow, options: JobOptions, task_id: str) -> JsonDict:
    """The invocation Batch Operations sends for one task."""
    task: JsonDict = {"taskId": task_id, "s3Key": row.key, "s3VersionId": row.version_id}
    job: JsonDict = {"id": options.job_id}
    if options.schema == "2.0":
        task["s3Bucket"] = row.bucket
        job["userArguments"] = options.user_arguments or {}
    else:
        task["s3BucketArn"] = f"arn:aws:s3:::{row.bucket}"
    return {
        "invocationSchemaVersion": options.schema,
        "invocationId": str(uuid.uuid4()),
        "job": job,
        "tasks": [task],
    }


def run_task(
    invoke: Invoke, row: ManifestRow, options: JobOptions, sleep: Callable[[float], None] = time.sleep
) -> TaskOutcome:
    """One task, retried while it answers TemporaryFailure, at most `max_attempts` times."""
    task_id = uuid.uuid4().hex
    delay = options.backoff_seconds
    outcome = TaskOutcome(row, ResultCode.PERMANENT_FAILURE, "no attempt made", 0)
    for attempt in range(1, options.max_attempts + 1):
        code, result = _attempt(invoke, payload(row, options, task_id), task_id)
        outcome = TaskOutcome(row, code, result, attempt)
        if code is not ResultCode.TEMPORARY_FAILURE:
            break
        if attempt < options.max_attempts:
            sleep(delay)
            delay *= 2
    return outcome


def _attempt(invoke: Invoke, event: JsonDict, task_id: str) -> tuple[ResultCode, str]:
    try:
        response = invoke(event)
    except FunctionError as error:
        return ResultCode.PERMANENT_FAILURE, f"Lambda returned function error: {error}"
    results = [r for r in response.get("results", []) if isinstance(r, dict) and r.get("taskId") == task_id]
    if len(results) != 1:
        # What Batch Operations does with a missing result: treatMissingKeysAs (default permanent).
        missing = _code(response.get("treatMissingKeysAs"))
        return missing, f"the response had {len(results)} result(s) for the task"
    return _code(results[0].get("resultCode")), str(results[0].get("resultString", ""))


def _code(value: Any) -> ResultCode:
    """A result code; anything else counts as a permanent failure, as Batch Operations' default."""
    try:
        return ResultCode(value)
    except ValueError:
        return ResultCode.PERMANENT_FAILURE


def run_job(
    invoke: Invoke,
    manifest: Iterable[str],
    report: TextIO,
    options: JobOptions | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Every manifest row as a task, its report row written as it finishes; the task count."""
    options = options or JobOptions()
    writer = csv.writer(report, lineterminator="\n")
    tasks = 0
    for row in read_manifest(manifest):
        writer.writerow(run_task(invoke, row, options, sleep).report_row())
        tasks += 1
    return tasks


def in_process(handler: Callable[[JsonDict, Any], JsonDict], context: Callable[[], Any]) -> Invoke:
    """The handler in this process; an exception out of it is a function error, as in Lambda."""

    def invoke(event: JsonDict) -> JsonDict:
        try:
            return handler(json.loads(json.dumps(event)), context())
        except Exception as error:
            raise FunctionError(
                json.dumps({"errorMessage": str(error), "errorType": type(error).__name__})
            ) from None

    return invoke


def deployed(client: Any, function: str) -> Invoke:
    """A deployed function (name or ARN, with its version or alias), invoked synchronously."""

    def invoke(event: JsonDict) -> JsonDict:
        answer = client.invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event)
        )
        body = answer["Payload"].read().decode("utf-8")
        if answer.get("FunctionError"):
            raise FunctionError(body)
        response: JsonDict = json.loads(body)
        return response

    return invoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True, help="CSV manifest: bucket,key[,versionId]")
    parser.add_argument("--function", required=True, help="function name or ARN, with version or alias")
    parser.add_argument("--report", required=True, help="where to write the completion report CSV")
    parser.add_argument("--schema", choices=("1.0", "2.0"), default="2.0")
    parser.add_argument("--argument", action="append", default=[], metavar="KEY=VALUE", help="a UserArgument")
    parser.add_argument("--max-attempts", type=int, default=5)
    args = parser.parse_args(argv)
    arguments = dict(item.split("=", 1) for item in args.argument)
    options = JobOptions(args.schema, arguments, args.max_attempts)
    invoke = deployed(boto3.client("lambda"), args.function)
    with (
        open(args.manifest, encoding="utf-8") as manifest,
        open(args.report, "w", encoding="utf-8") as report,
    ):
        run_job(invoke, manifest, report, options)
    with open(args.report, encoding="utf-8") as report:
        print(json.dumps(summarise(report).as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
