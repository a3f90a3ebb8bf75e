"""Exactly once: duplicates absorbed, overwrites copied, failures never remembered (moto DynamoDB)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from s3_wistia_bridge.errors import TransientFailure

from tests.conftest import LambdaContextStub

from .conftest import Stack, metric_values
from .faults import fail_requests

pytestmark = pytest.mark.integration


def invoke(app: ModuleType, event: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.lambda_handler(event, LambdaContextStub(remaining_seconds=30))
    return result


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def outcome(result: dict[str, Any]) -> str:
    return str(result["objects"][0]["outcome"])


def test_duplicate_delivery_creates_one_media_and_answers_with_the_stored_hashed_id(
    stack: Stack, bridge_app: ModuleType, function_output: Callable[[], list[dict[str, Any]]]
) -> None:
    event = stack.put("videos/once.mp4")

    first, second = invoke(bridge_app, event), invoke(bridge_app, event)

    [media] = stack.emulator.medias()
    assert (outcome(first), outcome(second)) == ("copied", "duplicate")
    assert first["objects"][0]["hashed_id"] == second["objects"][0]["hashed_id"] == media["hashed_id"]
    assert [v for v, _ in metric_values(function_output(), "DuplicateSuppressed")] == [1]


def test_the_stored_record_holds_the_hashed_id_and_object_version(
    stack: Stack, bridge_app: ModuleType
) -> None:
    event = stack.put("videos/remembered.mp4")
    invoke(bridge_app, event)

    [item] = stack.idempotency_items()
    data = json.loads(item["data"]["S"])
    assert item["status"]["S"] == "COMPLETED"
    assert data["hashed_id"] == stack.emulator.medias()[0]["hashed_id"]
    assert (data["key"], data["version"]) == (
        "videos/remembered.mp4",
        event["Records"][0]["s3"]["object"]["eTag"],
    )
    assert item["id"]["S"].startswith("s3-wistia-bridge.copy#")
    assert "expiration" in item


def test_an_overwrite_with_new_content_is_copied_again(stack: Stack, bridge_app: ModuleType) -> None:
    invoke(bridge_app, stack.put("videos/edited.mp4", body=b"first cut"))
    result = invoke(bridge_app, stack.put("videos/edited.mp4", body=b"final cut"))

    assert outcome(result) == "copied"
    assert len(stack.emulator.medias()) == 2


def test_different_objects_get_different_idempotency_keys(stack: Stack, bridge_app: ModuleType) -> None:
    invoke(bridge_app, stack.put("videos/a.mp4", body=b"same bytes"))
    invoke(bridge_app, stack.put("videos/b.mp4", body=b"same bytes"))  # same ETag, other key

    assert len({item["id"]["S"] for item in stack.idempotency_items()}) == 2
    assert len(stack.emulator.medias()) == 2


def test_a_permanent_failure_is_not_remembered_so_a_replay_copies(
    stack: Stack, bridge_app: ModuleType
) -> None:
    event = stack.put("videos/limit.mp4")
    stack.emulator.video_limit = 0
    assert outcome(invoke(bridge_app, event)) == "permanent_failure"
    assert stack.idempotency_items() == []

    stack.emulator.video_limit = None  # the operator upgraded the plan
    assert outcome(invoke(bridge_app, event)) == "copied"
    assert len(stack.emulator.medias()) == 1


def test_a_transient_failure_is_not_remembered_so_a_retry_copies(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    app = load_app(stack.env | {"WISTIA_MAX_ATTEMPTS": "1"})
    event = stack.put("videos/outage.mp4")
    fail_requests(stack.emulator, 503, times=1, retry_after=0)
    with pytest.raises(TransientFailure):
        invoke(app, event)

    assert outcome(invoke(app, event)) == "copied"
    assert len(stack.emulator.medias()) == 1


def test_a_concurrent_duplicate_neither_copies_twice_nor_is_lost(
    stack: Stack, bridge_app: ModuleType
) -> None:
    event = stack.put("videos/race.mp4")
    stack.emulator.faults.latency_seconds = 1.0
    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(invoke(bridge_app, event)))
    first.start()
    wait_until(lambda: len(stack.emulator.requests()) == 1)  # the first copy is in flight

    with pytest.raises(TransientFailure) as raised:  # Lambda will retry it later
        invoke(bridge_app, event)
    first.join()

    assert raised.value.reason == "duplicate_in_progress"
    assert outcome(results[0]) == "copied"
    stack.emulator.faults.latency_seconds = 0.0
    assert outcome(invoke(bridge_app, event)) == "duplicate"  # the retry is answered, not lost
    assert len(stack.emulator.medias()) == 1
