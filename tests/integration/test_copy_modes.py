"""Beyond s3_copy, against moto and the emulator: URL import of a presigned GET (the emulator
really fetches it from moto), per-object metadata (HeadObject), and the hashed_id written back
as a tag, which must never re-trigger the bridge."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from botocore.stub import Stubber

from tests.conftest import LambdaContextStub

from .conftest import BUCKET, REGION, Stack, metric_values, s3_event

pytestmark = pytest.mark.integration

URL_IMPORT = {"COPY_MODE": "url_import"}
METADATA = {"OBJECT_METADATA": "true"}
TAG_KEY = "wistia-hashed-id"
WRITE_BACK = {"WRITE_BACK_TAG_KEY": TAG_KEY}
Output = Callable[[], list[dict[str, Any]]]
LoadApp = Callable[[dict[str, str]], ModuleType]


def invoke(app: ModuleType, event: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.lambda_handler(event, LambdaContextStub(remaining_seconds=30))
    return result


def only_object(result: dict[str, Any]) -> dict[str, Any]:
    (obj,) = result["objects"]
    return dict(obj)


def api_requests(stack: Stack, path: str) -> list[dict[str, Any]]:
    return [r for r in stack.emulator.requests() if r["path"] == path]


def put_version(stack: Stack, key: str, body: bytes, **extra: Any) -> dict[str, Any]:
    """Put `body` at `key` and return the S3 notification for exactly that version."""
    put = stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body, **extra)
    event = s3_event(key, size=len(body), etag=put["ETag"].strip('"'))
    if put.get("VersionId"):
        event["Records"][0]["s3"]["object"]["versionId"] = put["VersionId"]
    return event


def versioned(stack: Stack) -> None:
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


def tags_of(stack: Stack, key: str, version_id: str | None = None) -> dict[str, str]:
    params = {"VersionId": version_id} if version_id else {}
    tag_set = stack.s3.get_object_tagging(Bucket=BUCKET, Key=key, **params)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def logs(records: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    return [r for r in records if str(r.get("message", "")).startswith(message)]


# ---------------------------------------------------------------- URL import


def test_url_import_sends_a_presigned_url_that_wistia_can_fetch(stack: Stack, load_app: LoadApp) -> None:
    app = load_app(stack.env | URL_IMPORT)
    key = "videos/Été 2026/a+b & c=d?#.mp4"  # every character a URL or a form could mangle
    body = b"\x00\x00\x00\x18ftypmp42" + b"x" * 1000

    result = invoke(app, stack.put(key, body))

    [media] = stack.emulator.medias()
    assert only_object(result) == {
        "outcome": "copied",
        "uri": f"s3://{BUCKET}/{key}",
        "hashed_id": media["hashed_id"],
    }
    assert api_requests(stack, "/s3_copy") == []
    [request] = api_requests(stack, "/")
    form = request["form"]
    assert set(form) == {"url", "name", "project_id"}  # nothing naming the bucket: Wistia reads the URL
    assert (form["name"], form["project_id"]) == ("a+b & c=d?#.mp4", "defaultproj1")
    # The query string arrived intact (a badly encoded form would split it at its first '&').
    url = urlsplit(form["url"])
    query = parse_qs(url.query, strict_parsing=True)
    assert {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"} <= set(
        query
    )
    assert query["X-Amz-Expires"] == ["21600"]  # PRESIGNED_URL_HOURS default: 6 h
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert f"/{REGION}/s3/aws4_request" in query["X-Amz-Credential"][0]
    # The path is the object's, ending with the file's extension, as Wistia requires.
    assert unquote(url.path).endswith(f"/{BUCKET}/{key}")
    assert url.path.endswith(".mp4")
    # And the emulator fetched it from moto: every byte.
    assert media["source"] == {"url": form["url"], "bytes": len(body)}


def test_url_import_signs_exactly_the_announced_version(stack: Stack, load_app: LoadApp) -> None:
    versioned(stack)
    app = load_app(stack.env | URL_IMPORT | {"PRESIGNED_URL_HOURS": "1"})
    first = put_version(stack, "videos/clip.mp4", b"first version")
    stack.s3.put_object(Bucket=BUCKET, Key="videos/clip.mp4", Body=b"a much longer second version")

    invoke(app, first)

    [media] = stack.emulator.medias()
    url = urlsplit(media["source"]["url"])
    query = parse_qs(url.query)
    assert query["versionId"] == [first["Records"][0]["s3"]["object"]["versionId"]]
    assert query["X-Amz-Expires"] == ["3600"]
    assert media["source"]["bytes"] == len(b"first version")


def test_url_import_of_a_missing_object_is_a_permanent_failure_without_the_signature(
    stack: Stack, load_app: LoadApp
) -> None:
    app = load_app(stack.env | URL_IMPORT)
    event = s3_event("videos/never-uploaded.mp4")

    result = invoke(app, event)

    assert only_object(result)["outcome"] == "permanent_failure"
    assert only_object(result)["reason"] == "wistia_bad_request"
    [record] = stack.failure_records()
    assert record["reason"] == "wistia_bad_request"
    assert record["http"]["wistiaErrorCode"] == "url_fetch_failed"
    assert "404" in record["http"]["wistiaError"]
    assert record["event"] == event  # replay signs a fresh URL
    assert "X-Amz-Signature" not in json.dumps(record)
    assert stack.emulator.medias() == []


def test_temporary_credentials_of_unknown_expiry_warn_once_per_container(
    stack: Stack, load_app: LoadApp, function_output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_token = "FwoGZXIvYXdzEXAMPLE-SESSION-TOKEN"
    monkeypatch.setenv("AWS_SESSION_TOKEN", session_token)  # what Lambda's environment holds
    app = load_app(stack.env | URL_IMPORT | {"PRESIGNED_URL_HOURS": "6"})

    invoke(app, stack.put("videos/one.mp4"))
    invoke(app, stack.put("videos/two.mp4"))

    records = function_output()
    [warning] = logs(records, "presigned URLs are asked to live 6 h")
    assert warning["level"] == "WARNING"
    assert warning["presigned_url_hours"] == 6
    assert warning["credentials_expiry_known"] is False
    assert "credentials_expire_in_seconds" not in warning
    assert session_token not in json.dumps(records)
    assert query_of(stack.emulator.medias()[0]["source"]["url"])["X-Amz-Security-Token"] == [session_token]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_a_one_hour_url_with_the_same_credentials_does_not_warn(
    stack: Stack, load_app: LoadApp, function_output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLE")
    app = load_app(stack.env | URL_IMPORT | {"PRESIGNED_URL_HOURS": "1"})

    assert only_object(invoke(app, stack.put("videos/one.mp4")))["outcome"] == "copied"

    assert logs(function_output(), "presigned URLs") == []


# ---------------------------------------------------------------- per-object metadata


def test_object_metadata_overrides_the_route_but_keeps_its_contact(stack: Stack, load_app: LoadApp) -> None:
    routes = [{"prefix": "videos/", "project_id": "routeproj", "contact_id": 7, "description": "From route"}]
    app = load_app(stack.env | METADATA | {"WISTIA_ROUTES": json.dumps(routes)})
    metadata = {
        "wistia-name": "  Keynote 2026 ",
        "wistia-description": "Recorded live",
        "wistia-project-id": "meta42",
    }
    stack.s3.put_object(Bucket=BUCKET, Key="videos/keynote.mp4", Body=b"video", Metadata=metadata)
    stack.s3.put_object(Bucket=BUCKET, Key="videos/plain.mp4", Body=b"video")

    invoke(app, s3_event("videos/keynote.mp4", size=5))
    invoke(app, s3_event("videos/plain.mp4", size=5))

    forms = [r["form"] for r in api_requests(stack, "/s3_copy")]
    picked = [(f["name"], f["project_id"], f["description"], f["contact_id"]) for f in forms]
    assert picked == [
        ("Keynote 2026", "meta42", "Recorded live", "7"),
        ("plain.mp4", "routeproj", "From route", "7"),  # no metadata: the route, unchanged
    ]
    assert [m["name"] for m in stack.emulator.medias()] == ["Keynote 2026", "plain.mp4"]


def test_metadata_and_url_import_together(stack: Stack, load_app: LoadApp) -> None:
    app = load_app(stack.env | METADATA | URL_IMPORT)
    event = put_version(stack, "videos/a.mp4", b"video", Metadata={"wistia-name": "From metadata"})

    assert only_object(invoke(app, event))["outcome"] == "copied"

    [request] = api_requests(stack, "/")
    assert request["form"]["name"] == "From metadata"
    assert urlsplit(request["form"]["url"]).path.endswith("/videos/a.mp4")


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"wistia-name": "   "}, "wistia-name"),
        ({"wistia-name": "n" * 256}, "wistia-name"),
        ({"wistia-name": "tab\there"}, "wistia-name"),
        ({"wistia-description": "d" * 5001}, "wistia-description"),
        ({"wistia-project-id": "not-a-hashed-id"}, "wistia-project-id"),
    ],
    ids=["blank-name", "long-name", "control-character", "long-description", "bad-project"],
)
def test_invalid_metadata_is_a_rejection_naming_the_field_never_sent_never_a_failure(
    stack: Stack, load_app: LoadApp, function_output: Output, metadata: dict[str, str], field: str
) -> None:
    app = load_app(stack.env | METADATA)
    stack.s3.put_object(Bucket=BUCKET, Key="videos/a.mp4", Body=b"video", Metadata=metadata)

    result = only_object(invoke(app, s3_event("videos/a.mp4", size=5)))

    assert (result["outcome"], result["reason"]) == ("rejected", "metadata_invalid")
    assert f"x-amz-meta-{field}" in result["message"]
    assert stack.emulator.requests() == []
    assert stack.failure_records() == []
    records = function_output()
    assert [(v, blob["reason"]) for v, blob in metric_values(records, "RejectedByReason")] == [
        (1, "metadata_invalid")
    ]


def test_an_object_deleted_before_its_head_is_rejected_as_missing(
    stack: Stack, load_app: LoadApp, function_output: Output
) -> None:
    app = load_app(stack.env | METADATA)
    event = stack.put("videos/gone.mp4")
    stack.s3.delete_object(Bucket=BUCKET, Key="videos/gone.mp4")

    result = only_object(invoke(app, event))

    assert (result["outcome"], result["reason"]) == ("rejected", "object_missing")
    assert stack.emulator.requests() == []
    assert stack.failure_records() == []
    assert [v for v, _ in metric_values(function_output(), "ObjectRejected")] == [1]


@pytest.mark.parametrize(
    ("code", "status", "outcome", "reason"),
    [
        ("AccessDenied", 403, "permanent_failure", "s3_access_denied"),
        ("InternalError", 500, None, "s3_unavailable"),
    ],
    ids=["access-denied", "s3-error"],
)
def test_head_object_errors_are_a_permanent_record_or_a_transient_retry(
    stack: Stack, load_app: LoadApp, code: str, status: int, outcome: str | None, reason: str
) -> None:
    from s3_wistia_bridge.errors import TransientFailure

    app = load_app(stack.env | METADATA)
    event = stack.put("videos/a.mp4")
    client = app.BRIDGE._objects._client(REGION)  # the function's own S3 client
    with Stubber(client) as stubber:
        stubber.add_client_error("head_object", service_error_code=code, http_status_code=status)
        if outcome is None:
            with pytest.raises(TransientFailure) as raised:
                invoke(app, event)
            assert raised.value.reason == reason
            assert stack.failure_records() == []  # Lambda retries, then its on-failure record
        else:
            assert only_object(invoke(app, event))["reason"] == reason
            [record] = stack.failure_records()
            assert record["reason"] == reason
            assert "s3:GetObject" in record["message"]
    assert stack.emulator.requests() == []


# ---------------------------------------------------------------- write-back


def test_the_hashed_id_is_added_to_the_versions_tags_and_every_other_tag_kept(
    stack: Stack, load_app: LoadApp, function_output: Output
) -> None:
    versioned(stack)
    app = load_app(stack.env | WRITE_BACK)
    event = put_version(stack, "videos/a.mp4", b"first", Tagging="owner=ops&team=video")
    newer = stack.s3.put_object(Bucket=BUCKET, Key="videos/a.mp4", Body=b"second", Tagging="owner=ops")

    result = only_object(invoke(app, event))

    version_id = event["Records"][0]["s3"]["object"]["versionId"]
    assert result["outcome"] == "copied"
    assert tags_of(stack, "videos/a.mp4", version_id) == {
        "owner": "ops",
        "team": "video",
        TAG_KEY: result["hashed_id"],
    }
    assert tags_of(stack, "videos/a.mp4", newer["VersionId"]) == {"owner": "ops"}  # not the announced version
    [written] = logs(function_output(), "written back")
    assert (written["tag_key"], written["tag"]) == (TAG_KEY, "written")


def test_an_object_with_ten_tags_is_copied_and_left_alone_with_a_warning(
    stack: Stack, load_app: LoadApp, function_output: Output
) -> None:
    app = load_app(stack.env | WRITE_BACK)
    full = "&".join(f"k{i}=v{i}" for i in range(10))
    event = put_version(stack, "videos/a.mp4", b"video", Tagging=full)

    assert only_object(invoke(app, event))["outcome"] == "copied"

    assert tags_of(stack, "videos/a.mp4") == {f"k{i}": f"v{i}" for i in range(10)}
    records = function_output()
    assert len(logs(records, "write-back skipped: the object already has 10 tags")) == 1
    assert [v for v, _ in metric_values(records, "WriteBackFailed")] == [1]


def test_a_failed_write_back_never_fails_the_copy(
    stack: Stack, load_app: LoadApp, function_output: Output
) -> None:
    # The object disappears between the copy and the tagging (the emulator does not check it).
    stack.emulator.s3_endpoint_url = None
    app = load_app(stack.env | WRITE_BACK)

    result = only_object(invoke(app, s3_event("videos/deleted-meanwhile.mp4")))

    assert result["outcome"] == "copied"
    assert len(stack.emulator.medias()) == 1
    assert stack.failure_records() == []
    records = function_output()
    [warning] = logs(records, "write-back failed")
    assert warning["level"] == "WARNING"
    assert warning["error"] == "NoSuchKey"
    assert [v for v, _ in metric_values(records, "WriteBackFailed")] == [1]
    assert [v for v, _ in metric_values(records, "ObjectCopied")] == [1]


def test_tagging_cannot_retrigger_the_bridge_and_a_redelivery_is_a_duplicate(
    stack: Stack, load_app: LoadApp, function_output: Output
) -> None:
    # S3 -> SQS notifications as a deployment would have them for the bridge (ObjectCreated:*),
    # plus a second queue that sees the tagging events the write-back causes.
    created = stack.sqs.create_queue(QueueName="object-created")["QueueUrl"]
    tagging = stack.sqs.create_queue(QueueName="object-tagging")["QueueUrl"]

    def arn(url: str) -> str:
        return str(
            stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        )

    stack.s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "bridge", "QueueArn": arn(created), "Events": ["s3:ObjectCreated:*"]},
                {"Id": "audit", "QueueArn": arn(tagging), "Events": ["s3:ObjectTagging:*"]},
            ]
        },
    )

    def drain(url: str) -> list[dict[str, Any]]:
        messages = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            stack.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        bodies = [json.loads(message["Body"]) for message in messages]
        return [body for body in bodies if body.get("Event") != "s3:TestEvent"]

    drain(created), drain(tagging)
    app = load_app(stack.env | WRITE_BACK)
    stack.s3.put_object(Bucket=BUCKET, Key="videos/launch.mp4", Body=b"video")
    [upload] = drain(created)
    assert [r["eventName"] for r in upload["Records"]] == ["ObjectCreated:Put"]
    drain(tagging)  # moto (not S3) also announces ObjectTagging:Put for every PutObject

    copied = only_object(invoke(app, upload))

    assert copied["outcome"] == "copied"
    assert tags_of(stack, "videos/launch.mp4") == {TAG_KEY: copied["hashed_id"]}
    assert drain(created) == []  # tagging emitted no ObjectCreated
    [tag_event] = drain(tagging)
    assert [r["eventName"] for r in tag_event["Records"]] == ["ObjectTagging:Put"]
    # Even delivered to the bridge (a broader subscription), the tagging event is skipped.
    assert only_object(invoke(app, tag_event))["outcome"] == "skipped"

    again = only_object(invoke(app, upload))  # S3 delivers at least once

    assert again == {"outcome": "duplicate", "uri": copied["uri"], "hashed_id": copied["hashed_id"]}
    assert len(stack.emulator.medias()) == 1
    assert drain(tagging) == []  # the tag already holds this hashed_id: nothing rewritten
    written = logs(function_output(), "written back")
    assert [w["tag"] for w in written] == ["written", "unchanged"]
