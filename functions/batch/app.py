"""Lambda entry point of the batch function: S3 Batch Operations' LambdaInvoke tasks in, one
result per task out (invocation schema 1.0 and 2.0).

A function of its own (not the ingest function) so a backfill's concurrency, timeout and rate
share are its own. Batch Operations invokes it synchronously, a published version or alias only
(a job's FunctionArn is pinned: `$LATEST` could change under a running job). Thin on purpose:
configuration is read once per container; all behaviour lives in the s3_wistia_bridge layer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from s3_wistia_bridge.batch_function import build_batch_function
from s3_wistia_bridge.observability import logger, metrics, trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

BATCH = build_batch_function(os.environ)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return BATCH.handle(event, context)
