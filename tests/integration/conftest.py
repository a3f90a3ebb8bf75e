"""A deployed-like stack on loopback: moto (S3, SQS, Secrets Manager) and the Wistia emulator."""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from s3_wistia_bridge.events import s3_notification
from s3_wistia_bridge.idempotency import JOURNAL_PREFIX, KEY_PREFIX
from s3_wistia_bridge.observability import logger
from wistia_emulator import WistiaEmulator

from tests.conftest import ROOT

TOKEN = "wst-0123456789abcdef-SECRET-TOKEN"  # distinctive, so leak checks can search for it
ROTATED_TOKEN = "wst-fedcba9876543210-ROTATED-TOKEN"
BUCKET = "media-uploads-example"
REGION = "us-east-1"
SECRET_NAME = "s3-wistia-bridge/wistia-token"
IDEMPOTENCY_TABLE = "s3-wistia-bridge-idempotency"


@pytest.fixture
def emulator(aws: str) -> Iterator[WistiaEmulator]:
    emulator = WistiaEmulator(tokens=(TOKEN,), s3_endpoint_url=aws).start()
    yield emulator
    emulator.stop()


@dataclass
class Stack:
    """The resources a deployment would have, and helpers to drive and inspect them."""

    emulator: WistiaEmulator
    queue_url: str
    secret_arn: str
    env: dict[str, str]
    s3: Any = field(repr=False)
    sqs: Any = field(repr=False)
    secrets: Any = field(repr=False)
    dynamodb: Any = field(repr=False)

    def put(
        self, key: str, body: bytes = b"\x00\x00\x00\x18ftypmp42", bucket: str = BUCKET
    ) -> dict[str, Any]:
        """Put a real object in moto S3 and return the S3 notification S3 would send for it."""
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        head = self.s3.head_object(Bucket=bucket, Key=key)
        return s3_event(key, size=len(body), bucket=bucket, etag=head["ETag"].strip('"'))

    def idempotency_items(self) -> list[dict[str, Any]]:
        """Powertools' records (one per object version), not the journal's entries."""
        return [item for item in self._table_items() if item["id"]["S"].startswith(f"{KEY_PREFIX}#")]

    def journal_items(self) -> list[dict[str, Any]]:
        """The journal's "sent at" entries (idempotency.SentJournal)."""
        return [item for item in self._table_items() if item["id"]["S"].startswith(f"{JOURNAL_PREFIX}#")]

    def _table_items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"])

    def queue_messages(self) -> list[dict[str, Any]]:
        """Every message now on the failure queue, each once, raw, then made visible again."""
        messages: dict[str, dict[str, Any]] = {}
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in messages]
            if not fresh:
                break
            messages.update((m["MessageId"], m) for m in fresh)
        for message in messages.values():
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(messages.values())

    def failure_records(self) -> list[dict[str, Any]]:
        """The bodies of the failure queue's messages, each with its `_attributes`."""
        return [
            json.loads(m["Body"]) | {"_attributes": m.get("MessageAttributes", {})}
            for m in self.queue_messages()
        ]


def s3_event(
    key: str,
    *,
    size: int = 1024,
    bucket: str = BUCKET,
    region: str = REGION,
    etag: str = "9b2cf535f27731c974343645a3985328",
    event_name: str = "ObjectCreated:Put",
) -> dict[str, Any]:
    """An S3 notification as S3 writes it: the key form-encoded ('+' for space), '/' kept."""
    return s3_notification(
        bucket, region, key, size=size, etag=etag, sequencer="0055AED6DCD90281E5", event_name=event_name
    )


@pytest.fixture
def stack(aws: str, emulator: WistiaEmulator) -> Stack:
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    secrets = boto3.client("secretsmanager", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    queue_url = sqs.create_queue(QueueName="s3-wistia-bridge-failures")["QueueUrl"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secret_arn = secrets.create_secret(Name=SECRET_NAME, SecretString=json.dumps({"access_token": TOKEN}))[
        "ARN"
    ]
    env = {
        "WISTIA_SECRET_ID": secret_arn,
        "WISTIA_UPLOAD_URL": emulator.url,
        "WISTIA_API_URL": emulator.url,
        "ALLOWED_BUCKETS": BUCKET,
        "FAILURE_QUEUE_URL": queue_url,
        "WISTIA_PROJECT_ID": "defaultproj1",
        "WISTIA_CONNECT_TIMEOUT_SECONDS": "2",
        "WISTIA_READ_TIMEOUT_SECONDS": "5",
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        # Most tests announce objects S3 does not hold, or hold as a few bytes of text: the content
        # check (its own tests turn it on) would reject them before what they test.
        "CONTENT_CHECK": "false",
    }
    return Stack(emulator, queue_url, secret_arn, env, s3, sqs, secrets, dynamodb)


@pytest.fixture
def bridge_app(stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]) -> ModuleType:
    """The real handler module, cold-started against the stack."""
    return load_app(stack.env)


@pytest.fixture
def function_output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Reads what the function printed since the last read: log records and EMF metric blobs.

    The Powertools logger keeps the stream it was created with, so its handler is pointed at a
    buffer here; metrics are printed to stdout, which capsys holds.
    """
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]

    def read() -> list[dict[str, Any]]:
        text = buffer.getvalue() + capsys.readouterr().out
        buffer.seek(0)
        buffer.truncate()
        return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]

    yield read
    handler.setStream(previous)  # type: ignore[attr-defined]


def metric_values(records: list[dict[str, Any]], name: str) -> list[tuple[float, dict[str, Any]]]:
    """(value, blob) for every EMF blob that carries the metric `name`."""
    found = []
    for record in records:
        if "_aws" in record and name in record:
            value = record[name]
            found.append((sum(value) if isinstance(value, list) else value, record))
    return found


LoadBatch = Callable[[dict[str, str]], ModuleType]


@pytest.fixture
def load_batch(monkeypatch: pytest.MonkeyPatch) -> LoadBatch:
    """Import functions/batch/app.py afresh with this environment (a cold start)."""

    def load(env: dict[str, str]) -> ModuleType:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        spec = importlib.util.spec_from_file_location("batch_app", ROOT / "functions" / "batch" / "app.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def batch_app(stack: Stack, load_batch: LoadBatch) -> ModuleType:
    return load_batch(stack.env | {"WISTIA_MAX_ATTEMPTS": "1"})
