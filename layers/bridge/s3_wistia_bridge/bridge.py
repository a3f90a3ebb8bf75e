"""The bridge: parsed items in, one outcome per item out, with logs, metrics and failure records.

Outcomes:
- copied: Wistia accepted the copy (its hashed_id is logged and returned);
- rejected: the allowlist (or the object's own metadata) said no (logged, counted, never sent,
  never a failure);
- skipped: not an object creation (S3 test event, deletions);
- permanent failure: a failure record goes to the failure queue and the invocation succeeds,
  so Lambda does not retry what cannot succeed;
- transient failure: reported once every object of the event was tried; the entry point hands
  it to the delivery's retries (runtime.py): the message's visibility backoff and then the
  dead-letter queue (buffered), or Lambda's async retries and then its on-failure destination
  (direct).

Options on the way: OBJECT_METADATA reads the object's x-amz-meta-wistia-* (HeadObject) before
routing; CONTENT_CHECK reads its first bytes (one ranged GET) and rejects what is not a video
(`not_a_video`, content.py) before any Wistia request; COPY_MODE=url_import sends a presigned GET
URL instead of bucket and key; and WRITE_BACK_TAG_KEY tags the object with Wistia's hashed_id after
a copy (or a duplicate), a best effort that never turns a copy into a failure. With LEDGER_TABLE
the recorder (recorder.py) plans each copy from the ledger (a live media answers as a duplicate; a
media that failed in Wistia is copied again as a new one) and writes every outcome there and to
EventBridge, never failing or repeating a copy over it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Protocol

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .config import BridgeConfig, CopyMode
from .content import HEAD_BYTES, check_content
from .deadline import Deadline
from .delivery import RetryQueue
from .errors import PermanentFailure, TransientFailure
from .events import ParsedItem
from .failures import failure_record, malformed_record
from .idempotency import Copier, CopyOutcome, IdempotentCopier
from .metadata import object_settings
from .models import (
    CopyRequest,
    JsonDict,
    MalformedEvent,
    ObjectReport,
    Outcome,
    RemovedObject,
    RequestOverrides,
    S3Object,
)
from .observability import count, count_by, logger
from .reasons import FailureReason
from .routing import copy_request
from .s3_objects import CredentialFacts, ObjectHead, TagWrite, error_code, presign_lifetime_warning
from .validation import Reason, Rejection, file_extension, validate

if TYPE_CHECKING:  # the recorder is imported only when a ledger or events are configured (runtime.py)
    from .companions import Companions
    from .recorder import Plan, Recorder
    from .versions import KeyPolicies


class FailureSink(Protocol):
    def send(self, record: JsonDict) -> None: ...


class ObjectStore(Protocol):
    """The bridge's own S3 calls (S3Objects)."""

    def presigned_get(self, obj: S3Object, expires_seconds: int) -> str: ...

    def credential_facts(self) -> CredentialFacts | None: ...

    def head(self, obj: S3Object) -> ObjectHead | None: ...

    def head_metadata(self, obj: S3Object) -> dict[str, str] | None: ...

    def tag(self, obj: S3Object, key: str, value: str) -> TagWrite: ...

    def first_bytes(self, obj: S3Object, count: int) -> bytes | None: ...


class Invocation(NamedTuple):
    deadline: Deadline
    request_id: str | None = None
    function_arn: str | None = None
    # The longest backoff worth sleeping through in this invocation; None: what the deadline
    # allows. A queue retries later for free, so buffered delivery sleeps little.
    max_sleep: float | None = None
    # A backfill job's choices for every request of the invocation (S3 Batch Operations).
    overrides: RequestOverrides = RequestOverrides()


class Processed(NamedTuple):
    """Every item's report, and the transient failures among them (to retry later)."""

    reports: list[ObjectReport]
    transient: list[TransientFailure]

    def failure(self) -> TransientFailure | None:
        """One failure standing for all the transient ones, or None when there were none."""
        if len(self.transient) <= 1:
            return self.transient[0] if self.transient else None
        first = self.transient[0]
        waits = [failure.retry_after for failure in self.transient if failure.retry_after is not None]
        return TransientFailure(
            first.reason,
            f"{len(self.transient)} objects failed transiently; first: {first.message}",
            http_status=first.http_status,
            attempts=first.attempts,
            retry_after=max(waits) if waits else None,
        )


class Bridge:
    def __init__(
        self,
        config: BridgeConfig,
        copier: Copier,
        failures: FailureSink,
        *,
        idempotency: IdempotentCopier | None = None,
        objects: ObjectStore | None = None,
        retries: RetryQueue | None = None,
        recorder: Recorder | None = None,
        companions: Companions | None = None,
        folders: Callable[[str], str | None] | None = None,
        policies: KeyPolicies | None = None,
    ) -> None:
        self.config = config
        self._copier = copier
        self._failures = failures
        self._idempotency = idempotency
        self._objects = objects
        self._retries = retries
        self._recorder = recorder
        self._folders = folders  # PROJECT_ROUTING=folders: a key's folder to its project (folders.py)
        self._policies = policies  # OverwritePolicy / DeletePolicy other than the defaults
        # Sidecars, captions and tags (companions.py): None when all three are off.
        self._companions = companions
        self._lifetime_checked = False

    def register_lambda_context(self, context: Any) -> None:
        if self._idempotency is not None:
            self._idempotency.register_lambda_context(context)

    def retry_later(self, record: SQSRecord, seconds: int) -> None:
        """Buffered delivery: the message comes back in `seconds` (without a queue adapter, after the
        queue's own visibility timeout)."""
        if self._retries is not None:
            self._retries.delay(record, seconds)

    def process(self, items: Iterable[ParsedItem], invocation: Invocation) -> Processed:
        """Every item gets its outcome, also after another one failed transiently."""
        processed = Processed([], [])
        for item in items:
            try:
                processed.reports.append(self._process_one(item, invocation))
            except TransientFailure as failure:
                processed.transient.append(failure)
                uri = item.uri if isinstance(item, S3Object) else None
                processed.reports.append(
                    ObjectReport(Outcome.TRANSIENT_FAILURE, uri, failure.reason.value, failure.message)
                )
        return processed

    def _process_one(self, item: ParsedItem, invocation: Invocation) -> ObjectReport:
        """One item's outcome; a transient failure is logged here, once, with the item's keys."""
        # Per-thread keys: in-process callers (the operator's --local replay) run one bridge per
        # worker thread, and the Powertools Logger is shared by all of them.
        keys = _log_keys(item)
        logger.thread_safe_append_keys(**keys)
        try:
            return self._dispatch(item, invocation)
        except TransientFailure as failure:
            _retried(failure)
        finally:
            logger.thread_safe_remove_keys(list(keys))

    def _dispatch(self, item: ParsedItem, invocation: Invocation) -> ObjectReport:
        if isinstance(item, MalformedEvent):
            return self._malformed(item, invocation)
        if isinstance(item, S3Object):
            return self._companion_or_copy(item, invocation)
        if isinstance(item, RemovedObject):
            if self._policies is not None and self._policies.handles_removals:
                return self._removed(self._policies, item, invocation)
            item = item.skipped()  # DeletePolicy=ignore: skipped, as removals always were
        logger.info("skipped", reason=item.reason, detail=item.detail)
        count("ObjectSkipped")
        return ObjectReport(Outcome.SKIPPED, None, item.reason, item.detail)

    def _copy(self, obj: S3Object, invocation: Invocation) -> ObjectReport:
        plan: Plan | None = None
        try:
            chosen = self._choose_key(obj)
            if isinstance(chosen, Rejection):
                return self._rejected(obj, chosen)
            obj = chosen
            plan = self._recorder.plan(obj) if self._recorder is not None else None
            answered = self._answered(obj, plan, invocation)
            if answered is not None:  # nothing to send
                return answered
            prepared = self._prepare(obj, self._folder_lookup(invocation.overrides))
            if isinstance(prepared, Rejection):
                return self._rejected(obj, prepared)
            request = invocation.overrides.apply(prepared)
            outcome = self._copy_once(obj, request, invocation, plan.replaces if plan else None)
        except PermanentFailure as failure:
            return self._permanent(obj, failure, invocation, plan)
        if self._recorder is not None:
            self._recorder.accepted(obj, request, outcome.result, plan, duplicate=outcome.duplicate)
        return self._followed(obj, request, outcome, plan, invocation)

    def _answered(self, obj: S3Object, plan: Plan | None, invocation: Invocation) -> ObjectReport | None:
        """The report of a version not to send: the ledger knows its media (a duplicate), or
        OverwritePolicy=skip keeps the key's media; None: copy it."""
        if plan is not None and plan.answer is not None:
            return self._followed(obj, None, plan.answer, plan, invocation)
        return self._policies.before_copy(obj) if self._policies is not None else None

    def _followed(
        self,
        obj: S3Object,
        request: CopyRequest | None,
        outcome: CopyOutcome,
        plan: Plan | None,
        invocation: Invocation,
    ) -> ObjectReport:
        """The key's policies after a copy or its duplicate (a swap, cancelled deletes), then the
        report and the follow-ups. A transient failure retries the object, whose duplicate runs
        them again; a permanent one is recorded, and the media stands."""
        shown = outcome.result.hashed_id  # the media embeds show: the key's media after a swap
        if self._policies is not None:
            try:
                shown = self._policies.after_accept(obj, outcome.result.hashed_id)
            except PermanentFailure as failure:
                self._record(
                    failure_record(
                        failure, obj, request_id=invocation.request_id, function_arn=invocation.function_arn
                    )
                )
                logger.error(
                    "permanent failure after the copy: recorded on the failure queue",
                    hashed_id=outcome.result.hashed_id,
                    **failure.log_fields(),
                )
                count("PermanentFailure")
                return ObjectReport(
                    Outcome.PERMANENT_FAILURE,
                    obj.uri,
                    failure.reason.value,
                    failure.message,
                    hashed_id=outcome.result.hashed_id,
                )
        return self._after_copy(obj, request, outcome, plan, invocation, shown=shown)

    def _removed(self, policies: KeyPolicies, item: RemovedObject, invocation: Invocation) -> ObjectReport:
        """DeletePolicy: a removal schedules the deletes of the key's medias (versions.py)."""
        try:
            return policies.removed(item)
        except PermanentFailure as failure:
            obj = S3Object(
                item.bucket,
                item.key,
                item.region,
                None,
                version_id=item.version_id,
                event_name=item.event_name,
                source_event=item.source_event,
            )
            return self._permanent(obj, failure, invocation, None)

    def _after_copy(
        self,
        obj: S3Object,
        request: CopyRequest | None,
        outcome: CopyOutcome,
        plan: Plan | None,
        invocation: Invocation,
        *,
        shown: str | None,
    ) -> ObjectReport:
        """The report, the write-back tag, and the follow-ups (tags, captions) on `shown`: the
        media embeds show for this version."""
        report = self._copied(obj, request, outcome, plan)
        if self.config.write_back_tag_key:
            self._write_back(obj, self.config.write_back_tag_key, outcome.result.hashed_id)
        if self._companions is not None and shown:
            self._follow_up(self._companions, obj, shown, invocation)
        return report

    def _companion_or_copy(self, obj: S3Object, invocation: Invocation) -> ObjectReport:
        if self._companions is not None and self._companions.is_companion(obj):
            return self._companion(self._companions, obj, invocation)
        return self._copy(obj, invocation)

    def _companion(self, companions: Companions, obj: S3Object, invocation: Invocation) -> ObjectReport:
        """A sidecar's or caption's own event: applied, rejected, recorded, or its videos copied."""
        try:
            arrival = companions.arrived(obj)
        except PermanentFailure as failure:
            return self._permanent(obj, failure, invocation, None)
        if isinstance(arrival, Rejection):
            return self._rejected(obj, arrival)
        if isinstance(arrival, ObjectReport):
            return arrival
        logger.info("the pair is complete: copying the video", videos=[video.key for video in arrival.videos])
        reports = [self._copy(video, invocation) for video in arrival.videos]
        return reports[0]

    def _follow_up(
        self, companions: Companions, obj: S3Object, hashed_id: str, invocation: Invocation
    ) -> None:
        """Tags and captions after the copy; a permanent failure of one is its own failure record
        (the media stays copied), a transient one retries the event (the copy answers duplicate)."""
        try:
            failures = companions.follow_ups(obj, hashed_id)  # a transient failure retries the event
        except PermanentFailure as failure:  # before any follow-up (its listing or reads)
            failures = [(failure, obj)]
        for follow_up, about in failures:
            self._record(
                failure_record(
                    follow_up, about, request_id=invocation.request_id, function_arn=invocation.function_arn
                )
            )
            logger.error(
                "follow-up failed: recorded on the failure queue", about=about.uri, **follow_up.log_fields()
            )
            count("PermanentFailure")

    def _choose_key(self, obj: S3Object) -> S3Object | Rejection:
        """The allowed object the event announced: when its key could be meant encoded or decoded,
        the one S3 has with the event's size and ETag (HeadObject), else the first rule broken."""
        candidates = obj.key_candidates()
        verdicts = [(candidate, validate(candidate, self.config)) for candidate in candidates]
        allowed = [candidate for candidate, rejection in verdicts if rejection is None]
        if not allowed:  # the decoded key's rule, as for any other event
            return next(rejection for _, rejection in reversed(verdicts) if rejection is not None)
        return allowed[0] if len(candidates) == 1 else self._existing(allowed, candidates)

    def _existing(self, allowed: list[S3Object], candidates: tuple[S3Object, ...]) -> S3Object | Rejection:
        """The first allowed candidate S3 has with the event's size and ETag: the raw key first (what
        moto and ministack send), so the decoded one is asked only when the raw one is not there."""
        store = self._store()
        found = next(
            (candidate for candidate in allowed if _announced(store.head(candidate), candidate)), None
        )
        if found is None:
            return Rejection(
                Reason.OBJECT_MISSING,
                f"neither {candidates[0].key!r} (as the event wrote it) nor {candidates[1].key!r} "
                "(URL-decoded) exists with the event's size and ETag: nothing to copy",
            )
        return found

    def _copied(
        self, obj: S3Object, request: CopyRequest | None, outcome: CopyOutcome, plan: Plan | None
    ) -> ObjectReport:
        result = outcome.result
        if outcome.duplicate or request is None:
            logger.info(
                "duplicate: this object version was already copied",
                hashed_id=result.hashed_id,
                copied_at=outcome.copied_at,
                answered_by="ledger" if plan is not None and plan.answer is not None else "idempotency",
            )
            count("DuplicateSuppressed")
            return ObjectReport(Outcome.DUPLICATE, obj.uri, hashed_id=result.hashed_id)
        logger.info(
            "copied",
            hashed_id=result.hashed_id,
            project_id=request.project_id,
            media_name=request.name,
            copy_mode=self.config.copy_mode.value,
            attempts=result.attempts,
            recovered_after_unanswered_request=result.recovered,
            replaces=plan.replaces if plan else None,
        )
        count("ObjectCopied")
        return ObjectReport(Outcome.COPIED, obj.uri, hashed_id=result.hashed_id)

    def _folder_lookup(self, overrides: RequestOverrides) -> Callable[[str], str | None] | None:
        """A backfill job's own project wins: its objects' folders are not looked up."""
        return self._folders if overrides.project_id is None else None

    def _prepare(
        self, obj: S3Object, folders: Callable[[str], str | None] | None = None
    ) -> CopyRequest | Rejection:
        """The request for an allowed object: its content checked, its metadata applied, its URL
        signed, per the config."""
        if self.config.content_check:
            rejection = self._check_content(obj)
            if rejection is not None:
                return rejection
        settings = None
        if self.config.object_metadata:
            metadata = self._store().head_metadata(obj)
            if metadata is None:
                return Rejection(
                    Reason.OBJECT_MISSING,
                    "the object no longer exists (HeadObject: not found): nothing to copy",
                )
            parsed = object_settings(metadata)
            if isinstance(parsed, Rejection):
                return parsed
            settings = parsed
        url = self._presign(obj) if self.config.copy_mode is CopyMode.URL_IMPORT else None
        request = copy_request(obj, self.config, settings, url=url, folder_project=folders)
        # The sidecar's fields take precedence over the object's metadata and the routes.
        return request if self._companions is None else self._companions.paired(obj, request)

    def _check_content(self, obj: S3Object) -> Rejection | None:
        """A rejection when the object's first bytes are not a video (or it is gone), else None."""
        head = self._store().first_bytes(obj, HEAD_BYTES)
        if head is None:
            return Rejection(
                Reason.OBJECT_MISSING, "the object no longer exists (GetObject: not found): nothing to copy"
            )
        extension = file_extension(obj.key)
        verdict = check_content(extension, head)
        if not verdict.ok:
            return Rejection(Reason.NOT_A_VIDEO, verdict.message(extension))
        if verdict.expected is not None and verdict.found != verdict.expected:
            logger.info("another video container than the extension says", found=verdict.found)
        return None

    def _presign(self, obj: S3Object) -> str:
        seconds = self.config.presigned_url_hours * 3600
        store = self._store()
        if not self._lifetime_checked:  # once per container: the credentials are the same
            self._lifetime_checked = True
            self._warn_about_lifetime(seconds, store.credential_facts())
        return store.presigned_get(obj, seconds)

    def _warn_about_lifetime(self, seconds: int, facts: CredentialFacts | None) -> None:
        warning = presign_lifetime_warning(seconds, facts)
        if warning is None or facts is None:
            return
        fields: dict[str, Any] = {
            "presigned_url_hours": self.config.presigned_url_hours,
            "credentials_expiry_known": facts.seconds_left is not None,
        }
        if facts.seconds_left is not None:
            fields["credentials_expire_in_seconds"] = round(facts.seconds_left)
        logger.warning(warning, **fields)

    def _write_back(self, obj: S3Object, tag_key: str, hashed_id: str | None) -> None:
        """Tag the object with its Wistia hashed_id; a failure is logged and counted, never raised."""
        if not hashed_id:
            logger.warning("write-back skipped: Wistia's answer had no hashed_id", tag_key=tag_key)
            count("WriteBackFailed")
            return
        try:
            written = self._store().tag(obj, tag_key, hashed_id)
        except Exception as error:  # the media exists: a missing tag must not undo that
            logger.warning(
                "write-back failed: the object is copied but not tagged",
                tag_key=tag_key,
                hashed_id=hashed_id,
                error=error_code(error),
            )
            count("WriteBackFailed")
            return
        if written is TagWrite.NO_ROOM:
            logger.warning(
                "write-back skipped: the object already has 10 tags (S3's limit) and none is ours",
                tag_key=tag_key,
                hashed_id=hashed_id,
            )
            count("WriteBackFailed")
            return
        logger.info("written back", tag_key=tag_key, hashed_id=hashed_id, tag=written.value)

    def _store(self) -> ObjectStore:
        if self._objects is None:
            raise RuntimeError(
                "this configuration reads objects but the bridge was built without an S3 store"
            )
        return self._objects

    def _rejected(self, obj: S3Object, rejection: Rejection) -> ObjectReport:
        logger.warning("rejected", reason=rejection.reason.value, detail=rejection.message)
        count("ObjectRejected")
        count_by("RejectedByReason", "reason", rejection.reason.value)
        if self._recorder is not None:
            self._recorder.rejected(obj, rejection)
        return ObjectReport(Outcome.REJECTED, obj.uri, rejection.reason.value, rejection.message)

    def _permanent(
        self, obj: S3Object, failure: PermanentFailure, invocation: Invocation, plan: Plan | None
    ) -> ObjectReport:
        if self._recorder is not None:
            self._recorder.copy_failed(obj, failure, plan)
        self._record(
            failure_record(
                failure,
                obj,
                request_id=invocation.request_id,
                function_arn=invocation.function_arn,
            )
        )
        logger.error("permanent failure: recorded on the failure queue", **failure.log_fields())
        count("PermanentFailure")
        return ObjectReport(Outcome.PERMANENT_FAILURE, obj.uri, failure.reason.value, failure.message)

    def _copy_once(
        self, obj: S3Object, request: CopyRequest, invocation: Invocation, replaces: str | None
    ) -> CopyOutcome:
        if self._idempotency is None:
            result = self._copier.s3_copy(request, invocation.deadline, max_sleep=invocation.max_sleep)
            return CopyOutcome(result, duplicate=False, copied_at=None)
        return self._idempotency.copy(
            obj, request, invocation.deadline, max_sleep=invocation.max_sleep, replaces=replaces
        )

    def _record(self, record: JsonDict) -> None:
        """Put a failure record on the queue; when the queue is unreachable, say so and raise."""
        try:
            self._failures.send(record)
        except TransientFailure as failure:
            logger.error(
                "could not write the failure record: the event will be retried",
                **failure.log_fields(),
                record_reason=record["reason"],
            )
            raise  # counted with the item's transient failure (_process_one)

    def _malformed(self, item: MalformedEvent, invocation: Invocation) -> ObjectReport:
        self._record(
            malformed_record(item, request_id=invocation.request_id, function_arn=invocation.function_arn)
        )
        logger.error(
            "malformed event: recorded on the failure queue",
            reason=FailureReason.MALFORMED_EVENT.value,
            detail=item.detail,
        )
        count("PermanentFailure")
        return ObjectReport(Outcome.PERMANENT_FAILURE, None, FailureReason.MALFORMED_EVENT.value, item.detail)


def _log_keys(item: ParsedItem) -> dict[str, str]:
    if isinstance(item, S3Object):
        return {"correlation_id": _correlation_id(item), "object": item.uri, "event_name": item.event_name}
    if isinstance(item, RemovedObject):
        return {"object": item.uri, "event_name": item.event_name}
    return {}


def _retried(failure: TransientFailure) -> NoReturn:
    logger.warning("transient failure: to be retried", **failure.log_fields())
    count("TransientFailure")
    raise failure


def _announced(head: ObjectHead | None, obj: S3Object) -> bool:
    return head is not None and head.matches(obj)


def _correlation_id(obj: S3Object) -> str:
    """The EventBridge event id, else bucket/key@sequencer: the same for a duplicate delivery."""
    if obj.event_id:
        return obj.event_id
    return f"{obj.bucket}/{obj.key}@{obj.sequencer or obj.version or '-'}"
