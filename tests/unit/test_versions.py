"""The pure decisions of re-uploads and deletes: policy x ledger state -> step."""

from __future__ import annotations

from typing import Any

import pytest
from s3_wistia_bridge.config import BridgeConfig, ConfigError, DeletePolicy, OverwritePolicy
from s3_wistia_bridge.deletes import cancel_reason
from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.ledger import Entry
from s3_wistia_bridge.lifecycle import MediaStatus
from s3_wistia_bridge.models import RemovedObject
from s3_wistia_bridge.versions import (
    Decision,
    Step,
    decide_overwrite,
    deletable,
    existing_media,
    looks_not_ready,
    swap_job_id,
)
from s3_wistia_bridge.wistia_media import Answer, Reply

from tests.unit.conftest import BASE_ENV


def entry(version: str, status: MediaStatus, hashed_id: str | None, at: str, **item: Any) -> Entry:
    fields = {"version": version, "hashed_id": hashed_id, "accepted_at": at, **item}
    return Entry("b/k", f"{version}#001", status, 1, fields)


V1 = entry("v1", MediaStatus.READY, "media1", "2026-01-01T00:00:00.000Z")


@pytest.mark.parametrize(
    ("policy", "existing", "step"),
    [
        (OverwritePolicy.NEW_MEDIA, V1, Step.COPY),
        (OverwritePolicy.REPLACE, None, Step.COPY),
        (OverwritePolicy.REPLACE, V1, Step.REPLACE),
        (OverwritePolicy.SKIP, V1, Step.SKIP),
        (OverwritePolicy.REPLACE, V1._replace(status=MediaStatus.DELETED), Step.FALL_BACK),
        (OverwritePolicy.SKIP, V1._replace(status=MediaStatus.DELETED), Step.COPY),
        (OverwritePolicy.REPLACE, V1._replace(status=MediaStatus.FAILED), Step.COPY),
        (OverwritePolicy.SKIP, V1._replace(status=MediaStatus.FAILED), Step.COPY),
        (OverwritePolicy.REPLACE, V1._replace(status=MediaStatus.PROCESSING), Step.REPLACE),
    ],
)
def test_what_a_new_version_becomes(policy, existing, step):
    assert decide_overwrite(policy, existing).step is step


def test_the_existing_media_is_the_newest_other_version_and_a_swapped_one_stands_for_its_original():
    v2 = entry("v2", MediaStatus.READY, "replacement2", "2026-01-02T00:00:00.000Z", swapped_into="media1")
    skipped = entry("v3", MediaStatus.SKIPPED, None, "2026-01-03T00:00:00.000Z")
    history = [V1, v2, skipped]
    assert existing_media(history, "v4") == V1  # v2 was swapped into v1's media
    assert decide_overwrite(OverwritePolicy.REPLACE, existing_media(history, "v4")) == Decision(
        Step.REPLACE, "media1"
    )
    assert existing_media(history, "v1") == V1  # v2 shows v1's media
    assert existing_media([V1], "v1") is None  # its own version is not "another"


def test_only_live_medias_of_the_bridge_are_deletable():
    gone = entry("v2", MediaStatus.DELETED, "media2", "2026-01-02T00:00:00.000Z")
    archived = entry("v3", MediaStatus.READY, "media3", "2026-01-03T00:00:00.000Z", archived_at="x")
    rejected = entry("v4", MediaStatus.REJECTED, None, "2026-01-04T00:00:00.000Z")
    assert deletable([V1, gone, archived, rejected]) == [V1]


def test_a_due_delete_is_cancelled_by_the_object_or_a_newer_version():
    pending = V1._replace(item=V1.item | {"delete_requested_at": "2026-02-01T00:00:00.000Z"})
    newer = entry("v2", MediaStatus.ACCEPTED, "media2", "2026-02-01T00:05:00.000Z")
    older = entry("v0", MediaStatus.READY, "media0", "2025-12-01T00:00:00.000Z")
    assert cancel_reason(pending, [pending, older], object_exists=False) is None
    assert cancel_reason(pending, [pending, older], object_exists=True) == "the object is back in S3"
    assert cancel_reason(pending, [pending, newer], object_exists=False) is not None


def test_swap_answers():
    assert swap_job_id({"background_job_status": {"id": 42, "status": "queued"}}) == "42"
    assert swap_job_id({"message": "ok"}) is None
    assert swap_job_id(None) is None
    assert looks_not_ready(Answer(Reply.REFUSED, None, 400, "Media is still processing"))
    assert not looks_not_ready(Answer(Reply.REFUSED, None, 400, "Replacement media must be the same type"))


POWERTOOLS_S3_DELETE = {  # Powertools' tests/events/s3Event.json with the removal's eventName
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-2",
            "eventTime": "2019-09-03T19:37:27.192Z",
            "eventName": "ObjectRemoved:DeleteMarkerCreated",
            "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
            "requestParameters": {"sourceIPAddress": "205.255.255.255"},
            "responseElements": {"x-amz-request-id": "D82B88E5F771F645"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "828aa6fc-f7b5-4305-8584-487c791949c1",
                "bucket": {
                    "name": "lambda-artifacts-deafc19498e3f2df",
                    "arn": "arn:aws:s3:::lambda-artifacts",
                },
                "object": {"key": "b21b84d653bb07b05b1e6b33684dc11b", "sequencer": "0C0F6F405D6ED209E1"},
            },
        }
    ]
}
AWS_DOCS_OBJECT_DELETED: dict[
    str, Any
] = {  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
    "version": "0",
    "id": "2ee9cc15-d022-99ea-1fb8-1b1bac4850f9",
    "detail-type": "Object Deleted",
    "source": "aws.s3",
    "account": "111122223333",
    "time": "2021-11-12T00:00:00Z",
    "region": "ca-central-1",
    "resources": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET1"],
    "detail": {
        "version": "0",
        "bucket": {"name": "DOC-EXAMPLE-BUCKET1"},
        "object": {
            "key": "example-key",
            "etag": "d41d8cd98f00b204e9800998ecf8427e",
            "version-id": "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
            "sequencer": "617f08299329d189",
        },
        "request-id": "0BH729840619AG5K",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "DeleteObject",
        "deletion-type": "Delete Marker Created",
    },
}


def test_aws_removal_events_parse_into_removals():
    [s3] = parse_event(POWERTOOLS_S3_DELETE)
    assert isinstance(s3, RemovedObject)
    assert (s3.bucket, s3.key, s3.delete_marker) == (
        "lambda-artifacts-deafc19498e3f2df",
        "b21b84d653bb07b05b1e6b33684dc11b",
        True,
    )
    [eventbridge] = parse_event(AWS_DOCS_OBJECT_DELETED)
    assert isinstance(eventbridge, RemovedObject)
    assert eventbridge.delete_marker
    assert eventbridge.version_id == "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF"
    permanent = AWS_DOCS_OBJECT_DELETED | {
        "detail": AWS_DOCS_OBJECT_DELETED["detail"] | {"deletion-type": "Permanently Deleted"}
    }
    [item] = parse_event(permanent)
    assert isinstance(item, RemovedObject)
    assert item.event_name == "ObjectRemoved:Delete"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OVERWRITE_POLICY", "replace"), ("OVERWRITE_POLICY", "skip"), ("DELETE_POLICY", "delete")],
)
def test_a_policy_without_the_ledger_fails_the_cold_start_naming_both(variable, value):
    env = {name: text for name, text in BASE_ENV.items() if name != "LEDGER_TABLE"}
    with pytest.raises(ConfigError, match=f"{variable}.*LEDGER_TABLE"):
        BridgeConfig.from_environ(env | {variable: value})
    config = BridgeConfig.from_environ(env | {variable: value, "LEDGER_TABLE": "ledger"})
    assert value in {config.overwrite_policy.value, config.delete_policy.value}


def test_the_defaults_are_todays_behaviour():
    config = BridgeConfig.from_environ(BASE_ENV)
    assert config.overwrite_policy is OverwritePolicy.NEW_MEDIA
    assert config.delete_policy is DeletePolicy.IGNORE
    assert (config.delete_grace_seconds, config.delete_dry_run) == (3600, False)


@pytest.mark.parametrize("grace", ["-1", "2592001", "1.5", "soon"])
def test_a_grace_period_out_of_bounds_is_refused(grace):
    with pytest.raises(ConfigError, match="DELETE_GRACE_SECONDS"):
        BridgeConfig.from_environ(BASE_ENV | {"DELETE_GRACE_SECONDS": grace})
