"""Buffered delivery's retry delays: Wistia's Retry-After first, else exponential with jitter."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from s3_wistia_bridge.delivery import (
    MAX_VISIBILITY_SECONDS,
    RETRY_BASE_SECONDS,
    RETRY_CAP_SECONDS,
    receive_count,
    retry_delay,
)


def test_retry_after_wins_over_the_exponential_backoff() -> None:
    assert retry_delay(5, 7.2, jitter=lambda: 1.0) == 8  # whole seconds, rounded up


@pytest.mark.parametrize(("count", "ceiling"), [(1, 20), (2, 40), (3, 80), (8, 2560), (9, 3600), (30, 3600)])
def test_without_retry_after_the_delay_doubles_per_delivery_up_to_the_cap(count: int, ceiling: int) -> None:
    assert (retry_delay(count, None, jitter=lambda: 0.0), retry_delay(count, None, jitter=lambda: 1.0)) == (
        ceiling // 2,
        ceiling,
    )


def test_the_first_delivery_starts_at_the_base() -> None:
    assert retry_delay(0, None, jitter=lambda: 1.0) == RETRY_BASE_SECONDS
    assert RETRY_BASE_SECONDS < RETRY_CAP_SECONDS <= MAX_VISIBILITY_SECONDS


@pytest.mark.parametrize("retry_after", [0.0, 1e9])
def test_the_delay_stays_within_what_sqs_accepts(retry_after: float) -> None:
    assert 1 <= retry_delay(1, retry_after) <= MAX_VISIBILITY_SECONDS


@pytest.mark.parametrize(("attributes", "expected"), [({"ApproximateReceiveCount": "3"}, 3), ({}, 1)])
def test_receive_count_reads_the_message_attribute(attributes: dict[str, str], expected: int) -> None:
    record = SQSRecord({"messageId": "m", "receiptHandle": "r", "body": "{}", "attributes": attributes})
    assert receive_count(record) == expected
