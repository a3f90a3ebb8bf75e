"""Where the bridge lives: CloudFormation stack outputs or explicit options, and AWS errors
turned into one line an operator can act on."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The template's outputs (template.yaml) the tools read.
OUTPUT_QUEUE = "FailureQueueUrl"
OUTPUT_FUNCTION = "IngestFunctionName"
OUTPUT_TABLE = "IdempotencyTableName"
OUTPUT_BUCKET = "BucketName"

_ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
_NO_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


class OperatorError(Exception):
    """A mistake or a missing resource, told in one line; the command exits with status 2."""


@dataclass(frozen=True)
class Resources:
    queue_url: str | None = None
    function_name: str | None = None
    table: str | None = None
    bucket: str | None = None
    stack: str | None = None

    def require_queue(self) -> str:
        return self._require(self.queue_url, OUTPUT_QUEUE, "--queue-url")

    def require_function(self) -> str:
        return self._require(self.function_name, OUTPUT_FUNCTION, "--function-name")

    def _require(self, value: str | None, output: str, option: str) -> str:
        if value:
            return value
        if self.stack:
            raise OperatorError(f"stack {self.stack!r} has no output {output}; pass {option}")
        raise OperatorError(f"no {output}: pass --stack NAME or {option}")


class Aws:
    """boto3 clients, created once each (boto3 clients are thread-safe, their creation is not).

    boto3 reads AWS_ENDPOINT_URL itself, so the same code runs against moto or ministack."""

    def __init__(self, region: str | None = None) -> None:
        self.region = region
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import boto3  # noqa: PLC0415

                self._clients[service] = boto3.client(service, region_name=self.region)
            return self._clients[service]


def resolve(
    aws: Aws,
    *,
    stack: str | None = None,
    queue_url: str | None = None,
    function_name: str | None = None,
    table: str | None = None,
) -> Resources:
    """Explicit options win over the stack's outputs."""
    outputs: Mapping[str, str] = {}
    if stack:
        outputs = stack_outputs(aws, stack)
    return Resources(
        queue_url=queue_url or outputs.get(OUTPUT_QUEUE),
        function_name=function_name or outputs.get(OUTPUT_FUNCTION),
        table=table or outputs.get(OUTPUT_TABLE),
        bucket=outputs.get(OUTPUT_BUCKET),
        stack=stack,
    )


def stack_outputs(aws: Aws, stack: str) -> dict[str, str]:
    try:
        response = aws.client("cloudformation").describe_stacks(StackName=stack)
    except Exception as error:
        if _code(error) == "ValidationError" and "does not exist" in _message(error):
            raise OperatorError(f"unknown stack {stack!r} (is --region right?)") from None
        raise aws_error(error, "cloudformation:DescribeStacks", stack) from None
    stacks = response.get("Stacks") or []
    if not stacks:
        raise OperatorError(f"unknown stack {stack!r} (is --region right?)")
    return {
        str(o["OutputKey"]): str(o["OutputValue"])
        for o in stacks[0].get("Outputs") or []
        if "OutputKey" in o and "OutputValue" in o
    }


def function_environment(aws: Aws, function_name: str | None) -> dict[str, str]:
    """The function's environment overlaid on this process's (the local bridge and validation).

    Only ever used to configure the code; values are never printed."""
    env = dict(os.environ)
    if function_name:
        try:
            config = aws.client("lambda").get_function_configuration(FunctionName=function_name)
        except Exception as error:
            raise aws_error(error, "lambda:GetFunctionConfiguration", function_name) from None
        variables = (config.get("Environment") or {}).get("Variables") or {}
        env.update({str(k): str(v) for k, v in variables.items()})
    return env


def aws_error(error: Exception, action: str, resource: str) -> Exception:
    """An AWS failure as an OperatorError naming the action; other exceptions pass through."""
    code = _code(error)
    if code is None:
        return _transport_error(error) or error
    message = _message(error)
    if code in _ACCESS_DENIED or "AccessDenied" in code:
        return OperatorError(f"access denied: {action} on {resource} ({code}); grant {action} to the caller")
    if code in _NO_QUEUE:
        return OperatorError(f"queue does not exist: {resource}")
    if code == "ResourceNotFoundException" and action.startswith("lambda:"):
        return OperatorError(f"function not found: {resource}")
    if code == "ResourceNotFoundException" and action.startswith("dynamodb:"):
        return OperatorError(f"table not found: {resource}")
    if code in {"NoSuchBucket"}:
        return OperatorError(f"bucket does not exist: {resource}")
    if code in {"NoSuchKey", "404", "NotFound"}:
        return OperatorError(f"object not found: {resource}")
    return OperatorError(f"{action} on {resource} failed: {code}: {message}")


def _transport_error(error: Exception) -> OperatorError | None:
    from botocore.exceptions import (  # noqa: PLC0415
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(error, NoCredentialsError):
        return OperatorError("no AWS credentials found (set AWS_PROFILE or the AWS_* variables)")
    if isinstance(error, NoRegionError):
        return OperatorError("no AWS region: pass --region or set AWS_REGION")
    if isinstance(error, EndpointConnectionError):
        return OperatorError(f"cannot reach AWS: {error}")
    return None


def _code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = (response.get("Error") or {}).get("Code")
    return str(code) if code else None


def _message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Message") or "")
    return str(error)
