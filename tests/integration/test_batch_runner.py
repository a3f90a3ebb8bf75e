"""The local job runner (local_stack.batch_runner) playing a manifest through the batch function
in process, against moto and the Wistia emulator, as S3 Batch Operations would."""

from __future__ import annotations

import io
import json
from types import ModuleType
from typing import Any

import pytest
from local_stack.batch_runner import (
    FunctionError,
    JobOptions,
    deployed,
    in_process,
    payload,
    read_manifest,
    run_job,
)
from s3_wistia_bridge.batch_report import summarise
from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge.manifest import list_pages, listed_objects, write_manifest
from wistia_emulator import FaultRule

from tests.conftest import LambdaContextStub

from .conftest import BUCKET, REGION, Stack

pytestmark = pytest.mark.integration

KEYS = ("videos/a b.mp4", "videos/c+d.mp4", "videos/100%.mp4", "videos/é/f.mov", "videos/notes.txt")


def manifest_of_bucket(stack: Stack) -> str:
    """The manifest the CLI would write: the bucket's latest versions, through the allowlist."""
    out = io.StringIO()
    objects = listed_objects(list_pages(stack.s3, BUCKET, versions=True, page_size=2), BUCKET, REGION)
    summary = write_manifest(objects, out, batch_app_config(stack), with_versions=True)
    assert summary.rejected == {"extension_not_allowed": 1}
    return out.getvalue()


def batch_app_config(stack: Stack) -> BridgeConfig:
    return BridgeConfig.from_environ(stack.env | {"AWS_REGION": REGION})


@pytest.mark.parametrize("schema", ["2.0", "1.0"])
def test_a_job_copies_each_object_once_retries_temporary_failures_and_reports(
    stack: Stack, batch_app: ModuleType, schema: str
):
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for key in KEYS:
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"\x00\x00\x00\x18ftypmp42")
    manifest = manifest_of_bucket(stack)
    assert len(manifest.splitlines()) == 4
    stack.emulator.add_rule(FaultRule(action=503, times=2))  # the first task, twice

    report = io.StringIO()
    invoke = in_process(batch_app.lambda_handler, LambdaContextStub)
    slept: list[float] = []
    options = JobOptions(schema=schema, user_arguments={"low_priority": "true"}, backoff_seconds=0.25)
    assert run_job(invoke, io.StringIO(manifest), report, options, sleep=slept.append) == 4

    assert summarise(io.StringIO(report.getvalue())).as_dict() == {
        "copied": 4,
        "duplicate": 0,
        "rejected": {},
        "failed": {},
        "unreadable": 0,
    }
    assert slept == [0.25, 0.5]  # its two retries, the backoff doubled
    assert len(stack.emulator.medias()) == 4
    rows = report.getvalue().splitlines()
    assert all(",succeeded,200,," in row for row in rows)

    # The same job again: every task a duplicate, nothing sent.
    again = io.StringIO()
    run_job(invoke, io.StringIO(manifest), again, options, sleep=slept.append)
    assert summarise(io.StringIO(again.getvalue())).duplicate == 4
    assert len(stack.emulator.medias()) == 4


def test_temporary_failures_are_retried_a_bounded_number_of_times(stack: Stack, batch_app: ModuleType):
    stack.s3.put_object(Bucket=BUCKET, Key="videos/down.mp4", Body=b"x")
    stack.emulator.add_rule(FaultRule(action=503))
    report = io.StringIO()
    slept: list[float] = []
    invoke = in_process(batch_app.lambda_handler, LambdaContextStub)
    run_job(
        invoke, io.StringIO(f"{BUCKET},videos/down.mp4\n"), report, JobOptions(max_attempts=3), slept.append
    )
    assert slept == [0.5, 1.0]
    (row,) = report.getvalue().splitlines()
    assert row.startswith(
        f"{BUCKET},videos/down.mp4,,failed,200,TemporaryFailure,wistia_rate_limited: HTTP 503"
    )
    assert summarise(io.StringIO(report.getvalue())).failed == {"wistia_rate_limited": 1}


def test_a_function_error_fails_the_task_with_s3s_message():
    def broken(event: Any, context: Any) -> Any:
        raise KeyError("tasks")

    report = io.StringIO()
    run_job(in_process(broken, LambdaContextStub), io.StringIO("b,k.mp4,v1\n"), report)
    (row,) = report.getvalue().splitlines()
    assert row.startswith('b,k.mp4,v1,failed,200,PermanentFailure,"Lambda returned function error: ')
    assert summarise(io.StringIO(report.getvalue())).failed == {"function_error": 1}


class FakeLambda:
    """lambda:Invoke's answer shape: a payload stream, and FunctionError on a function error."""

    def __init__(self, answer: dict[str, Any], function_error: str | None = None) -> None:
        self.answer, self.function_error = answer, function_error
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def test_a_deployed_function_is_invoked_synchronously_by_its_pinned_name():
    client = FakeLambda({"results": []})
    invoke = deployed(client, "s3-wistia-bridge-batch:live")
    (row,) = read_manifest(["b,videos/a%20b.mp4,v1"])
    event = payload(row, JobOptions(), "t1")
    assert invoke(event) == {"results": []}
    (call,) = client.calls
    assert call["FunctionName"] == "s3-wistia-bridge-batch:live"
    assert call["InvocationType"] == "RequestResponse"
    assert json.loads(call["Payload"])["tasks"] == [
        {"taskId": "t1", "s3Key": "videos/a%20b.mp4", "s3VersionId": "v1", "s3Bucket": "b"}
    ]
    with pytest.raises(FunctionError):
        deployed(FakeLambda({"errorMessage": "boom"}, "Unhandled"), "f:1")(event)
