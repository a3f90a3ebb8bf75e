"""Chaos: many objects through the real bridge under Wistia faults, with Lambda's async semantics.

In-process and loopback only: moto (SQS, DynamoDB, Secrets Manager) and the Wistia emulator
injecting faults (5xx, 429 with Retry-After, dropped connections, timeouts). `AsyncLambda`
reproduces what Lambda does with an asynchronous event: it may deliver it twice, retries an
invocation that raised up to twice, then writes the on-failure invocation record to the failure
queue. Each worker thread is one "container" with its own bridge (own Session, own token cache),
like Lambda. When the faults stop, the queue is replayed with the operator tool. The ledger then
checks the one promise: every accepted object is exactly one media, none lost, none duplicated,
no rejected object sent.

`make chaos` runs it big and prints the figures; tests/chaos runs it smaller inside `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from s3_wistia_bridge.events import s3_notification
from s3_wistia_bridge.observability import logger
from s3_wistia_bridge.runtime import build_bridge, handle
from s3_wistia_bridge_cli.cli import main as operator_cli
from s3_wistia_bridge_cli.replay import ContextStub
from wistia_emulator import Faults, WistiaEmulator

TOKEN = "chaos-token-0123456789abcdef"  # noqa: S105 - the emulator's, not a real secret
BUCKET = "chaos-videos"
REGION = "us-east-1"
MAX_RETRIES = 2  # Lambda's MaximumRetryAttempts, as deployed
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:chaos"


@dataclass(frozen=True)
class ChaosConfig:
    objects: int = 1000
    rejected: int = 50  # objects the allowlist refuses (wrong extension), on top of `objects`
    fault_rate: float = 0.32
    duplicate_rate: float = 0.1  # share of events S3/Lambda deliver twice
    workers: int = 8  # concurrent "containers"
    seed: int = 7
    read_timeout: float = 0.5  # the bridge's per-attempt read timeout (injected timeouts exceed it)


@dataclass
class ChaosReport:
    config: ChaosConfig
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def exactly_once(self) -> bool:
        return all(self.figures[name] == 0 for name in ("lost", "duplicated", "rejected_sent"))

    def table(self) -> str:
        width = max(len(name) for name in self.figures)
        lines = [f"{name.ljust(width)}  {value}" for name, value in self.figures.items()]
        verdict = "exactly once: yes" if self.exactly_once else "exactly once: NO"
        return "\n".join([*lines, verdict])


class AsyncLambda:
    """Lambda's asynchronous invocation, in-process, for one handler per worker thread."""

    def __init__(self, build_handler: Any, queue_url: str, duplicate_rate: float, seed: int) -> None:
        self._build_handler = build_handler
        self._local = threading.local()
        self._queue_url = queue_url
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._duplicate_rate = duplicate_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def deliveries(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """At-least-once: some events arrive twice."""
        with self._lock:
            twice = self._random.random() < self._duplicate_rate
        self.counts["deliveries"] += 2 if twice else 1
        self.counts["duplicate_deliveries"] += 1 if twice else 0
        return [event, event] if twice else [event]

    def invoke_async(self, event: dict[str, Any]) -> None:
        handler = getattr(self._local, "handler", None)
        if handler is None:
            handler = self._local.handler = self._build_handler()
        error: Exception | None = None
        for attempt in range(1 + MAX_RETRIES):
            with self._lock:
                self.counts["invocations"] += 1
            try:
                handler(event, _context(f"req-{id(event)}-{attempt}"))
            except Exception as raised:  # Lambda catches everything the handler raises
                error = raised
                with self._lock:
                    self.counts["invocation_errors"] += 1
            else:
                return
        assert error is not None  # noqa: S101 - the loop only ends here after an exception
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(_on_failure(event, error)))
        with self._lock:
            self.counts["on_failure_records"] += 1


def run_chaos(config: ChaosConfig, replay_concurrency: int = 8) -> ChaosReport:
    """Run the scenario against a fresh moto server and emulator; both are stopped at the end."""
    started = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    emulator = WistiaEmulator(tokens=(TOKEN,), seed=config.seed).start()
    try:
        with _environment(f"http://{host}:{port}") as env:
            return _run(config, env, emulator, replay_concurrency, started)
    finally:
        emulator.stop()
        server.stop()


def _run(
    config: ChaosConfig,
    env: dict[str, str],
    emulator: WistiaEmulator,
    replay_concurrency: int,
    started: float,
) -> ChaosReport:
    env |= _resources(emulator.url, config)
    os.environ.update(env)
    queue_url = env["FAILURE_QUEUE_URL"]
    accepted = [f"chaos/{i:05d} clip+{i % 7}.mp4" for i in range(config.objects)]
    refused = [f"chaos/{i:05d}-notes.txt" for i in range(config.rejected)]
    emulator.set_faults(_faults(config.fault_rate), seed=config.seed)

    lam = AsyncLambda(_build_handler, queue_url, config.duplicate_rate, config.seed)
    _deliver(lam, accepted + refused, config)
    chaos_seconds = time.monotonic() - started
    faulted = Counter(str(r["fault"]) for r in emulator.requests() if r.get("fault"))

    emulator.reset_faults()
    queued = _queue_depth(queue_url)
    replay_status = _replay(queue_url, replay_concurrency)
    report = ChaosReport(config)
    report.figures = {
        "accepted objects": len(accepted),
        "rejected objects": len(refused),
        **{label: lam.counts[count] for label, count in _LAMBDA_FIGURES.items()},
        **_wistia_figures(emulator, faulted),
        "on-failure records queued": lam.counts["on_failure_records"],
        "queue depth before replay": queued,
        "replay exit status": replay_status,
        "queue depth after replay": _queue_depth(queue_url),
        **_ledger(emulator, accepted),
        "seconds": round(time.monotonic() - started, 1),
        "seconds under faults": round(chaos_seconds, 1),
    }
    return report


def _build_handler() -> Any:
    """One container's handler: its own bridge, built from the environment `_run` set."""
    bridge = build_bridge(os.environ)
    return lambda event, context: handle(bridge, event, context)


# Ledger label -> AsyncLambda count.
_LAMBDA_FIGURES = {
    "deliveries (incl. duplicates)": "deliveries",
    "duplicate deliveries": "duplicate_deliveries",
    "invocations (incl. Lambda retries)": "invocations",
    "invocations that raised": "invocation_errors",
}


def _deliver(lam: AsyncLambda, keys: list[str], config: ChaosConfig) -> None:
    """Every key's event, some twice, in a seeded random order, over `config.workers` threads."""
    events = [_s3_event(key, i) for i, key in enumerate(keys)]
    random.Random(config.seed).shuffle(events)
    deliveries = [delivery for event in events for delivery in lam.deliveries(event)]
    random.Random(config.seed + 1).shuffle(deliveries)  # duplicates arrive at other times
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        list(pool.map(lam.invoke_async, deliveries))


def _replay(queue_url: str, concurrency: int) -> int:
    """The operator's `replay --local` over the failure queue; its exit status."""
    argv = ["replay", "--queue-url", queue_url, "--local", "--no-progress", "--yes"]
    return operator_cli([*argv, "--concurrency", str(concurrency), "--json"])


def _wistia_figures(emulator: WistiaEmulator, faulted: Counter[str]) -> dict[str, Any]:
    paths = Counter(str(r["path"]) for r in emulator.requests())
    injected = sum(faulted.values())
    return {
        "Wistia copy requests": paths["/s3_copy"],
        "Data API lookups (after unanswered copies)": paths["/modern/medias"],
        "faults injected": injected,
        "fault share of copy requests": f"{injected / max(paths['/s3_copy'], 1):.0%}",
        "faults by kind": dict(sorted(faulted.items())),
    }


def _ledger(emulator: WistiaEmulator, accepted: list[str]) -> dict[str, int]:
    """The promise: each accepted key is one media, and no rejected object reached Wistia."""
    media_per_key = Counter(str(m["source"]["source_file"]) for m in emulator.medias())
    sent = (str(r["form"].get("source_file")) for r in emulator.requests())
    return {
        "medias in Wistia": sum(media_per_key.values()),
        "lost": sum(1 for key in accepted if media_per_key[key] == 0),
        "duplicated": sum(1 for key in accepted if media_per_key[key] > 1),
        "rejected_sent": sum(1 for source_file in sent if source_file.endswith(".txt")),
    }


def _faults(rate: float) -> Faults:
    """`rate` of all requests faulted, spread over every kind the issue names.

    Drops and timeouts include the ambiguous kind: Wistia creates the media, then the answer is
    lost (connection dropped after processing) or late (read timeout), so only the Data API
    lookup stands between the bridge and a second media.
    """
    return Faults(
        error_rates={500: rate * 0.2, 502: rate * 0.1, 503: rate * 0.1, 429: rate * 0.2},
        retry_after=0,
        drop_rate=rate * 0.1,
        drop_after_processing_rate=rate * 0.15,
        timeout_rate=rate * 0.15,
        timeout_seconds=1.0,
        timeout_after_processing=True,
    )


def _resources(upload_url: str, config: ChaosConfig) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="chaos-failures")["QueueUrl"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="chaos-idempotency",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="chaos-token", SecretString=TOKEN
    )
    return {
        "WISTIA_SECRET_ID": secret["ARN"],
        "WISTIA_UPLOAD_URL": upload_url,
        "WISTIA_API_URL": upload_url,
        "ALLOWED_BUCKETS": BUCKET,
        "FAILURE_QUEUE_URL": queue_url,
        "IDEMPOTENCY_TABLE": "chaos-idempotency",
        "WISTIA_CONNECT_TIMEOUT_SECONDS": "1",
        "WISTIA_READ_TIMEOUT_SECONDS": str(config.read_timeout),
        # Fewer attempts per invocation than deployed (4), so that Lambda's retries, the
        # on-failure records and the replay carry a real share of the load.
        "WISTIA_MAX_ATTEMPTS": "2",
    }


@contextlib.contextmanager
def _environment(endpoint: str) -> Iterator[dict[str, str]]:
    """Point every boto3 client at moto, quiet the bridge's logs and metrics, then restore."""
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    saved = dict(os.environ)
    os.environ.update(env)
    level = logger.log_level
    logger.setLevel("CRITICAL")  # tens of thousands of lines otherwise; the ledger tells the story
    try:
        yield env
    finally:
        logger.setLevel(level)
        os.environ.clear()
        os.environ.update(saved)


def _queue_depth(queue_url: str) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _s3_event(key: str, index: int) -> dict[str, Any]:
    return s3_notification(
        BUCKET, REGION, key, size=1024 + index, etag=f"{index:032x}", sequencer=f"{index:016X}"
    )


def _on_failure(event: dict[str, Any], error: Exception) -> dict[str, Any]:
    """The invocation record Lambda's OnFailure destination writes, as documented in
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": "chaos",
            "functionArn": FUNCTION_ARN,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1 + MAX_RETRIES,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []},
    }


def _context(request_id: str) -> ContextStub:
    """One invocation's Lambda context: 30 s to run."""
    return ContextStub(
        remaining_seconds=30.0,
        function_name="chaos",
        memory_limit_in_mb=256,
        invoked_function_arn=FUNCTION_ARN,
        aws_request_id=request_id,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Exactly-once under faults (make chaos)")
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.32)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    config = ChaosConfig(
        objects=args.objects, fault_rate=args.fault_rate, workers=args.workers, seed=args.seed
    )
    report = run_chaos(config)
    print(report.table())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report.figures | {"exactly_once": report.exactly_once}, out, indent=2)
    return 0 if report.exactly_once else 1


if __name__ == "__main__":
    raise SystemExit(main())
