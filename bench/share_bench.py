"""Figure 9: live uploads while a backfill runs, sharing Wistia's account rate limit.

Two scenarios side by side, each against a fresh moto process and a fresh emulator, on the
compressed clock of figure 7 (bench/burst.py: the same stack, the same account token bucket of
L = 600/min with a bucket of 10, the same answer time t = 1 s, the same delivery simulator):

- A, live only: LIVE_OBJECTS S3 notifications arrive at a steady LIVE_PER_MINUTE, invoked
  asynchronously (local_stack.deliveries.AsyncLambda, LIVE_CONCURRENCY at once) through the real
  ingest bridge, idempotency on;
- B, the same live uploads while a backfill runs: BACKFILL_OBJECTS tasks through the real batch
  function (batch_function.build_batch_function: HeadObject on moto S3, idempotency, the rate
  share in the same DynamoDB table), played by concurrent workers the way S3 Batch Operations
  plays a job (local_stack.batch_runner.run_task: one task per invocation, TemporaryFailure
  retried with backoff), BackfillRatePerMinute = SHARE_PER_MINUTE (its default, a third of L).
  Twice, for BACKFILL_WORKERS: fewer workers than the share's waiting room (its burst plus the
  turns within BackfillMaxWaitSeconds: 5 + 6 at 200/min), so every task waits its turn; and
  more, so that some are refused (TemporaryFailure) and retried, as at Batch Operations' scale.

Time to copy: from a live object's arrival to Wistia's 200 for its s3_copy (the emulator's log:
the request's time plus t). The backfill's rate: its accepted copies after the share's burst,
over the time from its first to its last, as Wistia received them. Lost: objects with no media;
duplicates: medias beyond one per object. Every figure is in simulated seconds.

The rate share's clock (its DynamoDB bucket reads the simulated Unix time) and its turn waits
run on the simulated clock, like the bridge's backoff sleeps (deliveries.compressed).

    python -m bench.run --only share          # these rows alone, about a minute
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from unittest import mock

import boto3
from local_stack.batch_runner import JobOptions, ManifestRow, TaskOutcome, in_process, run_task
from local_stack.clocked_moto import moto_process
from local_stack.deliveries import (
    AsyncLambda,
    Clock,
    Containers,
    Sessions,
    SimulatedContext,
    compressed,
    send_json,
)
from s3_wistia_bridge import batch_function
from s3_wistia_bridge.rate_share import DynamoRateLimiter, RateLimitedCopier, RateShare
from wistia_emulator import WistiaEmulator

from . import REGION
from .burst import ANSWER_SECONDS, BURST, FUNCTION_TIMEOUT, LIMIT_PER_MINUTE, ingest_factory, stack_resources
from .stack import BUCKET, TOKEN, environment, s3_event
from .warm import quiet_function

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Simulated seconds per real second: low, as for figure 7's buffered rows, because here live and
# backfill invocations share this process, whose real milliseconds count `RATE` times.
RATE = 2.0
LIVE_PER_MINUTE = 240  # 4 a second: with the backfill's share, 440 of L's 600
LIVE_OBJECTS = 180  # 45 s of live uploads
LIVE_CONCURRENCY = 10  # a new account's concurrency quota; 4/s x (t + overhead) need about 5
SHARE_PER_MINUTE = 200  # BackfillRatePerMinute, its default: a third of L
SHARE_BURST = 5  # BackfillRateBurst, its default
SHARE_MAX_WAIT = 2  # BackfillMaxWaitSeconds, its default
BACKFILL_WORKERS = (8, 20)  # concurrent tasks: within the share's waiting room, and beyond it
# The share x the live window, so the backfill runs alongside every live upload.
BACKFILL_OBJECTS = SHARE_PER_MINUTE * LIVE_OBJECTS // LIVE_PER_MINUTE + SHARE_BURST
# Batch Operations retries TemporaryFailure (the share used up) more than the runner's default.
JOB = JobOptions(max_attempts=10, backoff_seconds=0.5, job_id="share-bench")


def share_figures() -> dict[str, Any]:
    started = time.perf_counter()
    scenarios = {"live only": _scenario(0)}
    scenarios |= {f"live + backfill, {n} workers": _scenario(n) for n in BACKFILL_WORKERS}
    return {
        "rate": RATE,
        "limit_per_minute": LIMIT_PER_MINUTE,
        "burst": BURST,
        "answer_seconds": ANSWER_SECONDS,
        "live_per_minute": LIVE_PER_MINUTE,
        "live_objects": LIVE_OBJECTS,
        "live_concurrency": LIVE_CONCURRENCY,
        "share_per_minute": SHARE_PER_MINUTE,
        "share_burst": SHARE_BURST,
        "backfill_objects": BACKFILL_OBJECTS,
        "scenarios": scenarios,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _scenario(workers: int) -> dict[str, Any]:
    """Live uploads, with a backfill of `workers` concurrent tasks (0: none)."""
    clock = Clock(RATE)
    emulator = WistiaEmulator(
        tokens=(TOKEN,), rate_limit_per_minute=LIMIT_PER_MINUTE, rate_limit_burst=BURST, clock_rate=clock.rate
    )
    emulator.set_faults(latency_seconds=ANSWER_SECONDS / clock.rate)
    live_keys = [f"live/{i:05d}.mp4" for i in range(LIVE_OBJECTS)]
    with moto_process(clock) as moto_url, emulator, environment({"AWS_ENDPOINT_URL": moto_url}):
        env, _ = stack_resources(emulator.url)
        rows = _stocked_bucket(BACKFILL_OBJECTS) if workers else []
        sessions = Sessions()
        containers = Containers(ingest_factory(env, sessions), clock, FUNCTION_TIMEOUT)
        failures = send_json(boto3.client("sqs", region_name=REGION), env["FAILURE_QUEUE_URL"])
        live = AsyncLambda(containers, clock, failures, LIVE_CONCURRENCY)
        arrivals = [(i * 60 / LIVE_PER_MINUTE, s3_event(key, i)) for i, key in enumerate(live_keys)]
        batch_env = env | {
            "BACKFILL_RATE_PER_MINUTE": str(SHARE_PER_MINUTE),
            "BACKFILL_RATE_BURST": str(SHARE_BURST),
            "BACKFILL_MAX_WAIT_SECONDS": str(SHARE_MAX_WAIT),
        }
        with compressed(clock), share_on(clock), quiet_function(), ThreadPoolExecutor(1) as side:
            # Warm containers: their cold starts would compete with live uploads for this
            # process's one interpreter lock, which Lambda's separate sandboxes do not share.
            functions = [
                batch_function.build_batch_function(batch_env, sessions.new()) for _ in range(workers)
            ]
            begun = clock.now()
            job = side.submit(_backfill, functions, clock, rows)
            live.deliver(arrivals)
            outcomes = job.result()
        return _figures(emulator, clock, begun, live_keys, (rows, outcomes)) | {
            "cold_starts": containers.counts["cold_starts"],
            "on_failure_records": containers.counts["on_failure_records"],
            "backfill_workers": workers,
        }


@contextlib.contextmanager
def share_on(clock: Clock) -> Iterator[None]:
    """The batch functions built meanwhile take their rate share's tokens on the simulated clock
    (its bucket's times are simulated Unix milliseconds) and sleep their turns on it. Their
    conditional writes to the bucket's item go one at a time, as DynamoDB applies them (moto's
    server does not: its backend has no lock, so two takes could both pass one condition)."""
    serial = OneWriteAtATime()

    def limiter(client: DynamoDBClient, table: str, share: RateShare) -> DynamoRateLimiter:
        return DynamoRateLimiter(serial.wrap(client), table, share, clock=clock.epoch)

    copier = functools.partial(RateLimitedCopier, sleep=clock.sleep)
    with (
        mock.patch.object(batch_function, "DynamoRateLimiter", limiter),
        mock.patch.object(batch_function, "RateLimitedCopier", copier),
    ):
        yield


class OneWriteAtATime:
    """One lock for every client it wraps: UpdateItem calls go through one at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def wrap(self, client: DynamoDBClient) -> DynamoDBClient:
        lock = self._lock

        class Serial:
            def update_item(self, **kwargs: Any) -> Any:
                with lock:
                    return client.update_item(**kwargs)

        return cast("DynamoDBClient", Serial())


def _stocked_bucket(objects: int) -> list[ManifestRow]:
    """The bucket with `objects` small videos (the batch function heads each one); the manifest."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    keys = [f"backfill/{i:05d}.mp4" for i in range(objects)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"\0" * 1024)
    return [ManifestRow(BUCKET, key, None) for key in keys]  # these keys need no URL-encoding


def _backfill(
    functions: list[batch_function.BatchFunction], clock: Clock, rows: list[ManifestRow]
) -> list[TaskOutcome]:
    """The job's tasks, one worker per batch function container, all at once."""
    pending = iter(rows)
    lock = threading.Lock()
    ids = itertools.count(1)

    def context() -> SimulatedContext:
        return SimulatedContext(clock, FUNCTION_TIMEOUT, f"batch-{next(ids)}")

    def work(function: batch_function.BatchFunction) -> list[TaskOutcome]:
        invoke = in_process(function.handle, context)
        done: list[TaskOutcome] = []
        while True:
            with lock:
                row = next(pending, None)
            if row is None:
                return done
            done.append(run_task(invoke, row, JOB, sleep=clock.sleep))

    with ThreadPoolExecutor(max(len(functions), 1)) as pool:
        workers = [pool.submit(work, function) for function in functions]
        return [outcome for worker in workers for outcome in worker.result()]


def _figures(
    emulator: WistiaEmulator,
    clock: Clock,
    begun: float,
    live_keys: list[str],
    job: tuple[list[ManifestRow], list[TaskOutcome]],
) -> dict[str, Any]:
    rows, outcomes = job
    accepted, statuses = _copy_log(emulator, clock)
    medias = Counter(str(m["source"]["source_file"]) for m in emulator.medias())
    arrivals = {key: begun + i * 60 / LIVE_PER_MINUTE for i, key in enumerate(live_keys)}
    copied = [(accepted[key] - arrivals[key], arrivals[key] - begun) for key in live_keys if key in accepted]
    keys = [*live_keys, *(row.key for row in rows)]
    return (
        _live_figures(copied)
        | _backfill_figures(
            rows, outcomes, accepted, medias, (begun, begun + LIVE_OBJECTS * 60 / LIVE_PER_MINUTE)
        )
        | {
            "live_429": statuses["live 429"],
            "backfill_429": statuses["backfill 429"],
            "data_api_lookups": statuses["lookups"],
            "lost": sum(1 for key in keys if not medias[key]),
            "duplicates": sum(n - 1 for n in medias.values() if n > 1),
        }
    )


def _live_figures(copied: list[tuple[float, float]]) -> dict[str, Any]:
    """From (time to copy, arrival) per live object copied."""
    times = [time_to_copy for time_to_copy, _ in copied]
    return {
        "live_median_seconds": statistics.median(times),
        "live_p95_seconds": percentile(times, 95),
        "live_max_seconds": max(times),
        "live_slowest": [[round(t, 2), round(at, 1)] for t, at in sorted(copied, reverse=True)[:12]],
    }


def _backfill_figures(
    rows: list[ManifestRow],
    outcomes: list[TaskOutcome],
    accepted: dict[str, float],
    medias: Counter[str],
    window: tuple[float, float],
) -> dict[str, Any]:
    """The backfill's rate while the live uploads arrive (the figure's question: `window`, when
    its requests reached Wistia), and over the whole job, first to last, whose tail is the tasks
    still backing off after refusals."""
    moments = sorted(t - ANSWER_SECONDS for key, t in accepted.items() if key.startswith("backfill/"))
    return {
        "backfill_copied": sum(1 for row in rows if medias[row.key]),
        "backfill_per_minute": rate_within(moments, window, SHARE_BURST),
        "backfill_per_minute_whole_job": achieved_per_minute(moments, SHARE_BURST),
        "backfill_results": dict(Counter(o.code.value for o in outcomes)),
        "backfill_attempts": sum(o.attempts for o in outcomes),
    }


def _copy_log(emulator: WistiaEmulator, clock: Clock) -> tuple[dict[str, float], Counter[str]]:
    """From Wistia's request log: when each object's s3_copy was accepted (simulated seconds:
    the request's arrival plus t), and the copy requests by kind and status."""
    accepted: dict[str, float] = {}
    statuses: Counter[str] = Counter()
    for record in emulator.requests():
        if record["path"] != "/s3_copy":
            statuses["lookups"] += 1  # the Data API, asked after an ambiguous answer
            continue
        source = str(record["form"].get("source_file", ""))
        statuses[f"{source.split('/', 1)[0]} {record['status']}"] += 1
        if record["status"] == 200:
            moment = (datetime.fromisoformat(record["time"]).timestamp() - clock.start) * clock.rate
            accepted.setdefault(source, moment + ANSWER_SECONDS)
    return accepted, statuses


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile, linear between the closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def achieved_per_minute(moments: Sequence[float], burst: int) -> float:
    """Requests a minute sent at `moments` (sorted, seconds) by a token bucket of `burst`: the
    first `burst` may go at once, so the rate is that of the rest, over the first to the last."""
    if len(moments) <= burst:
        return 0.0
    span = moments[-1] - moments[0]
    return 60 * (len(moments) - burst) / span if span > 0 else float("inf")


def rate_within(moments: Sequence[float], window: tuple[float, float], burst: int) -> float:
    """Requests a minute sent at `moments` (seconds) within `window`, by a token bucket of
    `burst` that starts full at the window's start: the burst that may go at once left out."""
    start, end = window
    inside = sum(1 for moment in moments if start <= moment <= end)
    return 60 * max(inside - burst, 0) / (end - start)
