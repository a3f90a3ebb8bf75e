"""The backfill's rate share: the pure rule, and the DynamoDB bucket against moto, contended."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from s3_wistia_bridge.deadline import Deadline
from s3_wistia_bridge.errors import TransientFailure
from s3_wistia_bridge.models import CopyRequest, CopyResult
from s3_wistia_bridge.rate_share import DynamoRateLimiter, Grant, RateLimitedCopier, RateShare, decide
from s3_wistia_bridge.reasons import FailureReason

from .conftest import IDEMPOTENCY_TABLE, REGION, Stack

pytestmark = pytest.mark.integration

SHARE = RateShare(per_minute=200, burst=5, max_wait=2.0)  # an interval of 300 ms


def test_the_rule_grants_a_burst_then_one_per_interval_waiting_at_most_max_wait():
    now, tat, grants = 1_000_000, 0, []
    while (decision := decide(SHARE, tat, now)) is not None:
        tat, wait = decision
        grants.append(wait)
    # 5 at once, then those whose turn comes within 2 s (6 more, 300 ms apart), then none.
    assert grants == [0, 0, 0, 0, 0, 300, 600, 900, 1200, 1500, 1800]
    # Time refills it: one interval later, one more grant, waiting as long as the last one did.
    assert decide(SHARE, tat, now + 300) == (tat + 300, 1800)
    # An idle bucket (its tat long past) starts again from now, with the whole burst.
    assert decide(SHARE, tat, now + 60_000) == (now + 60_300, 0)


def test_over_a_minute_the_rule_grants_the_rate_plus_the_burst():
    tat, granted = None, 0
    for now in range(0, 60_000, 10):  # a request every 10 ms for a minute
        decision = decide(RateShare(200, 5, 0.0), tat, now)
        if decision is not None:
            tat, _ = decision
            granted += 1
    assert 200 <= granted <= 205


@pytest.fixture
def dynamodb(stack: Stack):
    """The stack's idempotency table, where the bucket lives."""
    return stack.dynamodb


class OneWriteAtATime:
    """DynamoDB applies the conditional writes to one item one at a time; moto's server does not
    (its backend has no lock), so this client lets one UpdateItem through at a time. Between the
    limiter's two writes the threads still interleave freely."""

    def __init__(self, client) -> None:
        self._client = client
        self._lock = threading.Lock()

    def update_item(self, **kwargs):
        with self._lock:
            return self._client.update_item(**kwargs)


def test_contending_threads_never_get_more_than_the_share(dynamodb):
    """64 takes at the same instant from 16 threads: exactly what the pure rule allows."""
    frozen = 1_700_000_000.0
    limiter = DynamoRateLimiter(
        OneWriteAtATime(dynamodb),  # type: ignore[arg-type]
        IDEMPOTENCY_TABLE,
        SHARE,
        clock=lambda: frozen,
    )
    start = threading.Barrier(16)

    def take_four() -> list[Grant | None]:
        start.wait()
        return [limiter.take() for _ in range(4)]

    with ThreadPoolExecutor(16) as pool:
        taken = [grant for batch in pool.map(lambda _: take_four(), range(16)) for grant in batch]
    grants = sorted(grant.wait_seconds for grant in taken if grant is not None)
    assert grants == [0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8]


def test_time_refills_the_shared_bucket(dynamodb):
    now = [1_700_000_000.0]
    limiter = DynamoRateLimiter(dynamodb, IDEMPOTENCY_TABLE, RateShare(60, 1, 0.0), clock=lambda: now[0])
    assert limiter.take() == Grant(0.0)
    assert limiter.take() is None
    now[0] += 1.0
    assert limiter.take() == Grant(0.0)
    now[0] += 120.0  # idle: one token again, never a backlog
    assert limiter.take() == Grant(0.0)
    assert limiter.take() is None


def test_a_table_that_cannot_be_used_is_a_transient_failure(aws: str):
    client = boto3.client("dynamodb", region_name=REGION)
    limiter = DynamoRateLimiter(client, "no-such-table", SHARE)
    with pytest.raises(TransientFailure) as raised:
        limiter.take()
    assert raised.value.reason is FailureReason.IDEMPOTENCY_UNAVAILABLE


class Fixed:
    def __init__(self, grant: Grant | None) -> None:
        self.grant = grant

    def take(self) -> Grant | None:
        return self.grant


class Recorder:
    def __init__(self) -> None:
        self.sent: list[CopyRequest] = []

    def s3_copy(self, request, deadline, *, max_sleep=None, maybe_sent_since=None) -> CopyResult:
        self.sent.append(request)
        return CopyResult("abc", 1, 1)


def test_the_copier_waits_its_turn_or_sends_nothing():
    request = CopyRequest("b", "k.mp4", REGION, "k.mp4")
    slept: list[float] = []
    inner = Recorder()
    RateLimitedCopier(inner, Fixed(Grant(0.6)), sleep=slept.append).s3_copy(request, Deadline.after(30))
    assert (slept, inner.sent) == ([0.6], [request])

    refused = Recorder()
    with pytest.raises(TransientFailure) as raised:
        RateLimitedCopier(refused, Fixed(None), sleep=slept.append).s3_copy(request, Deadline.after(30))
    assert raised.value.reason is FailureReason.BACKFILL_RATE_LIMITED
    assert refused.sent == []
