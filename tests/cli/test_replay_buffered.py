"""Replay for a buffered stack: each selected message's original event goes back to the ingest
queue (moto SQS), and leaves the failure queue only once SQS accepted it."""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge_cli.queue import FailureQueue, IngestQueue
from s3_wistia_bridge_cli.replay import ReplayOptions, ReplayStatus, Row, replay
from s3_wistia_bridge_cli.resources import ErrorKind, OperatorError

from tests.conftest import LambdaContextStub

from .conftest import (
    BUCKET,
    Stack,
    on_failure,
    permanent_record,
    s3_event,
    send,
    visible_count,
)
from .test_resources import create_stack

Run = Any  # the run_cli fixture: (*argv) -> CliRun
TEST_EVENT = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}


@pytest.fixture
def ingest(stack: Stack) -> str:
    """The ingest queue, its redrive policy pointing at the failure queue (as the template's)."""
    failure_arn = stack.sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": failure_arn, "maxReceiveCount": "3"})
    url: str = stack.sqs.create_queue(
        QueueName="s3-wistia-bridge-ingest", Attributes={"RedrivePolicy": redrive}
    )["QueueUrl"]
    return url


def ingest_bodies(stack: Stack, url: str) -> list[str]:
    """Every message on the ingest queue (what the event source mapping would deliver)."""
    bodies: dict[str, str] = {}
    while True:
        batch = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        fresh = [m for m in batch.get("Messages", []) if m["MessageId"] not in bodies]
        if not fresh:
            return list(bodies.values())
        bodies.update((m["MessageId"], m["Body"]) for m in fresh)


def keys_of(bodies: list[str]) -> list[str]:
    return sorted(json.loads(body)["Records"][0]["s3"]["object"]["key"] for body in bodies)


def test_each_shape_is_requeued_as_exactly_its_original_event_and_then_deleted(
    stack: Stack, ingest: str, run_cli: Run
) -> None:
    record_event, raw_event, invoke_event = (s3_event(f"videos/{n}.mp4") for n in ("record", "raw", "invoke"))
    raw_text = json.dumps(raw_event, indent=1)  # as it sat on the ingest queue, byte for byte
    ids = {
        "failure_record": send(stack, permanent_record(record_event)),
        "dead_letter": send(stack, raw_text),
        "on_failure": send(stack, on_failure(invoke_event, "wistia_server_error: HTTP 502")),
        "test_event": send(stack, TEST_EVENT),
    }

    run = run_cli("replay", "--queue-url", stack.queue_url, "--ingest-queue-url", ingest, "--json", "--yes")

    assert run.code == 0, run.err
    document = run.json()
    assert (document["delivery"], document["ingestQueueUrl"]) == ("buffered", ingest)
    status = {m["messageId"]: m["status"] for m in document["messages"]}
    assert status == {
        ids["failure_record"]: "requeued",
        ids["dead_letter"]: "requeued",
        ids["on_failure"]: "requeued",
        ids["test_event"]: "skipped",
    }
    assert document["summary"] == {
        "requeued": 3,
        "failed": 0,
        "skipped": 1,
        "malformed": 0,
        "filtered out": 0,
    }
    bodies = ingest_bodies(stack, ingest)
    assert len(bodies) == 3
    assert raw_text in bodies
    inner = sorted((json.loads(body) for body in bodies if body != raw_text), key=json.dumps)
    assert inner == sorted([record_event, invoke_event], key=json.dumps)
    assert [m["MessageId"] for m in stack.queue_messages()] == [ids["test_event"]]  # only it is left


def test_a_buffered_stack_requeues_and_says_how_to_follow_up(stack: Stack, ingest: str, run_cli: Run) -> None:
    create_stack(
        "bridge",
        {
            "FailureQueueUrl": stack.queue_url,
            "IngestFunctionName": "no-such-function",  # never invoked
            "IngestQueueUrl": ingest,
            "Delivery": "buffered",
        },
    )
    send(stack, permanent_record(s3_event("videos/a.mp4")))

    run = run_cli("replay", "--stack", "bridge")

    assert run.code == 0, run.err
    assert f"requeued     s3://{BUCKET}/videos/a.mp4  reason=wistia_video_limit (permanent)" in run.out
    assert f"requeued to {ingest}" in run.out
    assert "s3-wistia-bridge status" in run.out
    assert keys_of(ingest_bodies(stack, ingest)) == ["videos/a.mp4"]
    assert visible_count(stack) == 0


def test_a_direct_stack_with_an_ingest_queue_output_still_invokes(
    stack: Stack, ingest: str, run_cli: Run
) -> None:
    create_stack(
        "direct",
        {
            "FailureQueueUrl": stack.queue_url,
            "IngestFunctionName": "f",
            "IngestQueueUrl": ingest,
            "Delivery": "direct",
        },
    )
    send(stack, permanent_record(s3_event("videos/a.mp4")))

    run = run_cli("list", "--stack", "direct", "--json")

    document = run.json()
    assert (document["delivery"], document["messages"][0]["status"]) == ("direct", "would_replay")


def test_a_buffered_stack_without_an_ingest_queue_output_is_a_clear_error(stack: Stack, run_cli: Run) -> None:
    create_stack("partial", {"FailureQueueUrl": stack.queue_url, "Delivery": "buffered"})
    message_id = send(stack, permanent_record(s3_event("videos/a.mp4")))

    run = run_cli("replay", "--stack", "partial")

    assert run.code == 2
    assert "stack 'partial' has no output IngestQueueUrl; pass --ingest-queue-url" in run.err
    assert [m["MessageId"] for m in stack.queue_messages()] == [message_id]


def test_dry_run_says_would_requeue_and_changes_nothing(stack: Stack, ingest: str, run_cli: Run) -> None:
    for name in ("a", "b"):
        send(stack, permanent_record(s3_event(f"videos/{name}.mp4")))

    run = run_cli("replay", "--queue-url", stack.queue_url, "--ingest-queue-url", ingest, "--dry-run")

    assert run.code == 0, run.err
    assert f"would_requeue s3://{BUCKET}/videos/a.mp4" in run.out
    assert "would requeue" in run.out  # the summary's row
    assert "requeued to" not in run.out
    assert ingest_bodies(stack, ingest) == []
    assert visible_count(stack) == 2


def test_filters_requeue_only_what_they_select(stack: Stack, ingest: str, run_cli: Run) -> None:
    send(stack, permanent_record(s3_event("videos/perm.mp4")))
    send(stack, on_failure(s3_event("other/trans.mp4"), "wistia_server_error: 502"))
    send(stack, on_failure(s3_event("videos/trans.mp4"), "wistia_rate_limited: 429"))
    send(stack, permanent_record(s3_event("videos/forbidden.mp4"), FailureReason.WISTIA_FORBIDDEN, 403))

    by_class = run_cli(
        "replay", "--queue-url", stack.queue_url, "--ingest-queue-url", ingest,
        "--prefix", "videos/", "--reason", "transient", "--json",
    )  # fmt: skip
    by_reason = run_cli(
        "replay", "--queue-url", stack.queue_url, "--ingest-queue-url", ingest,
        "--reason", "wistia_forbidden", "--json",
    )  # fmt: skip

    assert by_class.json()["summary"]["filtered out"] == 3
    assert by_reason.json()["summary"]["requeued"] == 1
    assert keys_of(ingest_bodies(stack, ingest)) == ["videos/forbidden.mp4", "videos/trans.mp4"]
    left = [m["Body"] for m in stack.queue_messages()]
    assert len(left) == 2
    assert any("videos/perm.mp4" in body for body in left)
    assert any("other/trans.mp4" in body for body in left)


def test_max_bounds_the_number_requeued(stack: Stack, ingest: str) -> None:
    for i in range(5):
        send(stack, permanent_record(s3_event(f"videos/{i}.mp4")))

    report = replay(
        FailureQueue(stack.sqs, stack.queue_url),
        IngestQueue(stack.sqs, ingest),
        ReplayOptions(max_messages=2),
    )

    assert report.summary()[Row.REQUEUED] == 2
    assert len(ingest_bodies(stack, ingest)) == 2
    assert visible_count(stack) == 3  # the others are visible again


class RefusingSqs:
    """SendMessageBatch refuses the entries whose body names `refuse`; the rest is moto's."""

    def __init__(self, sqs: Any, refuse: str) -> None:
        self.sqs = sqs
        self.refuse = refuse

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        kept = [e for e in Entries if self.refuse not in e["MessageBody"]]
        response = self.sqs.send_message_batch(QueueUrl=QueueUrl, Entries=kept) if kept else {}
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
            for e in Entries
            if self.refuse in e["MessageBody"]
        ]
        return {"Successful": response.get("Successful", []), "Failed": failed}


def test_an_entry_sqs_refuses_keeps_its_message_and_fails_the_run(stack: Stack, ingest: str) -> None:
    for name in ("a", "refused", "b"):
        send(stack, permanent_record(s3_event(f"videos/{name}.mp4")))

    report = replay(
        FailureQueue(stack.sqs, stack.queue_url),
        IngestQueue(RefusingSqs(stack.sqs, "refused"), ingest),
        ReplayOptions(),
    )

    statuses = {r.message.objects[0].key: (r.status, r.error) for r in report.results}
    assert statuses["videos/refused.mp4"] == (ReplayStatus.REQUEUE_FAILED, "not requeued: try again")
    assert statuses["videos/a.mp4"] == statuses["videos/b.mp4"] == (ReplayStatus.REQUEUED, None)
    assert report.failed
    assert report.summary()[Row.FAILED] == 1
    assert keys_of(ingest_bodies(stack, ingest)) == ["videos/a.mp4", "videos/b.mp4"]
    [left] = stack.queue_messages()
    assert json.loads(left["Body"])["object"]["key"] == "videos/refused.mp4"


def test_a_missing_ingest_queue_stops_the_run_and_keeps_every_message(stack: Stack, run_cli: Run) -> None:
    url = stack.queue_url.rsplit("/", 1)[0] + "/no-such-ingest"
    ids = {send(stack, permanent_record(s3_event(f"videos/{i}.mp4"))) for i in range(3)}

    run = run_cli("replay", "--queue-url", stack.queue_url, "--ingest-queue-url", url, "--yes")

    assert run.code == 2
    assert f"error: queue does not exist: {url}" in run.err
    assert {m["MessageId"] for m in stack.queue_messages()} == ids  # all kept, visible again


def stubbed_sqs() -> tuple[Any, Stubber]:
    client = boto3.client("sqs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    return client, Stubber(client)


def test_send_batch_against_real_response_shapes_counts_only_confirmed_entries() -> None:
    client, stub = stubbed_sqs()
    bodies = [f'{{"n": {i}}}' for i in range(12)]
    first = [{"Id": str(i), "MessageBody": bodies[i]} for i in range(10)]
    stub.add_response(
        "send_message_batch",
        {
            "Successful": [
                {"Id": str(i), "MessageId": f"m{i}", "MD5OfMessageBody": "x"} for i in range(10) if i != 4
            ],
            "Failed": [
                {"Id": "4", "SenderFault": True, "Code": "InvalidParameterValue", "Message": "bad body"}
            ],
        },
        {"QueueUrl": "q", "Entries": first},
    )
    second = [{"Id": str(i), "MessageBody": bodies[i]} for i in (10, 11)]
    # Entry 11 is in neither list: not confirmed, so not sent as far as the replay knows.
    stub.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "10", "MessageId": "m10", "MD5OfMessageBody": "x"}], "Failed": []},
        {"QueueUrl": "q", "Entries": second},
    )
    stub.add_client_error("send_message_batch", "RequestThrottled", "slow down")
    stub.add_client_error("send_message_batch", "AccessDenied", "no", http_status_code=403)

    with stub:
        refused = IngestQueue(client, "q").send_batch(bodies)
        throttled = IngestQueue(client, "q").send_batch(['{"n": 0}'])
        with pytest.raises(OperatorError) as denied:
            IngestQueue(client, "q").send_batch(['{"n": 0}'])

    stub.assert_no_pending_responses()
    assert refused == {4: "bad body", 11: "SQS did not confirm it"}
    assert list(throttled) == [0]
    assert "RequestThrottled" in throttled[0]
    assert denied.value.kind is ErrorKind.ACCESS_DENIED
    assert "grant sqs:SendMessage" in str(denied.value)


def test_send_batch_keeps_each_call_under_the_size_limit() -> None:
    calls: list[int] = []

    class Counting:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
            calls.append(sum(len(e["MessageBody"]) for e in Entries))
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    big = "x" * 100_000

    assert IngestQueue(Counting(), "q").send_batch([big, big, big, "{}"]) == {}
    assert calls == [200_000, 100_002]


class RewritingIngest(IngestQueue):
    """Like the buffered function failing again at once: each requeued event comes back to the
    failure queue, as a new failure record or moved back by the redrive policy (a raw original)."""

    def __init__(self, stack: Stack, url: str) -> None:
        super().__init__(stack.sqs, url)
        self.stack = stack
        self.sent: list[str] = []

    def send_batch(self, bodies: list[str]) -> dict[int, str]:
        refused = super().send_batch(bodies)
        for index, body in enumerate(bodies):
            event = json.loads(body)
            self.sent.append(event["Records"][0]["s3"]["object"]["key"])
            send(self.stack, permanent_record(event) if index % 2 else body)
        return refused


@pytest.mark.timeout(30)  # a regression here loops forever
def test_a_run_never_requeues_what_came_back_during_it_even_with_a_wrong_clock(
    stack: Stack, ingest: str
) -> None:
    for i in range(24):  # more than one round, so messages come back during the run
        send(stack, permanent_record(s3_event(f"videos/{i:02}.mp4")))
    target = RewritingIngest(stack, ingest)

    report = replay(
        FailureQueue(stack.sqs, stack.queue_url),
        target,
        ReplayOptions(concurrency=1),
        clock=lambda: time.time() + 3600,  # an operator clock an hour ahead of SQS
    )

    assert sorted(target.sent) == [f"videos/{i:02}.mp4" for i in range(24)]  # each exactly once
    assert report.summary()[Row.REQUEUED] == 24
    assert len(stack.queue_messages()) == 24  # only what came back remains


def test_local_still_runs_the_bridge_here_for_a_buffered_stack(
    stack: Stack, ingest: str, bridge_env: dict[str, str], run_cli: Run
) -> None:
    send(stack, permanent_record(stack.put("videos/local.mp4")))

    run = run_cli("replay", "--queue-url", stack.queue_url, "--ingest-queue-url", ingest, "--local", "--json")

    assert run.code == 0, run.err
    assert [m["status"] for m in run.json()["messages"]] == ["replayed"]
    assert [m["name"] for m in stack.emulator.medias()] == ["local.mp4"]
    assert ingest_bodies(stack, ingest) == []


def test_the_function_copies_a_failure_record_a_dlq_redrive_moved_to_the_ingest_queue(
    stack: Stack, ingest: str, bridge_app: ModuleType
) -> None:
    """What StartMessageMoveTask delivers (not implemented by moto: the move is done by hand)."""
    stack.sqs.send_message(
        QueueUrl=ingest, MessageBody=json.dumps(permanent_record(stack.put("videos/r.mp4")))
    )
    [message] = stack.sqs.receive_message(QueueUrl=ingest, AttributeNames=["All"])["Messages"]
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message["Attributes"],
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:s3-wistia-bridge-ingest",
        "awsRegion": "us-east-1",
    }

    result = bridge_app.lambda_handler({"Records": [record]}, LambdaContextStub(remaining_seconds=30))

    assert result == {"batchItemFailures": []}
    assert [m["name"] for m in stack.emulator.medias()] == ["r.mp4"]
    assert stack.queue_messages() == []  # no malformed_event record
