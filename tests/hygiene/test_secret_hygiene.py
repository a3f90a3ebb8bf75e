"""Secret hygiene (issue 6, item 6): the Wistia token never leaves Secrets Manager and the request.

Every path of the real handler (cold-started with `load_app` against moto and the Wistia
emulator) runs with a distinctive token, and the token, the whole secret string and, for
malformed secrets, the malformed value must appear in none of: log lines and EMF metric blobs
(the Powertools logger's stream, stdout, stderr), records of the standard logging tree (caplog:
botocore, urllib3, Powertools utilities), failure records on the queue (bodies and attributes),
escaping exceptions (str, repr, attributes, full chained traceback), the handler's results, the
emulator's request log and the idempotency table. Every case also asserts that its path was
really taken (its reason or outcome was reported), so no case can pass vacuously.

All cases run with the function's log level at DEBUG, the most verbose setting the template
offers (POWERTOOLS_LOG_LEVEL); INFO output is a subset of it. The root logger stays at its
default (WARNING), as in Lambda's text log format. A separate test turns the root logger to DEBUG
too, as Lambda does with ApplicationLogLevel=DEBUG in the JSON log format.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from s3_wistia_bridge.errors import TransientFailure
from s3_wistia_bridge.observability import logger
from wistia_emulator import FaultRule

from tests.conftest import LambdaContextStub, load_event
from tests.integration import conftest as integration
from tests.integration.conftest import ROTATED_TOKEN, TOKEN, Stack, metric_values, s3_event
from tests.integration.faults import fail_requests

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

# The integration tier's moto + emulator stack (fixtures are found by name in the module).
emulator = integration.emulator
stack = integration.stack

SECRET_STRING = json.dumps({"access_token": TOKEN})  # what the stack fixture stores
ROTATED_SECRET = json.dumps({"access_token": ROTATED_TOKEN, "rotated": "2026-11-21"})
OTHER_TOKEN = "wst-not-the-secret-token-0000"
# Loggers of the test doubles themselves (the moto server, the emulator), not of the function.
TEST_DOUBLE_LOGGERS = ("moto", "werkzeug", "wistia_emulator", "tests")
HYGIENE_ENV = {
    "POWERTOOLS_LOG_LEVEL": "DEBUG",
    "WISTIA_MAX_ATTEMPTS": "2",
    "WISTIA_CONNECT_TIMEOUT_SECONDS": "1",
    "WISTIA_READ_TIMEOUT_SECONDS": "1",
}


# --- capturing every channel --------------------------------------------------------------------


@dataclass
class Output:
    """What the function wrote: the Powertools logger's stream, stdout, stderr and caplog."""

    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    logger_stream: io.StringIO
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    records: list[logging.LogRecord] = field(default_factory=list)

    @contextmanager
    def function_running(self) -> Iterator[None]:
        """Keeps the logging records the function itself writes while it runs (its own thread):
        not those of the test's own boto3 calls, nor the emulator's or moto's threads."""
        start, thread = len(self.caplog.records), threading.get_ident()
        try:
            yield
        finally:
            self.records += [
                r
                for r in self.caplog.records[start:]
                if r.thread == thread and not r.name.startswith(TEST_DOUBLE_LOGGERS)
            ]

    def _drain(self) -> None:
        captured = self.capsys.readouterr()
        self.out.append(self.logger_stream.getvalue() + captured.out)
        self.err.append(captured.err)
        self.logger_stream.seek(0)
        self.logger_stream.truncate()

    def text(self) -> str:
        """Everything, raw: leak checks must not depend on lines parsing as JSON."""
        self._drain()
        formatted = [logging.Formatter().format(record) for record in self.records]
        return "\n".join([*self.out, *self.err, *formatted, *(repr(r.__dict__) for r in self.records)])

    def json_lines(self) -> list[dict[str, Any]]:
        self._drain()
        lines = "".join(self.out).splitlines()
        return [json.loads(line) for line in lines if line.strip().startswith("{")]


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Output]:
    """Like the integration tier's function_output, but keeps everything raw, stderr included."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    previous_level = logger.log_level
    try:
        yield Output(capsys, caplog, buffer)
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        logger.setLevel(previous_level)


# --- driving the function -----------------------------------------------------------------------


@dataclass
class Harness:
    stack: Stack
    load: Callable[[dict[str, str]], ModuleType]
    output: Output
    app: ModuleType | None = None
    results: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    # What must never appear; each case adds its own (a rotated token, a malformed value...).
    needles: set[str] = field(default_factory=lambda: {TOKEN, SECRET_STRING})
    keys: int = 0

    def cold_start(self, **env: str) -> None:
        self.app = self.load(self.stack.env | HYGIENE_ENV | env)
        # The Powertools logger is created once per process, so POWERTOOLS_LOG_LEVEL is read only
        # at the first import: apply it as a fresh container would.
        logger.setLevel((self.stack.env | HYGIENE_ENV | env)["POWERTOOLS_LOG_LEVEL"])

    def put(self, name: str | None = None) -> dict[str, Any]:
        self.keys += 1
        return self.stack.put(f"videos/{name or f'clip-{self.keys}'}.mp4")

    def invoke(self, event: Any) -> None:
        assert self.app is not None
        try:
            with self.output.function_running():
                self.results.append(self.app.lambda_handler(event, LambdaContextStub(remaining_seconds=30)))
        except Exception as error:  # every escaping exception is inspected, whatever its type
            self.errors.append(error)

    def warm(self) -> None:
        """A successful copy first, so the token is cached in the process during the case.

        Only for paths that do not read the token themselves; a copy reads it before sending.
        """
        self.invoke(self.put("warm-up"))
        assert self.results[-1]["objects"][0]["outcome"] == "copied"

    def set_secret(self, value: str | bytes) -> None:
        if isinstance(value, bytes):
            self.stack.secrets.put_secret_value(SecretId=self.stack.secret_arn, SecretBinary=value)
        else:
            self.stack.secrets.put_secret_value(SecretId=self.stack.secret_arn, SecretString=value)

    def reasons(self) -> list[str]:
        """Every reason or outcome the function reported through its results and exceptions."""
        seen: list[str] = []
        for result in self.results:
            for report in result.get("objects", []):
                seen += [report["outcome"], report.get("reason", "")]
        seen += [getattr(error, "reason", type(error).__name__) for error in self.errors]
        return seen


def s3_copies(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in stack.emulator.requests() if r["path"] == "/s3_copy"]


def echo(status: int) -> dict[str, Any]:
    """A Wistia error body that echoes the token back, in both the detail and the code."""
    return {
        "error": {
            "code": f"http_{status}_bad_token:{TOKEN}",
            "detail": f"token {TOKEN} rejected; secret {SECRET_STRING}",
        }
    }


def sqs_message(message_id: str, body: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "r",
        "body": json.dumps(body),
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
        "awsRegion": "us-east-1",
    }


# --- the cases: each drives one path and returns what proves it was taken -------------------------


@dataclass(frozen=True)
class Expect:
    """The reason (or outcome) the function reports, and the start of a log line it writes."""

    reason: str
    logged: str | None = None  # None: a line whose reason or message is `reason`


def case_success(h: Harness) -> Expect:
    h.cold_start()
    h.invoke(h.put())
    return Expect("copied")


def case_duplicate(h: Harness) -> Expect:
    h.cold_start()
    event = h.put()
    h.invoke(event)
    h.invoke(event)
    return Expect("duplicate")


def case_rejected(h: Harness) -> Expect:
    h.cold_start()
    h.warm()
    h.invoke(s3_event("videos/notes.txt"))
    return Expect("extension_not_allowed")


def case_skipped(h: Harness) -> Expect:
    h.cold_start()
    h.warm()
    h.invoke(load_event("s3-test-event.json"))
    return Expect("s3_test_event")


def case_video_limit(h: Harness) -> Expect:
    h.cold_start()
    h.stack.emulator.video_limit = 0
    h.invoke(h.put())
    return Expect("wistia_video_limit")


def _permanent(status: int, reason: str, body: Any) -> Callable[[Harness], Expect]:
    def case(h: Harness) -> Expect:
        h.cold_start()
        fail_requests(h.stack.emulator, status, body=body)
        h.invoke(h.put())
        return Expect(reason)

    return case


def case_unauthorized_twice(h: Harness) -> Expect:
    h.cold_start()
    h.stack.emulator.set_tokens([OTHER_TOKEN])
    h.invoke(h.put())
    assert [r["auth"] for r in s3_copies(h.stack)][-2:] == ["invalid", "invalid"]
    return Expect("wistia_unauthorized")


def _transient(action: int | str, reason: str, **rule: Any) -> Callable[[Harness], Expect]:
    def case(h: Harness) -> Expect:
        # A timeout or a Retry-After costs real seconds: one attempt for those (the retry path is
        # covered by 500 and drop).
        h.cold_start(**({"WISTIA_MAX_ATTEMPTS": "1"} if action in {"timeout", 429} else {}))
        h.stack.emulator.add_rule(FaultRule(action=action, **rule))
        h.invoke(h.put())
        assert isinstance(h.errors[-1], TransientFailure)
        return Expect(reason)

    return case


def case_rotation(h: Harness) -> Expect:
    h.needles.add(ROTATED_TOKEN)
    h.needles.add(ROTATED_SECRET)
    h.cold_start()
    h.warm()  # caches TOKEN
    h.set_secret(ROTATED_SECRET)
    h.stack.emulator.set_tokens([ROTATED_TOKEN])
    h.invoke(h.put())
    assert [r["auth"] for r in s3_copies(h.stack)][-3:] == ["valid", "invalid", "valid"]
    return Expect("copied")


def _malformed_secret(value: str | bytes, *needles: str) -> Callable[[Harness], Expect]:
    def case(h: Harness) -> Expect:
        h.needles.update(needles)
        h.set_secret(value)
        h.cold_start()  # nothing cached: the first read gets the malformed value
        h.invoke(h.put())
        assert s3_copies(h.stack) == []
        return Expect("secret_malformed")

    return case


BINARY_SECRET = b"\xff\xfe\x00BINARY-SECRET-MARKER-4242\x80"


def case_secret_unavailable(h: Harness) -> Expect:
    h.cold_start(TOKEN_CACHE_SECONDS="0")  # every copy reads the secret again
    h.warm()
    h.stack.secrets.delete_secret(SecretId=h.stack.secret_arn, ForceDeleteWithoutRecovery=True)
    h.invoke(h.put())
    return Expect("secret_unavailable")


def case_failure_queue_unavailable(h: Harness) -> Expect:
    h.cold_start()
    h.warm()
    h.stack.sqs.delete_queue(QueueUrl=h.stack.queue_url)
    fail_requests(h.stack.emulator, 403, body=echo(403))
    h.invoke(h.put())
    h.stack.sqs.create_queue(QueueName="s3-wistia-bridge-failures")  # so the checks can read it
    return Expect("failure_queue_unavailable", logged="could not write the failure record")


def case_malformed_event(h: Harness) -> Expect:
    h.cold_start()
    h.warm()
    h.invoke({"hello": "world"})
    return Expect("malformed_event", logged="malformed event: recorded on the failure queue")


def case_sqs_batch(h: Harness) -> Expect:
    h.cold_start(WISTIA_MAX_ATTEMPTS="1")
    good, bad = h.put("good"), h.put("bad")
    fail_requests(h.stack.emulator, 500, match="bad.mp4", body=echo(500))
    h.invoke({"Records": [sqs_message("m-good", good), sqs_message("m-bad", bad)]})
    assert h.results[-1] == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    return Expect("wistia_server_error")


CASES: dict[str, Callable[[Harness], Expect]] = {
    "success": case_success,
    "duplicate": case_duplicate,
    "rejected": case_rejected,
    "skipped": case_skipped,
    "400-video-limit": case_video_limit,
    "400-nested-error-echoing-the-token": _permanent(400, "wistia_bad_request", echo(400)),
    "400-flat-error-echoing-the-token": _permanent(400, "wistia_bad_request", {"error": f"bad {TOKEN}"}),
    "403-text-body-echoing-the-token": _permanent(403, "wistia_forbidden", f"token {TOKEN} may not upload"),
    "404": _permanent(404, "wistia_not_found", echo(404)),
    "422": _permanent(422, "wistia_unprocessable", echo(422)),
    "401-twice": case_unauthorized_twice,
    "500-exhausted": _transient(500, "wistia_server_error", body=echo(500)),
    "429-retry-after-exhausted": _transient(429, "wistia_rate_limited", retry_after=1, body=echo(429)),
    "drop-exhausted": _transient("drop", "wistia_connection_error"),
    "timeout-exhausted": _transient("timeout", "wistia_timeout", timeout_seconds=2.0),
    "token-rotation": case_rotation,
    "secret-json-without-access-token": _malformed_secret(
        '{"token": "wst-NO-ACCESS-TOKEN-FIELD-1234"}', "wst-NO-ACCESS-TOKEN-FIELD-1234"
    ),
    "secret-json-unparseable": _malformed_secret(
        '{"access_token": "wst-UNPARSEABLE-JSON-5678"', "wst-UNPARSEABLE-JSON-5678"
    ),
    "secret-access-token-not-a-string": _malformed_secret(
        '{"access_token": 98765432109876543210}', "98765432109876543210"
    ),
    "secret-token-with-whitespace": _malformed_secret(
        "wst-WHITESPACE-TOKEN 9abc-def0-SECRET", "wst-WHITESPACE-TOKEN", "9abc-def0-SECRET"
    ),
    "secret-token-non-ascii": _malformed_secret("wst-ÜNICODE-TOKEN-ÄÖ-1234", "ÜNICODE-TOKEN-ÄÖ"),
    "secret-token-too-short": _malformed_secret("Zq7#kP2", "Zq7#kP2"),
    "secret-binary-not-utf8": _malformed_secret(
        BINARY_SECRET, "BINARY-SECRET-MARKER-4242", base64.b64encode(BINARY_SECRET).decode()
    ),
    "secret-whitespace-only": _malformed_secret(" \n\t "),
    "secrets-manager-unavailable": case_secret_unavailable,
    "failure-queue-unavailable": case_failure_queue_unavailable,
    "malformed-event": case_malformed_event,
    "sqs-batch-partial-failure": case_sqs_batch,
}


# An SQS batch reports failed message ids, not reasons: its reason is checked in the logs.
REPORTED_ONLY_IN_LOGS = {"sqs-batch-partial-failure"}
# Cases where Wistia's error body echoes the token: the bridge must redact it, visibly.
ECHOED = {
    "400-nested-error-echoing-the-token",
    "400-flat-error-echoing-the-token",
    "403-text-body-echoing-the-token",
    "404",
    "422",
    "500-exhausted",
    "429-retry-after-exhausted",
    "sqs-batch-partial-failure",
}


# --- the checks ---------------------------------------------------------------------------------


def spellings(needle: str) -> set[str]:
    """The needle as it would look raw, JSON-escaped, repr'd or URL-encoded."""
    forms = {
        needle,
        json.dumps(needle)[1:-1],
        json.dumps(needle, ensure_ascii=False)[1:-1],
        repr(needle)[1:-1],
        quote(needle, safe=""),
        quote_plus(needle, safe=""),
        repr(needle.encode("utf-8"))[2:-1],
    }
    return {form for form in forms if form}


def exception_text(error: BaseException) -> str:
    return "\n".join(
        [
            str(error),
            repr(error),
            repr(getattr(error, "__dict__", {})),
            "".join(traceback.format_exception(error)),
            "".join(traceback.format_exception(error, chain=True)),
            repr(error.__cause__),
            repr(error.__context__),
        ]
    )


def all_channels(h: Harness, output: Output) -> dict[str, str]:
    failure_messages = h.stack.failure_records()
    return {
        "logs, metrics, stdout, stderr, logging records": output.text(),
        "failure records": json.dumps(failure_messages, ensure_ascii=False, default=repr)
        + json.dumps(failure_messages, default=repr),
        "exceptions": "\n".join(exception_text(error) for error in h.errors),
        "handler results": json.dumps(h.results, ensure_ascii=False, default=repr),
        "emulator requests": json.dumps(h.stack.emulator.requests(), ensure_ascii=False, default=repr),
        "idempotency table": json.dumps(h.stack.idempotency_items(), ensure_ascii=False, default=repr),
    }


def assert_no_leak(h: Harness, channels: dict[str, str]) -> None:
    for needle in sorted(h.needles):
        for form in sorted(spellings(needle)):
            for name, text in channels.items():
                assert form not in text, f"{needle!r} leaked into {name} (as {form!r})"


@pytest.mark.parametrize("case", list(CASES))
def test_no_path_leaks_the_token_or_the_secret(
    case: str,
    stack: Stack,
    load_app: Callable[[dict[str, str]], ModuleType],
    output: Output,
) -> None:
    h = Harness(stack, load_app, output)

    expected = CASES[case](h)

    assert logger.log_level == logging.DEBUG
    assert all(isinstance(error, TransientFailure) for error in h.errors), h.errors  # the one that may escape
    # The path was really taken: its reason (or outcome) was reported and logged.
    if case not in REPORTED_ONLY_IN_LOGS:
        assert expected.reason in h.reasons()
    logged = output.json_lines()
    marker = expected.reason if expected.logged is None else expected.logged
    assert not marker or any(
        line.get("reason") == marker or str(line.get("message", "")).startswith(marker) for line in logged
    ), (marker, [(line.get("message"), line.get("reason")) for line in logged])
    assert any("_aws" in line for line in logged), "no EMF metric blob was captured"
    channels = all_channels(h, output)
    if case in ECHOED:
        # The echoed token was redacted, not dropped with the whole error text.
        assert "***" in channels["logs, metrics, stdout, stderr, logging records"]
    assert_no_leak(h, channels)


@pytest.mark.parametrize("case", ["success"])  # a malformed secret's value leaks the same way
def test_root_logger_at_debug_does_not_leak_the_secret_through_botocore(
    case: str,
    stack: Stack,
    load_app: Callable[[dict[str, str]], ModuleType],
    output: Output,
) -> None:
    """Lambda's JSON log format with ApplicationLogLevel=DEBUG sets the root logger to DEBUG."""
    output.caplog.set_level(logging.DEBUG)
    h = Harness(stack, load_app, output)

    expected = CASES[case](h)

    assert expected.reason in h.reasons()
    channels = all_channels(h, output)
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
    # botocore would log the GetSecretValue body at DEBUG: the bridge pins it to INFO or above.
    assert logging.getLogger("botocore").getEffectiveLevel() >= logging.INFO
    assert_no_leak(h, channels)


def test_failure_queue_outage_is_logged_and_counted(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType], output: Output
) -> None:
    h = Harness(stack, load_app, output)
    case_failure_queue_unavailable(h)
    assert isinstance(h.errors[-1], TransientFailure)
    logged = output.json_lines()
    assert any(line.get("reason") == "failure_queue_unavailable" for line in logged)
    assert [value for value, _ in metric_values(logged, "TransientFailure")] == [1]
