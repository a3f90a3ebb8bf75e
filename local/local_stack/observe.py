"""What became of each uploaded object, as seen from outside: Wistia, the logs and the queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .harness import LocalStack


@dataclass(frozen=True)
class Observed:
    outcome: str  # copied | rejected | permanent_failure | transient_failure | pending
    detail: str


def observe(stack: LocalStack, keys: Iterable[str]) -> dict[str, Observed]:
    assert stack.emulator is not None  # noqa: S101 - the stack is running
    copied = {
        r["form"].get("source_file"): r["hashed_id"]
        for r in stack.emulator.requests()
        if r["path"] == "/s3_copy" and r["status"] == 200
    }
    rejected = {
        str(r.get("object", "")).removeprefix(f"s3://{stack.bucket}/"): str(r.get("reason"))
        for r in stack.function_logs()
        if r.get("message") == "rejected"
    }
    queued = {key: reason for key, reason in (_queued(body) for body in stack.queue_messages()) if key}
    found = {}
    for key in keys:
        if key in copied:
            found[key] = Observed("copied", f"hashed_id {copied[key]}")
        elif key in queued:
            kind, reason = queued[key]
            found[key] = Observed(kind, reason)
        elif key in rejected:
            found[key] = Observed("rejected", rejected[key])
        else:
            found[key] = Observed("pending", "")
    return found


def wait_for(
    stack: LocalStack,
    expected: dict[str, str],
    timeout: float,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Observed]:
    """Poll until every key shows its expected outcome (or any final one), bounded by timeout."""
    started = time.monotonic()
    while True:
        found = observe(stack, expected)
        done = sum(1 for key, seen in found.items() if seen.outcome == expected[key])
        progress(f"  {done}/{len(expected)} outcomes ({time.monotonic() - started:4.1f}s)")
        if done == len(expected) or time.monotonic() - started > timeout:
            return found
        time.sleep(0.5)


def _queued(body: dict[str, Any]) -> tuple[str | None, tuple[str, str]]:
    """(key, (outcome, reason)) for the bridge's own records and Lambda's on-failure records."""
    if body.get("type") == "s3-wistia-bridge.failure":
        return (body.get("object") or {}).get("key"), ("permanent_failure", str(body.get("reason")))
    payload = body.get("requestPayload")
    if isinstance(payload, dict):
        from s3_wistia_bridge.events import parse_event  # noqa: PLC0415
        from s3_wistia_bridge.models import S3Object  # noqa: PLC0415

        objects = [item for item in parse_event(payload) if isinstance(item, S3Object)]
        error = (body.get("responsePayload") or {}).get("errorMessage", "")
        if objects:
            return objects[0].key, ("transient_failure", str(error).split(":")[0] or "retries exhausted")
    return None, ("", "")
