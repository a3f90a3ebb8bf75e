"""Exactly once across invocations, as AWS really behaves, in both delivery modes.

Each case leaves a request that Wistia accepted without a success record in DynamoDB:
- the function is killed (timeout, out of memory, recycled sandbox) after Wistia accepted and
  before the success write; the redelivery comes after the in-progress lock expired;
- writing the success record fails (DynamoDB 5xx after the SDK's retries);
- Wistia answers after the invocation's read budget was spent, with no time left to look.
In every case the redelivery must find the media through the Data API instead of posting again.

A kill is a BaseException raised where the process would die: Powertools and the bridge catch
only Exception, so nothing after that line runs, as when Lambda stops the sandbox.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import DynamoDBPersistenceLayer
from botocore.exceptions import ClientError
from s3_wistia_bridge.errors import TransientFailure
from wistia_emulator import FaultRule

from tests.conftest import LambdaContextStub

from .conftest import IDEMPOTENCY_TABLE, REGION, Stack, metric_values

pytestmark = pytest.mark.integration


class Killed(BaseException):
    """The sandbox went away at this line."""


class Delivery:
    """Hands one S3 event to the function as one delivery mode does, again and again."""

    name = ""

    def __init__(self, stack: Stack, app: ModuleType) -> None:
        self.stack, self.app = stack, app

    def deliver(self, event: dict[str, Any], remaining_seconds: float = 30.0) -> str:
        """The object's outcome, or "transient" when the delivery will be retried."""
        raise NotImplementedError


class Direct(Delivery):
    """S3 or EventBridge invoking the function asynchronously: a transient failure is raised."""

    name = "direct"

    def deliver(self, event: dict[str, Any], remaining_seconds: float = 30.0) -> str:
        try:
            result = self.app.lambda_handler(event, LambdaContextStub(remaining_seconds=remaining_seconds))
        except TransientFailure:
            return "transient"
        return str(result["objects"][0]["outcome"])


class Buffered(Delivery):
    """The ingest queue's event source mapping: the S3 event is a message body (moto SQS)."""

    name = "buffered"

    def __init__(self, stack: Stack, app: ModuleType) -> None:
        super().__init__(stack, app)
        self.queue_url = stack.sqs.create_queue(QueueName="s3-wistia-bridge-ingest")["QueueUrl"]
        self.queue_arn = stack.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.pending: dict[str, Any] | None = None  # received, not deleted: it will come back

    def deliver(self, event: dict[str, Any], remaining_seconds: float = 30.0) -> str:
        """A new message (S3's duplicate delivery), unless the last one is still on the queue."""
        if self.pending is None:
            self.stack.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(event))
        [message] = self.receive()
        self.pending = message
        batch = {"Records": [self.record(message)]}
        result = self.app.lambda_handler(batch, LambdaContextStub(remaining_seconds=remaining_seconds))
        if result["batchItemFailures"]:
            return "transient"
        self.stack.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        self.pending = None
        return "done"

    def receive(self) -> list[dict[str, Any]]:
        """What the event source mapping would receive now (a retry delay hides a message)."""
        return list(
            self.stack.sqs.receive_message(
                QueueUrl=self.queue_url, AttributeNames=["All"], VisibilityTimeout=60, WaitTimeSeconds=0
            ).get("Messages", [])
        )

    def make_visible(self) -> None:
        """As if the pending message's visibility timeout (or retry delay) had run out."""
        if self.pending is not None:
            self.stack.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=self.pending["ReceiptHandle"], VisibilityTimeout=0
            )

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The SQS record Lambda builds from a received message (AWS's sample event shape)."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message["Attributes"],
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }


@pytest.fixture(params=[Direct, Buffered], ids=["direct", "buffered"])
def delivery(request: pytest.FixtureRequest, stack: Stack, bridge_app: ModuleType) -> Delivery:
    factory: Callable[[Stack, ModuleType], Delivery] = request.param
    return factory(stack, bridge_app)


def expire_in_progress_locks(stack: Stack) -> None:
    """The lock lasts for the invocation that took it; the redelivery comes after it expired."""
    for item in stack.idempotency_items():
        if item.get("status", {}).get("S") == "INPROGRESS":
            stack.dynamodb.update_item(
                TableName=IDEMPOTENCY_TABLE,
                Key={"id": item["id"]},
                UpdateExpression="SET in_progress_expiration = :past",
                ExpressionAttributeValues={":past": {"N": str(int((time.time() - 60) * 1000))}},
            )


def s3_copies(stack: Stack) -> int:
    return len([r for r in stack.emulator.requests() if r["path"] == "/s3_copy"])


def redeliver(delivery: Delivery, event: dict[str, Any]) -> str:
    if isinstance(delivery, Buffered):
        delivery.make_visible()
    return delivery.deliver(event)


@pytest.fixture
def success_write(monkeypatch: pytest.MonkeyPatch) -> Callable[[BaseException], None]:
    """Make the next success write (Powertools' UpdateItem of the COMPLETED record) raise."""
    original = DynamoDBPersistenceLayer._update_record

    def fail_next(error: BaseException) -> None:
        def failing(self: DynamoDBPersistenceLayer, data_record: Any) -> None:
            monkeypatch.setattr(DynamoDBPersistenceLayer, "_update_record", original)
            raise error

        monkeypatch.setattr(DynamoDBPersistenceLayer, "_update_record", failing)

    return fail_next


def test_killed_after_wistia_accepted_and_before_the_success_write(
    stack: Stack,
    delivery: Delivery,
    success_write: Callable[[BaseException], None],
    function_output: Callable[[], list[dict[str, Any]]],
) -> None:
    event = stack.put("videos/killed.mp4")
    success_write(Killed())

    with pytest.raises(Killed):
        delivery.deliver(event)
    assert len(stack.emulator.medias()) == 1
    expire_in_progress_locks(stack)
    function_output()

    assert redeliver(delivery, event) in {"copied", "done"}

    assert len(stack.emulator.medias()) == 1
    assert s3_copies(stack) == 1
    [copied] = [r for r in function_output() if r.get("message") == "copied"]
    assert copied["recovered_after_unanswered_request"] is True
    assert copied["hashed_id"] == stack.emulator.medias()[0]["hashed_id"]


def test_a_failed_success_write_is_reported_copied_and_never_copied_again(
    stack: Stack, delivery: Delivery, success_write: Callable[[BaseException], None]
) -> None:
    event = stack.put("videos/unrecorded.mp4")
    success_write(ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "UpdateItem"))

    assert delivery.deliver(event) in {"copied", "done"}  # the media exists: not a failure
    assert len(stack.emulator.medias()) == 1

    # A duplicate delivery while the lock still stands waits; one after it expired looks it up.
    assert redeliver(delivery, event) == "transient"
    expire_in_progress_locks(stack)
    assert redeliver(delivery, event) in {"copied", "done"}

    assert len(stack.emulator.medias()) == 1
    assert s3_copies(stack) == 1


def test_an_answer_after_the_read_budget_is_looked_up_by_the_next_delivery(
    stack: Stack, delivery: Delivery
) -> None:
    event = stack.put("videos/slow.mp4")
    # Wistia creates the media, then answers only after the invocation stopped waiting.
    stack.emulator.add_rule(FaultRule(action="timeout_after_processing", times=1, timeout_seconds=10.0))

    # 5.5 s: after the 2 s reserve and the 2 s connect timeout, 1.5 s to read, none to look.
    assert delivery.deliver(event, remaining_seconds=5.5) == "transient"
    assert len(stack.emulator.medias()) == 1

    assert redeliver(delivery, event) in {"copied", "done"}

    assert len(stack.emulator.medias()) == 1
    assert s3_copies(stack) == 1


def test_a_dynamodb_outage_before_sending_is_transient_and_sends_nothing(
    stack: Stack, delivery: Delivery, function_output: Callable[[], list[dict[str, Any]]]
) -> None:
    event = stack.put("videos/no-table.mp4")
    stack.dynamodb.delete_table(TableName=IDEMPOTENCY_TABLE)

    assert delivery.deliver(event) == "transient"

    assert stack.emulator.medias() == []
    [warning] = [r for r in function_output() if r.get("message") == "transient failure: to be retried"]
    assert warning["reason"] == "idempotency_unavailable"


def test_buffered_retry_waits_in_the_queue_for_wistias_retry_after(
    stack: Stack, bridge_app: ModuleType
) -> None:
    buffered = Buffered(stack, bridge_app)
    event = stack.put("videos/busy.mp4")
    stack.emulator.add_rule(FaultRule(action=429, times=1, retry_after=3))

    started = time.monotonic()
    assert buffered.deliver(event) == "transient"
    assert time.monotonic() - started < 2.5, "a 3 s Retry-After is waited in the queue, not in the function"
    assert buffered.receive() == []  # hidden for Retry-After

    time.sleep(3.2)
    assert buffered.deliver(event) == "done"
    assert len(stack.emulator.medias()) == 1


def test_metrics_count_a_failed_success_write(
    stack: Stack,
    bridge_app: ModuleType,
    success_write: Callable[[BaseException], None],
    function_output: Callable[[], list[dict[str, Any]]],
) -> None:
    success_write(ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "UpdateItem"))

    Direct(stack, bridge_app).deliver(stack.put("videos/throttled.mp4"))

    assert [value for value, _ in metric_values(function_output(), "IdempotencyWriteFailed")] == [1]
