"""S3 Batch Operations' invocation parsed and answered (batch.py): pure."""

from __future__ import annotations

from typing import Any

import pytest
from s3_wistia_bridge.batch import (
    ResultCode,
    batch_response,
    is_batch_event,
    job_overrides,
    parse_batch_event,
    result_for,
    user_arguments,
)
from s3_wistia_bridge.config import ConfigError
from s3_wistia_bridge.models import CopyRequest, ObjectReport, Outcome, RequestOverrides

from tests.conftest import load_event


def test_schema_1_names_the_bucket_by_arn_and_the_key_is_decoded_once():
    batch = parse_batch_event(load_event("s3-batch-powertools-schema1.json"))
    (task,) = batch.tasks
    assert (batch.schema, batch.invocation_id, batch.job_id) == (
        "1.0",
        "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
        "f3cc4f60-61f6-4a2b-8a21-d07600c373ce",
    )
    assert (task.task_id, task.bucket, task.key, task.version_id) == (
        "dGFza2lkZ29lc2hlcmUK",
        "powertools-dataset",
        "prefix/dataset/dataset.20231222.json.gz",
        "1",
    )
    assert batch.problem is None
    assert batch.overrides == RequestOverrides(low_priority=True)  # a backfill without arguments


def test_schema_2_names_the_bucket_and_carries_user_arguments():
    batch = parse_batch_event(load_event("s3-batch-schema2.json"))
    (task,) = batch.tasks
    assert task.bucket == "media-uploads-example"
    assert task.key == "videos/Café crème + friends.mp4"
    assert task.version_id is None
    assert batch.overrides == RequestOverrides(project_id="backfill01", low_priority=True)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("videos/with+space.mp4", "videos/with space.mp4"),
        ("videos/with%20space.mp4", "videos/with space.mp4"),
        ("videos/a%2Bb.mp4", "videos/a+b.mp4"),
        ("videos/100%25.mp4", "videos/100%.mp4"),
        ("videos/%2541.mp4", "videos/%41.mp4"),  # never decoded twice
        ("videos/Caf%C3%A9.mp4", "videos/Café.mp4"),
    ],
)
def test_task_keys_are_decoded_exactly_once(raw: str, key: str):
    event = {"invocationSchemaVersion": "2.0", "tasks": [{"taskId": "t", "s3Key": raw, "s3Bucket": "b"}]}
    assert parse_batch_event(event).tasks[0].key == key


def test_a_null_version_is_no_version_of_its_own():
    event = {
        "invocationSchemaVersion": "2.0",
        "tasks": [{"taskId": "t", "s3Key": "k.mp4", "s3Bucket": "b", "s3VersionId": "null"}],
    }
    (task,) = parse_batch_event(event).tasks
    assert task.version_id == "null"
    assert task.own_version is None


@pytest.mark.parametrize(
    ("task", "problem"),
    [
        ("x", "task is not a JSON object"),
        ({"s3Key": "k", "s3Bucket": "b"}, "task has no taskId"),
        ({"taskId": "t", "s3Key": "k"}, "task names no bucket"),
        ({"taskId": "t", "s3Bucket": "b"}, "task has no s3Key"),
        ({"taskId": "t", "s3Key": "k", "s3Bucket": "b", "s3VersionId": 3}, "s3VersionId is not a string"),
        ({"taskId": "t", "s3Key": "bad%FF", "s3Bucket": "b"}, "s3Key has percent-escapes that are not UTF-8"),
    ],
)
def test_malformed_tasks_are_told_apart(task: Any, problem: str):
    (parsed,) = parse_batch_event({"invocationSchemaVersion": "2.0", "tasks": [task]}).tasks
    assert parsed.problem is not None
    assert parsed.problem.startswith(problem)


def test_schema_1_does_not_read_schema_2_fields():
    event = {"invocationSchemaVersion": "1.0", "tasks": [{"taskId": "t", "s3Key": "k", "s3Bucket": "b"}]}
    assert parse_batch_event(event).tasks[0].problem is not None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"k1": "v1"}, "unknown key(s) ['k1']; allowed: low_priority, project_id"),
        ({"low_priority": True}, "low_priority: must be a string"),
        ({"low_priority": "yes"}, "low_priority: 'yes' is not true or false"),
        ({"project_id": "not a project!"}, "project_id: 'not a project!' is not"),
        (["low_priority"], "must be an object of string values"),
    ],
)
def test_user_arguments_are_validated_like_configuration(arguments: Any, message: str):
    with pytest.raises(ConfigError) as raised:
        job_overrides(arguments)
    assert str(raised.value).startswith(message)


def test_user_arguments_round_trip():
    for overrides in (RequestOverrides(None, True), RequestOverrides("proj1", False)):
        assert job_overrides(dict(user_arguments(overrides))) == overrides
    assert job_overrides({"low_priority": "FALSE"}) == RequestOverrides(None, False)


def test_an_unsupported_schema_is_the_whole_invocations_problem():
    batch = parse_batch_event({"invocationSchemaVersion": "3.0", "tasks": []})
    assert batch.problem == "invocationSchemaVersion '3.0' is not 1.0 or 2.0"
    assert parse_batch_event("nonsense").tasks == []
    assert is_batch_event(load_event("s3-batch-schema1.json"))
    assert not is_batch_event(load_event("s3-put.json"))


@pytest.mark.parametrize(
    ("report", "code", "text"),
    [
        (ObjectReport(Outcome.COPIED, "s3://b/k", hashed_id="abc123"), ResultCode.SUCCEEDED, "abc123"),
        (
            ObjectReport(Outcome.DUPLICATE, "s3://b/k", hashed_id="abc123"),
            ResultCode.SUCCEEDED,
            "duplicate:abc123",
        ),
        (
            ObjectReport(Outcome.REJECTED, "s3://b/k", "extension_not_allowed", "no"),
            ResultCode.SUCCEEDED,
            "rejected:extension_not_allowed",
        ),
        (
            ObjectReport(Outcome.TRANSIENT_FAILURE, "s3://b/k", "wistia_timeout", "read timeout"),
            ResultCode.TEMPORARY_FAILURE,
            "wistia_timeout: read timeout",
        ),
        (
            ObjectReport(Outcome.PERMANENT_FAILURE, "s3://b/k", "wistia_video_limit", "full\naccount"),
            ResultCode.PERMANENT_FAILURE,
            "wistia_video_limit: full account",
        ),
    ],
)
def test_each_outcome_has_its_result_code(report: ObjectReport, code: ResultCode, text: str):
    result = result_for("t1", report)
    assert (result.code, result.result) == (code, text)


def test_the_response_has_the_documented_fields_and_long_results_are_clipped():
    batch = parse_batch_event(load_event("s3-batch-schema1.json"))
    long = result_for("t", ObjectReport(Outcome.PERMANENT_FAILURE, None, "wistia_http_error", "x" * 5000))
    response = batch_response(batch, [long])
    assert set(response) == {"invocationSchemaVersion", "treatMissingKeysAs", "invocationId", "results"}
    assert response["invocationSchemaVersion"] == "1.0"
    assert len(response["results"][0]["resultString"]) == 1024
    assert response["results"][0] == {
        "taskId": "t",
        "resultCode": "PermanentFailure",
        "resultString": long.result,
    }


def test_low_priority_is_sent_with_url_imports_only():
    url_import = CopyRequest("b", "k.mp4", "us-east-1", "k.mp4", url="https://example.com/k.mp4")
    s3_copy = CopyRequest("b", "k.mp4", "us-east-1", "k.mp4")
    backfill = RequestOverrides(project_id="proj1", low_priority=True)
    assert backfill.apply(url_import).form()["low_priority"] == "true"
    assert "low_priority" not in backfill.apply(s3_copy).form()
    assert backfill.apply(s3_copy).form()["project_id"] == "proj1"
    assert "low_priority" not in url_import.form()  # live uploads do not ask for it
    assert RequestOverrides().apply(url_import) is url_import
