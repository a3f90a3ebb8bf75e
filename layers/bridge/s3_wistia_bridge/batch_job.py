"""CreateJob for a backfill: the S3 Control request that runs the batch function on a manifest.
Pure: the CLI sends it (`s3control.create_job(**request)`).

Operation `LambdaInvoke` with invocation schema 2.0 (UserArguments need it) and a function ARN
pinned to a published version or alias (S3 API reference, LambdaInvokeOperation: `$LATEST` could
change under a running job); the manifest by ARN and ETag; a completion report under a prefix,
for all tasks or failed ones only; `ConfirmationRequired` so a job waits for `--confirm` (the
operator runs `update-job-status --requested-job-status Ready`); a ClientRequestToken derived from
the job's inputs, so creating the same job twice creates it once.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from typing import NamedTuple

from .batch import user_arguments
from .models import JsonDict, RequestOverrides

# A function ARN with a qualifier (version or alias) that is not $LATEST.
_PINNED_FUNCTION = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+:(?!\$LATEST$)[A-Za-z0-9_-]+$"
)
_ACCOUNT = re.compile(r"^\d{12}$")


class ManifestFormat(StrEnum):
    CSV = "S3BatchOperations_CSV_20180820"  # manifest.write_manifest
    INVENTORY = "S3InventoryReport_CSV_20161130"  # an S3 Inventory report's manifest.json


class ReportScope(StrEnum):
    ALL_TASKS = "AllTasks"
    FAILED_TASKS_ONLY = "FailedTasksOnly"


class ManifestLocation(NamedTuple):
    object_arn: str  # arn:aws:s3:::bucket/key
    etag: str  # as PutObject or HeadObject answered it
    format: ManifestFormat = ManifestFormat.CSV
    fields: tuple[str, ...] = ("Bucket", "Key", "VersionId")  # CSV only
    version_id: str | None = None


class JobSpec(NamedTuple):
    account_id: str
    function_arn: str  # pinned: a version or an alias
    role_arn: str  # the role Batch Operations assumes (lambda:InvokeFunction, reads, report writes)
    manifest: ManifestLocation
    report_bucket_arn: str  # arn:aws:s3:::bucket
    report_prefix: str
    report_scope: ReportScope = ReportScope.ALL_TASKS
    priority: int = 10
    confirm: bool = True  # ConfirmationRequired: the job waits until an operator confirms it
    overrides: RequestOverrides = RequestOverrides(low_priority=True)
    description: str = "s3-wistia-bridge backfill"


def create_job_request(spec: JobSpec) -> JsonDict:
    """The keyword arguments of `s3control.create_job`; ValueError for a spec S3 would refuse or
    that would run an unpinned function."""
    _check(spec)
    request: JsonDict = {
        "AccountId": spec.account_id,
        "ConfirmationRequired": spec.confirm,
        "Operation": {
            "LambdaInvoke": {
                "FunctionArn": spec.function_arn,
                "InvocationSchemaVersion": "2.0",
                "UserArguments": dict(user_arguments(spec.overrides)),
            }
        },
        "Report": {
            "Bucket": spec.report_bucket_arn,
            "Format": "Report_CSV_20180820",
            "Enabled": True,
            "Prefix": spec.report_prefix,
            "ReportScope": spec.report_scope.value,
        },
        "ClientRequestToken": client_request_token(spec),
        "Manifest": {"Spec": _manifest_spec(spec.manifest), "Location": _manifest_location(spec.manifest)},
        "Description": spec.description,
        "Priority": spec.priority,
        "RoleArn": spec.role_arn,
    }
    return request


def client_request_token(spec: JobSpec) -> str:
    """The same inputs, the same token (64 hex digits, CreateJob's maximum length)."""
    identity = json.dumps(
        [spec.function_arn, spec.manifest.object_arn, spec.manifest.etag, list(spec.overrides)]
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def _manifest_spec(manifest: ManifestLocation) -> JsonDict:
    spec: JsonDict = {"Format": manifest.format.value}
    if manifest.format is ManifestFormat.CSV:
        spec["Fields"] = list(manifest.fields)
    return spec


def _manifest_location(manifest: ManifestLocation) -> JsonDict:
    location: JsonDict = {"ObjectArn": manifest.object_arn, "ETag": manifest.etag}
    if manifest.version_id:
        location["ObjectVersionId"] = manifest.version_id
    return location


def _check(spec: JobSpec) -> None:
    if not _ACCOUNT.match(spec.account_id):
        raise ValueError(f"account id {spec.account_id!r} is not 12 digits")
    if not _PINNED_FUNCTION.match(spec.function_arn):
        raise ValueError(
            f"{spec.function_arn!r} is not a function ARN pinned to a version or alias: a job must not "
            "run $LATEST, which can change under it"
        )
    if not 0 <= spec.priority <= 2_147_483_647:
        raise ValueError(f"priority {spec.priority} is not in 0..2147483647")
