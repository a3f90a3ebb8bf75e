"""Replay the failure queue: re-invoke the function with each message's original event, or, for a
buffered stack, send that event back to the ingest queue (requeue).

Rules:
- a message is deleted only after the invocation succeeded (StatusCode 200, no FunctionError),
  or after SQS accepted its requeue (that entry of SendMessageBatch);
- a function error leaves the message (visible again when the run ends) and shows the error;
- when the function answers `permanent_failure` again it has written a new failure record
  itself, so the old message is deleted (superseded) and counted as failed;
- a requeued event's outcome comes later (the function, at the mapping's pace); if it fails
  again the function writes a new failure record, or the redrive policy moves it back here;
- messages sent after the run started, or about an object this run already tried, are never
  replayed in the same run, so a run cannot loop on its own new records;
- test events are left (or deleted with `discard_test_events`), malformed messages are left.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import boto3
from s3_wistia_bridge.models import JsonDict, Outcome
from s3_wistia_bridge.observability import metrics
from s3_wistia_bridge.runtime import build_bridge, handle

from .queue import (
    FailedMessage,
    FailureQueue,
    IngestQueue,
    Kind,
    ReasonFilter,
    classify_sqs_message,
    matches,
)
from .resources import ABORTS_RUN, OperatorError, aws_error

# The function's answers for an object it could not copy.
FAILED_OUTCOMES = frozenset({Outcome.PERMANENT_FAILURE, Outcome.TRANSIENT_FAILURE})


# --- invokers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvokeResult:
    """What one synchronous invocation answered."""

    status_code: int
    function_error: str | None
    payload: Any

    @property
    def ok(self) -> bool:
        return self.status_code == 200 and not self.function_error

    @property
    def error_message(self) -> str | None:
        if self.ok:
            return None
        if isinstance(self.payload, dict) and isinstance(self.payload.get("errorMessage"), str):
            kind = self.payload.get("errorType")
            message = str(self.payload["errorMessage"])
            return f"{kind}: {message}" if isinstance(kind, str) and not message.startswith(kind) else message
        return self.function_error or f"HTTP {self.status_code}"

    @property
    def objects(self) -> list[JsonDict]:
        """The function's per-object reports ({"outcome", "uri", "reason", ...})."""
        if isinstance(self.payload, dict) and isinstance(self.payload.get("objects"), list):
            return [o for o in self.payload["objects"] if isinstance(o, dict)]
        return []


def outcome_of(report: JsonDict) -> Outcome | None:
    """The outcome one of the function's per-object reports names (None: none this version knows)."""
    try:
        return Outcome(str(report.get("outcome")))
    except ValueError:
        return None


class Invoker(Protocol):
    def invoke(self, event: Any) -> InvokeResult: ...


class LambdaInvoker:
    """The deployed function, invoked synchronously so the outcome is known."""

    def __init__(self, client: Any, function_name: str) -> None:
        self._client = client
        self.function_name = function_name

    def invoke(self, event: Any) -> InvokeResult:
        try:
            response = self._client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(event).encode("utf-8"),
            )
        except Exception as error:
            mapped = aws_error(error, "lambda:InvokeFunction", self.function_name)
            if isinstance(mapped, OperatorError) and mapped.kind in ABORTS_RUN:
                raise mapped from None
            # Throttling and service errors: this message failed, the run goes on.
            return InvokeResult(0, type(error).__name__, {"errorMessage": str(mapped)})
        raw = response.get("Payload")
        body = raw.read() if hasattr(raw, "read") else (raw or b"")
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = {"errorMessage": body.decode("utf-8", "replace")[:500]}
        return InvokeResult(int(response.get("StatusCode", 0)), response.get("FunctionError"), payload)


@dataclass
class ContextStub:
    """What the bridge reads from a Lambda context, with a generous remaining time."""

    remaining_seconds: float = 900.0
    function_name: str = "s3-wistia-bridge-local"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:s3-wistia-bridge-local"
    aws_request_id: str = "local"
    _start: float = field(default_factory=time.monotonic, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return int((self.remaining_seconds - (time.monotonic() - self._start)) * 1000)


Handler = Callable[[Any, Any], Any]


class LocalInvoker:
    """The bridge in this process. Each thread that invokes gets its own handler from `factory`
    (the real handler, or `runtime.handle` bound to a bridge), built on its first invocation: one
    bridge (its own HTTP session, token cache and idempotency config) per worker, like one Lambda
    container per concurrent invocation. An exception is what Lambda would report as
    FunctionError "Unhandled"."""

    def __init__(self, factory: Callable[[], Handler]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._count = itertools.count(1)  # next() is atomic: request ids stay unique across threads

    @classmethod
    def from_environment(
        cls, env: dict[str, str], session: boto3.session.Session | None = None
    ) -> LocalInvoker:
        """`session`: the CLI's (its --profile and --region); default a new one."""
        # Bridges are built one at a time from one boto3 Session (not thread-safe; its loaded
        # service models make every bridge after the first cheap); each gets its own clients.
        session = session or boto3.session.Session()
        lock = threading.Lock()

        def factory() -> Handler:
            with lock:
                bridge = build_bridge(env, session=session)
            return lambda event, context: handle(bridge, event, context)

        factory()  # at once on the calling thread: a bad configuration fails before any message
        return cls(factory)

    def _thread_handler(self) -> Handler:
        handler: Handler | None = getattr(self._local, "handler", None)
        if handler is None:
            handler = self._local.handler = self._factory()
        return handler

    def invoke(self, event: Any) -> InvokeResult:
        context = ContextStub(aws_request_id=f"local-{next(self._count)}")
        try:
            payload = self._thread_handler()(event, context)
        except Exception as error:  # what Lambda reports as an unhandled function error
            return InvokeResult(
                200, "Unhandled", {"errorMessage": str(error), "errorType": type(error).__name__}
            )
        finally:
            metrics.clear_metrics()  # never flushed as EMF on the CLI's stdout
        return InvokeResult(200, None, json.loads(json.dumps(payload, default=str)))


# --- replay ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayOptions:
    dry_run: bool = False
    prefix: str | None = None
    reason: ReasonFilter | None = None
    max_messages: int | None = None
    concurrency: int = 4
    discard_test_events: bool = False
    visibility_timeout: int | None = None  # default: 30 s for a dry run, 300 s for a replay


class ReplayStatus(StrEnum):
    """What a run did with one message."""

    REPLAYED = "replayed"  # invoked, succeeded, deleted
    WOULD_REPLAY = "would_replay"  # a dry run's answer
    REQUEUED = "requeued"  # sent to the ingest queue, then deleted; the outcome comes later
    WOULD_REQUEUE = "would_requeue"  # a buffered stack's dry run's answer
    FAILED = "failed"  # the invocation (or the delete) failed: the message stays
    REQUEUE_FAILED = "requeue_failed"  # SQS refused the send (or the delete): the message stays
    SUPERSEDED = "superseded"  # failed again; the function wrote a new record, the old one is deleted
    SKIPPED = "skipped"  # a test event, or a message written during this run
    DISCARDED = "discarded"  # a test event deleted (--discard-test-events)
    MALFORMED = "malformed"  # nothing to replay: left for the operator
    FILTERED = "filtered"  # not selected by --prefix / --reason


class Row(StrEnum):
    """The summary's rows, in order (text table and --json keys); some count several statuses."""

    REPLAYED = "replayed"
    WOULD_REPLAY = "would replay"
    REQUEUED = "requeued"
    WOULD_REQUEUE = "would requeue"
    FAILED_AGAIN = "failed again"
    FAILED = "failed"
    SKIPPED = "skipped"
    MALFORMED = "malformed"
    FILTERED_OUT = "filtered out"


_ROW_OF_STATUS = {
    ReplayStatus.REPLAYED: Row.REPLAYED,
    ReplayStatus.WOULD_REPLAY: Row.WOULD_REPLAY,
    ReplayStatus.REQUEUED: Row.REQUEUED,
    ReplayStatus.WOULD_REQUEUE: Row.WOULD_REQUEUE,
    ReplayStatus.FAILED: Row.FAILED_AGAIN,
    ReplayStatus.REQUEUE_FAILED: Row.FAILED,
    ReplayStatus.SUPERSEDED: Row.FAILED_AGAIN,
    ReplayStatus.SKIPPED: Row.SKIPPED,
    ReplayStatus.DISCARDED: Row.SKIPPED,
    ReplayStatus.MALFORMED: Row.MALFORMED,
    ReplayStatus.FILTERED: Row.FILTERED_OUT,
}
# The statuses of a successful invocation or requeue: the message is deleted.
_DELETED = frozenset({ReplayStatus.REPLAYED, ReplayStatus.SUPERSEDED, ReplayStatus.REQUEUED})
# The statuses that make a run fail (exit status 1): the message stays for the operator.
_FAILING = frozenset(
    {ReplayStatus.FAILED, ReplayStatus.SUPERSEDED, ReplayStatus.REQUEUE_FAILED, ReplayStatus.MALFORMED}
)


@dataclass
class MessageResult:
    message: FailedMessage
    status: ReplayStatus
    error: str | None = None
    outcomes: list[JsonDict] = field(default_factory=list)

    def as_dict(self) -> JsonDict:
        data = self.message.summary() | {"status": self.status.value}
        if self.error:
            data["error"] = self.error
        if self.outcomes:
            data["outcomes"] = self.outcomes
        return data


@dataclass
class ReplayReport:
    results: list[MessageResult] = field(default_factory=list)
    requeue: bool = False  # a buffered stack: events were sent to the ingest queue
    dry_run: bool = False

    def summary(self) -> dict[Row, int]:
        """The counts of the rows that apply to this kind of run, in order."""
        if self.requeue:
            head = (Row.WOULD_REQUEUE if self.dry_run else Row.REQUEUED, Row.FAILED)
        else:
            head = (Row.WOULD_REPLAY if self.dry_run else Row.REPLAYED, Row.FAILED_AGAIN)
        counts = dict.fromkeys((*head, Row.SKIPPED, Row.MALFORMED, Row.FILTERED_OUT), 0)
        for result in self.results:
            counts[_ROW_OF_STATUS[result.status]] += 1
        return counts

    @property
    def failed(self) -> bool:
        return any(result.status in _FAILING for result in self.results)


# Where a replay sends the events: the function (synchronous invoke) or the ingest queue.
Target = Invoker | IngestQueue


def replay(
    queue: FailureQueue,
    target: Target | None,
    options: ReplayOptions,
    on_result: Callable[[MessageResult], None] = lambda _r: None,
    clock: Callable[[], float] = time.time,
) -> ReplayReport:
    """Drain what matches. Every message received and not deleted is made visible again.

    `target`: an invoker, or the ingest queue to requeue to; a dry run sends nothing (an ingest
    queue makes it answer "would requeue")."""
    if target is None and not options.dry_run:
        raise ValueError("a target is needed unless dry_run")
    return _Run(queue, target, options, on_result, clock).run()


class _Run:
    def __init__(
        self,
        queue: FailureQueue,
        target: Target | None,
        options: ReplayOptions,
        on_result: Callable[[MessageResult], None],
        clock: Callable[[], float],
    ) -> None:
        self.queue = queue
        self.target = target
        self.requeue = isinstance(target, IngestQueue)
        self.options = options
        self.on_result = on_result
        self.clock = clock
        self.started_ms = int(clock() * 1000)
        self.visibility = options.visibility_timeout or (30 if options.dry_run else 300)
        self.report = ReplayReport(requeue=self.requeue, dry_run=options.dry_run)
        self.seen: set[str] = set()
        self.tried: set[tuple[str, str, str | None]] = set()
        self.held: dict[str, str] = {}  # message id -> receipt handle, released at the end
        self.taken = 0
        self.exhausted = False

    def run(self) -> ReplayReport:
        round_size = max(10, 2 * self.options.concurrency)
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            try:
                work = self._next_round(round_size)
                while work:
                    futures = [pool.submit(self._deliver, chunk) for chunk in self._chunks(work)]
                    # The next round is received while this one is invoked: the queue's round
                    # trips overlap the invocations instead of stalling every worker.
                    try:
                        work = [] if self.exhausted else self._next_round(round_size)
                    finally:  # also when receiving failed: what was invoked is reported
                        self._settle([result for future in futures for result in future.result()])
            finally:
                if self.held:
                    self.queue.release(list(self.held.values()))
        return self.report

    # --- a round: receive, select and hold, invoke (in the pool), then settle ---------------------

    def _next_round(self, size: int) -> list[FailedMessage]:
        """The next messages to invoke: up to `size`, fewer when the queue has nothing new or
        --max is reached; every message received on the way is recorded or held."""
        work: list[FailedMessage] = []
        while len(work) < size and not self.exhausted:
            if self._full():
                self.exhausted = True
                break
            for message in self._receive():
                if self._take(message):
                    work.append(message)
        return work

    def _receive(self) -> list[FailedMessage]:
        """One ReceiveMessage: the messages this run has not seen yet, classified."""
        batch = self.queue.receive(self.visibility)
        for raw in batch:  # a re-received held message has a new receipt handle
            message_id = str(raw.get("MessageId"))
            if message_id in self.held:
                self.held[message_id] = str(raw.get("ReceiptHandle"))
        now_ms = int(self.clock() * 1000)
        fresh = [
            classify_sqs_message(raw, now_ms) for raw in batch if str(raw.get("MessageId")) not in self.seen
        ]
        self.seen.update(message.message_id for message in fresh)
        if not fresh:
            self.exhausted = True
        return fresh

    def _take(self, message: FailedMessage) -> bool:
        """True when this run invokes the message; counted against --max."""
        if not self._select(message) or self._full():
            return False  # held: visible again when the run ends
        self.taken += 1
        if self.options.dry_run:
            would = ReplayStatus.WOULD_REQUEUE if self.requeue else ReplayStatus.WOULD_REPLAY
            self._record(MessageResult(message, would))
            return False
        self.tried.update(_identity(obj) for obj in message.objects)
        return True

    def _select(self, message: FailedMessage) -> bool:
        """Hold the message until it is deleted (an aborted run releases it too), or discard it;
        record why it is not replayed. True when it is to be replayed."""
        left = self._left_why(message)
        if left is not None and left.status is ReplayStatus.DISCARDED:
            self.queue.delete(message.receipt_handle)
        else:
            self._hold(message)
        if left is None:
            return True
        self._record(left)
        return False

    def _left_why(self, message: FailedMessage) -> MessageResult | None:
        """Why this run does not replay the message; None when it does."""
        options = self.options
        if message.kind is Kind.MALFORMED:
            return MessageResult(message, ReplayStatus.MALFORMED, message.detail)
        if message.kind is Kind.TEST_EVENT:
            if options.discard_test_events and not options.dry_run:
                return MessageResult(message, ReplayStatus.DISCARDED)
            return MessageResult(
                message, ReplayStatus.SKIPPED, "S3 test event (--discard-test-events deletes it)"
            )
        if not options.dry_run and self._written_during_run(message):
            return MessageResult(
                message, ReplayStatus.SKIPPED, "written during this run; replay it in a later run"
            )
        if not matches(message, prefix=options.prefix, reason=options.reason):
            return MessageResult(message, ReplayStatus.FILTERED)
        return None

    def _settle(self, results: list[MessageResult]) -> None:
        """Delete, ten per call, the messages whose invocation succeeded; then report them all.

        A message is only ever deleted after its invocation succeeded; one SQS refuses to delete
        is reported as failed and stays held (visible again when the run ends).
        """
        refused = self._delete([result for result in results if result.status in _DELETED])
        for result in results:
            self._record(self._after_delete(result, refused))

    def _delete(self, done: list[MessageResult]) -> dict[str, str]:
        """The receipt handles SQS refused to delete (all of them when the call failed), with why."""
        handles = [result.message.receipt_handle for result in done]
        try:
            return self.queue.delete_batch(handles)
        except OperatorError as error:
            return dict.fromkeys(handles, str(error))

    def _after_delete(self, result: MessageResult, refused: dict[str, str]) -> MessageResult:
        """What to report: a deleted message is no longer held; a refused delete is a failure."""
        if result.status not in _DELETED:
            return result
        why = refused.get(result.message.receipt_handle)
        if why is not None and result.status is ReplayStatus.REQUEUED:
            why = f"requeued, but not deleted: {why}; a later run requeues it again (a duplicate)"
            return MessageResult(result.message, ReplayStatus.REQUEUE_FAILED, why)
        if why is not None:
            return MessageResult(
                result.message, ReplayStatus.FAILED, f"invoked, but not deleted: {why}", result.outcomes
            )
        self.held.pop(result.message.message_id, None)
        return result

    def _full(self) -> bool:
        return self.options.max_messages is not None and self.taken >= self.options.max_messages

    def _written_during_run(self, message: FailedMessage) -> bool:
        """The function writes a new failure record when an object fails permanently again: it is
        never replayed in the same run (the identity check holds even when clocks disagree)."""
        if message.sent_timestamp_ms is not None and message.sent_timestamp_ms > self.started_ms:
            return True
        return message.kind in self._rewritten_kinds() and any(
            _identity(obj) in self.tried for obj in message.objects
        )

    def _rewritten_kinds(self) -> frozenset[Kind]:
        """What a message this run sent can come back as: a new failure record, and with a
        buffered stack the requeued event itself, moved back by the ingest queue's redrive."""
        if self.requeue:
            return frozenset({Kind.FAILURE_RECORD, Kind.DEAD_LETTER})
        return frozenset({Kind.FAILURE_RECORD})

    def _chunks(self, work: list[FailedMessage]) -> Iterator[list[FailedMessage]]:
        """One invocation per message; a requeue sends up to ten per SendMessageBatch."""
        size = 10 if self.requeue else 1
        for start in range(0, len(work), size):
            yield work[start : start + size]

    def _deliver(self, messages: list[FailedMessage]) -> list[MessageResult]:
        target = self.target
        assert target is not None  # noqa: S101 - checked by replay()
        if isinstance(target, IngestQueue):
            return self._requeue(target, messages)
        return [self._process(target, message) for message in messages]

    def _requeue(self, ingest: IngestQueue, messages: list[FailedMessage]) -> list[MessageResult]:
        """Each message's original event sent to the ingest queue; an entry SQS refused stays."""
        refused = ingest.send_batch([message.requeue_body for message in messages])
        return [
            MessageResult(message, ReplayStatus.REQUEUE_FAILED, f"not requeued: {refused[index]}")
            if index in refused
            else MessageResult(message, ReplayStatus.REQUEUED)
            for index, message in enumerate(messages)
        ]

    def _process(self, invoker: Invoker, message: FailedMessage) -> MessageResult:
        result = invoker.invoke(message.event)
        if not result.ok:  # stays held: visible again when the run ends
            return MessageResult(message, ReplayStatus.FAILED, result.error_message, result.objects)
        failed = [o for o in result.objects if outcome_of(o) in FAILED_OUTCOMES]
        if failed:
            reasons = ", ".join(sorted({str(o.get("reason")) for o in failed}))
            error_text = f"{reasons} again; the function wrote a new failure record"
            return MessageResult(message, ReplayStatus.SUPERSEDED, error_text, result.objects)
        return MessageResult(message, ReplayStatus.REPLAYED, None, result.objects)

    def _hold(self, message: FailedMessage) -> None:
        self.held[message.message_id] = message.receipt_handle

    def _record(self, result: MessageResult) -> None:
        self.report.results.append(result)
        self.on_result(result)


def _identity(obj: Any) -> tuple[str, str, str | None]:
    return (obj.bucket, obj.key, obj.version)
