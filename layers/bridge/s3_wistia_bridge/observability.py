"""The Powertools Logger, Metrics and Tracer every entry point shares (one of each per process)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "s3-wistia-bridge"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "S3WistiaBridge"

logger = Logger(service=SERVICE)
# botocore logs request and response bodies at DEBUG, and a GetSecretValue response holds the
# token: keep the AWS SDK's loggers at INFO or above whatever the root logger's level.
for _sdk in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_sdk).setLevel(max(logging.getLogger(_sdk).level, logging.INFO))
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})


def tracing_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Powertools Tracer's own rule: on in Lambda unless POWERTOOLS_TRACE_DISABLED, off elsewhere
    (outside Lambda, under `sam local` or chalice)."""
    if env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRUE:
        return False
    return (
        bool(env.get("LAMBDA_TASK_ROOT"))
        and not env.get("AWS_SAM_LOCAL")
        and not env.get("AWS_CHALICE_CLI_MODE")
    )


def trace_handler(handler: Handler) -> Handler:
    """Powertools Tracer's capture_lambda_handler when tracing is on (X-Ray, Lambda's Tracing:
    Active); else the handler itself. A disabled Tracer would still import the X-Ray SDK, which
    builds a botocore client at import: 100-200 ms of cold start for nothing."""
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools.tracing import Tracer  # noqa: PLC0415

    decorated: Handler = Tracer(service=SERVICE).capture_lambda_handler(capture_response=False)(handler)
    return decorated


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def seconds(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)


def count_by(name: str, dimension: str, dimension_value: str) -> None:
    """A count with its own dimension (e.g. rejections by reason), flushed at once."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions=metrics.default_dimensions | {"service": SERVICE},
    ) as metric:
        metric.add_dimension(name=dimension, value=dimension_value)
