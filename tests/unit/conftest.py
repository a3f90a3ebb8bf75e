"""Helpers shared by the unit tests: sample events from events/, configurations, records."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge.models import S3Object

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
BUCKET = "media-uploads-example"
REGION = "us-east-1"

# The smallest environment from_environ accepts; tests override single variables.
BASE_ENV = {
    "AWS_REGION": REGION,
    "WISTIA_SECRET_ID": "arn:aws:secretsmanager:us-east-1:111122223333:secret:wistia-token-AbCdEf",
    "ALLOWED_BUCKETS": BUCKET,
    "FAILURE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/s3-wistia-bridge-failures",
}


def read_event(name: str) -> Any:
    """A sample event from events/, freshly parsed (tests may mutate it)."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def build_config(**overrides: str | None) -> BridgeConfig:
    """BridgeConfig.from_environ over BASE_ENV; an override of None removes the variable."""
    env = dict(BASE_ENV)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return BridgeConfig.from_environ(env)


def s3_record(
    raw_key: str,
    *,
    bucket: str = BUCKET,
    region: str = REGION,
    size: Any = 1024,
    event_name: str = "ObjectCreated:Put",
) -> dict[str, Any]:
    """One S3 notification record whose key is given exactly as it appears on the wire."""
    record: dict[str, Any] = copy.deepcopy(read_event("s3-put.json")["Records"][0])
    record["awsRegion"] = region
    record["eventName"] = event_name
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"]["key"] = raw_key
    record["s3"]["object"]["size"] = size
    return record


def s3_event_for(key: str, **kwargs: Any) -> dict[str, Any]:
    """The notification S3 sends for `key` (form-encoded, '/' kept)."""
    return {"Records": [s3_record(quote_plus(key, safe="/"), **kwargs)]}


def s3_object(
    key: str = "videos/clip.mp4",
    *,
    bucket: str = BUCKET,
    region: str = REGION,
    size: int | None = 1024,
) -> S3Object:
    return S3Object(bucket=bucket, key=key, region=region, size=size)


@pytest.fixture(scope="session")
def load_event() -> Callable[[str], Any]:
    return read_event


@pytest.fixture(scope="session")
def make_config() -> Callable[..., BridgeConfig]:
    return build_config
