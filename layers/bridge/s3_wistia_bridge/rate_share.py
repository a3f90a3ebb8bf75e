"""The backfill's share of Wistia's rate budget: a token bucket shared by every invocation.

Wistia allows about 600 requests a minute per account (WISTIA-API §8), live uploads and backfill
together. The batch function takes a token before each copy request it really sends (duplicates
and rejections take none); live ingest takes none, so a backfill can never use more than
BACKFILL_RATE_PER_MINUTE and live uploads keep the rest.

The bucket is kept as GCRA (the generic cell rate algorithm, equivalent to a token bucket): one
number, the "theoretical arrival time" `tat` (epoch milliseconds) at which the bucket would be
full again. A request at `now` may go when `max(tat, now) + interval - now <= burst * interval`;
it then moves `tat` on by one interval. That fits in DynamoDB conditional updates without a read:
- idle (`tat <= now`): `SET tat = now + interval IF tat <= now` (or no item yet);
- busy: `SET tat = tat + interval IF now < tat <= limit`, atomic under any contention.
`limit` also admits a request whose turn comes within `max_wait` seconds: it keeps its reserved
turn and sleeps until then (bounded, billed); beyond that it is refused with a TransientFailure,
and S3 Batch Operations retries the task later (TemporaryFailure).

The item lives in the idempotency table under its own key prefix, with the table's TTL attribute.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from .deadline import Deadline
from .errors import TransientFailure
from .idempotency import Copier
from .models import CopyRequest, CopyResult
from .observability import count, logger
from .reasons import FailureReason
from .s3_objects import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RATE_KEY = "s3-wistia-bridge.rate#backfill"
# The item outlives any pause between backfills by far; a missing item is simply an idle bucket.
ITEM_TTL_SECONDS = 86_400


class RateShare(NamedTuple):
    """The rule: `per_minute` requests a minute, `burst` at once, waiting at most `max_wait` s."""

    per_minute: int
    burst: int = 5
    max_wait: float = 2.0

    @property
    def interval_ms(self) -> int:
        return math.ceil(60_000 / self.per_minute)

    @property
    def tolerance_ms(self) -> int:
        """How far ahead of now `tat` may be after a grant, a turn within max_wait included."""
        return self.burst * self.interval_ms + round(self.max_wait * 1000)

    def busy_limit(self, now_ms: int) -> int:
        """The latest `tat` a busy bucket may have for one more grant."""
        return now_ms + self.tolerance_ms - self.interval_ms

    def wait_ms(self, tat_ms: int, now_ms: int) -> int:
        """How long a grant that moved `tat` here sleeps before its turn (0: go now)."""
        return max(0, tat_ms - now_ms - self.burst * self.interval_ms)


def decide(share: RateShare, tat_ms: int | None, now_ms: int) -> tuple[int, int] | None:
    """The pure rule: (new tat, milliseconds to wait) for a grant, or None when refused."""
    new_tat = max(tat_ms or now_ms, now_ms) + share.interval_ms
    if new_tat - now_ms > share.tolerance_ms:
        return None
    return new_tat, share.wait_ms(new_tat, now_ms)


class Grant(NamedTuple):
    wait_seconds: float


class DynamoRateLimiter:
    """Takes tokens from the shared bucket with conditional UpdateItems (at most two a request)."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        share: RateShare,
        *,
        clock: Callable[[], float] = time.time,
        key: str = RATE_KEY,
    ) -> None:
        self._client = client
        self._table = table
        self._share = share
        self._clock = clock
        self._key = key

    def take(self) -> Grant | None:
        """A grant (maybe with a short wait for its turn), or None when the share is used up.

        DynamoDB errors raise TransientFailure: nothing has been sent."""
        now = int(self._clock() * 1000)
        try:
            if self._update_idle(now):
                return Grant(0.0)
            tat = self._update_busy(now)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise _unavailable(error) from None
        except BotoCoreError as error:
            raise _unavailable(error) from None
        return Grant(self._share.wait_ms(tat, now) / 1000)

    def _update_idle(self, now: int) -> bool:
        """The bucket had no request in flight: take the first token. False when it is busy."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": self._key}},
                UpdateExpression="SET tat = :next, expiration = :expiration",
                ConditionExpression="attribute_not_exists(tat) OR tat <= :now",
                ExpressionAttributeValues={
                    ":next": {"N": str(now + self._share.interval_ms)},
                    ":now": {"N": str(now)},
                    ":expiration": {"N": str(now // 1000 + ITEM_TTL_SECONDS)},
                },
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _update_busy(self, now: int) -> int:
        """One more interval on a busy bucket, if within the limit; the new `tat`. Raises
        ConditionalCheckFailedException when the share is used up."""
        response = self._client.update_item(
            TableName=self._table,
            Key={"id": {"S": self._key}},
            UpdateExpression="SET tat = tat + :interval",
            ConditionExpression="tat > :now AND tat <= :limit",
            ExpressionAttributeValues={
                ":interval": {"N": str(self._share.interval_ms)},
                ":now": {"N": str(now)},
                ":limit": {"N": str(self._share.busy_limit(now))},
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["tat"]["N"])


def _unavailable(error: Exception) -> TransientFailure:
    return TransientFailure(
        FailureReason.IDEMPOTENCY_UNAVAILABLE,
        f"could not take a token of the backfill rate share in IDEMPOTENCY_TABLE ({error_code(error)}): "
        "nothing was sent",
    )


class Limiter(Protocol):
    """What RateLimitedCopier needs: DynamoRateLimiter, or a stand-in in tests."""

    def take(self) -> Grant | None: ...


class RateLimitedCopier:
    """A Copier that sends only with a token of the backfill's share."""

    def __init__(
        self,
        copier: Copier,
        limiter: Limiter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._copier = copier
        self._limiter = limiter
        self._sleep = sleep

    def s3_copy(
        self,
        request: CopyRequest,
        deadline: Deadline,
        *,
        max_sleep: float | None = None,
        maybe_sent_since: float | None = None,
    ) -> CopyResult:
        grant = self._limiter.take()
        if grant is None:
            count("BackfillRateLimited")
            raise TransientFailure(
                FailureReason.BACKFILL_RATE_LIMITED,
                "the backfill's share of the Wistia rate budget is used up for now; nothing was sent",
            )
        if grant.wait_seconds > 0:
            logger.info("waiting for the backfill's turn", wait_seconds=round(grant.wait_seconds, 3))
            self._sleep(grant.wait_seconds)
        return self._copier.s3_copy(request, deadline, max_sleep=max_sleep, maybe_sent_since=maybe_sent_since)
