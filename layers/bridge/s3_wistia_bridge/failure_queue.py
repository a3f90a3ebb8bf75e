"""The SQS failure queue: where permanent failures are recorded for an operator to replay."""

from __future__ import annotations

import json
from typing import Any

from .errors import TransientFailure
from .models import JsonDict


class SqsFailureQueue:
    """Sends failure records; the boto3 client is created on first use (failures are rare)."""

    def __init__(self, queue_url: str, client: Any = None, session: Any = None) -> None:
        """`session`: the boto3 Session to create the client from (default: boto3's own)."""
        self._queue_url = queue_url
        self._client = client
        self._session = session

    def send(self, record: JsonDict) -> None:
        if self._client is None:
            import boto3  # noqa: PLC0415 - keeps boto3's client setup off the cold start

            self._client = (self._session or boto3).client("sqs")
        attributes = {
            "reason": {"DataType": "String", "StringValue": str(record.get("reason"))},
            "failureClass": {"DataType": "String", "StringValue": str(record.get("failureClass"))},
        }
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=json.dumps(record, ensure_ascii=False, default=str),
                MessageAttributes=attributes,
            )
        except Exception as error:
            # Raising hands the whole event back to Lambda's retries and on-failure destination:
            # a failure record is never dropped because the queue was briefly unreachable.
            raise TransientFailure(
                "failure_queue_unavailable",
                f"could not write the failure record to FAILURE_QUEUE_URL ({type(error).__name__})",
            ) from error
