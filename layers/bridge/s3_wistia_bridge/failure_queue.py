"""The SQS failure queue: where permanent failures are recorded for an operator to replay."""

from __future__ import annotations

import json

from .aws import AwsClients
from .errors import TransientFailure
from .models import JsonDict
from .reasons import FailureReason


class SqsFailureQueue:
    """Sends failure records on the container's SQS client (made on the first failure)."""

    def __init__(self, queue_url: str, clients: AwsClients) -> None:
        self._queue_url = queue_url
        self._clients = clients

    def send(self, record: JsonDict) -> None:
        attributes = {
            "reason": {"DataType": "String", "StringValue": str(record.get("reason"))},
            "failureClass": {"DataType": "String", "StringValue": str(record.get("failureClass"))},
        }
        try:
            self._clients.sqs.send_message(
                QueueUrl=self._queue_url,
                MessageBody=json.dumps(record, ensure_ascii=False, default=str),
                MessageAttributes=attributes,  # type: ignore[arg-type]
            )
        except Exception as error:
            # Raising hands the whole event back to Lambda's retries and on-failure destination:
            # a failure record is never dropped because the queue was briefly unreachable.
            raise TransientFailure(
                FailureReason.FAILURE_QUEUE_UNAVAILABLE,
                f"could not write the failure record to FAILURE_QUEUE_URL ({type(error).__name__})",
            ) from error
