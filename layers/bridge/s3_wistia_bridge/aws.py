"""The AWS SDK clients of one container: one boto3 Session, one tuned Config, each client made once.

botocore's defaults (60 s connect and read timeouts, legacy retries) let one slow AWS call eat a
whole invocation; these calls answer in milliseconds or not at all, so they get short timeouts and
the standard retry mode (throttling and transient errors, with backoff), as the Powertools
examples configure their clients. Worst case for one call: 3 attempts of (1 s + 3 s) plus at most
3 s of backoff (AWS_CALL_WORST_SECONDS).
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

AWS_CONNECT_TIMEOUT_SECONDS = 1
AWS_READ_TIMEOUT_SECONDS = 3
AWS_MAX_ATTEMPTS = 3
AWS_CALL_WORST_SECONDS = AWS_MAX_ATTEMPTS * (AWS_CONNECT_TIMEOUT_SECONDS + AWS_READ_TIMEOUT_SECONDS) + 3

CLIENT_CONFIG = Config(
    connect_timeout=AWS_CONNECT_TIMEOUT_SECONDS,
    read_timeout=AWS_READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": AWS_MAX_ATTEMPTS},
    tcp_keepalive=True,
)
# SigV4 for presigned URLs: the only signature every region accepts.
S3_CONFIG = CLIENT_CONFIG.merge(Config(signature_version="s3v4"))


class AwsClients:
    """Each client created on first use (a failure queue client only when something fails) and then
    kept for the container's life. Thread-safe: the operator's local replay shares one per worker."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self.session = session or boto3.session.Session()
        self._lock = threading.Lock()
        self._s3: dict[str, S3Client] = {}

    @cached_property
    def secrets_manager(self) -> SecretsManagerClient:
        with self._lock:
            client: SecretsManagerClient = self.session.client("secretsmanager", config=CLIENT_CONFIG)
            return client

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        with self._lock:
            client: DynamoDBClient = self.session.client("dynamodb", config=CLIENT_CONFIG)
            return client

    @cached_property
    def events(self) -> Any:  # EventBridge: no type stubs are pinned for it
        with self._lock:
            return self.session.client("events", config=CLIENT_CONFIG)

    @cached_property
    def ssm(self) -> Any:  # Systems Manager (ROUTES_SOURCE): no type stubs are pinned for it
        with self._lock:
            return self.session.client("ssm", config=CLIENT_CONFIG)

    @cached_property
    def sqs(self) -> SQSClient:
        with self._lock:
            client: SQSClient = self.session.client("sqs", config=CLIENT_CONFIG)
            return client

    def s3(self, region: str) -> S3Client:
        """A client for the bucket's own region (presigned URLs must name it)."""
        with self._lock:
            client = self._s3.get(region)
            if client is None:
                client = self._s3[region] = self.session.client("s3", region_name=region, config=S3_CONFIG)
            return client
