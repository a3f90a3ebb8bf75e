"""The boto3 Lambda invoker against real Lambda response shapes (botocore Stubber), and the
local invoker's translation of exceptions into function errors."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from s3_wistia_bridge.errors import TransientFailure
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge_cli.replay import LambdaInvoker, LocalInvoker
from s3_wistia_bridge_cli.resources import ErrorKind, OperatorError

from .conftest import s3_event

EVENT = s3_event("videos/a b.mp4")


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("lambda", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    return client, Stubber(client)


def body(payload: Any) -> StreamingBody:
    data = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def expected() -> dict[str, Any]:
    return {
        "FunctionName": "ingest",
        "InvocationType": "RequestResponse",
        "Payload": json.dumps(EVENT).encode("utf-8"),
    }


def test_success_is_status_200_without_function_error() -> None:
    client, stub = stubbed()
    answer = {"objects": [{"outcome": "copied", "uri": "s3://b/videos/a b.mp4", "hashed_id": "h1"}]}
    stub.add_response(
        "invoke", {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": body(answer)}, expected()
    )

    with stub:
        result = LambdaInvoker(client, "ingest").invoke(EVENT)

    stub.assert_no_pending_responses()
    assert result.ok
    assert result.objects == answer["objects"]
    assert result.error_message is None


def test_unhandled_function_error_is_a_failure_with_the_error_message() -> None:
    client, stub = stubbed()
    error = {
        "errorMessage": "wistia_server_error: HTTP 502",
        "errorType": "TransientFailure",
        "stackTrace": [],
    }
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "ExecutedVersion": "$LATEST",
            "Payload": body(error),
        },
        expected(),
    )

    with stub:
        result = LambdaInvoker(client, "ingest").invoke(EVENT)

    assert not result.ok
    assert result.error_message == "TransientFailure: wistia_server_error: HTTP 502"
    assert result.objects == []


def test_throttling_is_a_failed_invocation_not_an_abort() -> None:
    client, stub = stubbed()
    stub.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded", http_status_code=429)

    with stub:
        result = LambdaInvoker(client, "ingest").invoke(EVENT)

    assert not result.ok
    assert "TooManyRequestsException" in (result.error_message or "")


@pytest.mark.parametrize(
    ("code", "status", "text", "kind"),
    [
        ("ResourceNotFoundException", 404, "function not found: ingest", ErrorKind.NOT_FOUND),
        (
            "AccessDeniedException",
            403,
            "access denied: lambda:InvokeFunction on ingest",
            ErrorKind.ACCESS_DENIED,
        ),
        (
            "ExpiredTokenException",
            403,
            "access denied: lambda:InvokeFunction on ingest",
            ErrorKind.ACCESS_DENIED,
        ),
    ],
)
def test_operator_mistakes_abort_with_a_clear_error(
    code: str, status: int, text: str, kind: ErrorKind
) -> None:
    client, stub = stubbed()
    stub.add_client_error("invoke", code, "nope", http_status_code=status)

    with stub, pytest.raises(OperatorError, match=text) as raised:
        LambdaInvoker(client, "ingest").invoke(EVENT)

    assert raised.value.kind is kind


def test_local_invoker_reports_an_exception_as_an_unhandled_function_error() -> None:
    def handler(event: Any, context: Any) -> Any:
        assert context.get_remaining_time_in_millis() > 600_000  # a generous deadline
        raise TransientFailure(FailureReason.WISTIA_TIMEOUT, "no answer")

    result = LocalInvoker(lambda: handler).invoke(EVENT)

    assert (result.ok, result.function_error) == (False, "Unhandled")
    assert result.error_message == "TransientFailure: wistia_timeout: no answer"


def test_local_invoker_returns_the_handlers_answer() -> None:
    result = LocalInvoker(
        lambda: lambda event, _ctx: {"objects": [{"outcome": "duplicate"}], "echo": event}
    ).invoke(EVENT)

    assert result.ok
    assert result.payload["echo"] == EVENT
    assert result.objects == [{"outcome": "duplicate"}]
