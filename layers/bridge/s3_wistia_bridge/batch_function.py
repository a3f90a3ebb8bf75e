"""The batch function: S3 Batch Operations' tasks through the same Bridge as live events.

Per task: the key decoded once (batch.py); HeadObject of exactly that version, for what a live
event would have said (size for the allowlist, ETag as the identity of an unversioned object, so a
backfill and the live function agree on "the same object version"); then `Bridge.process`: the
same validation, routing, idempotency and failure records as live events, with the job's
`userArguments` (project, low priority) applied to the request. A copy request really sent
takes a token of the backfill's rate share first (rate_share.py); duplicates and rejections
take none.

Batch Operations invokes synchronously and expects one result per task; nothing here raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import boto3

from .aws import CLIENT_CONFIG, AwsClients
from .batch import (
    BatchInvocation,
    BatchTask,
    ResultCode,
    TaskResult,
    batch_response,
    failed,
    malformed,
    parse_batch_event,
    result_for,
)
from .bridge import Bridge, FailureSink, Invocation
from .config import BatchConfig, BridgeConfig, ConfigError
from .deadline import Deadline
from .errors import PermanentFailure, TransientFailure
from .events import s3_notification
from .failure_queue import SqsFailureQueue
from .failures import failure_record
from .models import JsonDict, MalformedEvent, S3Object
from .observability import count, logger
from .rate_share import DynamoRateLimiter, RateLimitedCopier, RateShare
from .reasons import FailureReason
from .runtime import build_bridge
from .s3_objects import ObjectHead, S3Objects
from .validation import Reason, validate
from .wistia import MIN_READ_SECONDS

# What the bridge's logs and failure records call an object announced by a Batch Operations task.
EVENT_NAME = "S3BatchOperations:LambdaInvoke"


class Heads(Protocol):
    """HeadObject of one object version (S3Objects)."""

    def head(self, obj: S3Object) -> ObjectHead | None: ...


class BatchFunction:
    def __init__(
        self, bridge: Bridge, objects: Heads, failures: FailureSink, region: str, max_sleep: float = 2.0
    ) -> None:
        self.bridge = bridge
        # Batch Operations retries a TemporaryFailure for free: a long Retry-After is left to it.
        self._max_sleep = max_sleep
        self._objects = objects
        self._failures = failures
        self._region = region
        # A task is not started without the time for one Wistia attempt.
        self._least_seconds = bridge.config.connect_timeout_seconds + MIN_READ_SECONDS

    def handle(self, event: Any, context: Any) -> JsonDict:
        batch = parse_batch_event(event)
        invocation = Invocation(
            deadline=Deadline.from_context(context),
            request_id=getattr(context, "aws_request_id", None),
            function_arn=getattr(context, "invoked_function_arn", None),
            max_sleep=self._max_sleep,
            overrides=batch.overrides,
        )
        self.bridge.register_lambda_context(context)
        logger.append_keys(job_id=batch.job_id or None, invocation_schema=batch.schema)
        if batch.problem:
            logger.error("invalid Batch Operations invocation: every task fails", detail=batch.problem)
        return batch_response(batch, [self._task(task, batch, invocation) for task in batch.tasks])

    def _task(self, task: BatchTask, batch: BatchInvocation, invocation: Invocation) -> TaskResult:
        try:
            return self._run(task, batch, invocation)
        except Exception as error:  # a bug must still give this task its result
            logger.exception("unexpected error in a Batch Operations task", task_id=task.task_id)
            count("PermanentFailure")
            return failed(
                task.task_id,
                ResultCode.PERMANENT_FAILURE,
                FailureReason.FUNCTION_ERROR.value,
                type(error).__name__,
            )

    def _run(self, task: BatchTask, batch: BatchInvocation, invocation: Invocation) -> TaskResult:
        if batch.problem:
            return malformed(task.task_id, batch.problem)
        if task.problem:
            payload = {"job": {"id": batch.job_id}, "task": task.payload}
            item = MalformedEvent(f"S3 Batch Operations task: {task.problem}", payload)
            return result_for(task.task_id, self.bridge.process([item], invocation).reports[0])
        if invocation.deadline.remaining() < self._least_seconds:
            return failed(
                task.task_id,
                ResultCode.TEMPORARY_FAILURE,
                FailureReason.DEADLINE_EXHAUSTED.value,
                "not started: no time left in the invocation",
            )
        announced = self._announced(task, batch, invocation)
        if isinstance(announced, TaskResult):
            return announced
        return result_for(task.task_id, self.bridge.process([announced], invocation).reports[0])

    def _announced(
        self, task: BatchTask, batch: BatchInvocation, invocation: Invocation
    ) -> S3Object | TaskResult:
        """The object as a live event would announce it, from its HeadObject; or the task's result
        when S3 cannot say (missing: rejected; denied: permanent; unavailable: temporary)."""
        obj = S3Object(
            bucket=task.bucket,
            key=task.key,
            region=self._region,
            size=None,
            version_id=task.version_id,  # exactly the version listed, `null` included
            event_name=EVENT_NAME,
            event_id=f"{batch.job_id}/{task.task_id}",
        )
        if validate(obj, self.bridge.config) is not None:
            return self._identified(obj, None)  # the bridge rejects it, without asking S3 first
        try:
            head = self._objects.head(obj)
        except TransientFailure as failure:
            logger.warning("transient failure: to be retried", **failure.log_fields())
            count("TransientFailure")
            return failed(task.task_id, ResultCode.TEMPORARY_FAILURE, failure.reason.value, failure.message)
        except PermanentFailure as failure:
            return self._permanent(task, self._identified(obj, None), failure, invocation)
        if head is None:
            logger.warning("rejected", reason=Reason.OBJECT_MISSING.value, object=obj.uri)
            count("ObjectRejected")
            return TaskResult(task.task_id, ResultCode.SUCCEEDED, f"rejected:{Reason.OBJECT_MISSING.value}")
        return self._identified(obj, head)

    def _identified(self, obj: S3Object, head: ObjectHead | None) -> S3Object:
        """`obj` with what HeadObject said, its own version (none for `null`), and a replayable
        event: the S3 notification a live upload would have sent."""
        version = obj.version_id if obj.version_id and obj.version_id != "null" else None
        size = head.size if head is not None else None
        etag = head.etag if head is not None else None
        event = s3_notification(
            obj.bucket, obj.region, obj.key, size=size or 0, etag=etag, version_id=version
        )
        if size is None:  # unknown, not zero: a replay must not reject it as empty
            del event["Records"][0]["s3"]["object"]["size"]
        return S3Object(
            bucket=obj.bucket,
            key=obj.key,
            region=obj.region,
            size=size,
            etag=etag,
            version_id=version,
            event_name=obj.event_name,
            event_id=obj.event_id,
            source_event=event,
        )

    def _permanent(
        self, task: BatchTask, obj: S3Object, failure: PermanentFailure, invocation: Invocation
    ) -> TaskResult:
        """A failure before the bridge saw the object: recorded on the failure queue as it would."""
        try:
            self._failures.send(
                failure_record(
                    failure, obj, request_id=invocation.request_id, function_arn=invocation.function_arn
                )
            )
        except TransientFailure as unrecorded:
            return failed(
                task.task_id, ResultCode.TEMPORARY_FAILURE, unrecorded.reason.value, unrecorded.message
            )
        logger.error("permanent failure: recorded on the failure queue", **failure.log_fields())
        count("PermanentFailure")
        return failed(task.task_id, ResultCode.PERMANENT_FAILURE, failure.reason.value, failure.message)


def build_batch_function(
    env: Mapping[str, str], session: boto3.session.Session | None = None
) -> BatchFunction:
    """One per container; a bad configuration fails the cold start, naming the variable."""
    settings = BatchConfig.from_environ(env)
    config = BridgeConfig.from_environ(env)
    if not config.idempotency_table:
        raise ConfigError(
            "IDEMPOTENCY_TABLE: required by the batch function (a backfill without it could copy an "
            "object twice, and its rate share lives there)"
        )
    region = env.get("AWS_REGION", "").strip()
    if not region:
        raise ConfigError(
            "AWS_REGION: not set; Lambda sets it (the job's, the buckets' and the function's region)"
        )
    session = session or boto3.session.Session()
    limiter = DynamoRateLimiter(
        session.client("dynamodb", config=CLIENT_CONFIG),
        config.idempotency_table,
        RateShare(settings.rate_per_minute, settings.burst, settings.max_wait_seconds),
    )
    bridge = build_bridge(env, session, wrap_copier=lambda copier: RateLimitedCopier(copier, limiter))
    aws = AwsClients(session)
    failures = SqsFailureQueue(config.failure_queue_url, aws)
    return BatchFunction(bridge, S3Objects(aws), failures, region, max_sleep=settings.max_wait_seconds)
