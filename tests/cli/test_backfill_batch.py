"""backfill --batch and --status against moto (S3, STS, CloudFormation outputs, Lambda's
configuration) and S3 Control through botocore's Stubber (moto has no CreateJob or DescribeJob):
the Stubber checks every request against botocore's own service model."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import Stubber
from s3_wistia_bridge_cli import batch_jobs
from s3_wistia_bridge_cli.resources import Aws

from .conftest import BUCKET, Stack
from .test_commands import create_function
from .test_resources import create_stack

Run = Any
ACCOUNT = "123456789012"  # moto's STS answer
ALIAS = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:bridge-batch:live"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bridge-batch-operations"
ACCEPTED = {"videos/a b+c.mp4": 11, "videos/Été 100%.mov": 22, "videos/d.mp4": 33}
REJECTED = {"videos/notes.txt": "extension_not_allowed", "videos/": "folder_marker"}
JOB_ID = "f8fb9d89-a3aa-461d-bddc-ea6a1b131955"


class S3Control:
    """The CLI's s3control client, stubbed; `requests` holds what each call was asked."""

    def __init__(self) -> None:
        self.client = boto3.client("s3control", region_name="us-east-1")
        self.stub = Stubber(self.client)
        self.requests: list[dict[str, Any]] = []
        self.client.meta.events.register(
            "provide-client-params.s3-control", lambda params, **_kw: self.requests.append(dict(params))
        )


@pytest.fixture
def s3control(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Control]:
    control = S3Control()
    real = Aws.client

    def client(self: Aws, service: str) -> Any:
        return control.client if service == "s3control" else real(self, service)

    monkeypatch.setattr(Aws, "client", client)
    with control.stub:
        yield control
        control.stub.assert_no_pending_responses()


def deploy(stack: Stack, *, role: bool = True, name: str = "bridge") -> None:
    create_function("ingest", stack.env)  # the allowlist comes from its configuration
    outputs = {"IngestFunctionName": "ingest", "BucketName": BUCKET, "BatchFunctionAliasArn": ALIAS}
    if role:
        outputs["BatchOperationsRoleArn"] = ROLE
    create_stack(name, outputs)


def fill(stack: Stack) -> dict[str, str]:
    """The objects, in a versioned bucket; their latest version ids."""
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    versions = {}
    for key, size in ACCEPTED.items():
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"old")  # an older version, not listed
        versions[key] = stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * size)["VersionId"]
    for key in REJECTED:
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"" if key.endswith("/") else b"text")
    stack.s3.put_object(Bucket=BUCKET, Key="elsewhere/x.mp4", Body=b"1")
    return versions


def keys_under(stack: Stack, prefix: str) -> list[str]:
    listed = stack.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def body(stack: Stack, key: str) -> str:
    return str(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8"))


# --- backfill --batch --------------------------------------------------------------------------


def test_a_dry_run_counts_objects_bytes_and_rejections_and_uploads_and_creates_nothing(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    deploy(stack)
    fill(stack)

    run = run_cli("backfill", f"s3://{BUCKET}/videos/", "--batch", "--dry-run", "--stack", "bridge", "--json")

    assert run.code == 0, run.err
    document = run.json()
    assert document["summary"] == {
        "objects": 3,
        "bytes": sum(ACCEPTED.values()),  # the latest versions' sizes
        "rejected": {"extension_not_allowed": 1, "folder_marker": 1},
    }
    assert (document["dryRun"], document["jobId"], document["manifest"]) == (True, None, None)
    assert document["missingOutputs"] == []
    assert keys_under(stack, "batch-operations/") == []
    assert s3control.requests == []


def test_a_dry_run_on_a_stack_without_the_job_role_says_which_parameter_a_run_needs(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    deploy(stack, role=False)
    fill(stack)

    dry = run_cli("backfill", f"s3://{BUCKET}/videos/", "--batch", "--dry-run", "--stack", "bridge")
    real = run_cli("backfill", f"s3://{BUCKET}/videos/", "--batch", "--yes", "--stack", "bridge")

    assert dry.code == 0, dry.err
    assert "rejected: folder_marker" in dry.out
    assert "BatchOperationsRole=true" in dry.err
    assert real.code == 2
    assert (
        "no output BatchOperationsRoleArn: deploy it with the template parameter BatchOperationsRole=true"
        in (real.err)
    )
    assert keys_under(stack, "batch-operations/") == []


def test_a_run_uploads_the_manifest_and_creates_the_job_on_the_pinned_alias(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    deploy(stack)
    versions = fill(stack)
    s3control.stub.add_response("create_job", {"JobId": JOB_ID})

    run = run_cli(
        "backfill", f"s3://{BUCKET}/videos/", "--batch", "--yes", "--stack", "bridge", "--json",
        "--priority", "42", "--project", "backfill01",
    )  # fmt: skip

    assert run.code == 0, run.err
    assert run.json()["jobId"] == JOB_ID
    [manifest_key] = keys_under(stack, "batch-operations/manifests/")
    assert run.json()["manifest"] == f"s3://{BUCKET}/{manifest_key}"
    rows = list(csv.reader(io.StringIO(body(stack, manifest_key))))
    assert rows == [[BUCKET, quote(key, safe="/"), versions[key]] for key in sorted(ACCEPTED)]
    [request] = s3control.requests
    head = stack.s3.head_object(Bucket=BUCKET, Key=manifest_key)
    assert request["AccountId"] == ACCOUNT  # from sts:GetCallerIdentity
    assert request["RoleArn"] == ROLE
    assert request["Priority"] == 42
    assert request["ConfirmationRequired"] is False  # confirmed here (--yes)
    assert request["Operation"]["LambdaInvoke"] == {
        "FunctionArn": ALIAS,
        "InvocationSchemaVersion": "2.0",
        "UserArguments": {"low_priority": "true", "project_id": "backfill01"},
    }
    assert request["Manifest"] == {
        "Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key", "VersionId"]},
        "Location": {
            "ObjectArn": f"arn:aws:s3:::{BUCKET}/{manifest_key}",
            "ETag": head["ETag"].strip('"'),
            "ObjectVersionId": head["VersionId"],
        },
    }
    assert request["Report"] == {
        "Bucket": f"arn:aws:s3:::{BUCKET}",
        "Format": "Report_CSV_20180820",
        "Enabled": True,
        "Prefix": "batch-operations/reports",
        "ReportScope": "AllTasks",
    }


def test_an_unversioned_bucket_gives_a_manifest_without_versions(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    deploy(stack)
    stack.s3.put_object(Bucket=BUCKET, Key="videos/a.mp4", Body=b"1")
    s3control.stub.add_response("create_job", {"JobId": JOB_ID})

    run = run_cli("backfill", f"s3://{BUCKET}/", "--batch", "--yes", "--stack", "bridge", "--hold")

    assert run.code == 0, run.err
    assert f"job {JOB_ID} created" in run.out
    [key] = keys_under(stack, "batch-operations/manifests/")
    assert body(stack, key) == f"{BUCKET},videos/a.mp4\n"
    [request] = s3control.requests
    assert request["Manifest"]["Spec"]["Fields"] == ["Bucket", "Key"]
    assert request["ConfirmationRequired"] is True  # --hold


def test_without_a_terminal_or_yes_nothing_is_uploaded_or_created(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    deploy(stack)
    fill(stack)

    run = run_cli("backfill", f"s3://{BUCKET}/videos/", "--batch", "--stack", "bridge")

    assert run.code == 2
    assert "backfill 3 object(s): an S3 Batch Operations job" in run.err
    assert keys_under(stack, "batch-operations/") == []
    assert s3control.requests == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("TooManyRequestsException", "a quota (active jobs, or request rate) is reached"),
        ("AccessDenied", f"iam:PassRole on {ROLE}"),
    ],
)
def test_create_job_refusals_are_one_line_saying_what_to_do(
    stack: Stack, s3control: S3Control, run_cli: Run, code: str, expected: str
) -> None:
    deploy(stack)
    fill(stack)
    s3control.stub.add_client_error("create_job", service_error_code=code, http_status_code=403)

    run = run_cli("backfill", f"s3://{BUCKET}/videos/", "--batch", "--yes", "--stack", "bridge")

    assert run.code == 2
    assert expected in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_an_invalid_project_is_refused_before_anything_is_listed(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    deploy(stack)

    run = run_cli("backfill", f"s3://{BUCKET}/", "--batch", "--yes", "--stack", "bridge", "--project", "a b")

    assert run.code == 2
    assert "--project" in run.err


# --- an S3 Inventory report as the manifest ----------------------------------------------------


def put_inventory(stack: Stack, file_format: str = "CSV") -> str:
    rows = [
        [BUCKET, quote("videos/a b+c.mp4"), "v1", "true", "false", "11"],
        [BUCKET, "videos/notes.txt", "v2", "true", "false", "4"],
        [BUCKET, "videos/gone.mp4", "v3", "true", "true", ""],  # a delete marker
    ]
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    data_key = "inventory/data/part-0.csv.gz"
    stack.s3.put_object(Bucket=BUCKET, Key=data_key, Body=gzip.compress(text.getvalue().encode()))
    document = {
        "sourceBucket": BUCKET,
        "destinationBucket": f"arn:aws:s3:::{BUCKET}",
        "version": "2016-11-30",
        "fileFormat": file_format,
        "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size",
        "files": [{"key": data_key, "size": 1, "MD5checksum": "x"}],
    }
    key = "inventory/2024-01-01T00-00Z/manifest.json"
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())
    return f"s3://{BUCKET}/{key}"


def test_an_inventory_report_is_the_jobs_manifest_as_it_is(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    deploy(stack)
    inventory = put_inventory(stack)
    s3control.stub.add_response("create_job", {"JobId": JOB_ID})

    dry = run_cli("backfill", "--inventory", inventory, "--dry-run", "--stack", "bridge", "--json")
    run = run_cli("backfill", "--inventory", inventory, "--yes", "--stack", "bridge", "--json")

    assert dry.code == 0, dry.err
    assert dry.json()["summary"] == {"objects": 1, "bytes": 11, "rejected": {"extension_not_allowed": 1}}
    assert run.code == 0, run.err
    assert keys_under(stack, "batch-operations/manifests/") == []  # nothing written: the inventory is it
    [request] = s3control.requests
    etag = stack.s3.head_object(Bucket=BUCKET, Key=inventory.split("/", 3)[3])["ETag"].strip('"')
    assert request["Manifest"] == {
        "Spec": {"Format": "S3InventoryReport_CSV_20161130"},
        "Location": {"ObjectArn": f"arn:aws:s3:::{inventory[5:]}", "ETag": etag},
    }


def test_an_inventory_not_in_csv_is_refused(stack: Stack, s3control: S3Control, run_cli: Run) -> None:
    deploy(stack)

    run = run_cli(
        "backfill", "--inventory", put_inventory(stack, "Parquet"), "--dry-run", "--stack", "bridge"
    )

    assert run.code == 2
    assert "CSV inventories only" in run.err


# --- backfill --status JOB ---------------------------------------------------------------------

# The documented result files (S3 User Guide, "Examples: S3 Batch Operations completion reports"):
# the header's order, and the order of the page's own example rows (HTTP status fifth).
SUCCEEDED_CSV = (
    f"{BUCKET},videos/a%20b%2Bc.mp4,v1,succeeded,,200,abc123\n"
    f"{BUCKET},videos/d.mp4,v3,succeeded,200,,duplicate:def456\n"
    f"{BUCKET},videos/notes.txt,v4,succeeded,,200,rejected:extension_not_allowed\n"
)
FAILED_CSV = (
    f"{BUCKET},videos/%C3%89t%C3%A9%20100%25.mov,v2,failed,200,PermanentFailure,"
    '"wistia_video_limit: Wistia answered HTTP 400"\n'
    f'{BUCKET},videos/e.mp4,v5,failed,200,PermanentFailure,"Lambda returned function error: '
    '{""errorMessage"":""2019-04-05T17:35:21.155Z 2845ca0d Task timed out after 3.00 seconds""}"\n'
)


def put_report(stack: Stack, prefix: str = "batch-operations/reports") -> None:
    base = f"{prefix}/job-{JOB_ID}"
    results = []
    for status, text in (("succeeded", SUCCEEDED_CSV), ("failed", FAILED_CSV)):
        key = f"{base}/results/{status}.csv"
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode())
        results.append({"TaskExecutionStatus": status, "Bucket": BUCKET, "MD5Checksum": "x", "Key": key})
    manifest = {
        "Format": "Report_CSV_20180820",
        "ReportCreationDate": "2019-04-05T17:48:39.725Z",
        "Results": results,
        "ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage",
    }
    stack.s3.put_object(Bucket=BUCKET, Key=f"{base}/manifest.json", Body=json.dumps(manifest).encode())


def described(status: str = "Complete", *, succeeded: int = 3, failed: int = 2) -> dict[str, Any]:
    return {
        "Job": {
            "JobId": JOB_ID,
            "Status": status,
            "Priority": 42,
            "RoleArn": ROLE,
            "CreationTime": datetime(2024, 1, 1, tzinfo=UTC),
            "Manifest": {
                "Spec": {
                    "Format": "S3BatchOperations_CSV_20180820",
                    "Fields": ["Bucket", "Key", "VersionId"],
                },
                "Location": {
                    "ObjectArn": f"arn:aws:s3:::{BUCKET}/batch-operations/manifests/backfill-1.csv",
                    "ETag": "0123",
                },
            },
            "Operation": {
                "LambdaInvoke": {
                    "FunctionArn": ALIAS,
                    "InvocationSchemaVersion": "2.0",
                    "UserArguments": {"low_priority": "true", "project_id": "backfill01"},
                }
            },
            "Report": {
                "Bucket": f"arn:aws:s3:::{BUCKET}",
                "Format": "Report_CSV_20180820",
                "Enabled": True,
                "Prefix": "batch-operations/reports",
                "ReportScope": "AllTasks",
            },
            "ProgressSummary": {
                "TotalNumberOfTasks": succeeded + failed,
                "NumberOfTasksSucceeded": succeeded,
                "NumberOfTasksFailed": failed,
                "Timers": {"ElapsedTimeInActiveSeconds": 182},
            },
        }
    }


def test_status_of_a_complete_job_summarises_its_completion_report(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    put_report(stack)
    s3control.stub.add_response("describe_job", described(), {"AccountId": ACCOUNT, "JobId": JOB_ID})

    run = run_cli("backfill", "--status", JOB_ID, "--json")

    assert run.code == 1  # as `status`: something failed
    document = run.json()
    assert (document["status"], document["total"], document["succeeded"], document["failed"]) == (
        "Complete", 5, 3, 2,
    )  # fmt: skip
    assert document["elapsedSeconds"] == 182
    assert document["report"] == {
        "copied": 1,
        "duplicate": 1,
        "rejected": {"extension_not_allowed": 1},
        "failed": {"wistia_video_limit": 1, "function_timeout": 1},
        "unreadable": 0,
    }


def test_status_as_text_offers_the_replay_of_the_failed_tasks(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    put_report(stack)
    s3control.stub.add_response("describe_job", described())

    run = run_cli("backfill", "--status", JOB_ID)

    assert run.code == 1
    assert f"job {JOB_ID}: Complete; 5 task(s), 3 succeeded, 2 failed; elapsed 3m02s" in run.out
    assert "failed: wistia_video_limit" in run.out
    assert f"--status {JOB_ID} --replay-failed" in run.out


@pytest.mark.parametrize(
    ("state", "code"), [("Active", 3), ("Preparing", 3), ("Failed", 1), ("Cancelled", 1)]
)
def test_a_job_not_complete_is_not_summarised_and_exits_as_status_does(
    stack: Stack, s3control: S3Control, run_cli: Run, state: str, code: int
) -> None:
    s3control.stub.add_response("describe_job", described(state, succeeded=1, failed=0))

    run = run_cli("backfill", "--status", JOB_ID, "--json")

    assert run.code == code
    assert run.json()["report"] is None  # no report read (there is none in the bucket either)


def test_a_complete_job_without_failures_exits_0(stack: Stack, s3control: S3Control, run_cli: Run) -> None:
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=f"batch-operations/reports/job-{JOB_ID}/manifest.json",
        Body=json.dumps({"Format": "Report_CSV_20180820", "Results": []}).encode(),
    )
    s3control.stub.add_response("describe_job", described(succeeded=5, failed=0))

    assert run_cli("backfill", "--status", JOB_ID).code == 0


def test_an_unknown_job_is_one_clear_line(stack: Stack, s3control: S3Control, run_cli: Run) -> None:
    s3control.stub.add_client_error(
        "describe_job", service_error_code="NotFoundException", http_status_code=404
    )

    run = run_cli("backfill", "--status", "no-such-job")

    assert run.code == 2
    assert "no such job" in run.err


def test_replay_failed_creates_a_job_of_exactly_the_failed_tasks_with_the_same_settings(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    put_report(stack)
    s3control.stub.add_response("describe_job", described())
    s3control.stub.add_response("create_job", {"JobId": "replay-job"})

    run = run_cli("backfill", "--status", JOB_ID, "--replay-failed", "--yes", "--json")

    assert run.code == 0, run.err
    assert (run.json()["replayJobId"], run.json()["replayed"]) == ("replay-job", 2)
    [key] = [k for k in keys_under(stack, "batch-operations/manifests/") if "replay" in k]
    assert key.startswith(f"batch-operations/manifests/replay-{JOB_ID}-")
    assert body(stack, key) == (
        f"{BUCKET},videos/%C3%89t%C3%A9%20100%25.mov,v2\n{BUCKET},videos/e.mp4,v5\n"
    )  # as the report wrote them: still URL-encoded, once
    request = s3control.requests[-1]
    assert request["Operation"]["LambdaInvoke"]["FunctionArn"] == ALIAS
    assert request["Operation"]["LambdaInvoke"]["UserArguments"] == {
        "low_priority": "true",
        "project_id": "backfill01",
    }
    assert (request["RoleArn"], request["Priority"]) == (ROLE, 42)
    assert request["Manifest"]["Location"]["ObjectArn"] == f"arn:aws:s3:::{BUCKET}/{key}"
    assert JOB_ID in request["Description"]


def test_replay_failed_is_refused_for_a_job_still_running(
    stack: Stack, s3control: S3Control, run_cli: Run
) -> None:
    s3control.stub.add_response("describe_job", described("Active"))

    run = run_cli("backfill", "--status", JOB_ID, "--replay-failed", "--yes")

    assert run.code == 2
    assert "nothing to replay yet" in run.err


def test_the_report_of_a_prefixless_job_is_at_the_buckets_root() -> None:
    job = described()["Job"]
    job["Report"]["Prefix"] = ""
    assert batch_jobs.report_location(job) == (BUCKET, f"job-{JOB_ID}/manifest.json")
    job["Report"]["Enabled"] = False
    assert batch_jobs.report_location(job) is None


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--concurrency", "8"), "--concurrency"),
        (("--rate", "2"), "--rate"),
        (("--local",), "--local"),
        (("--rate", "2", "--local"), "--rate, --local"),
    ],
)
def test_small_path_options_are_refused_with_batch_rather_than_ignored(
    stack: Stack, s3control: S3Control, run_cli: Run, options: tuple[str, ...], named: str
) -> None:
    deploy(stack)
    fill(stack)

    run = run_cli("backfill", f"s3://{BUCKET}/videos/", "--batch", "--yes", "--stack", "bridge", *options)
    status = run_cli("backfill", "--status", "job-1", "--stack", "bridge", *options)

    assert run.code == 2
    assert f"{named}: only for the small path" in run.err
    assert "BackfillRatePerMinute" in run.err
    assert status.code == 2
    assert keys_under(stack, "batch-operations/") == []
    assert s3control.requests == []
