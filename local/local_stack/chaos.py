"""Chaos: many objects through the real bridge under faults, in both delivery modes.

In-process and loopback only: moto (SQS, DynamoDB, Secrets Manager) and the Wistia emulator
injecting faults (5xx, 429, a few permanent 4xx, dropped connections, timeouts, some after Wistia
created the media). On top of those (injection.py): sandboxes killed at four points of a copy,
DynamoDB errors on every idempotency call, failed SendMessage to the failure queue, and
duplicate deliveries. Deliveries are simulated by deliveries.py, time-compressed: `direct`
through Lambda's asynchronous invocation (retries a minute and two minutes later, then the
on-failure record), `buffered` through an SQS event source mapping on a moto ingest queue whose
redrive policy moves a message to the failure queue after maxReceiveCount receives. Each worker
thread is one "container" with its own bridge, rebuilt after a kill.

When the faults stop, the operator replays the failure queue (in real time, after the run: the
in-progress locks of killed sandboxes, which last the invocation's remaining simulated time,
have expired), again while a replay leaves messages behind (a replay's own transient failure). The ledger
then checks the one promise: every accepted object is exactly one media, none lost, none
duplicated, no rejected object sent.

`make chaos` runs both modes big and prints the figures; tests/chaos runs them smaller inside
`make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from s3_wistia_bridge.events import s3_notification
from s3_wistia_bridge.observability import logger
from s3_wistia_bridge.runtime import build_bridge, handle
from s3_wistia_bridge_cli.cli import main as operator_cli
from wistia_emulator import Faults, WistiaEmulator

from .clocked_moto import moto_process
from .deliveries import AsyncLambda, Clock, Containers, Handler, Mapping, QueueLambda, compressed, send_json
from .injection import Injector, Rates

TOKEN = "chaos-token-0123456789abcdef"  # noqa: S105 - the emulator's, not a real secret
BUCKET = "chaos-videos"
REGION = "us-east-1"
TABLE = "chaos-idempotency"
MODES = ("direct", "buffered")


@dataclass(frozen=True)
class ChaosConfig:
    objects: int = 1000
    rejected: int = 50  # objects the allowlist refuses (wrong extension), on top of `objects`
    fault_rate: float = 0.32  # share of Wistia upload requests faulted (transient kinds)
    permanent_rate: float = 0.016  # ... and answered 422, a permanent failure (a failure record)
    duplicate_rate: float = 0.1  # share of events S3 delivers twice
    workers: int = 8  # concurrent "containers": async concurrency, or MaximumConcurrency
    seed: int = 7
    read_timeout: float = 0.5  # the bridge's per-attempt read timeout (injected timeouts exceed it)
    kill_rate: float = 0.02  # per kill point passed
    dynamodb_error_rate: float = 0.02  # per idempotency table call
    sqs_send_error_rate: float = 0.3  # per SendMessage of a failure record
    redelivery_rate: float = 0.02  # buffered: in-flight messages SQS also gives another poller
    clock_rate: float = 20.0  # simulated seconds per real second
    timeout: float = 30.0  # the function's timeout, simulated seconds
    max_receive_count: int = 8  # buffered: the ingest queue's redrive policy


@dataclass
class ChaosReport:
    config: ChaosConfig
    mode: str
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def exactly_once(self) -> bool:
        return all(self.figures[name] == 0 for name in ("lost", "duplicated", "rejected_sent"))

    def table(self) -> str:
        width = max(len(name) for name in self.figures)
        lines = [f"{name.ljust(width)}  {value}" for name, value in self.figures.items()]
        verdict = "exactly once: yes" if self.exactly_once else "exactly once: NO"
        return "\n".join([f"== {self.mode} delivery ==", *lines, verdict])


def run_chaos(config: ChaosConfig, mode: str = "direct", replay_concurrency: int = 8) -> ChaosReport:
    """Run one mode against a fresh moto server (its own process) and emulator; both are stopped
    at the end."""
    clock = Clock(config.clock_rate)
    with (
        moto_process(clock) as moto_url,
        WistiaEmulator(tokens=(TOKEN,), seed=config.seed) as emulator,
        _environment(moto_url) as env,
    ):
        return _run(config, mode, env, emulator, clock=clock, replay_concurrency=replay_concurrency)


def _run(
    config: ChaosConfig,
    mode: str,
    env: dict[str, str],
    emulator: WistiaEmulator,
    *,
    clock: Clock,
    replay_concurrency: int,
) -> ChaosReport:
    started = time.monotonic()
    env |= _resources(emulator.url, config)
    os.environ.update(env)
    queue_url = env["FAILURE_QUEUE_URL"]
    accepted = [f"chaos/{i:05d} clip+{i % 7}.mp4" for i in range(config.objects)]
    refused = [f"chaos/{i:05d}-notes.txt" for i in range(config.rejected)]
    emulator.set_faults(_faults(config.fault_rate, config.permanent_rate), seed=config.seed)
    rates = Rates(config.kill_rate, config.dynamodb_error_rate, config.sqs_send_error_rate)
    injector = Injector(rates, config.seed)
    containers = Containers(lambda: _build_handler(injector.session()), clock, config.timeout)
    deliveries = _deliveries(accepted + refused, config)
    # Powertools prints EMF metrics although they are disabled; the ledger tells the story.
    with (
        compressed(clock),
        injector.kill_points(),
        open(os.devnull, "w") as null,
        contextlib.redirect_stdout(null),
    ):
        _deliver(mode, deliveries, containers, config, queue_url)
    chaos_seconds = time.monotonic() - started
    injector.enabled = False
    faulted = Counter(str(r["fault"]) for r in emulator.requests() if r.get("fault"))
    emulator.reset_faults()
    queued = _queue_contents(queue_url)
    replay_statuses = _replay(queue_url, replay_concurrency)
    report = ChaosReport(config, mode)
    report.figures = {
        "accepted objects": len(accepted),
        "rejected objects": len(refused),
        "deliveries (incl. duplicates)": len(deliveries),
        "duplicate deliveries": len(deliveries) - len(accepted) - len(refused),
        **_lambda_figures(mode, containers.counts),
        **_wistia_figures(emulator, faulted),
        "kills by point": _by_prefix(injector.counts, "kill "),
        "DynamoDB errors injected": _by_prefix(injector.counts, "dynamodb "),
        "failure-queue SendMessage failures injected": injector.counts["sqs SendMessage InternalError"],
        "failure queue before replay": queued,
        "replay exit statuses (one per round)": replay_statuses,
        "queue depth after replay": sum(_queue_contents(queue_url).values()),
        **_ledger(emulator, accepted),
        "seconds": round(time.monotonic() - started, 1),
        "seconds under faults": round(chaos_seconds, 1),
    }
    return report


def _build_handler(session: boto3.session.Session) -> Handler:
    """One container's handler: its own bridge, built from the environment `_run` set."""
    bridge = build_bridge(os.environ, session)
    return lambda event, context: handle(bridge, event, context)


def _deliveries(keys: list[str], config: ChaosConfig) -> list[tuple[float, dict[str, Any]]]:
    """Every key's event at once, in a seeded random order; some again, up to a minute later."""
    events = [_s3_event(key, i) for i, key in enumerate(keys)]
    rng = random.Random(config.seed)  # reproducible, not a secret
    rng.shuffle(events)
    again = [(rng.uniform(0, 60), event) for event in events if rng.random() < config.duplicate_rate]
    return [(0.0, event) for event in events] + again


def _deliver(
    mode: str,
    deliveries: list[tuple[float, dict[str, Any]]],
    containers: Containers,
    config: ChaosConfig,
    failure_queue_url: str,
) -> None:
    clock = containers.clock
    sqs = boto3.client("sqs", region_name=REGION)  # Lambda's and S3's own calls: never faulted
    if mode == "direct":
        AsyncLambda(containers, clock, send_json(sqs, failure_queue_url), config.workers).deliver(deliveries)
        return
    ingest_url = _ingest_queue(sqs, failure_queue_url, config)
    for _, event in sorted(deliveries, key=lambda delivery: delivery[0]):
        sqs.send_message(QueueUrl=ingest_url, MessageBody=json.dumps(event))
    mapping = Mapping(config.workers, batch_size=1, redelivery_rate=config.redelivery_rate, seed=config.seed)
    QueueLambda(containers, clock, sqs, ingest_url, mapping).drain()


def _ingest_queue(sqs: Any, failure_queue_url: str, config: ChaosConfig) -> str:
    """The buffered ingest queue: visibility six times the function timeout (AWS's advice),
    redrive to the failure queue after maxReceiveCount receives."""
    arn = sqs.get_queue_attributes(QueueUrl=failure_queue_url, AttributeNames=["QueueArn"])["Attributes"]
    policy = {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": config.max_receive_count}
    attributes = {"VisibilityTimeout": str(int(6 * config.timeout)), "RedrivePolicy": json.dumps(policy)}
    return str(sqs.create_queue(QueueName="chaos-ingest", Attributes=attributes)["QueueUrl"])


def _lambda_figures(mode: str, counts: Counter[str]) -> dict[str, Any]:
    figures = {
        "invocations": counts["invocations"],
        "containers started (cold starts)": counts["cold_starts"],
        "invocations that raised": counts["invocation_errors"],
        "sandboxes killed": counts["killed"],
    }
    if mode == "direct":
        return figures | {
            "Lambda retries": counts["retries"],
            "on-failure records queued": counts["on_failure_records"],
        }
    return figures | {
        "redeliveries (ApproximateReceiveCount > 1)": counts["redeliveries"],
        "in-flight messages also given to another poller": counts["sqs_redeliveries"],
        "messages reported in batchItemFailures": counts["message_failures"],
    }


def _by_prefix(counts: Counter[str], prefix: str) -> dict[str, int]:
    return {name.removeprefix(prefix): n for name, n in sorted(counts.items()) if name.startswith(prefix)}


def _queue_contents(queue_url: str) -> dict[str, int]:
    """The failure queue's messages by kind: the bridge's records, Lambda's on-failure records,
    and ingest messages the redrive policy moved there (their body is the S3 event)."""
    sqs = boto3.client("sqs", region_name=REGION)
    kinds: Counter[str] = Counter(dict.fromkeys(_KINDS, 0))
    handles = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            kinds[_kind(json.loads(message["Body"]))] += 1
            handles.append(message["ReceiptHandle"])
    for handle_ in handles:  # seen, not taken: visible again for the replay
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle_, VisibilityTimeout=0)
    return dict(kinds)


_KINDS = ("bridge failure records", "on-failure records", "moved by the redrive policy (DLQ)")


def _kind(body: Any) -> str:
    if isinstance(body, dict) and "requestPayload" in body:
        return _KINDS[1]
    if isinstance(body, dict) and "Records" in body:
        return _KINDS[2]
    return _KINDS[0]


def _replay(queue_url: str, concurrency: int, rounds: int = 3) -> list[int]:
    """The operator's `replay --local` over the failure queue, run again (as the runbook says)
    while it leaves messages, also after a round that exited 0 (a record written during a round is
    left for the next one); each round's exit status."""
    argv = [
        "replay",
        "--queue-url",
        queue_url,
        "--local",
        "--no-progress",
        "--yes",
        "--concurrency",
        str(concurrency),
    ]
    statuses: list[int] = []
    while len(statuses) < rounds:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):  # its report: the figures
            statuses.append(operator_cli([*argv, "--json"]))
        if not sum(_queue_contents(queue_url).values()):
            break
    return statuses


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


def _faults(rate: float, permanent: float) -> Faults:
    """`rate` of all requests faulted, spread over every kind the issue names, and `permanent`
    answered 422, so that failure records (and their SendMessage) occur.

    Drops and timeouts include the ambiguous kind: Wistia creates the media, then the answer is
    lost (connection dropped after processing) or late (read timeout), so only the Data API
    lookup stands between the bridge and a second media.
    """
    return Faults(
        error_rates={500: rate * 0.2, 502: rate * 0.1, 503: rate * 0.1, 429: rate * 0.2, 422: permanent},
        retry_after=0,
        drop_rate=rate * 0.1,
        drop_after_processing_rate=rate * 0.15,
        timeout_rate=rate * 0.15,
        timeout_seconds=1.0,
        timeout_after_processing=True,
    )


def _resources(upload_url: str, config: ChaosConfig) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    # The failure queue keeps messages as long as the template's (14 days).
    retention = {"MessageRetentionPeriod": "1209600"}
    queue_url = sqs.create_queue(QueueName="chaos-failures", Attributes=retention)["QueueUrl"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=TABLE,
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
        "IDEMPOTENCY_TABLE": TABLE,
        "CONTENT_CHECK": "false",  # the harness announces objects it never stores
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


def _s3_event(key: str, index: int) -> dict[str, Any]:
    return s3_notification(
        BUCKET, REGION, key, size=1024 + index, etag=f"{index:032x}", sequencer=f"{index:016X}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Exactly-once under faults, both modes (make chaos)")
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.32)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=MODES, action="append", help="one mode (default: both)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    config = ChaosConfig(
        objects=args.objects, fault_rate=args.fault_rate, workers=args.workers, seed=args.seed
    )
    reports = [run_chaos(config, mode) for mode in args.mode or MODES]
    print("\n\n".join(report.table() for report in reports))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            document = {r.mode: r.figures | {"exactly_once": r.exactly_once} for r in reports}
            json.dump(document, out, indent=2)
    return 0 if all(report.exactly_once for report in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
