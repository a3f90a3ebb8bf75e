"""`backfill --batch` and `backfill --status JOB`: a backfill as an S3 Batch Operations job.

--batch: the manifest is the bucket's listing (ListObjectVersions in a versioned bucket, else
ListObjectsV2), one page at a time through the bridge's own allowlist (manifest.py) into a
temporary file, so memory stays flat at any size; or an existing S3 Inventory report, used as the
job's manifest as it is. The manifest is uploaded (by default under batch-operations/manifests/
of the stack's bucket, where the stack's job role may read), and CreateJob (batch_job.py) runs
the batch function's pinned alias over it, with a completion report of every task.

The report covers all tasks, not failed ones only: rejections and duplicates are Succeeded tasks,
and the summary's "rejected by reason" and "duplicate" rows exist only in their result strings.

--status: DescribeJob's progress; once the job is complete, its completion report summarised
(batch_report.py). --replay-failed makes a new job of the failed tasks: their report rows are
already manifest rows, and a job keeps the retry on Batch Operations (its retries, the rate
share, a report) at any size, where the small path would invoke one object at a time from here.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from s3_wistia_bridge.batch import job_overrides
from s3_wistia_bridge.batch_job import (
    JobSpec,
    ManifestFormat,
    ManifestLocation,
    ReportScope,
    create_job_request,
)
from s3_wistia_bridge.batch_report import ReportRow, ReportSummary, TaskStatus, report_rows, summarise
from s3_wistia_bridge.batch_report import result_files as report_result_files
from s3_wistia_bridge.config import BridgeConfig, ConfigError
from s3_wistia_bridge.events import decode_key
from s3_wistia_bridge.manifest import (
    ManifestSummary,
    list_pages,
    listed_objects,
    manifest_fields,
    write_manifest,
)
from s3_wistia_bridge.models import JsonDict, RequestOverrides, S3Object

from .backfill import bucket_region, is_versioned
from .confirm import Plan
from .exits import ExitCode
from .resources import Aws, ErrorKind, OperatorError, aws_error, describe_stack
from .ui import Ui, format_age

# The template's outputs a batch backfill reads (template.yaml).
OUTPUT_BATCH_ALIAS = "BatchFunctionAliasArn"
OUTPUT_BATCH_ROLE = "BatchOperationsRoleArn"
OUTPUT_BUCKET = "BucketName"
# What to do about a missing output (a run needs both).
_MISSING_ADVICE = {
    OUTPUT_BATCH_ALIAS: "deploy the current template (it creates BatchFunction and its alias `live`), "
    "or pass --function-arn ARN:ALIAS",
    OUTPUT_BATCH_ROLE: "deploy it with the template parameter BatchOperationsRole=true (the role S3 "
    "Batch Operations assumes), or pass --role-arn ARN",
}
# Where the stack's job role may read manifests and write reports (BatchOperationsJobRole).
MANIFEST_PREFIX = "batch-operations/manifests/"
REPORT_PREFIX = "batch-operations/reports"
INVENTORY_FORMAT = "CSV"  # S3InventoryReport_CSV_20161130: Batch Operations reads CSV inventories only
# DescribeJob's states after which nothing more happens.
FINISHED = frozenset({"Complete", "Failed", "Cancelled"})


@dataclass(frozen=True)
class JobTarget:
    """What CreateJob needs from the stack: the pinned function, the role, the default bucket."""

    stack: str | None = None
    function_arn: str | None = None
    role_arn: str | None = None
    bucket: str | None = None

    def require_function(self) -> str:
        return self._require(self.function_arn, OUTPUT_BATCH_ALIAS)

    def require_role(self) -> str:
        return self._require(self.role_arn, OUTPUT_BATCH_ROLE)

    def _require(self, value: str | None, output: str) -> str:
        if value:
            return value
        where = f"stack {self.stack!r} has no output {output}" if self.stack else "no stack"
        raise OperatorError(f"{where}: {_MISSING_ADVICE[output]}")

    @property
    def missing(self) -> list[str]:
        """What a real run would refuse for, as the outputs it lacks."""
        return [
            name
            for name, value in ((OUTPUT_BATCH_ALIAS, self.function_arn), (OUTPUT_BATCH_ROLE, self.role_arn))
            if not value
        ]


def job_target(
    aws: Aws, stack: str | None, *, function_arn: str | None = None, role_arn: str | None = None
) -> JobTarget:
    outputs = describe_stack(aws, stack).outputs if stack else {}
    return JobTarget(
        stack=stack,
        function_arn=function_arn or outputs.get(OUTPUT_BATCH_ALIAS),
        role_arn=role_arn or outputs.get(OUTPUT_BATCH_ROLE),
        bucket=outputs.get(OUTPUT_BUCKET),
    )


@dataclass(frozen=True)
class BatchOptions:
    prefix: str = ""
    inventory: str | None = None  # s3://bucket/key/manifest.json of an S3 Inventory report
    manifest_bucket: str | None = None  # manifests and reports (default: the stack's bucket)
    manifest_prefix: str = MANIFEST_PREFIX
    report_prefix: str = REPORT_PREFIX
    report_scope: ReportScope = ReportScope.ALL_TASKS
    priority: int = 10
    project: str | None = None
    hold: bool = False  # ConfirmationRequired: the job waits for update-job-status Ready
    page_size: int = 1000
    dry_run: bool = False


class _NullSink(io.StringIO):
    """A dry run's manifest: kept nowhere."""

    def write(self, text: str) -> int:
        return len(text)


# --- the manifest ------------------------------------------------------------------------------


class Manifest(NamedTuple):
    source: str  # what was listed: s3://bucket/prefix, or the inventory's manifest.json
    summary: ManifestSummary
    location: ManifestLocation | None  # once uploaded (or the inventory's, as it is)


def listing_manifest(
    s3: Any, bucket: str, config: BridgeConfig, out: TextIO, *, prefix: str = "", page_size: int = 1000
) -> tuple[ManifestSummary, bool]:
    """The bucket's objects under `prefix`, allowed ones written to `out` as manifest rows;
    (their counts, whether the rows carry version ids)."""
    region = bucket_region(s3, bucket)
    versions = is_versioned(s3, bucket)
    pages = _listing(list_pages(s3, bucket, prefix, versions=versions, page_size=page_size), bucket, prefix)
    return write_manifest(
        listed_objects(pages, bucket, region), out, config, with_versions=versions
    ), versions


def _listing(pages: Iterator[Any], bucket: str, prefix: str) -> Iterator[Any]:
    try:
        yield from pages
    except Exception as error:
        raise aws_error(error, "s3:ListBucket", f"s3://{bucket}/{prefix}") from None


def inventory_objects(s3: Any, document: JsonDict, region: str) -> Iterator[S3Object]:
    """Every object of an S3 Inventory report (CSV, gzipped), delete markers left out."""
    columns = [name.strip() for name in str(document.get("fileSchema", "")).split(",")]
    destination = str(document.get("destinationBucket", "")).removeprefix("arn:aws:s3:::")
    for item in document.get("files", []):
        for values in csv.reader(_gzip_lines(s3, destination, str(item["key"]))):
            row = dict(zip(columns, values, strict=False))
            if row.get("IsDeleteMarker", "").lower() == "true":
                continue
            size = row.get("Size", "")
            yield S3Object(
                bucket=row.get("Bucket", ""),
                key=decode_key(row.get("Key", "")),
                region=region,
                size=int(size) if size.isdigit() else None,
                version_id=row.get("VersionId") or None,
            )


def _gzip_lines(s3: Any, bucket: str, key: str) -> Iterator[str]:
    import gzip  # noqa: PLC0415 - inventories only

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except Exception as error:
        raise aws_error(error, "s3:GetObject", f"s3://{bucket}/{key}") from None
    with gzip.open(body, "rt", encoding="utf-8", newline="") as lines:
        yield from lines


def inventory_manifest(s3: Any, uri: str, config: BridgeConfig) -> Manifest:
    """An S3 Inventory report as the job's manifest; its objects counted through the allowlist
    (the job still gets every row: the function rejects what the allowlist refuses)."""
    import json  # noqa: PLC0415

    bucket, key = split_uri(uri, need_key=True)
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
        document = json.loads(answer["Body"].read())
    except ValueError:
        raise OperatorError(f"{uri} is not an S3 Inventory manifest.json (not JSON)") from None
    except Exception as error:
        raise aws_error(error, "s3:GetObject", uri) from None
    if document.get("fileFormat") != INVENTORY_FORMAT:
        raise OperatorError(
            f"{uri}: inventory format {document.get('fileFormat')!r}; S3 Batch Operations reads CSV "
            "inventories only (configure the inventory's output format as CSV)"
        )
    region = bucket_region(s3, str(document.get("sourceBucket", bucket)))
    summary = write_manifest(
        inventory_objects(s3, document, region), _NullSink(), config, with_versions=False
    )
    location = ManifestLocation(
        object_arn=f"arn:aws:s3:::{bucket}/{key}",
        etag=str(answer.get("ETag", "")).strip('"'),
        format=ManifestFormat.INVENTORY,
        version_id=answer.get("VersionId"),
    )
    return Manifest(uri, summary, location)


def upload(s3: Any, path: Path, bucket: str, key: str, fields: Iterable[str]) -> ManifestLocation:
    """The manifest file as an object (multipart when large); its ETag and version for CreateJob."""
    uri = f"s3://{bucket}/{key}"
    try:
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": "text/csv"})
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as error:
        raise aws_error(error, "s3:PutObject", uri) from None
    return ManifestLocation(
        object_arn=f"arn:aws:s3:::{bucket}/{key}",
        etag=str(head["ETag"]).strip('"'),
        fields=tuple(fields),
        version_id=head.get("VersionId"),
    )


def manifest_key(prefix: str, name: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix.rstrip('/')}/{name}-{stamp}.csv".lstrip("/")


# --- the job -----------------------------------------------------------------------------------


def account_id(aws: Aws) -> str:
    try:
        return str(aws.client("sts").get_caller_identity()["Account"])
    except Exception as error:
        raise aws_error(error, "sts:GetCallerIdentity", "the caller") from None


def create_job(aws: Aws, spec: JobSpec) -> str:
    try:
        request = create_job_request(spec)
    except ValueError as error:
        raise OperatorError(str(error)) from None
    try:
        return str(aws.client("s3control").create_job(**request)["JobId"])
    except Exception as error:
        raise job_error(error, "s3:CreateJob", spec.role_arn) from None


# What S3 Control's refusals mean for the operator (CreateJob, DescribeJob).
_JOB_ERRORS = {
    "TooManyRequestsException": (
        "S3 Batch Operations refused for now ({code}): a quota (active jobs, or request rate) is "
        "reached; wait for running jobs to finish or ask for a quota increase, then rerun (it is "
        "safe: the same manifest creates the same job once)",
        ErrorKind.CALL_FAILED,
    ),
    "IdempotencyException": (
        "a job was already created from this manifest with other settings ({code}): rerun with the "
        "same options, or without --dry-run to write a new manifest",
        ErrorKind.USAGE,
    ),
    "NotFoundException": ("no such job in this account and region ({code}): {resource}", ErrorKind.NOT_FOUND),
}


def job_error(error: Exception, action: str, resource: str) -> Exception:
    code = str((getattr(error, "response", None) or {}).get("Error", {}).get("Code", ""))
    if code in _JOB_ERRORS:
        text, kind = _JOB_ERRORS[code]
        return OperatorError(text.format(code=code, resource=resource), kind)
    found = aws_error(error, action, resource)
    if (
        isinstance(found, OperatorError)
        and found.kind is ErrorKind.ACCESS_DENIED
        and action == "s3:CreateJob"
    ):
        return OperatorError(f"{found}; CreateJob also needs iam:PassRole on {resource}", found.kind)
    return found


def job_spec(target: JobTarget, options: BatchOptions, account: str, location: ManifestLocation) -> JobSpec:
    bucket = options.manifest_bucket or target.bucket or ""
    return JobSpec(
        account_id=account,
        function_arn=target.require_function(),
        role_arn=target.require_role(),
        manifest=location,
        report_bucket_arn=f"arn:aws:s3:::{bucket}",
        report_prefix=options.report_prefix,
        report_scope=options.report_scope,
        priority=options.priority,
        confirm=options.hold,
        overrides=RequestOverrides(project_id=options.project, low_priority=True),
    )


# --- backfill --batch --------------------------------------------------------------------------


@dataclass
class Submitted:
    manifest: Manifest
    dry_run: bool
    manifest_uri: str | None = None
    job_id: str | None = None
    report_uri: str | None = None
    missing: list[str] = field(default_factory=list)  # a dry run's warnings: outputs a run needs

    def as_dict(self) -> JsonDict:
        summary = self.manifest.summary
        return {
            "command": "backfill",
            "mode": "batch",
            "dryRun": self.dry_run,
            "source": self.manifest.source,
            "summary": {
                "objects": summary.written,
                "bytes": summary.bytes,
                "rejected": dict(summary.rejected),
            },
            "manifest": self.manifest_uri,
            "jobId": self.job_id,
            "report": self.report_uri,
            "missingOutputs": self.missing,
        }


def submit(
    aws: Aws,
    target: JobTarget,
    config: BridgeConfig,
    source: str | None,
    options: BatchOptions,
    *,
    confirm: Callable[[Plan], None],
) -> Submitted:
    """List (or read the inventory), count; unless a dry run: confirm, upload, create the job."""
    s3 = aws.client("s3")
    bucket = options.manifest_bucket or target.bucket
    if not options.dry_run:
        target.require_function()
        target.require_role()
        if not bucket:
            raise OperatorError("no bucket for the manifest and the report: pass --manifest-bucket NAME")
    if options.inventory:
        manifest = inventory_manifest(s3, options.inventory, config)
        return _run(aws, target, options, manifest, confirm=confirm, written=None)
    if source is None:
        raise OperatorError(
            "backfill --batch needs s3://BUCKET[/PREFIX] or --inventory s3://.../manifest.json"
        )
    listed, prefix = split_uri(source, need_key=False)
    with tempfile.TemporaryDirectory(prefix="s3-wistia-bridge-") as scratch:
        path = Path(scratch, "manifest.csv")
        with path.open("w", encoding="utf-8", newline="") as out:
            summary, versions = listing_manifest(
                s3,
                listed,
                config,
                _NullSink() if options.dry_run else out,
                prefix=prefix or options.prefix,
                page_size=options.page_size,
            )
        manifest = Manifest(source, summary, None)
        return _run(
            aws, target, options, manifest, confirm=confirm, written=(path, manifest_fields(versions))
        )


def _run(
    aws: Aws,
    target: JobTarget,
    options: BatchOptions,
    manifest: Manifest,
    *,
    confirm: Callable[[Plan], None],
    written: tuple[Path, list[str]] | None,
) -> Submitted:
    if options.dry_run or not manifest.summary.written:
        return Submitted(manifest, options.dry_run, missing=target.missing)
    function = target.require_function()
    confirm(
        Plan(
            "backfill",
            manifest.summary.written,
            manifest.summary.written,
            f"an S3 Batch Operations job of {function}",
        )
    )
    bucket = options.manifest_bucket or target.bucket or ""
    location = manifest.location
    uri = manifest.source
    if written is not None:
        key = manifest_key(options.manifest_prefix, "backfill")
        location = upload(aws.client("s3"), written[0], bucket, key, written[1])
        uri = f"s3://{bucket}/{key}"
    assert location is not None  # noqa: S101 - the inventory's, or just uploaded
    job_id = create_job(aws, job_spec(target, options, account_id(aws), location))
    report = f"s3://{bucket}/{options.report_prefix.rstrip('/')}/job-{job_id}/"
    return Submitted(manifest, False, uri, job_id, report)


# --- backfill --status JOB ---------------------------------------------------------------------


@dataclass
class JobStatus:
    job: JsonDict
    report: ReportSummary | None = None
    replay_job_id: str | None = None
    replayed: int = 0

    @property
    def state(self) -> str:
        return str(self.job.get("Status", ""))

    @property
    def progress(self) -> dict[str, int]:
        summary = self.job.get("ProgressSummary") or {}
        return {
            "total": int(summary.get("TotalNumberOfTasks", 0)),
            "succeeded": int(summary.get("NumberOfTasksSucceeded", 0)),
            "failed": int(summary.get("NumberOfTasksFailed", 0)),
        }

    @property
    def elapsed_seconds(self) -> float | None:
        timers = (self.job.get("ProgressSummary") or {}).get("Timers") or {}
        if "ElapsedTimeInActiveSeconds" in timers:
            return float(timers["ElapsedTimeInActiveSeconds"])
        created = self.job.get("CreationTime")
        if isinstance(created, datetime):
            end = self.job.get("TerminationDate")
            return ((end if isinstance(end, datetime) else datetime.now(UTC)) - created).total_seconds()
        return None

    @property
    def exit_code(self) -> ExitCode:
        """As `status`: 0 done and nothing failed, 1 something failed, 3 not finished."""
        if self.state not in FINISHED:
            return ExitCode.NOT_KNOWN
        if self.state != "Complete" or self.progress["failed"]:
            return ExitCode.FAILED
        return ExitCode.OK

    def as_dict(self) -> JsonDict:
        return {
            "command": "backfill",
            "jobId": self.job.get("JobId"),
            "status": self.state,
            **self.progress,
            "elapsedSeconds": self.elapsed_seconds,
            "failureReasons": self.job.get("FailureReasons", []),
            "report": self.report.as_dict() if self.report else None,
            "replayJobId": self.replay_job_id,
            "replayed": self.replayed,
        }


def describe_job(aws: Aws, account: str, job_id: str) -> JsonDict:
    try:
        job: JsonDict = aws.client("s3control").describe_job(AccountId=account, JobId=job_id)["Job"]
    except Exception as error:
        raise job_error(error, "s3:DescribeJob", job_id) from None
    return job


class ReportLocation(NamedTuple):
    bucket: str
    manifest_key: str  # the report's manifest.json


def report_location(job: JsonDict) -> ReportLocation | None:
    """Where the completion report's manifest.json is (`<prefix>/job-<id>/manifest.json`)."""
    report = job.get("Report") or {}
    if not report.get("Enabled") or not report.get("Bucket"):
        return None
    bucket = str(report["Bucket"]).removeprefix("arn:aws:s3:::")
    prefix = str(report.get("Prefix") or "").strip("/")
    key = f"job-{job['JobId']}/manifest.json"
    return ReportLocation(bucket, f"{prefix}/{key}" if prefix else key)


def report_lines(s3: Any, job: JsonDict, *, failed_only: bool = False) -> Iterator[str] | None:
    """Every line of the job's result files (failed tasks' only), streamed; None without a report."""
    where = report_location(job)
    if where is None:
        return None
    uri = f"s3://{where.bucket}/{where.manifest_key}"
    try:
        body = s3.get_object(Bucket=where.bucket, Key=where.manifest_key)["Body"].read().decode("utf-8")
        files = report_result_files(body)
    except ValueError as error:
        raise OperatorError(f"{uri}: {error}") from None
    except Exception as error:
        raise aws_error(error, "s3:GetObject", uri) from None
    chosen = [(b, k) for b, k, status in files if not failed_only or status == TaskStatus.FAILED]
    return chain.from_iterable(_lines(s3, bucket, key) for bucket, key in chosen)


def _lines(s3: Any, bucket: str, key: str) -> Iterator[str]:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except Exception as error:
        raise aws_error(error, "s3:GetObject", f"s3://{bucket}/{key}") from None
    for line in body.iter_lines():
        yield line.decode("utf-8")


def job_status(aws: Aws, job_id: str, *, account: str | None = None) -> JobStatus:
    account = account or account_id(aws)
    status = JobStatus(describe_job(aws, account, job_id))
    if status.state == "Complete":
        lines = report_lines(aws.client("s3"), status.job)
        status.report = summarise(lines) if lines is not None else None
    return status


def replay_failed(
    aws: Aws, status: JobStatus, confirm: Callable[[Plan], None], *, account: str | None = None
) -> JobStatus:
    """A new job of the failed tasks of a complete one, with the same function, role, user
    arguments, priority and report; its manifest next to the original one."""
    job = status.job
    s3 = aws.client("s3")
    lines = report_lines(s3, job, failed_only=True) if status.state == "Complete" else None
    if lines is None:
        raise OperatorError(
            f"job {job.get('JobId')} is {status.state}, or has no report: nothing to replay yet"
        )
    manifest_arn = str(job["Manifest"]["Location"]["ObjectArn"]).removeprefix("arn:aws:s3:::")
    bucket, _, original = manifest_arn.partition("/")
    fields = manifest_fields("VersionId" in job["Manifest"]["Spec"].get("Fields", ["VersionId"]))
    with tempfile.TemporaryDirectory(prefix="s3-wistia-bridge-") as scratch:
        path = Path(scratch, "replay.csv")
        with path.open("w", encoding="utf-8", newline="") as out:
            count = _failed_manifest(report_rows(lines), out, with_versions=len(fields) == 3)
        if not count:
            return status
        confirm(
            Plan(
                "backfill",
                count,
                count,
                f"a new S3 Batch Operations job of the failed tasks of {job['JobId']}",
            )
        )
        key = manifest_key(original.rpartition("/")[0], f"replay-{job['JobId']}")
        location = upload(s3, path, bucket, key, fields)
    status.replay_job_id = create_job(aws, _replay_spec(job, account or account_id(aws), location))
    status.replayed = count
    return status


def _failed_manifest(rows: Iterable[ReportRow | None], out: TextIO, *, with_versions: bool) -> int:
    writer = csv.writer(out, lineterminator="\n")
    count = 0
    for row in rows:
        if row is None or row.status != TaskStatus.FAILED:
            continue
        writer.writerow(
            [row.bucket, row.key, row.version_id or "null"] if with_versions else [row.bucket, row.key]
        )
        count += 1
    return count


def _replay_spec(job: JsonDict, account: str, location: ManifestLocation) -> JobSpec:
    invoke = job["Operation"]["LambdaInvoke"]
    report = job["Report"]
    try:
        overrides = job_overrides(invoke.get("UserArguments"))
    except ConfigError as error:
        raise OperatorError(f"job {job['JobId']}'s UserArguments: {error}") from None
    return JobSpec(
        account_id=account,
        function_arn=str(invoke["FunctionArn"]),
        role_arn=str(job["RoleArn"]),
        manifest=location,
        report_bucket_arn=str(report["Bucket"]),
        report_prefix=str(report.get("Prefix") or REPORT_PREFIX),
        report_scope=ReportScope(report.get("ReportScope", ReportScope.ALL_TASKS.value)),
        priority=int(job.get("Priority", 10)),
        confirm=False,
        overrides=overrides,
        description=f"s3-wistia-bridge backfill: the failed tasks of job {job['JobId']}",
    )


def split_uri(uri: str, *, need_key: bool) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise OperatorError(f"{uri!r} is not an s3://bucket/key address")
    bucket, _, rest = uri[len("s3://") :].partition("/")
    if not bucket or (need_key and not rest):
        raise OperatorError(f"{uri!r} needs a bucket{' and a key' if need_key else ''}")
    return bucket, rest


# --- what is printed ---------------------------------------------------------------------------


def print_submitted(ui: Ui, result: Submitted) -> None:
    if ui.json:
        ui.document(result.as_dict())
        return
    summary = result.manifest.summary
    rows: list[tuple[str, object]] = [("objects", summary.written), ("bytes", summary.bytes)]
    rows += [(f"rejected: {reason}", n) for reason, n in sorted(summary.rejected.items())]
    ui.table(rows, ("manifest", "count"))
    for name in result.missing:
        ui.note(f"note: no {name}: {_MISSING_ADVICE[name]}")
    if result.job_id:
        ui.line(f"manifest {result.manifest_uri}")
        ui.line(f"job {result.job_id} created; its report: {result.report_uri}")
        ui.line(f"follow it: s3-wistia-bridge backfill --status {result.job_id}")
    elif not result.dry_run:
        ui.line("nothing to backfill: no job created")


def print_status(ui: Ui, status: JobStatus) -> None:
    if ui.json:
        ui.document(status.as_dict())
        return
    progress = status.progress
    ui.line(
        f"job {status.job.get('JobId')}: {status.state}; {progress['total']} task(s), "
        f"{progress['succeeded']} succeeded, {progress['failed']} failed; "
        f"elapsed {format_age(status.elapsed_seconds)}"
    )
    for reason in status.job.get("FailureReasons") or []:
        ui.line(f"  {reason.get('FailureCode', '')}: {reason.get('FailureReason', '')}")
    if status.report is not None:
        ui.line("")
        ui.table(report_table(status.report), ("tasks", "count"))
    if status.replay_job_id:
        ui.line(f"replay job {status.replay_job_id} created for {status.replayed} failed task(s)")
    elif status.report is not None and status.report.failed.total():
        job = status.job.get("JobId")
        ui.line(f"replay the failed tasks: s3-wistia-bridge backfill --status {job} --replay-failed")


def report_table(report: ReportSummary) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [("copied", report.copied), ("duplicate", report.duplicate)]
    rows += [(f"rejected: {r}", n) for r, n in sorted(report.rejected.items())]
    rows += [(f"failed: {r}", n) for r, n in sorted(report.failed.items())]
    if report.unreadable:
        rows.append(("unreadable rows", report.unreadable))
    return rows
