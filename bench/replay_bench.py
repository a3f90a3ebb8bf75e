"""Figure 5: the operator's `replay --local` draining queued failures, sequential vs concurrent,
against the emulator answering each copy after a fixed latency.

The failure queue lives in ministack, as in `make demo` and the e2e tier: moto's SQS scans the
whole queue on every receive and delete (draining 1,000 messages, with no replay at all, takes
it ~20 s on this machine against ~0.2 s for ministack), which would measure moto, not the replay.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from local_stack.harness import start_ministack, stop_ministack
from s3_wistia_bridge.errors import PermanentFailure
from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.failures import failure_record
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge_cli import queue as queue_module
from s3_wistia_bridge_cli.cli import main

from . import REGION
from .stack import Stack, environment, s3_event


def _bodies(label: str, count: int) -> list[str]:
    """`count` failures about distinct objects: half the bridge's own failure records, half
    Lambda's on-failure records (the two kinds the queue holds)."""
    bodies: list[str] = []
    for i in range(count):
        event = s3_event(f"replay/{label}/{i:05d} clip.mp4", i)
        if i % 2 == 0:
            [obj] = parse_event(event)
            failure = PermanentFailure(
                FailureReason.WISTIA_VIDEO_LIMIT, "Wistia answered HTTP 400", http_status=400
            )
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


@contextlib.contextmanager
def ministack_queue(scratch: Path) -> Iterator[tuple[Any, str]]:
    """An SQS client and a failure queue in ministack (own process group, stopped at the end)."""
    process, endpoint = start_ministack(scratch)
    try:
        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        yield sqs, sqs.create_queue(QueueName="bench-replay-failures")["QueueUrl"]
    finally:
        stop_ministack(process)


def _fill(sqs: Any, queue_url: str, label: str, count: int) -> None:
    bodies = _bodies(label, count)
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[start : start + 10])]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    time.sleep(0.01)  # every message strictly older than the run (replay skips newer ones)


def _replay(
    stack: Stack, sqs: Any, queue_url: str, concurrency: int, idempotency: bool
) -> tuple[float, dict[str, Any]]:
    argv = ["replay", "--queue-url", queue_url, "--local", "--no-progress", "--json", "--yes"]
    argv += ["--concurrency", str(concurrency)]
    out = io.StringIO()
    wait = queue_module.RECEIVE_WAIT_SECONDS
    queue_module.RECEIVE_WAIT_SECONDS = 0  # the last, empty receive would wait out a long poll
    # The replay's SQS calls (and the bridge's, were one to fail) go to ministack; the secret and
    # the idempotency table stay in moto.
    env = stack.function_env(idempotency=idempotency) | {
        "FAILURE_QUEUE_URL": queue_url,
        "AWS_ENDPOINT_URL_SQS": sqs.meta.endpoint_url,
    }
    try:
        with environment(env), contextlib.redirect_stdout(out):
            started = time.perf_counter()
            code = main(argv)
            seconds = time.perf_counter() - started
    finally:
        queue_module.RECEIVE_WAIT_SECONDS = wait
    document = json.loads(out.getvalue())
    if code != 0:
        raise RuntimeError(f"replay exited {code}: {document.get('summary')}")
    return seconds, document["summary"]


def replay_throughput(
    stack: Stack, messages: int, *, workers: int, latency: float, idempotency: bool, scratch: Path
) -> dict[str, Any]:
    stack.emulator.set_faults(latency_seconds=latency)
    try:
        results: dict[str, Any] = {}
        with ministack_queue(scratch) as (sqs, queue_url):
            for label, concurrency in (("sequential", 1), ("concurrent", workers)):
                _fill(sqs, queue_url, label, messages)
                seconds, summary = _replay(stack, sqs, queue_url, concurrency, idempotency)
                if summary["replayed"] != messages:
                    raise RuntimeError(f"{label} replay: {summary}")
                results[label] = {
                    "concurrency": concurrency,
                    "seconds": round(seconds, 2),
                    "messages_per_second": round(messages / seconds, 1),
                }
    finally:
        stack.emulator.reset_faults()
    return {
        "messages": messages,
        "queue": "ministack SQS",
        "emulator_latency_ms": latency * 1000,
        "idempotency": idempotency,
        **results,
        "speedup": round(results["sequential"]["seconds"] / results["concurrent"]["seconds"], 2),
    }
