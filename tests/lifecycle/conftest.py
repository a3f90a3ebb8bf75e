"""The tracking side on loopback: the integration stack plus the ledger, EventBridge, the webhook
function behind a local "Function URL", and the sweeper; the emulator processes medias over time
and delivers signed webhooks to that URL."""

from __future__ import annotations

import base64
import importlib.util
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from s3_wistia_bridge.ledger import BY_HASHED_ID, OPEN_BY_AGE, PENDING_DELETES

from tests.conftest import ROOT, LambdaContextStub
from tests.integration import conftest as integration
from tests.integration.conftest import REGION, Stack

emulator = integration.emulator
stack = integration.stack
function_output = integration.function_output

LEDGER_TABLE = "s3-wistia-bridge-ledger"
WEBHOOK_SECRET = "whsec-0123456789-WEBHOOK-SECRET-KEY"  # distinctive, for the leak checks
WEBHOOK_SECRET_NAME = "s3-wistia-bridge/wistia-webhook"
TRACKING_NAMES = (
    "LEDGER_TABLE",
    "STATUS_TRACKING",
    "WISTIA_WEBHOOK_SECRET_ID",
    "SWEEP_AFTER_MINUTES",
    "READY_DEADLINE_MINUTES",
    "SWEEP_MAX_REQUESTS",
    "SWEEP_REQUESTS_PER_SECOND",
    "SOURCE_DISPOSITION",
    "EVENT_BUS_NAME",
    "CONTENT_CHECK",
)


def create_ledger_table(dynamodb: Any) -> None:
    """The ledger as docs/lifecycle.md declares it."""
    dynamodb.create_table(
        TableName=LEDGER_TABLE,
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in (
                "pk",
                "sk",
                "hashed_id",
                "open_status",
                "accepted_at",
                "delete_pending",
                "delete_due_at",
            )
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": BY_HASHED_ID,
                "KeySchema": [{"AttributeName": "hashed_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": OPEN_BY_AGE,
                "KeySchema": [
                    {"AttributeName": "open_status", "KeyType": "HASH"},
                    {"AttributeName": "accepted_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": PENDING_DELETES,
                "KeySchema": [
                    {"AttributeName": "delete_pending", "KeyType": "HASH"},
                    {"AttributeName": "delete_due_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )


class FunctionUrl:
    """A local stand-in for a Lambda Function URL: each HTTP request becomes a payload 2.0 event
    for `handler`, and its answer the HTTP response."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
        self.handler = handler
        self.answers: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer._serve(self)

            def do_GET(self) -> None:
                outer._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> FunctionUrl:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def idle(self) -> None:
        """Return once no invocation is running (the one whose effect a test just saw included)."""
        with self._lock:
            return

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        event = function_url_event(request.command, body, dict(request.headers.items()))
        with self._lock:  # one invocation at a time, as one Lambda container runs them
            answer = self.handler(event, LambdaContextStub(function_name="s3-wistia-bridge-webhook"))
            self.answers.append(answer)
        payload = str(answer.get("body", "")).encode()
        request.send_response(int(answer["statusCode"]))
        for name, value in (answer.get("headers") or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def function_url_event(
    method: str, body: bytes, headers: dict[str, str], *, base64_body: bool = True
) -> dict[str, Any]:
    """A Function URL request (payload format 2.0): lower-case headers, a base64 body."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "http": {
                "method": method,
                "path": "/",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": "req-1",
        },
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


@dataclass
class Tracked:
    """The stack with the tracking side: ledger, events queue, webhook secret, both functions."""

    stack: Stack
    ingest_env: dict[str, str]
    tracking_env: dict[str, str]
    events_queue_url: str
    load: Callable[[str, dict[str, str]], ModuleType] = field(repr=False)
    servers: list[FunctionUrl] = field(default_factory=list)

    def ingest(self, overrides: dict[str, str] | None = None) -> ModuleType:
        return self.load("ingest", self.ingest_env | (overrides or {}))

    def webhook(self, overrides: dict[str, str] | None = None) -> ModuleType:
        return self.load("webhook", self.tracking_env | (overrides or {}))

    def sweeper(self, overrides: dict[str, str] | None = None) -> ModuleType:
        return self.load("sweeper", self.tracking_env | (overrides or {}))

    def serve_webhooks(self, app: ModuleType, **settings: Any) -> FunctionUrl:
        """Put the webhook function behind a local URL and point the emulator's webhooks at it."""
        server = FunctionUrl(app.lambda_handler).start()
        self.servers.append(server)
        self.stack.emulator.configure_webhooks(url=server.url, secret=WEBHOOK_SECRET, **settings)
        return server

    def ledger(self) -> list[dict[str, Any]]:
        deserializer = TypeDeserializer()
        items = self.stack.dynamodb.scan(TableName=LEDGER_TABLE, ConsistentRead=True)["Items"]
        rows = [{k: deserializer.deserialize(v) for k, v in item.items()} for item in items]
        return sorted(rows, key=lambda row: (row["pk"], row["sk"]))

    def entry(self, key: str) -> dict[str, Any]:
        (row,) = [row for row in self.ledger() if row["key"] == key]
        return row

    def wait_for(self, check: Callable[[], bool], seconds: float = 30.0) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if check():
                for server in self.servers:  # the invocation that made it true has finished too
                    server.idle()
                return
            time.sleep(0.05)
        raise AssertionError(f"not reached in {seconds} s; ledger: {self.ledger()}")

    def events(self) -> list[dict[str, Any]]:
        """The bridge's EventBridge events, as the rule delivered them to the test queue."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.stack.sqs.receive_message(
                QueueUrl=self.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                self.stack.sqs.delete_message(
                    QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


@pytest.fixture
def tracked(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracked]:
    create_ledger_table(stack.dynamodb)
    events = boto3.client("events", region_name=REGION)
    queue_url = stack.sqs.create_queue(QueueName="bridge-events")["QueueUrl"]
    queue_arn = stack.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="bridge-events", EventPattern=json.dumps({"source": ["s3-wistia-bridge"]}))
    events.put_targets(Rule="bridge-events", Targets=[{"Id": "queue", "Arn": queue_arn}])
    secret_arn = stack.secrets.create_secret(
        Name=WEBHOOK_SECRET_NAME, SecretString=json.dumps({"secret_key": WEBHOOK_SECRET})
    )["ARN"]
    ingest_env = stack.env | {
        "LEDGER_TABLE": LEDGER_TABLE,
        "EVENT_BUS_NAME": "default",
        "CONTENT_CHECK": "true",
    }
    tracking_env = {
        "LEDGER_TABLE": LEDGER_TABLE,
        "FAILURE_QUEUE_URL": stack.queue_url,
        "WISTIA_WEBHOOK_SECRET_ID": secret_arn,
        "WISTIA_SECRET_ID": stack.secret_arn,
        "WISTIA_API_URL": stack.emulator.url,
        "EVENT_BUS_NAME": "default",
        "SWEEP_REQUESTS_PER_SECOND": "10",
    }

    def load(name: str, env: dict[str, str]) -> ModuleType:
        for variable in TRACKING_NAMES:
            monkeypatch.delenv(variable, raising=False)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        spec = importlib.util.spec_from_file_location(f"{name}_app", ROOT / "functions" / name / "app.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    tracked = Tracked(stack, ingest_env, tracking_env, queue_url, load)
    yield tracked
    stack.emulator.configure_webhooks(url=None)
    for server in tracked.servers:
        server.stop()


def context() -> LambdaContextStub:
    return LambdaContextStub()
