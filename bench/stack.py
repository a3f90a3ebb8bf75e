"""A deployed-like stack on loopback for the benchmarks: moto (SQS, DynamoDB, Secrets Manager) and
the Wistia emulator, each on a free 127.0.0.1 port, both stopped when the context ends."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import requests
from local_stack.harness import free_port
from s3_wistia_bridge.events import s3_notification
from s3_wistia_bridge_cli.replay import ContextStub
from wistia_emulator import WistiaEmulator

from . import BASE_ENV, REGION

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0123456789abcdef"  # noqa: S105 - the emulator's, not a real secret
BUCKET = "bench-videos"
TABLE = "bench-idempotency"
PROJECT = "benchproj01"


@dataclass
class Stack:
    moto_url: str
    emulator: WistiaEmulator
    queue_url: str
    secret_arn: str
    clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def function_env(self, *, idempotency: bool) -> dict[str, str]:
        """The ingest function's environment, as the template would set it."""
        env = {
            "WISTIA_SECRET_ID": self.secret_arn,
            "WISTIA_UPLOAD_URL": self.emulator.url,
            "ALLOWED_BUCKETS": BUCKET,
            "FAILURE_QUEUE_URL": self.queue_url,
            "WISTIA_PROJECT_ID": PROJECT,
            "CONTENT_CHECK": "false",  # the events announce objects that are never stored
        }
        if idempotency:
            env["IDEMPOTENCY_TABLE"] = TABLE
        return env

    def process_env(self, *, idempotency: bool) -> dict[str, str]:
        """Everything a child process needs: the base, moto's endpoint and the function's."""
        return {**BASE_ENV, "AWS_ENDPOINT_URL": self.moto_url, **self.function_env(idempotency=idempotency)}


@contextlib.contextmanager
def moto_process() -> Iterator[str]:
    """moto's server in its own process (its own core and GIL: an in-process moto would compete
    with the code under measurement), on a free 127.0.0.1 port; stopped by its pid."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - moto's own entry point in this interpreter
        [sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def local_stack() -> Iterator[Stack]:
    with moto_process() as moto_url:
        emulator = WistiaEmulator(tokens=(TOKEN,)).start()
        try:
            with environment({"AWS_ENDPOINT_URL": moto_url}):
                yield _resources(moto_url, emulator)
        finally:
            emulator.stop()


def _resources(moto_url: str, emulator: WistiaEmulator) -> Stack:
    sqs = boto3.client("sqs", region_name=REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    secrets = boto3.client("secretsmanager", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="bench-failures")["QueueUrl"]
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secret_arn = secrets.create_secret(
        Name="bench/wistia-token", SecretString=json.dumps({"access_token": TOKEN})
    )["ARN"]
    return Stack(
        moto_url,
        emulator,
        queue_url,
        secret_arn,
        {"sqs": sqs, "dynamodb": dynamodb, "secretsmanager": secrets},
    )


@contextlib.contextmanager
def environment(values: Mapping[str, str], remove: tuple[str, ...] = ()) -> Iterator[None]:
    """os.environ with `values` set and `remove` unset, restored afterwards."""
    saved = dict(os.environ)
    for name in remove:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


_OPTIONAL = ("IDEMPOTENCY_TABLE", "WISTIA_ROUTES", "WISTIA_DESCRIPTION", "ALLOWED_PREFIXES")


def load_handler(name: str, env: Mapping[str, str]) -> ModuleType:
    """A fresh instance of functions/ingest/app.py (a cold start) built with `env`: each call
    gives its own module, so containers with different configurations live side by side."""
    path = ROOT / "functions" / "ingest" / "app.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    with environment(env, remove=_OPTIONAL):
        spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def s3_event(key: str, index: int) -> dict[str, Any]:
    """An S3 notification for one object, as S3 writes it (key form-encoded)."""
    return s3_notification(
        BUCKET, REGION, key, size=1_048_576 + index, etag=f"{index:032x}", sequencer=f"{index:018X}"
    )


def copy_form(key: str) -> dict[str, str]:
    """The form the bridge posts for `key` under the benchmark's configuration."""
    return {
        "bucket": BUCKET,
        "source_file": key,
        "region": REGION,
        "name": key.rsplit("/", 1)[-1],
        "project_id": PROJECT,
    }


def lambda_context(request_id: str, seconds: float = 60.0) -> ContextStub:
    """What the handler reads from a Lambda context; 60 s to run, like the deployed timeout."""
    return ContextStub(
        remaining_seconds=seconds,
        function_name="s3-wistia-bridge-ingest",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:s3-wistia-bridge-ingest",
        aws_request_id=request_id,
    )
