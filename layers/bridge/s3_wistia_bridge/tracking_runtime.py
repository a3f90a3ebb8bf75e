"""Wiring of the two tracking functions: configuration from the environment, real adapters."""

from __future__ import annotations

import json
from collections.abc import Mapping

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from .aws import AwsClients
from .config import ConfigError, DeletePolicy
from .deletes import DeleteSweep
from .errors import TransientFailure
from .events_out import EventPublisher, NoEvents
from .failure_queue import SqsFailureQueue
from .ledger import Ledger
from .media_status import MediaStatusReader
from .reasons import FailureReason
from .recorder import EventSink
from .s3_objects import S3Objects
from .sweeper import Sweeper
from .tracker import Tracker
from .tracking_config import StatusTracking, TrackingConfig
from .webhook_receiver import WebhookReceiver
from .wistia_media import WistiaMedia
from .wistia_token import SecretsManagerToken, secret_error_code

SECRET_CACHE_SECONDS = 300


class WebhookSecret:
    """The webhook's secret key from Secrets Manager through Powertools Parameters, cached: the
    bare value, or the `secret_key` of a JSON object. Never logged, never in an error."""

    def __init__(self, secret_id: str, provider: SecretsProvider) -> None:
        self._secret_id = secret_id
        self._provider = provider

    def secret(self, *, refresh: bool = False) -> str:
        try:
            raw = self._provider.get(self._secret_id, max_age=SECRET_CACHE_SECONDS, force_fetch=refresh)
        except GetParameterError as error:
            raise TransientFailure(
                FailureReason.SECRET_UNAVAILABLE,
                f"could not read WISTIA_WEBHOOK_SECRET_ID {self._secret_id!r} ({secret_error_code(error)})",
            ) from None
        return parse_webhook_secret(raw if isinstance(raw, str) else "")


def parse_webhook_secret(raw: str) -> str:
    """The secret key in a secret's text; '' (nothing verifies) when there is none."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text).get("secret_key")
        except (ValueError, AttributeError):
            return ""
        return value.strip() if isinstance(value, str) else ""
    return text


def _tracker(config: TrackingConfig, aws: AwsClients) -> Tracker:
    events: EventSink = EventPublisher(config.event_bus_name, aws) if config.event_bus_name else NoEvents()
    return Tracker(
        Ledger(aws.dynamodb, config.ledger_table),
        SqsFailureQueue(config.failure_queue_url, aws),
        events,
        disposition=config.source_disposition,
        tagger=S3Objects(aws),
    )


def build_webhook(env: Mapping[str, str], session: boto3.session.Session | None = None) -> WebhookReceiver:
    config = TrackingConfig.from_environ(env)
    secret_id = config.require("webhook_secret_id", "WISTIA_WEBHOOK_SECRET_ID", "by the webhook function")
    aws = AwsClients(session)
    secret = WebhookSecret(secret_id, SecretsProvider(boto3_client=aws.secrets_manager))
    return WebhookReceiver(secret, _tracker(config, aws))


def build_sweeper(env: Mapping[str, str], session: boto3.session.Session | None = None) -> Sweeper:
    config = TrackingConfig.from_environ(env)
    aws = AwsClients(session)
    if config.status_tracking is StatusTracking.OFF and config.delete_policy is DeletePolicy.IGNORE:
        secret_id = config.secret_id or ""
    else:
        secret_id = config.require(
            "secret_id",
            "WISTIA_SECRET_ID",
            "by the sweeper unless STATUS_TRACKING=off and DELETE_POLICY=ignore",
        )
    tokens = SecretsManagerToken(secret_id, SECRET_CACHE_SECONDS, client=aws.secrets_manager)
    media = WistiaMedia(config.api_url, tokens)  # one session for the status reads and the deletes
    ledger = Ledger(aws.dynamodb, config.ledger_table)
    return Sweeper(
        config,
        ledger,
        _tracker(config, aws),
        MediaStatusReader(media),
        deletes=_deletes(config, aws, ledger, media),
    )


def _deletes(
    config: TrackingConfig, aws: AwsClients, ledger: Ledger, media: WistiaMedia
) -> DeleteSweep | None:
    if config.delete_policy is DeletePolicy.IGNORE:
        return None
    events: EventSink = EventPublisher(config.event_bus_name, aws) if config.event_bus_name else NoEvents()
    return DeleteSweep(
        config.delete_policy,
        config.delete_dry_run,
        ledger=ledger,
        media=media,
        objects=S3Objects(aws),
        events=events,
    )


__all__ = ["ConfigError", "WebhookSecret", "build_sweeper", "build_webhook", "parse_webhook_secret"]
