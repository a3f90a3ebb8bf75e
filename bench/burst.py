"""Figure 7: a burst. N objects land at once; Wistia's account limit L (a token bucket, 429 with
Retry-After when empty) and its answer time t decide how fast they can be copied.

Both delivery modes in one run, each against a fresh moto (its own process, SQS on the simulated
clock) and a fresh emulator, through local_stack.deliveries on a compressed clock (`rate` simulated
seconds per real second: the emulator's bucket refills that much faster and answers after t/rate,
Lambda's retry delays, the queue's visibility timeouts and the bridge's backoff sleeps all shrink
alike, and the bridge still decides on simulated seconds). Every figure is in simulated seconds.

- direct: S3 invokes the function asynchronously, DIRECT_CONCURRENCY at once (a new account's
  concurrency quota); a 429 is slept through in the invocation (up to 4 attempts), then Lambda
  retries a minute and two minutes later, then the on-failure record.
- buffered: an SQS ingest queue and an event source mapping (batch size 1, MaximumConcurrency C);
  a transient failure waits in the queue (its visibility set to Wistia's Retry-After).

Drain: from the burst to the last event settled. 429 share: of every upload request. Billed:
the sum of invocation durations / N. Lost: objects with no media at the end (before any replay).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from local_stack.clocked_moto import moto_process
from local_stack.deliveries import (
    AsyncLambda,
    Clock,
    Containers,
    Mapping,
    QueueLambda,
    Sessions,
    compressed,
    send_json,
)
from s3_wistia_bridge.runtime import build_bridge, handle
from wistia_emulator import WistiaEmulator

from . import REGION
from .stack import BUCKET, PROJECT, TOKEN, environment, s3_event
from .warm import quiet_function

# Simulated seconds per real second. Direct delivery waits minutes (Lambda's retries), so it runs
# fast; buffered delivery runs slower, so this process's own overhead per invocation (boto3 and
# moto calls, real milliseconds, multiplied by the rate in simulated time) stays small next to t.
DIRECT_RATE = 5.0
BUFFERED_RATE = 2.0
LIMIT_PER_MINUTE = 600  # Wistia's documented account limit
BURST = 10  # the bucket's size: one second of refill (Wistia does not say; an assumption)
ANSWER_SECONDS = 1.0  # t: how long Wistia takes to answer an accepted s3_copy
FUNCTION_TIMEOUT = 60.0  # the template's default
DIRECT_CONCURRENCY = 50
TABLE = "burst-idempotency"


@dataclass(frozen=True)
class Scenario:
    label: str
    mode: str
    concurrency: int
    rate: float


# What one message costs besides Wistia's answer (DynamoDB, SQS receive and delete), measured here.
MESSAGE_OVERHEAD_SECONDS = 0.12


def scenarios() -> list[Scenario]:
    # Copies in flight that keep L busy: L x (t + overhead). One more overshoots into 429s (13: a
    # 9 % share here); one fewer drains just above 1.10 x the floor (11: 1.12x, no 429).
    needed = math.ceil(LIMIT_PER_MINUTE / 60 * (ANSWER_SECONDS + MESSAGE_OVERHEAD_SECONDS))
    return [
        Scenario(f"direct, {DIRECT_CONCURRENCY} concurrent", "direct", DIRECT_CONCURRENCY, DIRECT_RATE),
        Scenario("buffered, MaximumConcurrency 5 (the default)", "buffered", 5, BUFFERED_RATE),
        Scenario(f"buffered, MaximumConcurrency {needed} (L x (t + o))", "buffered", needed, BUFFERED_RATE),
    ]


def burst(objects: int) -> dict[str, Any]:
    started = time.perf_counter()
    results = {s.label: _scenario(s, objects) for s in scenarios()}
    return {
        "objects": objects,
        "limit_per_minute": LIMIT_PER_MINUTE,
        "burst": BURST,
        "answer_seconds": ANSWER_SECONDS,
        "floor_seconds": objects / (LIMIT_PER_MINUTE / 60),
        "scenarios": results,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _scenario(scenario: Scenario, objects: int) -> dict[str, Any]:
    clock = Clock(scenario.rate)
    emulator = WistiaEmulator(
        tokens=(TOKEN,), rate_limit_per_minute=LIMIT_PER_MINUTE, rate_limit_burst=BURST, clock_rate=clock.rate
    )
    emulator.set_faults(latency_seconds=ANSWER_SECONDS / clock.rate)
    with moto_process(clock) as moto_url, emulator, environment({"AWS_ENDPOINT_URL": moto_url}):
        env, ingest = stack_resources(emulator.url)
        keys = [f"burst/{i:05d} clip.mp4" for i in range(objects)]
        sessions = Sessions()
        containers = Containers(ingest_factory(env, sessions), clock, FUNCTION_TIMEOUT)
        with compressed(clock), quiet_function():
            begun = clock.now()
            _deliver(scenario, [s3_event(key, i) for i, key in enumerate(keys)], containers, ingest)
            drain = clock.now() - begun
        figures = _figures(emulator, containers, keys, env["FAILURE_QUEUE_URL"])
        return figures | {
            "drain_seconds": round(drain, 1),
            "concurrency": scenario.concurrency,
            "rate": clock.rate,
        }


def ingest_factory(env: dict[str, str], sessions: Sessions) -> Callable[[], Any]:
    def build() -> Any:
        bridge = build_bridge(env, sessions.new())
        return lambda event, context: handle(bridge, event, context)

    return build


def _deliver(scenario: Scenario, events: list[dict[str, Any]], containers: Containers, ingest: str) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    if scenario.mode == "direct":
        failures = send_json(sqs, os.environ["FAILURE_QUEUE_URL"])
        AsyncLambda(containers, containers.clock, failures, scenario.concurrency).deliver(
            [(0.0, event) for event in events]
        )
        return
    for start in range(0, len(events), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(e)} for i, e in enumerate(events[start : start + 10])
        ]
        sqs.send_message_batch(QueueUrl=ingest, Entries=entries)
    QueueLambda(containers, containers.clock, sqs, ingest, Mapping(scenario.concurrency)).drain()


def _figures(
    emulator: WistiaEmulator, containers: Containers, keys: list[str], failure_queue: str
) -> dict[str, Any]:
    copies = [r for r in emulator.requests() if r["path"] == "/s3_copy"]
    statuses = Counter(r["status"] for r in copies)
    copied = {str(m["source"]["source_file"]) for m in emulator.medias()}
    return {
        "requests": len(copies),
        "rate_limited": statuses[429],
        "share_429": statuses[429] / max(len(copies), 1),
        "billed_seconds_per_object": containers.billed_seconds / len(keys),
        "invocations": containers.counts["invocations"],
        "lost": sum(1 for key in keys if key not in copied),
        "on_failure_or_dlq": containers.counts["on_failure_records"] + _depth(failure_queue),
    }


def _depth(queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def stack_resources(upload_url: str) -> tuple[dict[str, str], str]:
    """The stack as deployed: idempotency table, token secret, failure queue, and the ingest
    queue (visibility 6 x the function timeout, redrive to the failure queue after 8 receives)."""
    sqs = boto3.client("sqs", region_name=REGION)
    failures = sqs.create_queue(QueueName="burst-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=failures, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 8})
    attributes = {"VisibilityTimeout": str(int(6 * FUNCTION_TIMEOUT)), "RedrivePolicy": redrive}
    ingest = sqs.create_queue(QueueName="burst-ingest", Attributes=attributes)["QueueUrl"]
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="burst", SecretString=TOKEN
    )
    os.environ["FAILURE_QUEUE_URL"] = failures  # where AsyncLambda writes its on-failure records
    env = {
        **{name: os.environ[name] for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")},
        "WISTIA_SECRET_ID": secret["ARN"],
        "WISTIA_UPLOAD_URL": upload_url,
        "WISTIA_API_URL": upload_url,
        "ALLOWED_BUCKETS": BUCKET,
        "WISTIA_PROJECT_ID": PROJECT,
        "FAILURE_QUEUE_URL": failures,
        "IDEMPOTENCY_TABLE": TABLE,
        "CONTENT_CHECK": "false",  # the burst's objects are announced, never stored
    }
    return env, ingest
