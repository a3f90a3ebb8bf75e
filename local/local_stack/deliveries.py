"""Lambda's two ways of delivering events to the bridge, simulated in-process for chaos and bench.

`AsyncLambda`: an asynchronous invocation (S3 notification, EventBridge rule): an event may arrive
twice; an invocation that fails is retried twice, a minute and then two minutes later; then
Lambda writes its on-failure invocation record to the failure queue
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).

`QueueLambda`: an SQS event source mapping on a real (moto) queue: pollers receive with the
queue's visibility timeout, build Lambda's SQS event, invoke the handler, delete the messages not
reported in `batchItemFailures` (the whole batch stays when the function fails or answers
malformed), at most MaximumConcurrency invocations at once; the queue's own redrive policy moves a
message to the dead-letter queue after maxReceiveCount receives (moto 5.2.5 applies it on receive,
as SQS does) (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).

Both run one handler per worker thread, a "container" built on its first invocation and thrown
away when its sandbox is killed (`SandboxKilled`), and bill each invocation's duration.

Time compression (`Clock(rate)`): `rate` simulated seconds pass per real second for every wait
outside the function (Lambda's retry delays, the queue's visibility timeouts: moto's SQS clock is
the simulated one) and for the bridge's own backoff sleeps, which are decided on simulated seconds
(Wistia's Retry-After, the invocation's remaining time, the 2 s in-function cap) and only then
slept `rate` times shorter. So compression changes how long a run takes, never which waits the
bridge chooses to sleep through. What stays real: HTTP round trips and timeouts, and the journal's and
Wistia's timestamps (compared with each other only).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import json
import random
import threading
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dt_time
from typing import Any
from unittest import mock

import aws_lambda_powertools.utilities.idempotency.base as idempotency_base
import aws_lambda_powertools.utilities.idempotency.persistence.base as persistence_base
import aws_lambda_powertools.utilities.idempotency.persistence.dynamodb as persistence_dynamodb
import boto3
import botocore.loaders
import botocore.session
import moto.sqs.models
from s3_wistia_bridge import runtime
from s3_wistia_bridge.wistia import WistiaClient

Handler = Callable[[Any, Any], Any]
# Simulated Unix time starts this far in the past, so the timestamps moto stamps on the simulated
# clock (SentTimestamp) are not in the real future for runs shorter than this in simulated time:
# the operator's replay, run in real time afterwards, skips messages "written during its run".
# Under 12 hours: moto refuses a visibility change that ends 12 hours after a message was sent.
EPOCH_OFFSET_SECONDS = 6 * 3600.0
# Lambda's waits before the 2nd and 3rd attempts of an asynchronous event.
ASYNC_RETRY_DELAYS = (60.0, 120.0)
# The Powertools modules that read the time as `dt.datetime.now()` (`import datetime as dt`).
_POWERTOOLS_CLOCKED = (idempotency_base, persistence_base, persistence_dynamodb)
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:s3-wistia-bridge-ingest"


class SandboxKilled(BaseException):
    """The sandbox died here (timeout, out of memory, a crash): nothing after this line runs.

    A BaseException, so no `except Exception` in the bridge or in Powertools sees it, as none
    would see a process that stopped."""


class Clock:
    """Simulated time: `rate` simulated seconds per real second, from the clock's creation."""

    def __init__(self, rate: float = 1.0, start: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("the clock rate must be positive")
        self.rate = rate
        # Wall time, not monotonic: a moto process rebuilds the same clock from rate and start.
        self.start = time.time() if start is None else start

    def now(self) -> float:
        """Simulated seconds since the clock started."""
        return (time.time() - self.start) * self.rate

    def epoch(self) -> float:
        """Simulated Unix time (what moto's SQS reads), behind the real one at first."""
        return self.start - EPOCH_OFFSET_SECONDS + self.now()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of simulated time."""
        if seconds > 0:
            time.sleep(seconds / self.rate)

    def simulated(self, real_seconds: float) -> float:
        return real_seconds * self.rate


@contextlib.contextmanager
def sqs_on(clock: Clock) -> Iterator[None]:
    """moto's SQS in this process on the simulated clock: visibility timeouts, delays, retention
    (clocked_moto.py does this in moto's own process)."""

    def unix_time(moment: datetime | None = None) -> float:
        return clock.epoch() if moment is None else moment.timestamp()

    def unix_time_millis(moment: datetime | None = None) -> float:
        return unix_time(moment) * 1000.0

    with (
        mock.patch.object(moto.sqs.models, "unix_time", unix_time),
        mock.patch.object(moto.sqs.models, "unix_time_millis", unix_time_millis),
    ):
        yield


@contextlib.contextmanager
def compressed(clock: Clock) -> Iterator[None]:
    """On the simulated clock, in this process: Powertools' idempotency records (the in-progress
    lock lasts the invocation's remaining simulated time) and the backoff sleeps of every bridge
    built meanwhile (WistiaClient's own `sleep` parameter; the delays it computes are unchanged).
    Afterwards real time is ahead of every simulated stamp, so a lock left by a killed sandbox
    has expired when the operator replays. moto's SQS: `sqs_on`, in moto's process."""

    class SimulatedDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> SimulatedDatetime:
            return cls.fromtimestamp(clock.epoch(), tz)

    powertools_dt = types.SimpleNamespace(
        datetime=SimulatedDatetime, timedelta=timedelta, date=date, time=dt_time
    )
    with contextlib.ExitStack() as stack:
        for module in _POWERTOOLS_CLOCKED:
            stack.enter_context(mock.patch.object(module, "dt", powertools_dt))
        sleepy = functools.partial(WistiaClient, sleep=clock.sleep)
        stack.enter_context(mock.patch.object(runtime, "WistiaClient", sleepy))
        yield


@dataclass
class SimulatedContext:
    """A Lambda context whose remaining time runs on the simulated clock."""

    clock: Clock
    timeout: float
    aws_request_id: str
    function_name: str = "s3-wistia-bridge-ingest"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = FUNCTION_ARN
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock.now()

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout - (self.clock.now() - self.started)) * 1000))


class Sessions:
    """boto3 sessions for the containers, all reading the SDK's service models through one loader,
    which keeps them parsed: a simulator economy (a real cold start parses them: bench/cold.py)."""

    def __init__(self) -> None:
        self._loader = botocore.loaders.create_loader()

    def new(self) -> boto3.session.Session:
        core = botocore.session.get_session()
        core.register_component("data_loader", self._loader)
        return boto3.session.Session(botocore_session=core)


class Containers:
    """One handler per worker thread, built on first use; a killed sandbox's is rebuilt."""

    def __init__(self, factory: Callable[[], Handler], clock: Clock, timeout: float) -> None:
        self._factory = factory
        self.clock = clock
        self._timeout = timeout
        self._local = threading.local()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.billed_seconds = 0.0

    def invoke(self, event: Any) -> tuple[Any, BaseException | None]:
        """The handler's answer, or what it raised (an Exception or SandboxKilled)."""
        handler = getattr(self._local, "handler", None)
        if handler is None:
            handler = self._local.handler = self._factory()
            self.count("cold_starts")
        context = SimulatedContext(self.clock, self._timeout, f"req-{next(self._ids)}")
        started = time.monotonic()
        try:
            return handler(event, context), None
        except SandboxKilled as killed:
            self._local.handler = None  # the next invocation on this worker is a new sandbox
            return None, killed
        except Exception as error:  # Lambda reports whatever the handler raised
            return None, error
        finally:
            self._bill(time.monotonic() - started)

    def _bill(self, real_seconds: float) -> None:
        with self._lock:
            self.counts["invocations"] += 1
            self.billed_seconds += self.clock.simulated(real_seconds)

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counts[name] += by


# --- asynchronous invocation ----------------------------------------------------------------------


class AsyncLambda:
    """Events invoked asynchronously by up to `concurrency` workers, retried on Lambda's schedule."""

    def __init__(
        self,
        containers: Containers,
        clock: Clock,
        send_on_failure: Callable[[dict[str, Any]], None],
        concurrency: int,
    ) -> None:
        self._containers = containers
        self._clock = clock
        self._send_on_failure = send_on_failure
        self._concurrency = concurrency
        self._due: list[tuple[float, int, int, dict[str, Any]]] = []  # (when, seq, attempt, event)
        self._seq = itertools.count()
        self._busy = 0
        self._ready = threading.Condition()
        self.counts = containers.counts

    def deliver(self, events: list[tuple[float, dict[str, Any]]]) -> None:
        """Each (simulated delay, event) arrives then; returns when every event is settled."""
        for delay, event in events:
            self._schedule(delay, 0, event)
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            for _ in range(self._concurrency):
                pool.submit(self._work)

    def _schedule(self, delay: float, attempt: int, event: dict[str, Any]) -> None:
        with self._ready:
            heapq.heappush(self._due, (self._clock.now() + delay, next(self._seq), attempt, event))
            self._ready.notify_all()

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            attempt, event = taken
            try:
                self._invoke(attempt, event)
            finally:
                with self._ready:
                    self._busy -= 1
                    self._ready.notify_all()

    def _take(self) -> tuple[int, dict[str, Any]] | None:
        """The next due event; None when nothing is queued or running (a retry may still come)."""
        with self._ready:
            while True:
                if not self._due and not self._busy:
                    return None
                wait = self._due[0][0] - self._clock.now() if self._due else None
                if wait is not None and wait <= 0:
                    _, _, attempt, event = heapq.heappop(self._due)
                    self._busy += 1
                    return attempt, event
                self._ready.wait(0.05 if wait is None else min(0.05, wait / self._clock.rate))

    def _invoke(self, attempt: int, event: dict[str, Any]) -> None:
        _, raised = self._containers.invoke(event)
        if raised is None:
            return
        self._containers.count("killed" if isinstance(raised, SandboxKilled) else "invocation_errors")
        if attempt < len(ASYNC_RETRY_DELAYS):
            self._containers.count("retries")
            self._schedule(ASYNC_RETRY_DELAYS[attempt], attempt + 1, event)
            return
        self._send_on_failure(on_failure_record(event, raised, attempt + 1))
        self._containers.count("on_failure_records")


def on_failure_record(event: dict[str, Any], error: BaseException, attempts: int) -> dict[str, Any]:
    """The invocation record Lambda's OnFailure destination writes, as documented in
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"""
    killed = isinstance(error, SandboxKilled)
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": "simulated",
            "functionArn": FUNCTION_ARN,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "Runtime exited" if killed else str(error),
            "errorType": "Runtime.ExitError" if killed else type(error).__name__,
            "stackTrace": [],
        },
    }


# --- SQS event source mapping ---------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """The event source mapping's settings (AWS::Lambda::EventSourceMapping)."""

    max_concurrency: int = 5
    batch_size: int = 1
    # Share of received messages SQS also hands to another poller while in flight (at-least-once).
    redelivery_rate: float = 0.0
    seed: int = 0


class QueueLambda:
    """An SQS event source mapping over `queue_url`: runs until the queue is empty and idle."""

    def __init__(
        self, containers: Containers, clock: Clock, sqs: Any, queue_url: str, mapping: Mapping
    ) -> None:
        self._containers = containers
        self._clock = clock
        self._sqs = sqs
        self._queue_url = queue_url
        self._mapping = mapping
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self._arn = attributes["QueueArn"]
        self._region = self._arn.split(":")[3]
        self._stop = threading.Event()
        self._random = random.Random(mapping.seed)  # reproducible, not a secret
        self._random_lock = threading.Lock()
        self.counts = containers.counts

    def drain(self) -> None:
        with ThreadPoolExecutor(max_workers=self._mapping.max_concurrency + 1) as pool:
            pollers = [pool.submit(self._poll) for _ in range(self._mapping.max_concurrency)]
            pool.submit(self._watch)
            for poller in pollers:
                poller.result()  # a poller's own error (not the handler's) is the simulator's bug

    def _watch(self) -> None:
        """Stop the pollers once the queue holds nothing, visible, in flight or delayed."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        while not self._stop.wait(0.1):
            attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=names)
            if not any(int(attributes["Attributes"][name]) for name in names):
                self._stop.set()

    def _poll(self) -> None:
        idle = 0.01
        while not self._stop.is_set():
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=self._mapping.batch_size,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                self._stop.wait(idle)  # what a long poll would wait, without holding moto's lock
                idle = min(idle * 2, 0.1)
                continue
            idle = 0.01
            self._maybe_redeliver(messages)
            self._invoke(messages)

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(message) for message in messages]}
        answer, raised = self._containers.invoke(event)
        if raised is not None:
            # The whole batch returns after its visibility timeout (or what the function set).
            self._containers.count("killed" if isinstance(raised, SandboxKilled) else "invocation_errors")
            return
        failed = failed_ids(answer, {message["MessageId"] for message in messages})
        self._containers.count("message_failures", len(failed))
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )  # a stale receipt handle (a message received again meanwhile) is reported, not raised

    def _maybe_redeliver(self, messages: list[dict[str, Any]]) -> None:
        """At-least-once: now and then SQS hands an in-flight message to another poller too."""
        for message in messages:
            with self._random_lock:
                again = self._random.random() < self._mapping.redelivery_rate
            if again:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
                self._containers.count("sqs_redeliveries")

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """One record of Lambda's SQS event, in the shape of AWS's sample event
        (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html)."""
        receive_count = int(message["Attributes"]["ApproximateReceiveCount"])
        if receive_count > 1:
            self._containers.count("redeliveries")
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message["Attributes"]),
            "messageAttributes": {
                name: _lambda_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._region,
        }


def failed_ids(answer: Any, batch: set[str]) -> set[str]:
    """The messages to keep, per Lambda's partial batch response rules: none for an empty or
    missing list, all of them for a malformed one or an id not in the batch."""
    failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
    if not failures:
        return set()
    ids = [item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures]
    kept = {i for i in ids if isinstance(i, str) and i in batch}
    return kept if len(kept) == len(set(ids)) else set(batch)


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS API message attribute in the Lambda event's spelling."""
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }


def send_json(sqs: Any, queue_url: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))
