"""Wiring: configuration from the environment, real adapters, and the per-envelope entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import aws_json
from .bridge import Bridge, Invocation
from .config import BridgeConfig
from .deadline import Deadline
from .events import is_sqs_batch, parse_event, parse_sqs_body
from .failure_queue import SqsFailureQueue
from .idempotency import IdempotentCopier
from .models import JsonDict
from .observability import count, logger
from .wistia import RetryNotice, WistiaClient
from .wistia_token import SecretsManagerToken


def build_bridge(env: Mapping[str, str], session: Any = None) -> Bridge:
    """One bridge per container: config validated now, so a bad value fails the cold start.

    `session`: the boto3 Session for the clients that are not lean (default: boto3's own)."""
    config = BridgeConfig.from_environ(env)
    aws = AwsClients(env, lean=config.lean_aws_clients, session=session)
    tokens = SecretsManagerToken(config.secret_id, config.token_cache_seconds, client=aws.secrets_manager())
    tokens.prefetch()
    client = WistiaClient(
        base_url=config.upload_url,
        api_url=config.api_url,
        tokens=tokens,
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
            DynamoDBPersistenceLayer(table_name=config.idempotency_table, boto3_client=aws.dynamodb()),
            config.idempotency_ttl_seconds,
        )
    # Failures and the opt-in S3 modes are off the cold path: boto3 clients, made on first use.
    objects = None
    if config.reads_objects:
        from .s3_objects import S3Objects  # noqa: PLC0415

        objects = S3Objects(session)
    return Bridge(
        config, client, SqsFailureQueue(config.failure_queue_url, session=session), idempotency, objects
    )


class AwsClients:
    """The clients the first event needs: lean (aws_json) where they apply, else boto3's."""

    def __init__(self, env: Mapping[str, str], *, lean: bool, session: Any = None) -> None:
        self._env = env
        self._session = session
        self._credentials = _environment_credentials(env) if lean else None
        self._region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip()

    def secrets_manager(self) -> Any:
        lean = self._lean(aws_json.SECRETS_MANAGER)
        return aws_json.SecretsManagerClient(lean) if lean else self._boto3("secretsmanager")

    def dynamodb(self) -> Any:
        lean = self._lean(aws_json.DYNAMODB)
        return aws_json.DynamoDBClient(lean) if lean else self._boto3("dynamodb")

    def _lean(self, service: aws_json.Service) -> aws_json.AwsJsonClient | None:
        endpoint = aws_json.lean_endpoint(service, self._region, self._env) if self._region else None
        if self._credentials is None or endpoint is None:
            return None
        # Each with its own keep-alive session: the token prefetch runs beside the first
        # DynamoDB write, and a requests.Session is not meant to be shared across threads.
        return aws_json.AwsJsonClient(
            service, self._region, endpoint, self._credentials, attempts=aws_json.max_attempts(self._env)
        )

    def _boto3(self, name: str) -> Any:
        import boto3  # noqa: PLC0415

        if self._session is None:
            self._session = boto3.session.Session()  # shared: service models load once
        return self._session.client(name)


def _environment_credentials(env: Mapping[str, str]) -> Any:
    """Lambda's role credentials, from the environment as botocore reads them; else None."""
    from botocore.credentials import EnvProvider  # noqa: PLC0415

    return EnvProvider(environ=dict(env)).load()


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
