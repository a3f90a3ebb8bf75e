"""What became of each uploaded object, as seen from outside: Wistia, the logs and the queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.models import S3Object

from .harness import LocalStack


@dataclass(frozen=True)
class Observed:
    outcome: str  # copied | rejected | permanent_failure | transient_failure | pending
    detail: str


PENDING = Observed("pending", "")


def observe(stack: LocalStack, keys: Iterable[str]) -> dict[str, Observed]:
    # The first source that knows a key tells its outcome: a copy outranks a queued failure (it
    # was replayed), and a queued failure outranks a rejection.
    sources = (_copied(stack), _queued_by_key(stack), _rejected(stack))
    return {key: next((source[key] for source in sources if key in source), PENDING) for key in keys}


def _copied(stack: LocalStack) -> dict[str, Observed]:
    assert stack.emulator is not None  # noqa: S101 - the stack is running
    return {
        r["form"].get("source_file"): Observed("copied", f"hashed_id {r['hashed_id']}")
        for r in stack.emulator.requests()
        if r["path"] == "/s3_copy" and r["status"] == 200
    }


def _rejected(stack: LocalStack) -> dict[str, Observed]:
    return {
        str(r.get("object", "")).removeprefix(f"s3://{stack.bucket}/"): Observed(
            "rejected", str(r.get("reason"))
        )
        for r in stack.function_logs()
        if r.get("message") == "rejected"
    }


def _queued_by_key(stack: LocalStack) -> dict[str, Observed]:
    queued = (_queued(body) for body in stack.queue_messages())
    return {key: Observed(*outcome) for key, outcome in queued if key}


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
    """(key, (outcome, reason)) for the bridge's own records, Lambda's on-failure records (direct
    delivery) and original events the ingest queue's redrive policy moved (buffered delivery)."""
    if body.get("type") == "s3-wistia-bridge.failure":
        return (body.get("object") or {}).get("key"), ("permanent_failure", str(body.get("reason")))
    payload = body.get("requestPayload")
    if isinstance(payload, dict):
        error = (body.get("responsePayload") or {}).get("errorMessage", "")
        return _first_key(payload), ("transient_failure", str(error).split(":")[0] or "retries exhausted")
    return _first_key(body), ("transient_failure", "deliveries exhausted (redrive policy)")


def _first_key(event: dict[str, Any]) -> str | None:
    return next((item.key for item in parse_event(event) if isinstance(item, S3Object)), None)
