"""Fixtures for the operator CLI: the integration tier's moto + emulator stack, plus helpers to
fill and inspect the failure queue and to run `s3-wistia-bridge` in-process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from s3_wistia_bridge.errors import PermanentFailure
from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.failures import failure_record
from s3_wistia_bridge.models import S3Object
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge_cli import cli
from s3_wistia_bridge_cli import queue as queue_module
from s3_wistia_bridge_cli.replay import InvokeResult

# Fixtures and helpers of the integration tier, re-exported for this one.
from tests.integration.conftest import (
    BUCKET,
    IDEMPOTENCY_TABLE,
    TOKEN,
    Stack,
    bridge_app,
    emulator,
    s3_event,
    stack,
)

__all__ = ["BUCKET", "IDEMPOTENCY_TABLE", "TOKEN", "Stack", "bridge_app", "emulator", "s3_event", "stack"]


@pytest.fixture(autouse=True)
def _no_long_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers at once when messages exist; an empty long poll would cost a second."""
    monkeypatch.setattr(queue_module, "RECEIVE_WAIT_SECONDS", 0)


@pytest.fixture(autouse=True)
def _no_implicit_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """The CLI takes a stack from S3_WISTIA_BRIDGE_STACK or ./samconfig.toml: here neither, so
    each test names what it uses (the project's own samconfig.toml names a real stack)."""
    monkeypatch.delenv("S3_WISTIA_BRIDGE_STACK", raising=False)
    monkeypatch.chdir(tmp_path)


@dataclass
class CliRun:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    def run(*argv: str) -> CliRun:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture
def bridge_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function's configuration in this process's environment (what --local reads)."""
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WISTIA_MAX_ATTEMPTS", "1")
    return stack.env


def send(deployed: Stack, body: Any, attributes: dict[str, str] | None = None) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    kwargs: dict[str, Any] = {"QueueUrl": deployed.queue_url, "MessageBody": text}
    if attributes:
        kwargs["MessageAttributes"] = {
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        }
    return str(deployed.sqs.send_message(**kwargs)["MessageId"])


def on_failure(event: dict[str, Any], error_message: str | None, *, invoke_count: int = 3) -> dict[str, Any]:
    """An on-failure invocation record as ministack writes it: no version, timestamp, requestId."""
    record: dict[str, Any] = {
        "requestContext": {
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:ingest",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    }
    if error_message is not None:
        record["responsePayload"] = {"errorMessage": error_message, "errorType": "TransientFailure"}
    return record


def permanent_record(
    event: dict[str, Any], reason: FailureReason = FailureReason.WISTIA_VIDEO_LIMIT, status: int = 400
) -> dict[str, Any]:
    """The function's own failure record for the single object of `event`."""
    [obj] = parse_event(event)
    assert isinstance(obj, S3Object)
    failure = PermanentFailure(reason, f"Wistia answered HTTP {status}", http_status=status, attempts=1)
    return failure_record(failure, obj, request_id="req-1", function_arn="arn:fn")


def visible_count(deployed: Stack) -> int:
    attributes = deployed.sqs.get_queue_attributes(
        QueueUrl=deployed.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def s3_copies(deployed: Stack) -> list[dict[str, Any]]:
    return [r for r in deployed.emulator.requests() if r["path"] == "/s3_copy"]


class RecordingInvoker:
    """Answers every invocation like a successful function; remembers the events."""

    def __init__(self, answer: Callable[[Any], InvokeResult] | None = None) -> None:
        self.events: list[Any] = []
        self._answer = answer

    def invoke(self, event: Any) -> InvokeResult:
        self.events.append(event)
        if self._answer is not None:
            return self._answer(event)
        objects = [
            {"outcome": "copied", "uri": item.uri, "hashed_id": "abc123"}
            for item in parse_event(event)
            if isinstance(item, S3Object)
        ]
        return InvokeResult(200, None, {"objects": objects})

    def keys(self) -> list[str]:
        return [
            item.key for event in self.events for item in parse_event(event) if isinstance(item, S3Object)
        ]


@pytest.fixture
def no_output_leak(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    yield
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
