"""Figure 5: the operator's `replay --local` draining queued failures, sequential vs concurrent,
against the emulator answering each copy after a fixed latency."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import threading
import time
from typing import Any

from .stack import Stack, environment, s3_event


def _bodies(label: str, count: int) -> list[str]:
    """`count` failures about distinct objects: half the bridge's own failure records, half
    Lambda's on-failure records (the two kinds the queue holds)."""
    from s3_wistia_bridge.errors import PermanentFailure  # noqa: PLC0415
    from s3_wistia_bridge.events import parse_event  # noqa: PLC0415
    from s3_wistia_bridge.failures import failure_record  # noqa: PLC0415

    bodies: list[str] = []
    for i in range(count):
        event = s3_event(f"replay/{label}/{i:05d} clip.mp4", i)
        if i % 2 == 0:
            [obj] = parse_event(event)
            failure = PermanentFailure("wistia_video_limit", "Wistia answered HTTP 400", http_status=400)
            record: dict[str, Any] = failure_record(failure, obj, request_id="bench", function_arn="arn:fn")  # type: ignore[arg-type]
        else:
            record = {
                "version": "1.0",
                "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                "requestPayload": event,
                "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
                "responsePayload": {"errorMessage": "wistia_rate_limited: HTTP 503"},
            }
        bodies.append(json.dumps(record))
    return bodies


def _fill(stack: Stack, label: str, count: int) -> None:
    bodies = _bodies(label, count)
    sqs = stack.clients["sqs"]
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[start : start + 10])]
        sqs.send_message_batch(QueueUrl=stack.queue_url, Entries=entries)
    time.sleep(0.01)  # every message strictly older than the run (replay skips newer ones)


def _replay(stack: Stack, concurrency: int, idempotency: bool) -> tuple[float, dict[str, Any]]:
    from s3_wistia_bridge.operator import queue as queue_module  # noqa: PLC0415
    from s3_wistia_bridge.operator.cli import main  # noqa: PLC0415

    argv = ["replay", "--queue-url", stack.queue_url, "--local", "--no-progress", "--json"]
    argv += ["--concurrency", str(concurrency)]
    out = io.StringIO()
    wait = queue_module.RECEIVE_WAIT_SECONDS
    queue_module.RECEIVE_WAIT_SECONDS = 0  # moto answers at once; an empty long poll costs 1 s
    try:
        with environment(stack.function_env(idempotency=idempotency)), contextlib.redirect_stdout(out):
            started = time.perf_counter()
            code = main(argv)
            seconds = time.perf_counter() - started
    finally:
        queue_module.RECEIVE_WAIT_SECONDS = wait
    document = json.loads(out.getvalue())
    if code != 0:
        raise RuntimeError(f"replay exited {code}: {document.get('summary')}")
    return seconds, document["summary"]


class MemorySqs:
    """The SQS calls the replay makes, in memory, each O(1): moto's SQS scans the whole
    queue on every receive and delete (~60 ms and ~8 ms with 1,000 messages), which would
    measure moto rather than the replay."""

    def __init__(self, bodies: list[str]) -> None:
        sent = str(int(time.time() * 1000) - 1000)
        self._visible = [
            {"MessageId": f"m-{i}", "Body": body, "Attributes": {"SentTimestamp": sent}}
            for i, body in enumerate(bodies)
        ]
        self._handles = itertools.count()
        self._inflight: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def receive_message(self, MaxNumberOfMessages: int = 1, **_: Any) -> dict[str, Any]:
        with self._lock:
            batch, self._visible = self._visible[:MaxNumberOfMessages], self._visible[MaxNumberOfMessages:]
            messages = []
            for message in batch:
                handle = f"h-{next(self._handles)}"
                self._inflight[handle] = message
                messages.append({**message, "ReceiptHandle": handle})
        return {"Messages": messages}

    def delete_message_batch(self, Entries: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        with self._lock:
            for entry in Entries:
                self._inflight.pop(entry["ReceiptHandle"], None)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}

    def change_message_visibility_batch(self, Entries: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        with self._lock:
            for entry in Entries:
                message = self._inflight.pop(entry["ReceiptHandle"], None)
                if message is not None:
                    self._visible.append(message)
        return {"Successful": [], "Failed": []}


def _replay_in_memory(stack: Stack, label: str, count: int, concurrency: int, idempotency: bool) -> float:
    from s3_wistia_bridge.operator.queue import FailureQueue  # noqa: PLC0415
    from s3_wistia_bridge.operator.replay import LocalInvoker, ReplayOptions, replay  # noqa: PLC0415

    from .warm import quiet_function  # noqa: PLC0415

    queue = FailureQueue(MemorySqs(_bodies(label, count)), "memory://bench-failures", wait_seconds=0)
    with environment(stack.function_env(idempotency=idempotency)), quiet_function():
        invoker = LocalInvoker.from_environment(dict(os.environ))
        started = time.perf_counter()
        report = replay(queue, invoker, ReplayOptions(concurrency=concurrency))
        seconds = time.perf_counter() - started
    replayed = report.summary()["replayed"]
    if replayed != count:
        raise RuntimeError(f"in-memory replay ({label}): {report.summary()}")
    return seconds


def replay_throughput(
    stack: Stack, messages: int, workers: int, latency: float, idempotency: bool
) -> dict[str, Any]:
    stack.emulator.set_faults(latency_seconds=latency)
    try:
        results: dict[str, Any] = {}
        for label, concurrency in (("sequential", 1), ("concurrent", workers)):
            _fill(stack, label, messages)
            seconds, summary = _replay(stack, concurrency, idempotency)
            if summary["replayed"] != messages:
                raise RuntimeError(f"{label} replay: {summary}")
            memory = _replay_in_memory(stack, f"memory-{label}", messages, concurrency, idempotency)
            results[label] = {
                "concurrency": concurrency,
                "seconds": round(seconds, 2),
                "messages_per_second": round(messages / seconds, 1),
                "seconds_memory_queue": round(memory, 2),
            }
    finally:
        stack.emulator.reset_faults()
    return {
        "messages": messages,
        "emulator_latency_ms": latency * 1000,
        "idempotency": idempotency,
        **results,
        "speedup": round(results["sequential"]["seconds"] / results["concurrent"]["seconds"], 2),
        "speedup_memory_queue": round(
            results["sequential"]["seconds_memory_queue"] / results["concurrent"]["seconds_memory_queue"], 2
        ),
    }
