"""Exactly-once copies: Powertools Idempotency over DynamoDB, keyed by the object's version, plus a
journal of requests that may have reached Wistia.

Wistia has no idempotency key, so the bridge provides one: bucket + decoded key + version (the
version id when the bucket is versioned, else the ETag). A duplicate event for the same version
is absorbed; a real overwrite (new ETag or version) is copied again.

Only a successful copy is remembered: Powertools deletes the record when the wrapped call raises,
and both PermanentFailure and TransientFailure are raised, so a later replay runs again.

What Powertools cannot know is whether a request reached Wistia before its invocation died: killed
at its timeout or out of memory after Wistia accepted, a success record that could not be written,
an answer that came after the read budget. Its in-progress record then expires (or is deleted) and
the next delivery would post again. So, inside the idempotent call and just before the first
request, the journal records "sent at" for the object version (the earliest time is kept). A later
call that finds an earlier entry asks Wistia's Data API for the media before sending anything
(WistiaClient's `maybe_sent_since`).

Persistence failures are classified, never left to escape: nothing sent yet is a transient
`idempotency_unavailable` (retried later); a copy Wistia accepted whose success could not be
written is reported copied (the media exists), and a redelivery finds the journal entry.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    BaseError,
    IdempotencyAlreadyInProgressError,
)
from botocore.exceptions import BotoCoreError, ClientError

from .deadline import Deadline
from .errors import PermanentFailure, TransientFailure
from .models import CopyRequest, CopyResult, JsonDict, S3Object, utc_timestamp
from .observability import count, logger
from .reasons import FailureReason
from .s3_objects import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Copier(Protocol):
    """Copies one object into Wistia (WistiaClient)."""

    def s3_copy(
        self,
        request: CopyRequest,
        deadline: Deadline,
        *,
        max_sleep: float | None = None,
        maybe_sent_since: float | None = None,
    ) -> CopyResult: ...


# A stable prefix (not the function's name) so operator tools find the same records.
KEY_PREFIX = "s3-wistia-bridge.copy"
JOURNAL_PREFIX = "s3-wistia-bridge.sent"


def idempotency_data(obj: S3Object) -> JsonDict | None:
    """What identifies one object version; None when the event carries no version at all."""
    version = obj.version or obj.sequencer
    if version is None:
        return None
    return {"bucket": obj.bucket, "key": obj.key, "version": version}


class CopyOutcome(NamedTuple):
    result: CopyResult
    duplicate: bool
    copied_at: str | None


class SentJournal:
    """When a copy request for an object version was first about to be sent (same table as the
    idempotency records, its own key prefix, the same time to live)."""

    def __init__(
        self, client: DynamoDBClient, table: str, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = ttl_seconds
        self._clock = clock

    @staticmethod
    def key(identity: JsonDict) -> str:
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
        return f"{JOURNAL_PREFIX}#{digest}"

    def mark(self, identity: JsonDict) -> float | None:
        """Note that a request is about to be sent now; when an earlier one was, if ever."""
        now = self._clock()
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": self.key(identity)}},
                UpdateExpression="SET sent_at = if_not_exists(sent_at, :now), expiration = :expiration",
                ExpressionAttributeValues={
                    ":now": {"N": repr(now)},
                    ":expiration": {"N": str(int(now) + self._ttl)},
                },
                ReturnValues="ALL_OLD",  # the item as it was: its sent_at, if any
            )
        except (BotoCoreError, ClientError) as error:
            raise TransientFailure(
                FailureReason.IDEMPOTENCY_UNAVAILABLE,
                f"could not write to IDEMPOTENCY_TABLE before sending ({error_code(error)}): "
                "nothing was sent",
            ) from None
        earlier = response.get("Attributes", {}).get("sent_at", {}).get("N")
        return float(earlier) if earlier is not None else None

    def forget(self, identity: JsonDict) -> None:
        """Undo this invocation's mark when nothing was sent after all (the in-progress record
        keeps any other invocation of this version out meanwhile). Best effort: an entry left
        behind costs a Data API lookup before the next send, as before."""
        try:
            self._client.delete_item(TableName=self._table, Key={"id": {"S": self.key(identity)}})
        except (BotoCoreError, ClientError) as error:
            logger.warning("could not clear the journal entry of a copy never sent", error=error_code(error))


class IdempotentCopier:
    """Wraps a Copier so each object version reaches Wistia at most once per record lifetime."""

    def __init__(
        self, copier: Copier, persistence: BasePersistenceLayer, ttl_seconds: int, journal: SentJournal
    ) -> None:
        self._copier = copier
        self._journal = journal
        self.config: IdempotencyConfig = IdempotencyConfig(
            expires_after_seconds=ttl_seconds,
            raise_on_no_idempotency_key=True,
            response_hook=_mark_duplicate,
        )
        self._copy_once = idempotent_function(
            data_keyword_argument="identity",
            persistence_store=persistence,
            config=self.config,
            key_prefix=KEY_PREFIX,
        )(self._copy)

    def register_lambda_context(self, context: Any) -> None:
        """The in-progress lock then expires with the invocation, so a crash cannot wedge a key."""
        self.config.register_lambda_context(context)

    def copy(
        self,
        obj: S3Object,
        request: CopyRequest,
        deadline: Deadline,
        *,
        max_sleep: float | None = None,
        replaces: str | None = None,
    ) -> CopyOutcome:
        """`replaces`: the hashed id of a media that failed in Wistia, which this copy replaces; it
        joins the identity, so the record of the failed media's copy does not answer "duplicate"."""
        identity = idempotency_data(obj)
        if identity is not None and replaces is not None:
            identity = {**identity, "replaces": replaces}
        if identity is None:
            result = self._copier.s3_copy(request, deadline, max_sleep=max_sleep)
            return CopyOutcome(result, duplicate=False, copied_at=None)
        accepted: list[CopyResult] = []  # what Wistia accepted in this call, whatever Powertools does next
        try:
            # Only `identity` is hashed; Powertools passes the other arguments through.
            stored = self._copy_once(
                identity=identity, request=request, deadline=deadline, max_sleep=max_sleep, accepted=accepted
            )
        except IdempotencyAlreadyInProgressError:
            # Another invocation is copying this very version now: retry later, when the stored
            # result will answer (or the lock will have expired with its owner).
            raise TransientFailure(
                FailureReason.DUPLICATE_IN_PROGRESS, "another invocation is copying this object version now"
            ) from None
        except BaseError as error:
            return _after_persistence_error(error, accepted)
        return CopyOutcome(
            CopyResult(
                stored.get("hashed_id"),
                stored.get("media_id"),
                int(stored.get("attempts", 0)),
                recovered=bool(stored.get("recovered")),
            ),
            duplicate=bool(stored.get("duplicate")),
            copied_at=stored.get("copied_at"),
        )

    def _copy(
        self,
        identity: JsonDict,
        request: CopyRequest,
        deadline: Deadline,
        max_sleep: float | None,
        accepted: list[CopyResult],
    ) -> JsonDict:
        earlier = self._journal.mark(identity)
        try:
            result = self._copier.s3_copy(request, deadline, max_sleep=max_sleep, maybe_sent_since=earlier)
        except (PermanentFailure, TransientFailure) as failure:
            if earlier is None and failure.attempts == 0:
                # Nothing was sent (no Wistia attempt: the backfill's rate share refused, the token
                # could not be read): left in place, the entry would make the retry adopt a
                # same-named media in the folder instead of sending.
                self._journal.forget(identity)
            raise
        accepted.append(result)
        return {
            **identity,
            "hashed_id": result.hashed_id,
            "media_id": result.media_id,
            "attempts": result.attempts,
            "recovered": result.recovered,
            "copied_at": utc_timestamp(timespec="seconds"),
        }


def _after_persistence_error(error: BaseError, accepted: list[CopyResult]) -> CopyOutcome:
    """A Powertools persistence error, classified: the copy's own failure when it had one (only
    deleting its in-progress record failed), a success Wistia gave, or nothing sent at all."""
    if accepted:
        logger.error(
            "copied, but the success record could not be written: a redelivery will find the "
            "journal entry and look the media up instead of sending again",
            hashed_id=accepted[0].hashed_id,
            error=type(error.__cause__ or error).__name__,
        )
        count("IdempotencyWriteFailed")
        return CopyOutcome(accepted[0], duplicate=False, copied_at=None)
    cause = _copy_failure_in(error)
    if cause is not None:
        raise cause from None
    raise TransientFailure(
        FailureReason.IDEMPOTENCY_UNAVAILABLE,
        f"the idempotency table could not be used ({type(error.__cause__ or error).__name__}): "
        "nothing was sent",
    ) from None


def _copy_failure_in(error: BaseException) -> PermanentFailure | TransientFailure | None:
    """The copy's own failure in the chain of a persistence error raised while handling it."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, PermanentFailure | TransientFailure):
            return seen
        seen = seen.__context__
    return None


def _mark_duplicate(response: Any, idempotent_data: Any) -> Any:
    """Powertools calls this only when it answers from a stored record: a duplicate event."""
    return {**response, "duplicate": True} if isinstance(response, dict) else response
