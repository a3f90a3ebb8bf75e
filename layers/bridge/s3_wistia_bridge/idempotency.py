"""Exactly-once copies: Powertools Idempotency over DynamoDB, keyed by the object's version.

Wistia has no idempotency key, so the bridge provides one: bucket + decoded key + version (the
version id when the bucket is versioned, else the ETag). A duplicate event for the same version
is absorbed; a real overwrite (new ETag or version) is copied again.

Only a successful copy is remembered: Powertools deletes the record when the wrapped call
raises, and both PermanentFailure and TransientFailure are raised, so a later replay runs again.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from .deadline import Deadline
from .errors import TransientFailure
from .models import CopyRequest, CopyResult, JsonDict, S3Object, utc_timestamp
from .reasons import FailureReason


class Copier(Protocol):
    """Copies one object into Wistia (WistiaClient)."""

    def s3_copy(self, request: CopyRequest, deadline: Deadline) -> CopyResult: ...


# A stable prefix (not the function's name) so operator tools find the same records.
KEY_PREFIX = "s3-wistia-bridge.copy"


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


class IdempotentCopier:
    """Wraps a Copier so each object version reaches Wistia at most once per record lifetime."""

    def __init__(self, copier: Copier, persistence: BasePersistenceLayer, ttl_seconds: int) -> None:
        self._copier = copier
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

    def copy(self, obj: S3Object, request: CopyRequest, deadline: Deadline) -> CopyOutcome:
        identity = idempotency_data(obj)
        if identity is None:
            return CopyOutcome(self._copier.s3_copy(request, deadline), duplicate=False, copied_at=None)
        try:
            # Only `identity` is hashed; Powertools passes the other arguments through.
            stored = self._copy_once(identity=identity, request=request, deadline=deadline)
        except IdempotencyAlreadyInProgressError:
            # Another invocation is copying this very version now: let Lambda retry later, when
            # the stored result will answer (or the lock will have expired with its owner).
            raise TransientFailure(
                FailureReason.DUPLICATE_IN_PROGRESS, "another invocation is copying this object version now"
            ) from None
        return CopyOutcome(
            CopyResult(stored.get("hashed_id"), stored.get("media_id"), int(stored.get("attempts", 0))),
            duplicate=bool(stored.get("duplicate")),
            copied_at=stored.get("copied_at"),
        )

    def _copy(self, identity: JsonDict, request: CopyRequest, deadline: Deadline) -> JsonDict:
        result = self._copier.s3_copy(request, deadline)
        return {
            **identity,
            "hashed_id": result.hashed_id,
            "media_id": result.media_id,
            "attempts": result.attempts,
            "copied_at": utc_timestamp(timespec="seconds"),
        }


def _mark_duplicate(response: Any, idempotent_data: Any) -> Any:
    """Powertools calls this only when it answers from a stored record: a duplicate event."""
    return {**response, "duplicate": True} if isinstance(response, dict) else response
