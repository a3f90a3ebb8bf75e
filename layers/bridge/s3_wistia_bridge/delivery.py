"""Buffered delivery: how long a message that failed transiently waits in the ingest queue.

A transient failure is not slept through in a billed invocation: the message is reported failed
(partial batch response) after its visibility timeout was set to the backoff, so SQS redelivers it
then, and moves it to the dead-letter queue after the queue's maxReceiveCount (AWS Lambda
Developer Guide, "Using Lambda with Amazon SQS": "Implementing partial batch responses").
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Protocol

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients
from .observability import logger
from .s3_objects import error_code

# Backoffs shorter than this are still slept inside the invocation (a blip is over before a
# redelivery would even start); longer ones are left to the queue.
QUEUE_MAX_SLEEP_SECONDS = 2.0
RETRY_BASE_SECONDS = 20
RETRY_CAP_SECONDS = 3600
MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit for ChangeMessageVisibility (12 hours)


def retry_delay(
    receive_count: int, retry_after: float | None, jitter: Callable[[], float] = random.random
) -> int:
    """Seconds until the message is delivered again: Wistia's Retry-After when it gave one, else
    exponential in the deliveries so far, with equal jitter (a burst does not come back at once)."""
    if retry_after is not None:
        seconds = retry_after
    else:
        ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (max(1, receive_count) - 1))
        seconds = ceiling / 2 + jitter() * ceiling / 2
    return min(MAX_VISIBILITY_SECONDS, max(1, math.ceil(seconds)))


def receive_count(record: SQSRecord) -> int:
    """How many times SQS has delivered this message (1 the first time)."""
    raw = record.raw_event.get("attributes", {}).get("ApproximateReceiveCount")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else 1


class RetryQueue(Protocol):
    def delay(self, record: SQSRecord, seconds: int) -> None: ...


class SqsRetryQueue:
    """ChangeMessageVisibility on the queue a record came from (its URL looked up once per ARN)."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._urls: dict[str, str] = {}

    def delay(self, record: SQSRecord, seconds: int) -> None:
        """Best effort: if it fails, the queue's own visibility timeout brings the message back."""
        try:
            self._clients.sqs.change_message_visibility(
                QueueUrl=self._url(record.event_source_arn),
                ReceiptHandle=record.receipt_handle,
                VisibilityTimeout=seconds,
            )
        except (BotoCoreError, ClientError, ValueError) as error:
            logger.warning(
                "could not set the message's retry delay: it returns after the queue's visibility timeout",
                retry_in_seconds=seconds,
                error=error_code(error),
            )

    def _url(self, arn: str) -> str:
        url = self._urls.get(arn)
        if url is None:
            # arn:aws:sqs:<region>:<account>:<name>
            _, _, _, _, account, name = arn.split(":", 5)
            url = self._urls[arn] = self._clients.sqs.get_queue_url(
                QueueName=name, QueueOwnerAWSAccountId=account
            )["QueueUrl"]
        return url
