"""What the ingest path tells the ledger and EventBridge about each object: best effort, never raised.

Before a copy, `plan` reads the ledger: an object version whose media is alive (accepted, processing,
ready...) is answered as a duplicate from the ledger, also after its idempotency record expired; one
whose media failed in Wistia is copied again as a new media (the next generation, whose idempotency
identity names the media it replaces, so the old record does not answer "duplicate"). After the
copy, `accepted`, `rejected` and `copy_failed` write the outcome and publish its event.

A ledger outage never blocks or repeats a copy: a failed read plans an ordinary copy (idempotency
still guards it), a failed write is logged and counted (`LedgerWriteFailed`) and the outcome stands.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from .errors import PermanentFailure
from .events_out import DetailType, event_detail
from .idempotency import CopyOutcome
from .ledger import Entry, Ledger, LedgerError, Outcome, ledger_version
from .lifecycle import MediaStatus
from .models import CopyRequest, CopyResult, JsonDict, S3Object
from .observability import count, logger
from .validation import Rejection


class EventSink(Protocol):
    def publish(self, detail_type: DetailType, detail: JsonDict) -> bool: ...


class Plan(NamedTuple):
    """How to copy one object version, from what the ledger holds of it."""

    generation: int = 1
    replaces: str | None = None  # the hashed id of the failed media this copy replaces
    replaced: Entry | None = None  # that media's entry, to link it to its replacement
    answer: CopyOutcome | None = None  # already copied: the duplicate answer, nothing to send


def plan_for(latest: Entry | None) -> Plan:
    """The plan for an object version whose newest ledger entry is `latest`. Pure."""
    if latest is None:
        return Plan()
    replaces = latest.get("replaces")
    if not latest.status.holds_media:  # rejected or refused before: try this generation again
        return Plan(latest.generation, replaces)
    if latest.status is MediaStatus.FAILED:
        return Plan(latest.generation + 1, latest.hashed_id, latest)
    result = CopyResult(latest.hashed_id, None, 0)
    answer = CopyOutcome(result, duplicate=True, copied_at=latest.get("accepted_at"))
    return Plan(latest.generation, replaces, answer=answer)


class Recorder:
    def __init__(self, ledger: Ledger | None, events: EventSink) -> None:
        self._ledger = ledger
        self._events = events

    def plan(self, obj: S3Object) -> Plan:
        if self._ledger is None:
            return Plan()
        try:
            return plan_for(self._ledger.latest(obj))
        except Exception as error:  # an unreadable ledger must not block the copy
            _failed("could not read the ledger: copying as if it had no entry", error)
            return Plan()

    def accepted(
        self, obj: S3Object, request: CopyRequest, result: CopyResult, plan: Plan | None, *, duplicate: bool
    ) -> None:
        """After a copy, or a duplicate answered by the idempotency record (which heals a ledger
        write an outage missed, and publishes nothing: the media was announced already)."""
        plan = plan or Plan()
        outcome = Outcome(
            MediaStatus.ACCEPTED,
            plan.generation,
            hashed_id=result.hashed_id,
            project=request.project_id,
            name=request.name,
            replaces=plan.replaces,
            attempts=max(result.attempts, 1),
            custom_fields=dict(request.custom_fields) or None,
        )
        written = self._write(obj, outcome)
        if plan.replaced is not None and result.hashed_id:
            self._link(plan.replaced, result.hashed_id)
        if duplicate or written is False:
            return
        self._events.publish(
            DetailType.MEDIA_ACCEPTED,
            _detail(obj, outcome, status=MediaStatus.ACCEPTED.value),
        )

    def rejected(self, obj: S3Object, rejection: Rejection) -> None:
        outcome = Outcome(MediaStatus.REJECTED, reason=rejection.reason.value, message=rejection.message)
        self._write(obj, outcome)
        self._events.publish(DetailType.OBJECT_REJECTED, _detail(obj, outcome, message=rejection.message))

    def copy_failed(self, obj: S3Object, failure: PermanentFailure, plan: Plan | None) -> None:
        plan = plan or Plan()
        outcome = Outcome(
            MediaStatus.COPY_FAILED,
            plan.generation,
            reason=failure.reason.value,
            message=failure.message[:1000],
            replaces=plan.replaces,
            attempts=max(failure.attempts, 1),
        )
        self._write(obj, outcome)
        self._events.publish(DetailType.COPY_FAILED, _detail(obj, outcome, message=outcome.message))

    def _write(self, obj: S3Object, outcome: Outcome) -> bool | None:
        """True: written; False: the ledger already had this version's media; None: no ledger, or
        it could not be written."""
        if self._ledger is None:
            return None
        try:
            return self._ledger.record(obj, outcome)
        except Exception as error:  # the copy's outcome stands whatever the ledger says
            _failed("could not write the ledger: the outcome stands", error, status=outcome.status.value)
            return None

    def _link(self, replaced: Entry, hashed_id: str) -> None:
        if self._ledger is None:
            return
        try:
            self._ledger.link(replaced, hashed_id)
        except Exception as error:
            _failed("could not link the replaced media in the ledger", error, replaced=replaced.hashed_id)


def _detail(obj: S3Object, outcome: Outcome, **extra: str | None) -> JsonDict:
    return event_detail(
        bucket=obj.bucket,
        key=obj.key,
        version=ledger_version(obj),
        hashed_id=outcome.hashed_id,
        project=outcome.project,
        name=outcome.name,
        reason=outcome.reason,
        replaces=outcome.replaces,
        custom_fields=outcome.custom_fields,
        **extra,
    )


def _failed(message: str, error: Exception, **fields: Any) -> None:
    # A LedgerError's text is the DynamoDB error code; any other error's text is not logged.
    detail = str(error) if isinstance(error, LedgerError) else None
    logger.warning(message, error=type(error).__name__, detail=detail, **fields)
    count("LedgerWriteFailed")
