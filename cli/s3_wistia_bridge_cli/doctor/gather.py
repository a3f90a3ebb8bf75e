"""The doctor's questions to AWS and Wistia: thin adapters, each returning the answer or a
checks.Failure (one line: what was asked and why it failed). Nothing is decided here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from s3_wistia_bridge.errors import PermanentFailure
from s3_wistia_bridge.wistia_token import parse_token

from ..resources import Aws, OperatorError, StackDescription, aws_error, describe_stack
from .checks import Concurrency, Depth, Failure, Http

T = TypeVar("T")
WISTIA_TIMEOUT = (5.0, 15.0)  # connect, read
EXISTING_BUCKET_RULE = "ExistingBucketRule"  # the template's logical id


def _asked(action: str, resource: str, call: Callable[[], T]) -> T | Failure:
    """The answer, or the AWS error as one line naming the action."""
    try:
        return call()
    except OperatorError as error:
        return Failure(str(error))
    except Exception as error:
        mapped = aws_error(error, action, resource)
        return Failure(str(mapped) if isinstance(mapped, OperatorError) else f"{action}: {error}")


@dataclass(frozen=True)
class Function:
    arn: str
    environment: dict[str, str]


class Probe:
    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def _client(self, service: str) -> Any:
        return self.aws.client(service)

    def stack(self, name: str) -> StackDescription | Failure:
        return _asked("cloudformation:DescribeStacks", name, lambda: describe_stack(self.aws, name))

    def function(self, name: str) -> Function | Failure:
        def call() -> Function:
            config = self._client("lambda").get_function_configuration(FunctionName=name)
            variables = (config.get("Environment") or {}).get("Variables") or {}
            return Function(
                str(config.get("FunctionArn", "")), {str(k): str(v) for k, v in variables.items()}
            )

        return _asked("lambda:GetFunctionConfiguration", name, call)

    def token(self, secret_id: str) -> str | Failure:
        """The token the secret holds (never shown), or why it could not be read."""
        answer = _asked(
            "secretsmanager:GetSecretValue",
            secret_id,
            lambda: self._client("secretsmanager").get_secret_value(SecretId=secret_id),
        )
        if isinstance(answer, Failure):
            return answer
        try:
            return parse_token(answer.get("SecretString") or answer.get("SecretBinary") or "")
        except PermanentFailure as error:
            return Failure(str(error))

    def wistia(self, api_url: str, path: str, token: str) -> Http | Failure:
        try:
            response = requests.get(
                f"{api_url.rstrip('/')}{path}",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=WISTIA_TIMEOUT,
            )
        except requests.RequestException as error:
            return Failure(f"GET {path}: {type(error).__name__}")  # the text may carry the URL only
        try:
            body = response.json()
        except ValueError:
            body = None
        return Http(response.status_code, body)

    def notification(self, bucket: str) -> dict[str, Any] | Failure:
        return _asked(
            "s3:GetBucketNotification",
            bucket,
            lambda: dict(self._client("s3").get_bucket_notification_configuration(Bucket=bucket)),
        )

    def rule(self, stack: str) -> dict[str, Any] | Failure:
        """The stack's EventBridge rule (its physical id is the rule's name)."""

        def call() -> dict[str, Any]:
            resource = self._client("cloudformation").describe_stack_resource(
                StackName=stack, LogicalResourceId=EXISTING_BUCKET_RULE
            )["StackResourceDetail"]
            name = str(resource["PhysicalResourceId"]).rsplit("/", 1)[-1]
            return dict(self._client("events").describe_rule(Name=name))

        return _asked("events:DescribeRule", f"{stack}/{EXISTING_BUCKET_RULE}", call)

    def rule_targets(self, rule: str) -> list[str]:
        answer = _asked(
            "events:ListTargetsByRule", rule, lambda: self._client("events").list_targets_by_rule(Rule=rule)
        )
        return [] if isinstance(answer, Failure) else [str(t.get("Arn")) for t in answer.get("Targets", [])]

    def mapping(self, uuid: str) -> dict[str, Any] | Failure:
        """A buffered stack's event source mapping (its State and ScalingConfig)."""
        return _asked(
            "lambda:GetEventSourceMapping",
            uuid,
            lambda: dict(self._client("lambda").get_event_source_mapping(UUID=uuid)),
        )

    def bucket_policy(self, bucket: str) -> str | Failure | None:
        def call() -> str | None:
            try:
                return str(self._client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
            except Exception as error:
                if getattr(error, "response", {}).get("Error", {}).get("Code") == "NoSuchBucketPolicy":
                    return None
                raise

        return _asked("s3:GetBucketPolicy", bucket, call)

    def concurrency(
        self, function: str, *, buffered: bool, max_concurrency: int | None
    ) -> Concurrency | Failure:
        def call() -> Concurrency:
            lam = self._client("lambda")
            limit = lam.get_account_settings().get("AccountLimit") or {}
            reserved = lam.get_function_concurrency(FunctionName=function).get("ReservedConcurrentExecutions")
            return Concurrency(
                account_limit=int(limit.get("ConcurrentExecutions", 0)),
                unreserved=int(limit.get("UnreservedConcurrentExecutions", 0)),
                reserved=None if reserved is None else int(reserved),
                buffered=buffered,
                max_concurrency=max_concurrency,
            )

        return _asked("lambda:GetAccountSettings", function, call)

    def depth(self, queue_url: str) -> Depth | Failure:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        answer = _asked(
            "sqs:GetQueueAttributes",
            queue_url,
            lambda: self._client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names),
        )
        if isinstance(answer, Failure):
            return answer
        attributes = answer.get("Attributes") or {}
        oldest = self._metric(
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "QueueName",
            queue_url.rsplit("/", 1)[-1],
            "Maximum",
            hours=1,
        )
        return Depth(
            visible=int(attributes.get(names[0], 0)),
            in_flight=int(attributes.get(names[1], 0)),
            oldest_seconds=None if isinstance(oldest, Failure) else oldest,
        )

    def subscriptions(self, topic: str) -> list[dict[str, Any]] | Failure:
        def call() -> list[dict[str, Any]]:
            pages = self._client("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
            return [dict(s) for page in pages for s in page.get("Subscriptions", [])]

        return _asked("sns:ListSubscriptionsByTopic", topic, call)

    def errors(self, function: str, hours: int) -> float | Failure | None:
        return self._metric("AWS/Lambda", "Errors", "FunctionName", function, "Sum", hours=hours)

    def _metric(
        self, namespace: str, metric: str, dimension: str, value: str, statistic: str, *, hours: int
    ) -> float | Failure | None:
        """The metric's statistic over the last hours (None: no datapoint)."""
        end = dt.datetime.now(dt.UTC)

        def call() -> float | None:
            points = (
                self._client("cloudwatch")
                .get_metric_statistics(
                    Namespace=namespace,
                    MetricName=metric,
                    Dimensions=[{"Name": dimension, "Value": value}],
                    StartTime=end - dt.timedelta(hours=hours),
                    EndTime=end,
                    Period=3600 * hours,
                    Statistics=[statistic],
                )
                .get("Datapoints", [])
            )
            values = [float(p[statistic]) for p in points if statistic in p]
            if not values:
                return None
            return max(values) if statistic == "Maximum" else sum(values)

        return _asked("cloudwatch:GetMetricStatistics", f"{namespace} {metric}", call)
