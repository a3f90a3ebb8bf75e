"""Lambda entry point: S3 / EventBridge / SQS / on-failure events in, Wistia s3_copy out.

Thin on purpose: configuration is read once per container (a bad value fails the cold start
with a message naming the variable), and all behaviour lives in the s3_wistia_bridge layer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from s3_wistia_bridge.observability import logger, metrics, trace_handler
from s3_wistia_bridge.runtime import build_bridge, handle

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

BRIDGE = build_bridge(os.environ)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(BRIDGE, event, context)
