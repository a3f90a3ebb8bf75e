"""Finding the bridge: CloudFormation outputs (a real moto stack), explicit options, AWS errors."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError
from s3_wistia_bridge_cli.resources import Aws, ErrorKind, OperatorError, aws_error, resolve

from .conftest import Stack, permanent_record, s3_event, send

Run = Any


def create_stack(name: str, outputs: dict[str, Any]) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-failures"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


def test_outputs_of_a_stack_give_every_resource(stack: Stack) -> None:
    create_stack(
        "bridge",
        {
            "FailureQueueUrl": {"Ref": "Queue"},
            "IngestFunctionName": "bridge-ingest",
            "IdempotencyTableName": "bridge-idempotency",
        },
    )

    resources = resolve(Aws("us-east-1"), stack="bridge")

    assert resources.queue_url is not None
    assert resources.queue_url.endswith("/bridge-failures")
    assert (resources.function_name, resources.table) == ("bridge-ingest", "bridge-idempotency")
    explicit = resolve(Aws("us-east-1"), stack="bridge", function_name="other", table="t2")
    assert (explicit.function_name, explicit.table) == ("other", "t2")


def test_cli_lists_the_queue_named_by_the_stack(stack: Stack, run_cli: Run) -> None:
    create_stack("bridge", {"FailureQueueUrl": stack.queue_url, "IngestFunctionName": "f"})
    send(stack, permanent_record(s3_event("videos/a.mp4")))

    run = run_cli("replay", "--stack", "bridge", "--dry-run", "--json")

    assert run.code == 0
    assert run.json()["queueUrl"] == stack.queue_url
    assert len(run.json()["messages"]) == 1


def test_unknown_stack_is_one_clear_line(stack: Stack, run_cli: Run) -> None:
    run = run_cli("replay", "--stack", "no-such-stack", "--dry-run")

    assert run.code == 2
    assert run.err.strip() == "s3-wistia-bridge: error: unknown stack 'no-such-stack' (is --region right?)"


def test_missing_output_names_the_output_and_the_option(stack: Stack, run_cli: Run) -> None:
    create_stack("partial", {"FailureQueueUrl": stack.queue_url})

    run = run_cli("replay", "--stack", "partial")

    assert run.code == 2
    assert "stack 'partial' has no output IngestFunctionName; pass --function-name" in run.err


def test_status_needs_somewhere_to_look(stack: Stack, run_cli: Run) -> None:
    run = run_cli("status", "s3://b/k")

    assert run.code == 2
    assert "--table" in run.err


@pytest.mark.parametrize(
    ("code", "action", "expected", "kind"),
    [
        (
            "AccessDenied",
            "sqs:ReceiveMessage",
            "access denied: sqs:ReceiveMessage on R (AccessDenied)",
            ErrorKind.ACCESS_DENIED,
        ),
        (
            "AccessDeniedException",
            "lambda:InvokeFunction",
            "access denied: lambda:InvokeFunction on R",
            ErrorKind.ACCESS_DENIED,
        ),
        (
            "KMS.AccessDeniedException",
            "sqs:ReceiveMessage",
            "access denied: sqs:ReceiveMessage on R (KMS.AccessDeniedException)",
            ErrorKind.ACCESS_DENIED,
        ),
        (
            "AWS.SimpleQueueService.NonExistentQueue",
            "sqs:ReceiveMessage",
            "queue does not exist: R",
            ErrorKind.NOT_FOUND,
        ),
        (
            "ResourceNotFoundException",
            "lambda:GetFunctionConfiguration",
            "function not found: R",
            ErrorKind.NOT_FOUND,
        ),
        ("ResourceNotFoundException", "dynamodb:GetItem", "table not found: R", ErrorKind.NOT_FOUND),
        ("NoSuchBucket", "s3:ListBucket", "bucket does not exist: R", ErrorKind.NOT_FOUND),
        ("404", "s3:GetObject", "object not found: R", ErrorKind.NOT_FOUND),
        (
            "ResourceNotFoundException",
            "sqs:ReceiveMessage",
            "sqs:ReceiveMessage on R failed: ResourceNotFoundException: slow down",
            ErrorKind.CALL_FAILED,
        ),
        (
            "Throttling",
            "sqs:ReceiveMessage",
            "sqs:ReceiveMessage on R failed: Throttling: slow down",
            ErrorKind.CALL_FAILED,
        ),
    ],
)
def test_aws_errors_become_one_line_naming_the_action(
    code: str, action: str, expected: str, kind: ErrorKind
) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "slow down"}}, "Op")

    mapped = aws_error(error, action, "R")

    assert isinstance(mapped, OperatorError)
    assert str(mapped).startswith(expected)
    assert mapped.kind is kind


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NoCredentialsError(), "no AWS credentials found"),
        (NoRegionError(), "no AWS region: pass --region"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "cannot reach AWS: "),
    ],
)
def test_no_answer_from_aws_is_about_this_machine(error: Exception, expected: str) -> None:
    mapped = aws_error(error, "sqs:ReceiveMessage", "R")

    assert isinstance(mapped, OperatorError)
    assert str(mapped).startswith(expected)
    assert mapped.kind is ErrorKind.ENVIRONMENT


def test_other_exceptions_pass_through() -> None:
    error = ValueError("bug")
    assert aws_error(error, "x", "y") is error
