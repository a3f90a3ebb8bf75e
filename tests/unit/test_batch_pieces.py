"""The pure pieces a backfill CLI wires: manifest writer, CreateJob request, completion report."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.stub import Stubber
from s3_wistia_bridge.batch_job import (
    JobSpec,
    ManifestFormat,
    ManifestLocation,
    ReportScope,
    client_request_token,
    create_job_request,
)
from s3_wistia_bridge.batch_report import report_rows, result_files, summarise
from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge.manifest import listed_objects, manifest_fields, write_manifest
from s3_wistia_bridge.models import RequestOverrides

CONFIG = BridgeConfig.from_environ(
    {
        "ALLOWED_BUCKETS": "media",
        "ALLOWED_REGIONS": "us-east-1",
        "WISTIA_SECRET_ID": "arn:secret",
        "FAILURE_QUEUE_URL": "https://sqs/q",
        "ALLOWED_PREFIXES": "videos/",
    }
)
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:s3-wistia-bridge-batch:live"


def version_page(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"Versions": list(entries), "DeleteMarkers": []}


def version(key: str, version_id: str, latest: bool = True, size: int = 10) -> dict[str, Any]:
    return {"Key": key, "VersionId": version_id, "IsLatest": latest, "Size": size, "ETag": '"e"'}


def test_manifest_rows_are_url_encoded_latest_versions_of_allowed_objects():
    pages = [
        version_page(
            version("videos/with space + plus.mp4", "v2"),
            version("videos/with space + plus.mp4", "v1", latest=False),
            version("videos/Café/100%.mov", "null"),
        ),
        {"DeleteMarkers": [{"Key": "videos/deleted.mp4", "VersionId": "d1", "IsLatest": True}]},
        version_page(
            version("videos/notes.txt", "v3"),
            version("other/x.mp4", "v4"),
            version("videos/e.mp4", "v5", size=0),
        ),
    ]
    out = io.StringIO()
    summary = write_manifest(listed_objects(pages, "media", "us-east-1"), out, CONFIG, with_versions=True)
    assert out.getvalue().splitlines() == [
        "media,videos/with%20space%20%2B%20plus.mp4,v2",
        "media,videos/Caf%C3%A9/100%25.mov,null",
    ]
    # What the function decodes (unquote_plus, once) is the key again.
    assert unquote_plus(out.getvalue().splitlines()[0].split(",")[1]) == "videos/with space + plus.mp4"
    assert summary.written == 2
    assert summary.rejected == {"extension_not_allowed": 1, "prefix_not_allowed": 1, "empty_object": 1}
    assert manifest_fields(True) == ["Bucket", "Key", "VersionId"]


def test_list_objects_v2_pages_give_rows_without_versions():
    pages = [{"Contents": [{"Key": "videos/a.mp4", "Size": 3, "ETag": '"x"'}]}]
    out = io.StringIO()
    write_manifest(listed_objects(pages, "media", "us-east-1"), out, CONFIG, with_versions=False)
    assert out.getvalue() == "media,videos/a.mp4\n"
    assert manifest_fields(False) == ["Bucket", "Key"]


def synthetic_pages(objects: int, page_size: int = 1000) -> Iterator[dict[str, Any]]:
    """A lister that makes each page when asked, as a paginator does."""
    for start in range(0, objects, page_size):
        yield version_page(
            *(version(f"videos/{n} +é.mp4", f"v{n}") for n in range(start, min(objects, start + page_size)))
        )


class CountingSink(io.StringIO):
    """Counts what is written and keeps none of it, so only the writer's own memory is measured."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:  # kept nowhere
        self.chars += len(text)
        return len(text)


def test_manifest_memory_stays_flat_over_100k_objects():
    def peak(objects: int) -> int:
        sink = CountingSink()
        tracemalloc.start()
        summary = write_manifest(
            listed_objects(synthetic_pages(objects), "media", "us-east-1"), sink, CONFIG, with_versions=True
        )
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert summary.written == objects
        return top

    small, large = peak(2_000), peak(100_000)
    # One page at a time: 50 times the objects, about the same peak (a page and its rows).
    assert large < small * 1.5 + 64_000, (small, large)
    assert large < 2_000_000


def spec(**changes: Any) -> JobSpec:
    base = JobSpec(
        account_id="123456789012",
        function_arn=FUNCTION_ARN,
        role_arn="arn:aws:iam::123456789012:role/s3-wistia-bridge-batch-operations",
        manifest=ManifestLocation("arn:aws:s3:::media-manifests/backfill/manifest.csv", '"0123abcd"'),
        report_bucket_arn="arn:aws:s3:::media-manifests",
        report_prefix="backfill/reports",
        overrides=RequestOverrides(project_id="backfill01", low_priority=True),
    )
    return base._replace(**changes)


@pytest.mark.parametrize(
    "job",
    [
        spec(),
        spec(report_scope=ReportScope.FAILED_TASKS_ONLY, confirm=False, priority=0),
        spec(
            manifest=ManifestLocation(
                "arn:aws:s3:::inventory/media/config/2026-01-01T00-00Z/manifest.json",
                "etag",
                ManifestFormat.INVENTORY,
                version_id="mv1",
            )
        ),
    ],
)
def test_the_create_job_request_passes_botocores_own_validation(job: JobSpec):
    request = create_job_request(job)
    client = boto3.client("s3control", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response("create_job", {"JobId": "0b0f6f2e-0000-4000-8000-000000000000"}, request)
        assert client.create_job(**request)["JobId"]
        stubber.assert_no_pending_responses()
    operation = request["Operation"]["LambdaInvoke"]
    assert operation == {
        "FunctionArn": FUNCTION_ARN,
        "InvocationSchemaVersion": "2.0",
        "UserArguments": {"project_id": "backfill01", "low_priority": "true"},
    }
    assert request["ConfirmationRequired"] is job.confirm
    assert request["Report"]["ReportScope"] == job.report_scope.value


def test_the_client_request_token_makes_creation_idempotent():
    assert client_request_token(spec()) == client_request_token(spec(priority=99))
    assert client_request_token(spec()) != client_request_token(
        spec(manifest=spec().manifest._replace(etag='"other"'))
    )
    assert len(client_request_token(spec())) == 64


@pytest.mark.parametrize(
    ("function_arn", "account"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:s3-wistia-bridge-batch", "123456789012"),
        ("arn:aws:lambda:us-east-1:123456789012:function:s3-wistia-bridge-batch:$LATEST", "123456789012"),
        (FUNCTION_ARN, "12345"),
    ],
)
def test_unpinned_functions_and_bad_accounts_are_refused(function_arn: str, account: str):
    with pytest.raises(ValueError, match=r"pinned|12 digits"):
        create_job_request(spec(function_arn=function_arn, account_id=account))


# Rows as S3's documentation shows them (status, then HTTP status, then result code).
REPORT = """\
media,videos/a.mp4,v1,succeeded,200,,6sk1wj6936
media,videos/b%20c.mp4,v1,succeeded,200,,duplicate:41pjso2krv
media,videos/notes.txt,v1,succeeded,200,,rejected:extension_not_allowed
media,videos/gone.mp4,v1,succeeded,200,,rejected:object_missing
media,videos/full.mp4,v1,failed,200,PermanentFailure,wistia_video_limit: Wistia answered HTTP 400
media,videos/busy.mp4,v1,failed,200,TemporaryFailure,backfill_rate_limited: used up
{timeout}
{crash}
media,videos/x.mp4,,failed,PermanentFailure,200,wistia_forbidden: 403
not,seven,columns
""".format(
    timeout='media,image_14975,,failed,200,PermanentFailure,"Lambda returned function error: '
    '{""errorMessage"":""2019-04-05T17:35:21.155Z 2845ca0d Task timed out after 3.00 seconds""}"',
    crash='media,videos/crash.mp4,,failed,200,PermanentFailure,"Lambda returned function error: '
    '{""errorType"":""KeyError""}"',
)


def test_the_completion_report_is_summarised_by_outcome_and_reason():
    summary = summarise(io.StringIO(REPORT))
    assert summary.as_dict() == {
        "copied": 1,
        "duplicate": 1,
        "rejected": {"extension_not_allowed": 1, "object_missing": 1},
        "failed": {
            "wistia_video_limit": 1,
            "backfill_rate_limited": 1,
            "function_timeout": 1,
            "function_error": 1,
            "wistia_forbidden": 1,
        },
        "unreadable": 1,
    }
    assert summary.tasks == 9
    rows = [row for row in report_rows(io.StringIO(REPORT)) if row is not None]
    assert {(row.error_code, row.http_status) for row in rows if row.status == "failed"} == {
        ("PermanentFailure", "200"),
        ("TemporaryFailure", "200"),
    }


def test_the_report_manifest_lists_its_result_files():
    manifest = {
        "Format": "Report_CSV_20180820",
        "ReportCreationDate": "2019-04-05T17:48:39.725Z",
        "Results": [
            {
                "TaskExecutionStatus": "succeeded",
                "Bucket": "r",
                "Key": "job-1/results/a.csv",
                "MD5Checksum": "x",
            },
            {
                "TaskExecutionStatus": "failed",
                "Bucket": "r",
                "Key": "job-1/results/b.csv",
                "MD5Checksum": "y",
            },
        ],
        "ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage",
    }
    assert result_files(json.dumps(manifest)) == [
        ("r", "job-1/results/a.csv", "succeeded"),
        ("r", "job-1/results/b.csv", "failed"),
    ]
    with pytest.raises(ValueError, match="not a completion report"):
        result_files("{}")
