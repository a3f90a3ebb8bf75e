"""Where the bridge lives: CloudFormation stack outputs or explicit options, and AWS errors
turned into one line an operator can act on."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import boto3
from botocore.exceptions import (
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

# The template's outputs (template.yaml) the tools read.
OUTPUT_QUEUE = "FailureQueueUrl"
OUTPUT_FUNCTION = "IngestFunctionName"
OUTPUT_TABLE = "IdempotencyTableName"
OUTPUT_INGEST_QUEUE = "IngestQueueUrl"
OUTPUT_DELIVERY = "Delivery"  # "buffered" (an ingest queue in front of the function) or "direct"
OUTPUT_INGEST_QUEUE_ARN = "IngestQueueArn"
OUTPUT_MAPPING = "IngestEventSourceMappingId"
OUTPUT_FUNCTION_ARN = "IngestFunctionArn"
OUTPUT_BUCKET = "BucketName"
OUTPUT_ALARM_TOPIC = "AlarmTopicArn"
BUFFERED = "buffered"


class ErrorKind(StrEnum):
    """What an OperatorError is about, so callers decide on it rather than on its text."""

    USAGE = "usage"  # a wrong or missing argument, option or configuration
    NOT_FOUND = "not_found"  # the stack, queue, function, table, bucket or object does not exist
    ACCESS_DENIED = "access_denied"  # the caller lacks an IAM permission
    ENVIRONMENT = "environment"  # no credentials or region, or AWS cannot be reached
    CALL_FAILED = "call_failed"  # this call failed (throttled, a service error)


class OperatorError(Exception):
    """A mistake or a missing resource, told in one line; the command exits with status 2."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.USAGE) -> None:
        super().__init__(message)
        self.kind = kind


# A call refused for these fails every other one of the run alike: the run stops (exit status 2).
ABORTS_RUN = frozenset({ErrorKind.ACCESS_DENIED, ErrorKind.NOT_FOUND})


@dataclass(frozen=True)
class Resources:
    queue_url: str | None = None
    function_name: str | None = None
    table: str | None = None
    stack: str | None = None
    ingest_queue_url: str | None = None
    delivery: str | None = None  # the stack's Delivery output; "buffered" with --ingest-queue-url

    @property
    def buffered(self) -> bool:
        return self.delivery == BUFFERED

    def require_queue(self) -> str:
        return self._require(self.queue_url, OUTPUT_QUEUE, "--queue-url")

    def require_ingest_queue(self) -> str:
        return self._require(self.ingest_queue_url, OUTPUT_INGEST_QUEUE, "--ingest-queue-url")

    def require_function(self) -> str:
        return self._require(self.function_name, OUTPUT_FUNCTION, "--function-name")

    def _require(self, value: str | None, output: str, option: str) -> str:
        if value:
            return value
        if self.stack:
            raise OperatorError(f"stack {self.stack!r} has no output {output}; pass {option}")
        raise OperatorError(f"no {output}: pass --stack NAME or {option}")


class Aws:
    """boto3 clients of one session, created once each (boto3 clients are thread-safe, their
    creation is not). `profile`, `region` and `endpoint_url` are the aws-cli's options; without
    them boto3 reads AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL itself, so the same code runs
    against moto or ministack."""

    def __init__(
        self, region: str | None = None, *, profile: str | None = None, endpoint_url: str | None = None
    ) -> None:
        self.region = region
        self.profile = profile
        self.endpoint_url = endpoint_url
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> boto3.session.Session:
        with self._lock:
            return self._session_locked()

    def _session_locked(self) -> boto3.session.Session:
        if self._session is None:
            try:
                self._session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            except ProfileNotFound:
                raise OperatorError(f"unknown AWS profile {self.profile!r}", ErrorKind.ENVIRONMENT) from None
        return self._session

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                session = self._session_locked()
                try:
                    self._clients[service] = session.client(service, endpoint_url=self.endpoint_url)
                except NoRegionError as error:  # botocore asks for a region when it builds a client
                    raise OperatorError(str(_transport_error(error)), ErrorKind.ENVIRONMENT) from None
            return self._clients[service]


def resolve(
    aws: Aws,
    *,
    stack: str | None = None,
    queue_url: str | None = None,
    function_name: str | None = None,
    table: str | None = None,
    ingest_queue_url: str | None = None,
    stack_source: str = "",
) -> Resources:
    """Explicit options win over the stack's outputs; an explicit ingest queue makes the bridge
    buffered. A stack without a Delivery output predates buffered delivery: it is direct.
    `stack_source`: where an implicit stack name came from, for the error if it does not exist."""
    outputs: Mapping[str, str] = {}
    if stack:
        outputs = describe_stack(aws, stack, stack_source).outputs
    delivery = BUFFERED if ingest_queue_url else outputs.get(OUTPUT_DELIVERY)
    return Resources(
        queue_url=queue_url or outputs.get(OUTPUT_QUEUE),
        function_name=function_name or outputs.get(OUTPUT_FUNCTION),
        table=table or outputs.get(OUTPUT_TABLE),
        stack=stack,
        ingest_queue_url=ingest_queue_url or outputs.get(OUTPUT_INGEST_QUEUE),
        delivery=delivery,
    )


@dataclass(frozen=True)
class StackDescription:
    """What DescribeStacks says of one stack: its status, outputs and parameters."""

    name: str
    status: str
    outputs: dict[str, str]
    parameters: dict[str, str]


def stack_outputs(aws: Aws, stack: str) -> dict[str, str]:
    return describe_stack(aws, stack).outputs


def describe_stack(aws: Aws, stack: str, source: str = "") -> StackDescription:
    try:
        response = aws.client("cloudformation").describe_stacks(StackName=stack)
    except Exception as error:
        if _code(error) == "ValidationError" and "does not exist" in _message(error):
            raise _unknown_stack(stack, source) from None
        raise aws_error(error, "cloudformation:DescribeStacks", stack) from None
    stacks = response.get("Stacks") or []
    if not stacks:
        raise _unknown_stack(stack, source)
    found = stacks[0]
    return StackDescription(
        name=stack,
        status=str(found.get("StackStatus", "")),
        outputs=_pairs(found.get("Outputs"), "OutputKey", "OutputValue"),
        parameters=_pairs(found.get("Parameters"), "ParameterKey", "ParameterValue"),
    )


def _pairs(items: Any, key: str, value: str) -> dict[str, str]:
    return {str(i[key]): str(i[value]) for i in items or [] if key in i and value in i}


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


def _unknown_stack(stack: str, source: str = "") -> OperatorError:
    where = f"from {source}; " if source else ""
    return OperatorError(f"unknown stack {stack!r} ({where}is --region right?)", ErrorKind.NOT_FOUND)


@dataclass(frozen=True)
class _Rule:
    """AWS error codes (of one service's actions, or any) as one line an operator can act on."""

    codes: frozenset[str]
    kind: ErrorKind
    text: str  # formatted with action, resource and code
    service: str = ""  # the actions' prefix, e.g. "lambda:"; "" for every action

    def applies(self, code: str, action: str) -> bool:
        return code in self.codes and action.startswith(self.service)


_RULES = (
    _Rule(
        frozenset(
            {
                "AccessDenied",
                "UnauthorizedOperation",
                "AuthorizationError",
                "UnrecognizedClientException",
                "InvalidClientTokenId",
                "ExpiredToken",
                "ExpiredTokenException",
            }
        ),
        ErrorKind.ACCESS_DENIED,
        "access denied: {action} on {resource} ({code}); grant {action} to the caller",
    ),
    _Rule(
        frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}),
        ErrorKind.NOT_FOUND,
        "queue does not exist: {resource}",
    ),
    _Rule(
        frozenset({"ResourceNotFoundException"}),
        ErrorKind.NOT_FOUND,
        "function not found: {resource}",
        "lambda:",
    ),
    _Rule(
        frozenset({"ResourceNotFoundException"}),
        ErrorKind.NOT_FOUND,
        "table not found: {resource}",
        "dynamodb:",
    ),
    _Rule(frozenset({"NoSuchBucket"}), ErrorKind.NOT_FOUND, "bucket does not exist: {resource}"),
    _Rule(frozenset({"NoSuchKey", "404", "NotFound"}), ErrorKind.NOT_FOUND, "object not found: {resource}"),
)

# Failures before any answer from AWS: this machine's setup, or the network.
_TRANSPORT_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (NoCredentialsError, "no AWS credentials found (set AWS_PROFILE or the AWS_* variables)"),
    (NoRegionError, "no AWS region: pass --region or set AWS_REGION"),
    (EndpointConnectionError, "cannot reach AWS: {error}"),
)


def aws_error(error: Exception, action: str, resource: str) -> Exception:
    """An AWS failure as an OperatorError naming the action; other exceptions pass through."""
    code = _code(error)
    if code is None:
        return _transport_error(error) or error
    # Each service spells a refusal its own way (AccessDeniedException, KMS.AccessDeniedException...).
    matched = "AccessDenied" if "AccessDenied" in code else code
    rule = next((rule for rule in _RULES if rule.applies(matched, action)), None)
    if rule is None:
        text = f"{action} on {resource} failed: {code}: {_message(error)}"
        return OperatorError(text, ErrorKind.CALL_FAILED)
    return OperatorError(rule.text.format(action=action, resource=resource, code=code), rule.kind)


def _transport_error(error: Exception) -> OperatorError | None:
    for error_type, text in _TRANSPORT_ERRORS:
        if isinstance(error, error_type):
            return OperatorError(text.format(error=error), ErrorKind.ENVIRONMENT)
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
