"""Sidecars, captions and tags deployed into ministack: one buffered stack with Sidecars=on, a short
SidecarWaitSeconds, Captions=on and CopyObjectTags=true. A sidecar arriving before, after or never
(the wait runs out) gives one media with the right metadata; a caption lands on its media."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from local_stack.harness import LocalStack

from .support import E2E, VIDEO, copies_of, eventually

pytestmark = E2E
WAIT_SECONDS = 4
COMPANIONS = {
    "Delivery": "buffered",
    "FunctionTimeoutSeconds": "5",
    "WistiaConnectTimeoutSeconds": "1",
    "WistiaReadTimeoutSeconds": "3",
    "Sidecars": "on",
    "SidecarWaitSeconds": str(WAIT_SECONDS),
    "Captions": "on",
    "CopyObjectTags": "true",
}
SRT = b"1\n00:00:01,000 --> 00:00:02,000\nHello from e2e\n\n"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack("e2e-side", parameters=COMPANIONS) as local:
        yield local


@pytest.fixture
def wistia(stack: LocalStack) -> Any:
    assert stack.emulator is not None
    return stack.emulator


def _media_of(wistia: Any, key: str) -> dict[str, Any] | None:
    copies = [request for request in copies_of(wistia, key) if request["status"] == 200]
    if not copies or not copies[0].get("hashed_id"):
        return None
    details: dict[str, Any] = wistia.media(copies[0]["hashed_id"])
    return details


def _sidecar(name: str) -> bytes:
    return json.dumps({"name": name, "description": f"{name}, described", "tags": ["e2e"]}).encode()


def test_a_sidecar_before_its_video(stack: LocalStack, wistia: Any) -> None:
    stack.upload("side/before.mp4.json", _sidecar("Before"))
    time.sleep(0.5)
    stack.client("s3").put_object(Bucket=stack.bucket, Key="side/before.mp4", Body=VIDEO, Tagging="team=news")
    eventually(lambda: (_media_of(wistia, "side/before.mp4") or {}).get("tags") == ["e2e", "team=news"], 30)
    media = _media_of(wistia, "side/before.mp4")
    assert media is not None
    assert (media["name"], media["description"]) == ("Before", "Before, described")
    assert len(copies_of(wistia, "side/before.mp4")) == 1


def test_a_sidecar_after_its_video_completes_the_pair(stack: LocalStack, wistia: Any) -> None:
    stack.upload("side/after.mp4", VIDEO)
    time.sleep(1)  # the video's event waits (sidecar_pending) while the sidecar is written
    stack.upload("side/after.json", _sidecar("After"))
    eventually(lambda: (_media_of(wistia, "side/after.mp4") or {}).get("name") == "After", 30)
    time.sleep(WAIT_SECONDS + 2)  # the video's own retry comes back: the duplicate answer
    assert len(copies_of(wistia, "side/after.mp4")) == 1


def test_no_sidecar_the_video_goes_after_the_wait(stack: LocalStack, wistia: Any) -> None:
    started = time.monotonic()
    stack.upload("side/never.mp4", VIDEO)
    eventually(lambda: _media_of(wistia, "side/never.mp4") is not None, 30)
    assert time.monotonic() - started >= WAIT_SECONDS - 1  # it waited for a sidecar
    media = _media_of(wistia, "side/never.mp4")
    assert media is not None
    assert media["name"] == "never.mp4"
    assert len(copies_of(wistia, "side/never.mp4")) == 1


def test_a_caption_lands_on_its_media(stack: LocalStack, wistia: Any) -> None:
    stack.upload("side/captioned.mp4.json", _sidecar("Captioned"))
    stack.upload("side/captioned.mp4", VIDEO)
    stack.upload("side/captioned.en.srt", SRT)
    eventually(lambda: "eng" in (_media_of(wistia, "side/captioned.mp4") or {}).get("captions", {}), 30)
    media = _media_of(wistia, "side/captioned.mp4")
    assert media is not None
    assert "Hello from e2e" in media["captions"]["eng"]["text"]
    assert media["name"] == "Captioned"
