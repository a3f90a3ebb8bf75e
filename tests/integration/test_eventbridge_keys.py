"""S3's EventBridge events: AWS does not document whether their keys are URL-encoded.

moto and ministack send the raw key; Powertools' data class decodes it as a notification's. The
bridge asks S3 which of the two exists with the event's size and ETag, and copies that one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from s3_wistia_bridge.validation import Reason

from tests.conftest import load_event

from .conftest import BUCKET, Stack
from .test_handler import invoke, s3_copies

pytestmark = pytest.mark.integration

REAL_KEY = "videos/a test+1.mp4"


def eventbridge_event(stack: Stack, key_in_event: str, real_key: str = REAL_KEY) -> dict[str, Any]:
    """The sample event, for the object stored under `real_key`, carrying `key_in_event`."""
    head = stack.s3.head_object(Bucket=BUCKET, Key=real_key)
    event: dict[str, Any] = copy.deepcopy(load_event("eventbridge-object-created.json"))
    event["detail"]["object"] = {
        "key": key_in_event,
        "size": head["ContentLength"],
        "etag": head["ETag"].strip('"'),
        "sequencer": "00617F08299329D189",
    }
    return event


@pytest.fixture
def app(stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]) -> ModuleType:
    stack.s3.put_object(Bucket=BUCKET, Key=REAL_KEY, Body=b"\x00\x00\x00\x18ftypmp42 a cut")
    return load_app(stack.env)


@pytest.mark.parametrize(
    "key_in_event",
    [REAL_KEY, "videos/a+test%2B1.mp4", "videos/a%20test%2B1.mp4"],
    ids=["raw (moto, ministack)", "form-encoded (as notifications)", "percent-encoded"],
)
def test_the_key_that_exists_is_copied_whatever_the_encoding(
    stack: Stack, app: ModuleType, key_in_event: str
) -> None:
    result = invoke(app, eventbridge_event(stack, key_in_event))

    assert result["objects"][0]["outcome"] == "copied"
    [request] = s3_copies(stack)
    assert request["form"]["source_file"] == REAL_KEY


def test_a_key_that_exists_neither_way_is_rejected_as_missing(stack: Stack, app: ModuleType) -> None:
    event = eventbridge_event(stack, "videos/other+clip.mp4")

    result = invoke(app, event)

    assert (result["objects"][0]["outcome"], result["objects"][0]["reason"]) == (
        "rejected",
        Reason.OBJECT_MISSING,
    )
    assert s3_copies(stack) == []


def test_another_object_under_the_other_reading_is_not_taken_for_this_one(
    stack: Stack, app: ModuleType
) -> None:
    # "videos/a+b.mp4" read raw and "videos/a b.mp4" decoded both exist; the event's ETag says which.
    stack.s3.put_object(Bucket=BUCKET, Key="videos/a+b.mp4", Body=b"the plus one")
    stack.s3.put_object(Bucket=BUCKET, Key="videos/a b.mp4", Body=b"the space one")

    invoke(app, eventbridge_event(stack, "videos/a+b.mp4", real_key="videos/a b.mp4"))

    [request] = s3_copies(stack)
    assert request["form"]["source_file"] == "videos/a b.mp4"


def test_a_key_without_anything_to_decode_costs_no_s3_call(
    stack: Stack, app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.s3.put_object(Bucket=BUCKET, Key="videos/plain.mp4", Body=b"plain")
    calls: list[Any] = []
    monkeypatch.setattr(app.BRIDGE._objects, "head", calls.append)

    invoke(app, eventbridge_event(stack, "videos/plain.mp4", real_key="videos/plain.mp4"))

    assert calls == []
    assert len(s3_copies(stack)) == 1
