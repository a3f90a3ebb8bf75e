"""Wiring: configuration from the environment, real adapters, and the per-envelope entry point."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from .aws import AwsClients
from .bridge import Bridge, Invocation
from .config import BridgeConfig, ConfigError, DeletePolicy, OverwritePolicy, ProjectRouting
from .deadline import Deadline
from .delivery import QUEUE_MAX_SLEEP_SECONDS, SqsRetryQueue, receive_count, retry_delay
from .errors import TransientFailure
from .events import is_sqs_batch, parse_event, parse_sqs_body
from .failure_queue import SqsFailureQueue
from .idempotency import Copier, IdempotentCopier, SentJournal
from .models import JsonDict
from .observability import count, logger
from .reasons import FailureReason
from .s3_objects import S3Objects
from .wistia import MIN_READ_SECONDS, RetryNotice, WistiaClient
from .wistia_token import SecretsManagerToken

if TYPE_CHECKING:
    from .companions import Companions
    from .folders import FolderDirectory
    from .recorder import Recorder
    from .versions import KeyPolicies
    from .wistia_media import WistiaMedia


def build_bridge(
    env: Mapping[str, str],
    session: boto3.session.Session | None = None,
    *,
    wrap_copier: Callable[[Copier], Copier] | None = None,
) -> Bridge:
    """One bridge per container: config validated now, so a bad value fails the cold start.

    `session`: the boto3 Session its clients come from (default: a new one). `wrap_copier`: what
    stands between the idempotency check and Wistia (the batch function's rate share), so only a
    request that is really sent pays for it."""
    aws = AwsClients(session)
    config = _with_routes_table(BridgeConfig.from_environ(env), aws)
    tokens = SecretsManagerToken(config.secret_id, config.token_cache_seconds, client=aws.secrets_manager)
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
    copier: Copier = client if wrap_copier is None else wrap_copier(client)
    idempotency = None
    if config.idempotency_table:
        idempotency = IdempotentCopier(
            copier,
            DynamoDBPersistenceLayer(table_name=config.idempotency_table, boto3_client=aws.dynamodb),
            config.idempotency_ttl_seconds,
            SentJournal(aws.dynamodb, config.idempotency_table, config.idempotency_ttl_seconds),
        )
    api = _DataApi(config, tokens)
    objects = S3Objects(aws)  # its client is made on first use: EventBridge keys, opt-in modes
    return Bridge(
        config,
        copier,
        SqsFailureQueue(config.failure_queue_url, aws),
        idempotency=idempotency,
        objects=objects,
        retries=SqsRetryQueue(aws),
        recorder=_recorder(config, aws),
        folders=_folders(config, api),
        companions=_companions(config, aws, api),
        policies=_key_policies(config, aws, api, objects),
    )


def _key_policies(
    config: BridgeConfig, aws: AwsClients, api: _DataApi, objects: S3Objects
) -> KeyPolicies | None:
    """OverwritePolicy and DeletePolicy (versions.py), only when either is not the default."""
    if config.overwrite_policy is OverwritePolicy.NEW_MEDIA and config.delete_policy is DeletePolicy.IGNORE:
        return None
    from .events_out import EventPublisher, NoEvents  # noqa: PLC0415
    from .ledger import Ledger  # noqa: PLC0415
    from .tracker import now_utc  # noqa: PLC0415
    from .versions import EventSink, KeyPolicies  # noqa: PLC0415

    events: EventSink = EventPublisher(config.event_bus_name, aws) if config.event_bus_name else NoEvents()
    ledger = Ledger(aws.dynamodb, str(config.ledger_table))
    return KeyPolicies(
        config.overwrite_policy,
        config.delete_policy,
        config.delete_grace_seconds,
        ledger=ledger,
        events=events,
        media=api.media,
        objects=objects,
        clock=now_utc,
    )


def _with_routes_table(config: BridgeConfig, aws: AwsClients) -> BridgeConfig:
    """ROUTES_SOURCE: the routes read now, at cold start (routes_source.py, imported only then)."""
    if config.routes_source is None:
        return config
    from .routes_source import with_routes_from_source  # noqa: PLC0415

    return with_routes_from_source(config, aws)


class _DataApi:
    """The container's one Data API client and one folder directory (one cache for the key's
    folder and a sidecar's folder name), each made on first need: a bridge that needs neither
    imports neither module."""

    def __init__(self, config: BridgeConfig, tokens: SecretsManagerToken) -> None:
        self._config = config
        self._tokens = tokens

    @functools.cached_property
    def media(self) -> WistiaMedia:
        from .wistia_media import WistiaMedia  # noqa: PLC0415

        config = self._config
        return WistiaMedia(
            config.api_url,
            self._tokens,
            connect_timeout=config.connect_timeout_seconds,
            read_timeout=config.read_timeout_seconds,
        )

    @functools.cached_property
    def folders(self) -> FolderDirectory:
        from .folders import build_directory  # noqa: PLC0415

        return build_directory(self._config, self._tokens)


def _folders(config: BridgeConfig, api: _DataApi) -> Callable[[str], str | None] | None:
    """PROJECT_ROUTING=folders: the key-to-folder lookup, imported only then (no Data API call
    until an object needs a folder)."""
    if config.project_routing is not ProjectRouting.FOLDERS:
        return None
    from .folders import FolderRouter  # noqa: PLC0415

    return FolderRouter(api.folders, config.folder_depth).project_for


def _recorder(config: BridgeConfig, aws: AwsClients) -> Recorder | None:
    """The ledger and EventBridge side of the ingest path, when either is configured; imported only
    then, so a bridge without them does not pay for the modules in its cold start."""
    if not (config.ledger_table or config.event_bus_name):
        return None
    from .events_out import EventPublisher, NoEvents  # noqa: PLC0415
    from .ledger import Ledger  # noqa: PLC0415
    from .recorder import Recorder  # noqa: PLC0415

    ledger = Ledger(aws.dynamodb, config.ledger_table) if config.ledger_table else None
    events = EventPublisher(config.event_bus_name, aws) if config.event_bus_name else NoEvents()
    return Recorder(ledger, events)


def _companions(config: BridgeConfig, aws: AwsClients, api: _DataApi) -> Companions | None:
    """Sidecars, captions and tags (companions.py), when one of them is on; imported only then."""
    if not (config.sidecars or config.captions or config.copy_object_tags):
        return None
    from .companions import CompanionObjects, Companions  # noqa: PLC0415
    from .ledger import Ledger  # noqa: PLC0415

    if not config.ledger_table:
        raise ConfigError(
            "SIDECARS, CAPTIONS and COPY_OBJECT_TAGS need LEDGER_TABLE: the ledger says which media a "
            "video became (the stack creates it)"
        )
    # A sidecar's {"project": {"name": ...}}: the folder directory (folders.py), listed only when a
    # sidecar names a folder; CREATE_MISSING_FOLDERS and FOLDER_CACHE_SECONDS apply to it too.
    folders = api.folders if config.sidecars else None
    ledger = Ledger(aws.dynamodb, config.ledger_table)
    return Companions(config, CompanionObjects(aws), ledger, api.media, folders=folders)


def handle(bridge: Bridge, event: Any, context: Any) -> JsonDict:
    """Run one invocation. Direct delivery raises a transient failure (Lambda's async retries take
    it); an SQS batch reports each failed message instead, after setting its retry delay."""
    invocation = Invocation(
        deadline=Deadline.from_context(context),
        request_id=getattr(context, "aws_request_id", None),
        function_arn=getattr(context, "invoked_function_arn", None),
    )
    bridge.register_lambda_context(context)
    if is_sqs_batch(event):
        return _handle_sqs_batch(bridge, event, context, invocation)
    processed = bridge.process(parse_event(event), invocation)
    failure = processed.failure()
    if failure is not None:
        raise failure
    return {"objects": [report.as_dict() for report in processed.reports]}


def _handle_sqs_batch(bridge: Bridge, event: JsonDict, context: Any, invocation: Invocation) -> JsonDict:
    invocation = invocation._replace(max_sleep=QUEUE_MAX_SLEEP_SECONDS)
    # A message is not started without the time for one Wistia attempt: it goes back to the queue.
    least = bridge.config.connect_timeout_seconds + MIN_READ_SECONDS

    def record_handler(record: SQSRecord) -> None:
        if invocation.deadline.remaining() < least:
            bridge.retry_later(record, 0)
            raise TransientFailure(
                FailureReason.DEADLINE_EXHAUSTED, "not started: no time left in the invocation"
            )
        failure = bridge.process(parse_sqs_body(record.body), invocation).failure()
        if failure is not None:
            seconds = retry_delay(receive_count(record), failure.retry_after)
            bridge.retry_later(record, seconds)
            logger.warning(
                "message left on the ingest queue for a retry",
                message_id=record.message_id,
                receive_count=receive_count(record),
                retry_in_seconds=seconds,
                reason=failure.reason.value,
            )
            raise failure

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event, record_handler, processor, context))


def _log_retry(notice: RetryNotice) -> None:
    logger.info(
        "retrying Wistia",
        attempt=notice.attempt,
        reason=notice.reason.value,
        http_status=notice.http_status,
        delay_seconds=round(notice.delay_seconds, 3),
    )
    count("WistiaRetry")
