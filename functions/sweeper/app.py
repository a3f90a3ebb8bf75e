"""Lambda entry point of the sweeper: a scheduled event in, one paced sweep of the open medias.

Thin on purpose: configuration is read once per container (a bad value fails the cold start),
and all behaviour lives in the s3_wistia_bridge layer (sweeper.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from s3_wistia_bridge.observability import logger, metrics, trace_handler
from s3_wistia_bridge.tracking_runtime import build_sweeper

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SWEEPER = build_sweeper(os.environ)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return SWEEPER.run(lambda: context.get_remaining_time_in_millis() / 1000)
