"""The ledger by key: what a re-upload, a sidecar or a caption file finds of the key's media."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from s3_wistia_bridge.ledger import Ledger, Outcome
from s3_wistia_bridge.lifecycle import MediaStatus
from s3_wistia_bridge.models import S3Object

from tests.lifecycle.conftest import LEDGER_TABLE, create_ledger_table

BUCKET = "media-uploads-example"


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client)
        yield Ledger(client, LEDGER_TABLE)


def version(key: str, version_id: str) -> S3Object:
    return S3Object(BUCKET, key, "us-east-1", 10, etag=f"e-{version_id}", version_id=version_id)


def test_a_key_with_no_entry_has_no_media(ledger: Ledger) -> None:
    assert ledger.media_of_key(BUCKET, "videos/a.mp4") is None
    assert list(ledger.versions_of_key(BUCKET, "videos/a.mp4")) == []


def test_the_newest_accepted_version_is_the_media_of_the_key(ledger: Ledger) -> None:
    ledger.record(
        version("videos/a.mp4", "v1"), Outcome(MediaStatus.ACCEPTED, hashed_id="old"), "2026-01-01T00:00:00Z"
    )
    ledger.record(
        version("videos/a.mp4", "v2"), Outcome(MediaStatus.ACCEPTED, hashed_id="new"), "2026-01-02T00:00:00Z"
    )
    ledger.record(
        version("videos/a.mp4", "v3"), Outcome(MediaStatus.REJECTED, reason="x"), "2026-01-03T00:00:00Z"
    )
    ledger.record(
        version("videos/b.mp4", "v9"),
        Outcome(MediaStatus.ACCEPTED, hashed_id="other"),
        "2026-01-04T00:00:00Z",
    )

    found = ledger.media_of_key(BUCKET, "videos/a.mp4")

    assert found is not None
    assert found.hashed_id == "new"
    assert len(list(ledger.versions_of_key(BUCKET, "videos/a.mp4"))) == 3


def test_a_key_whose_versions_never_became_a_media_has_none(ledger: Ledger) -> None:
    ledger.record(version("videos/a.mp4", "v1"), Outcome(MediaStatus.REJECTED, reason="x"))
    ledger.record(version("videos/a.mp4", "v2"), Outcome(MediaStatus.COPY_FAILED, reason="y"))

    assert ledger.media_of_key(BUCKET, "videos/a.mp4") is None


def test_a_key_is_not_confused_with_a_longer_one(ledger: Ledger) -> None:
    ledger.record(version("videos/a.mp4.json", "v1"), Outcome(MediaStatus.ACCEPTED, hashed_id="sidecar"))

    assert ledger.media_of_key(BUCKET, "videos/a.mp4") is None
