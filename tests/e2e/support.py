"""What the e2e modules share: their markers, a sample video, polling, and the copies Wistia saw of a key."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from local_stack.harness import BUILT_TEMPLATE, MINISTACK, SAM

# Every e2e module: the marker, skipped (not failed) without the local tools.
E2E = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (MINISTACK.exists() and SAM.exists() and BUILT_TEMPLATE.exists()),
        reason="needs the ministack and SAM venvs and a sam build: run `make e2e`",
    ),
]
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(1024)


def eventually(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.25)


def copies_of(wistia: Any, key: str) -> list[dict[str, Any]]:
    return [r for r in wistia.requests() if r["path"] == "/s3_copy" and r["form"]["source_file"] == key]
