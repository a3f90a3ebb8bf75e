"""Replay against moto SQS, the real handler (in-process) and the Wistia emulator."""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any

import boto3
import pytest
from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.models import S3Object
from s3_wistia_bridge.reasons import FailureReason, ReasonClass
from s3_wistia_bridge_cli import cli
from s3_wistia_bridge_cli.queue import FailureQueue
from s3_wistia_bridge_cli.replay import (
    InvokeResult,
    LocalInvoker,
    ReplayOptions,
    ReplayStatus,
    Row,
    replay,
)

from tests.integration.faults import fail_requests

from .conftest import (
    BUCKET,
    TOKEN,
    CliRun,
    RecordingInvoker,
    Stack,
    on_failure,
    permanent_record,
    s3_copies,
    s3_event,
    send,
    visible_count,
)

Run = Any  # the run_cli fixture: (*argv) -> CliRun


def bodies(stack: Stack) -> list[Any]:
    out = []
    for message in stack.queue_messages():
        try:
            out.append(json.loads(message["Body"]))
        except ValueError:
            out.append(message["Body"])
    return out


def fill_every_shape(stack: Stack) -> dict[str, str]:
    """(a) on-failure, (b) dead-letter raw event, (c) failure record, (d) test event, (e) junk."""
    return {
        "on_failure": send(stack, on_failure(stack.put("videos/a one.mp4"), "wistia_server_error: HTTP 502")),
        "dead_letter": send(
            stack,
            stack.put("videos/b+two.mp4"),
            {"ErrorCode": "200", "ErrorMessage": "wistia_timeout: read timed out", "RequestID": "r-2"},
        ),
        "failure_record": send(
            stack, permanent_record(stack.put("videos/c.mp4"), FailureReason.WISTIA_FORBIDDEN, 403)
        ),
        "test_event": send(stack, {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}),
        "malformed": send(stack, "{not json"),
    }


def test_replay_handles_every_shape_and_deletes_only_what_succeeded(
    stack: Stack, bridge_env: dict[str, str], run_cli: Run
) -> None:
    ids = fill_every_shape(stack)

    run: CliRun = run_cli("replay", "--queue-url", stack.queue_url, "--local", "--json", "--yes")

    document = run.json()
    status = {m["messageId"]: m["status"] for m in document["messages"]}
    assert status == {
        ids["on_failure"]: "replayed",
        ids["dead_letter"]: "replayed",
        ids["failure_record"]: "replayed",
        ids["test_event"]: "skipped",
        ids["malformed"]: "malformed",
    }
    assert sorted(m["name"] for m in stack.emulator.medias()) == ["a one.mp4", "b+two.mp4", "c.mp4"]
    # The test event and the malformed message are left, and visible again at once.
    assert {m["MessageId"] for m in stack.queue_messages()} == {ids["test_event"], ids["malformed"]}
    assert document["summary"] == {
        "replayed": 3,
        "failed again": 0,
        "skipped": 1,
        "malformed": 1,
        "filtered out": 0,
    }
    assert run.code == 1  # a malformed message needs the operator


def test_text_output_shows_objects_reasons_and_a_summary_table_and_no_metrics(
    stack: Stack, bridge_env: dict[str, str], run_cli: Run
) -> None:
    # A rejected object makes the bridge emit an EMF blob: it must not reach the CLI's stdout.
    send(stack, on_failure(stack.put("videos/notes.txt"), "wistia_server_error: HTTP 502"))
    send(stack, on_failure(stack.put("videos/ok.mp4"), "wistia_server_error: HTTP 502"))

    run = run_cli("replay", "--queue-url", stack.queue_url, "--local", "--verbose", "--yes")

    assert run.code == 0
    assert f"replayed     s3://{BUCKET}/videos/ok.mp4  reason=wistia_server_error (transient)" in run.out
    assert "attempts=3" in run.out
    assert "replayed  " in run.out
    assert "_aws" not in run.out  # metrics went to stderr with --verbose, never stdout
    assert "rejected" in run.err  # the bridge's own log line, on stderr
    assert TOKEN not in run.out + run.err
    assert visible_count(stack) == 0


def test_function_error_leaves_the_message_visible_again_and_shows_the_new_error(
    stack: Stack, bridge_env: dict[str, str], run_cli: Run
) -> None:
    fail_requests(stack.emulator, 502)
    message_id = send(stack, on_failure(stack.put("videos/down.mp4"), "wistia_timeout: x"))

    run = run_cli("replay", "--queue-url", stack.queue_url, "--local", "--json")

    [result] = run.json()["messages"]
    assert result["status"] == "failed"
    assert result["error"].startswith("TransientFailure: wistia_server_error")
    assert [m["MessageId"] for m in stack.queue_messages()] == [message_id]  # kept, visible now
    assert run.code == 1


def test_permanent_failure_again_supersedes_the_old_message_with_the_functions_new_record(
    stack: Stack, bridge_env: dict[str, str], run_cli: Run
) -> None:
    fail_requests(stack.emulator, 400, body={"error": "This account has exceeded its video limit."})
    old = send(stack, permanent_record(stack.put("videos/limit.mp4")))

    run = run_cli("replay", "--queue-url", stack.queue_url, "--local", "--json")

    [result] = run.json()["messages"]
    assert result["status"] == "superseded"
    assert "again" in result["error"]
    [new] = stack.queue_messages()
    assert new["MessageId"] != old
    record = json.loads(new["Body"])
    assert (record["type"], record["object"]["key"]) == ("s3-wistia-bridge.failure", "videos/limit.mp4")
    assert len(s3_copies(stack)) == 1  # the new record was not replayed in the same run
    assert run.json()["summary"]["failed again"] == 1
    assert run.code == 1


class RewritingInvoker:
    """Like the function when Wistia refuses again: writes a new failure record, answers permanent."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.keys: list[str] = []

    def invoke(self, event: Any) -> InvokeResult:
        [obj] = parse_event(event)
        assert isinstance(obj, S3Object)
        self.keys.append(obj.key)
        send(self.stack, permanent_record(event))
        return InvokeResult(
            200,
            None,
            {"objects": [{"outcome": "permanent_failure", "uri": obj.uri, "reason": "wistia_video_limit"}]},
        )


@pytest.mark.timeout(30)  # a regression here loops forever
def test_a_run_never_replays_records_written_during_it_even_with_a_wrong_clock(stack: Stack) -> None:
    for i in range(12):  # more than one round, so new records are received during the run
        send(stack, permanent_record(s3_event(f"videos/{i:02}.mp4")))
    invoker = RewritingInvoker(stack)

    report = replay(
        FailureQueue(stack.sqs, stack.queue_url),
        invoker,
        ReplayOptions(concurrency=1),
        clock=lambda: time.time() + 3600,  # an operator clock an hour ahead of SQS
    )

    assert sorted(invoker.keys) == [f"videos/{i:02}.mp4" for i in range(12)]  # each exactly once
    assert report.summary()[Row.FAILED_AGAIN] == 12
    assert len(stack.queue_messages()) == 12  # only the new records remain


def test_filters_select_by_prefix_and_reason_class_and_leave_the_rest(stack: Stack) -> None:
    send(stack, permanent_record(s3_event("videos/perm.mp4")))
    send(stack, on_failure(s3_event("other/trans.mp4"), "wistia_server_error: 502"))
    send(stack, on_failure(s3_event("videos/trans.mp4"), "wistia_rate_limited: 429"))
    invoker = RecordingInvoker()

    report = replay(
        FailureQueue(stack.sqs, stack.queue_url),
        invoker,
        ReplayOptions(prefix="videos/", reason=ReasonClass.TRANSIENT),
    )

    assert invoker.keys() == ["videos/trans.mp4"]
    assert report.summary()[Row.FILTERED_OUT] == 2
    left = sorted(json.dumps(b) for b in bodies(stack))
    assert len(left) == 2
    assert any("videos/perm.mp4" in b for b in left)
    assert any("other/trans.mp4" in b for b in left)


def test_reason_filter_by_exact_reason(stack: Stack) -> None:
    send(stack, permanent_record(s3_event("videos/a.mp4"), FailureReason.WISTIA_FORBIDDEN, 403))
    send(stack, permanent_record(s3_event("videos/b.mp4"), FailureReason.WISTIA_VIDEO_LIMIT, 400))
    invoker = RecordingInvoker()

    replay(
        FailureQueue(stack.sqs, stack.queue_url),
        invoker,
        ReplayOptions(reason=FailureReason.WISTIA_FORBIDDEN),
    )

    assert invoker.keys() == ["videos/a.mp4"]
    assert visible_count(stack) == 1


def fill_the_classes_the_old_lists_missed(stack: Stack) -> dict[str, str]:
    """One message of each reason the runbook classes but the replay tool once called unknown,
    plus one well-known reason of each class."""
    return {
        "wistia_ambiguous": send(
            stack, permanent_record(stack.put("videos/ambiguous.mp4"), FailureReason.WISTIA_AMBIGUOUS)
        ),
        "s3_access_denied": send(
            stack, permanent_record(stack.put("videos/denied.mp4"), FailureReason.S3_ACCESS_DENIED, 403)
        ),
        "wistia_video_limit": send(stack, permanent_record(stack.put("videos/limit.mp4"))),
        "s3_unavailable": send(
            stack, on_failure(stack.put("videos/s3-down.mp4"), "s3_unavailable: HeadObject")
        ),
        "wistia_server_error": send(
            stack, on_failure(stack.put("videos/5xx.mp4"), "wistia_server_error: 502")
        ),
    }


@pytest.mark.parametrize(
    ("wanted", "replayed"),
    [
        ("permanent", {"wistia_ambiguous", "s3_access_denied", "wistia_video_limit"}),
        ("transient", {"s3_unavailable", "wistia_server_error"}),
    ],
)
def test_replay_by_class_takes_every_reason_of_that_class(
    stack: Stack, bridge_env: dict[str, str], run_cli: Run, wanted: str, replayed: set[str]
) -> None:
    ids = fill_the_classes_the_old_lists_missed(stack)

    run = run_cli("replay", "--queue-url", stack.queue_url, "--local", "--reason", wanted, "--json", "--yes")

    assert run.code == 0, run.err
    messages = {m["messageId"]: m for m in run.json()["messages"]}
    assert {reason: messages[message_id]["status"] for reason, message_id in ids.items()} == {
        reason: "replayed" if reason in replayed else "filtered" for reason in ids
    }
    assert {messages[ids[reason]]["reasonClass"] for reason in replayed} == {wanted}
    assert {m["MessageId"] for m in stack.queue_messages()} == {ids[r] for r in ids.keys() - replayed}


def test_a_mistyped_reason_is_refused_naming_the_choices(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    send(stack, permanent_record(s3_event("videos/a.mp4")))

    code = cli.main(["replay", "--queue-url", stack.queue_url, "--reason", "wistia_video_limt"])

    assert code == 2
    err = capsys.readouterr().err
    assert "Invalid value for '--reason': 'wistia_video_limt' is not one of" in err
    assert all(f"'{choice}'" in err for choice in ("permanent", "transient", "unknown", "wistia_video_limit"))
    assert visible_count(stack) == 1  # refused before the queue was touched


def test_max_bounds_the_number_of_replayed_messages(stack: Stack) -> None:
    for i in range(5):
        send(stack, permanent_record(s3_event(f"videos/{i}.mp4")))
    invoker = RecordingInvoker()

    report = replay(FailureQueue(stack.sqs, stack.queue_url), invoker, ReplayOptions(max_messages=2))

    assert len(invoker.events) == 2
    assert report.summary()[Row.REPLAYED] == 2
    assert len(stack.queue_messages()) == 3  # the others are visible again


def test_concurrent_replay_invokes_each_message_once(stack: Stack) -> None:
    for i in range(25):
        send(stack, on_failure(s3_event(f"videos/{i:02}.mp4"), "wistia_server_error: 502"))
    invoker = RecordingInvoker()

    report = replay(FailureQueue(stack.sqs, stack.queue_url), invoker, ReplayOptions(concurrency=8))

    assert sorted(invoker.keys()) == [f"videos/{i:02}.mp4" for i in range(25)]
    assert report.summary()[Row.REPLAYED] == 25
    assert visible_count(stack) == 0


def test_dry_run_changes_nothing_and_shows_every_message(
    stack: Stack, bridge_env: dict[str, str], run_cli: Run
) -> None:
    ids = fill_every_shape(stack)
    before = visible_count(stack)

    run = run_cli("replay", "--queue-url", stack.queue_url, "--dry-run")

    assert run.code == 0
    assert visible_count(stack) == before == 5
    assert {m["MessageId"] for m in stack.queue_messages()} == set(ids.values())  # all receivable now
    assert s3_copies(stack) == []
    assert f"would_replay s3://{BUCKET}/videos/a one.mp4  reason=wistia_server_error (transient)" in run.out
    assert "reason=wistia_forbidden (permanent)  attempts=1" in run.out
    assert "malformed" in run.out
    assert "not JSON" in run.out
    assert "would replay" in run.out


def test_list_is_replay_dry_run_with_json(stack: Stack, run_cli: Run) -> None:
    send(stack, permanent_record(s3_event("videos/x.mp4")))

    run = run_cli("list", "--queue-url", stack.queue_url, "--json")

    document = run.json()
    assert document["dryRun"] is True
    [message] = document["messages"]
    assert message["objects"] == [f"s3://{BUCKET}/videos/x.mp4"]
    assert (message["reason"], message["reasonClass"], message["attempts"]) == (
        "wistia_video_limit",
        "permanent",
        1,
    )
    assert message["ageSeconds"] is not None
    assert visible_count(stack) == 1


def test_discard_test_events_deletes_only_test_events(stack: Stack, run_cli: Run) -> None:
    send(stack, {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})
    junk = send(stack, "junk")

    run = run_cli("replay", "--queue-url", stack.queue_url, "--function-name", "f", "--discard-test-events")

    assert [m["MessageId"] for m in stack.queue_messages()] == [junk]
    assert run.code == 1  # the malformed one is left for the operator


def test_empty_queue_says_nothing_to_replay(stack: Stack, run_cli: Run) -> None:
    run = run_cli("replay", "--queue-url", stack.queue_url, "--function-name", "ingest")

    assert (run.code, run.out.strip()) == (0, "nothing to replay: the failure queue is empty")


def test_missing_queue_is_a_clear_error(stack: Stack, run_cli: Run) -> None:
    url = stack.queue_url.rsplit("/", 1)[0] + "/no-such-queue"

    run = run_cli("replay", "--queue-url", url, "--dry-run")

    assert run.code == 2
    assert f"error: queue does not exist: {url}" in run.err


def test_replay_needs_a_function_unless_local(stack: Stack, run_cli: Run) -> None:
    run = run_cli("replay", "--queue-url", stack.queue_url)

    assert run.code == 2
    assert "pass --stack NAME or --function-name" in run.err


def test_local_replay_reads_the_functions_environment(
    stack: Stack, bridge_app: ModuleType, run_cli: Run, monkeypatch: Any
) -> None:
    for name in stack.env:
        monkeypatch.delenv(name, raising=False)  # only the function's configuration has them
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="ingest", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName="ingest",
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Environment={"Variables": stack.env},
    )
    send(stack, on_failure(stack.put("videos/env.mp4"), "wistia_server_error: 502"))

    run = run_cli("replay", "--function-name", "ingest", "--queue-url", stack.queue_url, "--local")

    assert run.code == 0, run.err
    assert [m["name"] for m in stack.emulator.medias()] == ["env.mp4"]
    assert TOKEN not in run.out + run.err


def test_local_invoker_with_the_real_handler_replays_a_failure_record(
    stack: Stack, bridge_app: ModuleType
) -> None:
    send(stack, permanent_record(stack.put("videos/real.mp4")))

    report = replay(
        FailureQueue(stack.sqs, stack.queue_url),
        LocalInvoker(lambda: bridge_app.lambda_handler),
        ReplayOptions(),
    )

    [result] = report.results
    assert result.status is ReplayStatus.REPLAYED
    assert result.outcomes[0]["hashed_id"] == stack.emulator.medias()[0]["hashed_id"]
    assert visible_count(stack) == 0
