"""The bridge: parsed items in, one outcome per item out, with logs, metrics and failure records.

Outcomes:
- copied: Wistia accepted the copy (its hashed_id is logged and returned);
- rejected: the allowlist said no (logged, counted, never sent, never a failure);
- skipped: not an object creation (S3 test event, deletions);
- permanent failure: a failure record goes to the failure queue and the invocation succeeds,
  so Lambda does not retry what cannot succeed;
- transient failure: after every object of the event has been tried, TransientFailure is
  raised so Lambda's retries and then its on-failure destination take over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .config import BridgeConfig
from .deadline import Deadline
from .errors import PermanentFailure, TransientFailure
from .events import ParsedItem
from .failures import failure_record, malformed_record
from .idempotency import Copier, CopyOutcome, IdempotentCopier
from .models import CopyRequest, JsonDict, MalformedEvent, ObjectReport, Outcome, S3Object
from .observability import count, count_by, logger
from .routing import copy_request
from .validation import validate


class FailureSink(Protocol):
    def send(self, record: JsonDict) -> None: ...


@dataclass(frozen=True)
class Invocation:
    deadline: Deadline
    request_id: str | None = None
    function_arn: str | None = None


class Bridge:
    def __init__(
        self,
        config: BridgeConfig,
        copier: Copier,
        failures: FailureSink,
        idempotency: IdempotentCopier | None = None,
    ) -> None:
        self.config = config
        self._copier = copier
        self._failures = failures
        self._idempotency = idempotency

    def register_lambda_context(self, context: Any) -> None:
        if self._idempotency is not None:
            self._idempotency.register_lambda_context(context)

    def process(self, items: Iterable[ParsedItem], invocation: Invocation) -> list[ObjectReport]:
        """Every item gets its outcome; transient failures are raised once all were tried."""
        reports: list[ObjectReport] = []
        transient: list[TransientFailure] = []
        for item in items:
            try:
                reports.append(self._process_one(item, invocation))
            except TransientFailure as failure:
                transient.append(failure)
        if transient:
            if len(transient) == 1:
                raise transient[0]
            raise TransientFailure(
                transient[0].reason,
                f"{len(transient)} objects failed transiently; first: {transient[0].message}",
                http_status=transient[0].http_status,
                attempts=transient[0].attempts,
            )
        return reports

    def _process_one(self, item: ParsedItem, invocation: Invocation) -> ObjectReport:
        if isinstance(item, MalformedEvent):
            return self._malformed(item, invocation)
        if isinstance(item, S3Object):
            logger.set_correlation_id(_correlation_id(item))
            logger.append_keys(object=item.uri, event_name=item.event_name)
            try:
                return self._copy(item, invocation)
            finally:
                logger.remove_keys(["object", "event_name"])
        logger.info("skipped", extra={"reason": item.reason, "detail": item.detail})
        count("ObjectSkipped")
        return ObjectReport(Outcome.SKIPPED, None, item.reason, item.detail)

    def _copy(self, obj: S3Object, invocation: Invocation) -> ObjectReport:
        rejection = validate(obj, self.config)
        if rejection is not None:
            logger.warning("rejected", extra={"reason": rejection.reason.value, "detail": rejection.message})
            count("ObjectRejected")
            count_by("RejectedByReason", "reason", rejection.reason.value)
            return ObjectReport(Outcome.REJECTED, obj.uri, rejection.reason.value, rejection.message)
        request = copy_request(obj, self.config)
        try:
            outcome = self._copy_once(obj, request, invocation.deadline)
        except PermanentFailure as failure:
            self._failures.send(
                failure_record(
                    failure,
                    obj,
                    request_id=invocation.request_id,
                    function_arn=invocation.function_arn,
                )
            )
            logger.error(
                "permanent failure: recorded on the failure queue",
                extra={
                    "reason": failure.reason,
                    "detail": failure.message,
                    "http_status": failure.http_status,
                },
            )
            count("PermanentFailure")
            return ObjectReport(Outcome.PERMANENT_FAILURE, obj.uri, failure.reason, failure.message)
        except TransientFailure as failure:
            logger.warning(
                "transient failure: Lambda will retry",
                extra={
                    "reason": failure.reason,
                    "detail": failure.message,
                    "http_status": failure.http_status,
                    "attempts": failure.attempts,
                },
            )
            count("TransientFailure")
            raise
        result = outcome.result
        if outcome.duplicate:
            logger.info(
                "duplicate: this object version was already copied",
                extra={"hashed_id": result.hashed_id, "copied_at": outcome.copied_at},
            )
            count("DuplicateSuppressed")
            return ObjectReport(Outcome.DUPLICATE, obj.uri, hashed_id=result.hashed_id)
        logger.info(
            "copied",
            extra={
                "hashed_id": result.hashed_id,
                "project_id": request.project_id,
                "media_name": request.name,
                "attempts": result.attempts,
                "recovered_after_unanswered_request": result.recovered,
            },
        )
        count("ObjectCopied")
        return ObjectReport(Outcome.COPIED, obj.uri, hashed_id=result.hashed_id)

    def _copy_once(self, obj: S3Object, request: CopyRequest, deadline: Deadline) -> CopyOutcome:
        if self._idempotency is None:
            return CopyOutcome(self._copier.s3_copy(request, deadline), duplicate=False, copied_at=None)
        return self._idempotency.copy(obj, request, deadline)

    def _malformed(self, item: MalformedEvent, invocation: Invocation) -> ObjectReport:
        self._failures.send(
            malformed_record(item, request_id=invocation.request_id, function_arn=invocation.function_arn)
        )
        logger.error("malformed event: recorded on the failure queue", extra={"detail": item.detail})
        count("PermanentFailure")
        return ObjectReport(Outcome.PERMANENT_FAILURE, None, "malformed_event", item.detail)


def _correlation_id(obj: S3Object) -> str:
    """The EventBridge event id, else bucket/key@sequencer: the same for a duplicate delivery."""
    if obj.event_id:
        return obj.event_id
    return f"{obj.bucket}/{obj.key}@{obj.sequencer or obj.version or '-'}"
