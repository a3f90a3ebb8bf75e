"""Wiring: configuration from the environment, real adapters, and the per-envelope entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bridge import Bridge, Invocation
from .config import BridgeConfig
from .deadline import Deadline
from .events import is_sqs_batch, parse_event, parse_sqs_body
from .failure_queue import SqsFailureQueue
from .idempotency import IdempotentCopier
from .models import JsonDict
from .observability import count, logger
from .s3_objects import S3Objects
from .wistia import RetryNotice, WistiaClient
from .wistia_token import SecretsManagerToken


def build_bridge(env: Mapping[str, str], session: Any = None) -> Bridge:
    """One bridge per container: config validated now, so a bad value fails the cold start.

    `session`: the boto3 Session to create the AWS clients from (default: a new one)."""
    import boto3  # noqa: PLC0415 - Powertools Parameters imports it anyway

    config = BridgeConfig.from_environ(env)
    # One botocore session for every AWS client of the container: its loader parses the endpoint
    # data and lists the service models once, not once per client (~30 ms of cold start).
    session = session or boto3.session.Session()
    client = WistiaClient(
        base_url=config.upload_url,
        api_url=config.api_url,
        tokens=SecretsManagerToken(config.secret_id, config.token_cache_seconds, session=session),
        connect_timeout=config.connect_timeout_seconds,
        read_timeout=config.read_timeout_seconds,
        max_attempts=config.max_attempts,
        on_retry=_log_retry,
    )
    idempotency = None
    if config.idempotency_table:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

        idempotency = IdempotentCopier(
            client,
            DynamoDBPersistenceLayer(table_name=config.idempotency_table, boto3_session=session),
            config.idempotency_ttl_seconds,
        )
    objects = S3Objects(session) if config.reads_objects else None  # its client is made on first use
    return Bridge(
        config, client, SqsFailureQueue(config.failure_queue_url, session=session), idempotency, objects
    )


def handle(bridge: Bridge, event: Any, context: Any) -> JsonDict:
    """Run one invocation; SQS batches report per-message failures instead of raising."""
    invocation = Invocation(
        deadline=Deadline.from_context(context),
        request_id=getattr(context, "aws_request_id", None),
        function_arn=getattr(context, "invoked_function_arn", None),
    )
    bridge.register_lambda_context(context)
    if is_sqs_batch(event):
        return _handle_sqs_batch(bridge, event, context, invocation)
    reports = bridge.process(parse_event(event), invocation)
    return {"objects": [report.as_dict() for report in reports]}


def _handle_sqs_batch(bridge: Bridge, event: JsonDict, context: Any, invocation: Invocation) -> JsonDict:
    from aws_lambda_powertools.utilities.batch import (  # noqa: PLC0415 - only S3->SQS setups
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord  # noqa: PLC0415

    def record_handler(record: SQSRecord) -> None:
        bridge.process(parse_sqs_body(record.body), invocation)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event, record_handler, processor, context))


def _log_retry(notice: RetryNotice) -> None:
    logger.info(
        "retrying Wistia",
        extra={
            "attempt": notice.attempt,
            "reason": notice.reason,
            "http_status": notice.http_status,
            "delay_seconds": round(notice.delay_seconds, 3),
        },
    )
    count("WistiaRetry")
