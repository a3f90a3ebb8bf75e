"""The command line itself: help, global options anywhere, where the stack comes from, choices,
the confirmation before bulk runs, show and discard, a buffered backfill, status's exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import click
import pytest
from click.testing import CliRunner
from s3_wistia_bridge_cli import cli
from s3_wistia_bridge_cli.confirm import Decision, Plan, decide
from s3_wistia_bridge_cli.stackname import StackSource, choose
from s3_wistia_bridge_cli.ui import Ui

from .conftest import BUCKET, IDEMPOTENCY_TABLE, Stack, permanent_record, s3_event, send, visible_count
from .test_replay_buffered import ingest, ingest_bodies, keys_of
from .test_resources import create_stack

__all__ = ["ingest"]
Run = Any
COMMANDS = sorted(cli.app.commands)


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_every_help_fits_80_columns_and_names_every_flag(command: list[str]) -> None:
    result = CliRunner().invoke(cli.app, [*command, "--help"], terminal_width=80)

    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    params = (cli.app.commands[command[0]] if command else cli.app).params
    flags = [opt for p in params if isinstance(p, click.Option) for opt in p.opts]
    assert flags
    assert all(flag in result.output for flag in flags)


def test_version(run_cli: Run) -> None:
    run = run_cli("--version")

    assert run.code == 0
    assert run.out.startswith("s3-wistia-bridge ")


def test_global_options_work_before_and_after_the_command(stack: Stack, run_cli: Run) -> None:
    send(stack, permanent_record(s3_event("videos/a.mp4")))

    before = run_cli("--output", "json", "--region", "us-east-1", "list", "--queue-url", stack.queue_url)
    after = run_cli("list", "--queue-url", stack.queue_url, "--region", "us-east-1", "--json")

    assert before.code == after.code == 0
    assert before.json()["messages"][0]["objects"] == after.json()["messages"][0]["objects"]


def test_an_option_after_the_command_wins_over_the_same_before_it(stack: Stack, run_cli: Run) -> None:
    create_stack("bridge", {"FailureQueueUrl": stack.queue_url, "IngestFunctionName": "f"})

    run = run_cli("--stack", "no-such-stack", "list", "--stack", "bridge", "--json")

    assert run.code == 0, run.err
    assert run.json()["queueUrl"] == stack.queue_url


def test_the_stack_comes_from_the_environment_then_samconfig(
    stack: Stack, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    create_stack("from-env", {"FailureQueueUrl": stack.queue_url, "IngestFunctionName": "f"})
    (tmp_path / "samconfig.toml").write_text('[default.global.parameters]\nstack_name = "from-samconfig"\n')

    from_samconfig = run_cli("list")
    monkeypatch.setenv("S3_WISTIA_BRIDGE_STACK", "from-env")
    from_env = run_cli("list", "--json")

    assert from_samconfig.code == 2
    assert "unknown stack 'from-samconfig' (from samconfig.toml; is --region right?)" in from_samconfig.err
    assert from_env.code == 0, from_env.err
    assert from_env.json()["queueUrl"] == stack.queue_url


def test_explicit_resources_replace_a_stack_not_named_on_the_command_line(
    stack: Stack, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3_WISTIA_BRIDGE_STACK", "no-such-stack")

    run = run_cli("list", "--queue-url", stack.queue_url)

    assert run.code == 0, run.err


@pytest.mark.parametrize(
    ("option", "source"),
    [("cli", StackSource.OPTION), (None, StackSource.ENVIRONMENT)],
)
def test_choose_prefers_the_option_then_the_environment(option: str | None, source: StackSource) -> None:
    samconfig = {"default": {"deploy": {"parameters": {"stack_name": "sam"}}}}

    chosen = choose(option, {"S3_WISTIA_BRIDGE_STACK": "env"}, samconfig)

    assert chosen is not None
    assert chosen.source is source
    assert choose(None, {}, samconfig) == choose(None, {}, samconfig)
    assert choose(None, {}, {}) is None


def test_samconfig_deploy_section_wins_over_global() -> None:
    config = {
        "default": {
            "deploy": {"parameters": {"stack_name": "d"}},
            "global": {"parameters": {"stack_name": "g"}},
        }
    }

    chosen = choose(None, {}, config)

    assert chosen is not None
    assert (chosen.name, chosen.source) == ("d", StackSource.SAMCONFIG)


@pytest.mark.parametrize("rate", ["0", "-1", "nan-ish"])
def test_a_rate_of_zero_or_less_is_refused(rate: str, run_cli: Run) -> None:
    run = run_cli("backfill", f"s3://{BUCKET}", "--rate", rate)

    assert run.code == 2
    assert "--rate" in run.err


# --- the confirmation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "yes", "interactive", "decision"),
    [
        (1, False, False, Decision.PROCEED),  # one message: no question
        (2, True, False, Decision.PROCEED),
        (2, False, True, Decision.ASK),
        (2, False, False, Decision.REFUSE),
    ],
)
def test_decide(items: int, yes: bool, interactive: bool, decision: Decision) -> None:
    plan = Plan("replay", items, items, "invoke the function", free_items=1)

    assert decide(plan, yes=yes, interactive=interactive) is decision


def test_a_bulk_replay_without_a_terminal_or_yes_is_refused_and_changes_nothing(
    stack: Stack, run_cli: Run
) -> None:
    send(stack, permanent_record(s3_event("videos/a.mp4")))
    send(stack, permanent_record(s3_event("videos/b.mp4")))

    run = run_cli("replay", "--queue-url", stack.queue_url, "--function-name", "f")

    assert run.code == 2
    assert "replay 2 message(s) about 2 object(s): invoke the function; up to 2 Wistia copies" in run.err
    assert "pass --yes" in run.err
    assert visible_count(stack) == 2


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("n\n", 2)])
def test_on_a_terminal_the_operator_is_asked(
    stack: Stack, ingest: str, run_cli: Run, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    send(stack, permanent_record(s3_event("videos/a.mp4")))
    send(stack, permanent_record(s3_event("videos/b.mp4")))
    monkeypatch.setattr(Ui, "interactive", property(lambda _self: True))
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))

    run = run_cli("replay", "--queue-url", stack.queue_url, "--ingest-queue-url", ingest)

    assert run.code == code, run.err
    assert f"requeue to {ingest}; up to 2 Wistia copies" in run.err
    assert len(ingest_bodies(stack, ingest)) == (2 if code == 0 else 0)


def test_a_backfill_says_how_many_objects_and_copies_before_it_starts(
    stack: Stack, run_cli: Run, bridge_env: Any
) -> None:
    for key in ("videos/a.mp4", "videos/b.mp4", "videos/notes.txt"):
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"1")

    run = run_cli("backfill", f"s3://{BUCKET}/videos/", "--local")

    assert run.code == 2
    assert "backfill 2 object(s): run the bridge here; up to 2 Wistia copies" in run.err
    assert stack.emulator.medias() == []


# --- show and discard -------------------------------------------------------------------------


def test_show_prints_one_message_classified_with_its_event_and_leaves_it(stack: Stack, run_cli: Run) -> None:
    send(stack, permanent_record(s3_event("videos/other.mp4")))
    event = s3_event("videos/shown.mp4")
    message_id = send(stack, permanent_record(event))

    text = run_cli("show", message_id, "--queue-url", stack.queue_url)
    document = run_cli("show", message_id, "--queue-url", stack.queue_url, "--json")

    assert text.code == document.code == 0
    assert f"objects      s3://{BUCKET}/videos/shown.mp4" in text.out
    assert "reason       wistia_video_limit" in text.out
    assert '"key": "videos/shown.mp4"' in text.out  # the event, as JSON
    assert document.json()["event"] == event
    assert document.json()["message"]["messageId"] == message_id
    assert visible_count(stack) == 2  # both visible again at once


def test_discard_saves_a_copy_then_deletes_only_that_message(
    stack: Stack, run_cli: Run, tmp_path: Path
) -> None:
    kept = send(stack, "junk")
    gone = send(stack, "{not json", {"ErrorMessage": "why"})

    run = run_cli("discard", gone, "--queue-url", stack.queue_url)

    saved = tmp_path / f"discarded-{gone}.json"
    assert run.code == 0, run.err
    assert str(saved) in run.out
    copy = json.loads(saved.read_text())
    assert copy["sqs"]["Body"] == "{not json"
    assert copy["sqs"]["MessageAttributes"]["ErrorMessage"]["StringValue"] == "why"
    assert copy["message"]["kind"] == "malformed"
    assert [m["MessageId"] for m in stack.queue_messages()] == [kept]


def test_discard_never_overwrites_a_copy_and_then_keeps_the_message(
    stack: Stack, run_cli: Run, tmp_path: Path
) -> None:
    message_id = send(stack, "junk")
    (tmp_path / "copy.json").write_text("an earlier copy")

    run = run_cli("discard", message_id, "--queue-url", stack.queue_url, "--to", "copy.json")

    assert run.code == 2
    assert "copy.json exists" in run.err
    assert (tmp_path / "copy.json").read_text() == "an earlier copy"
    assert visible_count(stack) == 1


def test_an_unknown_message_id_is_a_clear_error(stack: Stack, run_cli: Run) -> None:
    send(stack, "junk")

    run = run_cli("show", "no-such-id", "--queue-url", stack.queue_url)

    assert run.code == 2
    assert "no message no-such-id on the failure queue (looked at 1" in run.err
    assert visible_count(stack) == 1


# --- backfill on a buffered stack, status's exit codes ----------------------------------------


def create_function(name: str, env: dict[str, str]) -> None:
    """A function whose configuration backfill reads (moto never runs it)."""
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Environment={"Variables": env},
    )


def test_a_buffered_backfill_enqueues_each_notification_and_invokes_nothing(
    stack: Stack, ingest: str, bridge_env: Any, run_cli: Run
) -> None:
    for key in ("videos/a.mp4", "videos/b.mp4", "videos/notes.txt"):
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"1")
    create_function("ingest", stack.env)  # its configuration validates; it is never invoked
    create_stack(
        "buffered",
        {"FailureQueueUrl": stack.queue_url, "IngestFunctionName": "ingest", "IngestQueueUrl": ingest,
         "Delivery": "buffered"},
    )  # fmt: skip

    run = run_cli("backfill", f"s3://{BUCKET}/videos/", "--stack", "buffered", "--yes", "--json")

    assert run.code == 0, run.err
    assert run.json()["summary"] == {"queued": 2, "rejected": 1, "failed": 0}
    assert run.json()["delivery"] == "buffered"
    bodies = ingest_bodies(stack, ingest)
    assert keys_of(bodies) == ["videos/a.mp4", "videos/b.mp4"]
    assert json.loads(bodies[0])["Records"][0]["eventName"] == "ObjectCreated:Put"
    assert stack.emulator.medias() == []


def test_status_exits_3_when_nothing_is_known(stack: Stack, run_cli: Run) -> None:
    stack.put("videos/new.mp4")

    run = run_cli(
        "status",
        f"s3://{BUCKET}/videos/new.mp4",
        "--table",
        IDEMPOTENCY_TABLE,
        "--queue-url",
        stack.queue_url,
    )

    assert run.code == 3
    assert "nothing known" in run.out


def test_no_region_anywhere_is_one_clear_line(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")

    run = run_cli("list", "--queue-url", "https://sqs.example/123/q")

    assert run.code == 2
    assert run.err.strip() == "s3-wistia-bridge: error: no AWS region: pass --region or set AWS_REGION"
