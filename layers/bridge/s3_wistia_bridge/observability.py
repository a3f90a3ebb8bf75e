"""The Powertools Logger, Metrics and Tracer every entry point shares (one of each per process)."""

from __future__ import annotations

import os

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric
from aws_lambda_powertools.tracing import Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "s3-wistia-bridge"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "S3WistiaBridge"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


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
