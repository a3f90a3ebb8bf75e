"""Shared fixtures: a moto server and the Wistia emulator on loopback, and the real handler.

Nothing here can reach real AWS: credentials are fake and every client points at moto.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Before any boto3 or Powertools import: fake credentials, tracing off, a fixed service name.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_SERVICE_NAME": "s3-wistia-bridge",
        "POWERTOOLS_METRICS_NAMESPACE": "S3WistiaBridge",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
)
os.environ.pop("AWS_PROFILE", None)
sys.path.insert(0, str(ROOT / "functions" / "ingest"))

import requests  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from s3_wistia_bridge_cli.replay import ContextStub  # noqa: E402


def load_event(name: str) -> Any:
    return json.loads((ROOT / "events" / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    server.stop()
    if previous is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = previous


@pytest.fixture
def aws(moto_url: str) -> str:
    """A clean moto state for each test."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    return moto_url


@dataclass
class LambdaContextStub(ContextStub):
    """The operator tool's context stand-in, with a deployed function's names and a 30 s budget."""

    remaining_seconds: float = 30.0
    function_name: str = "s3-wistia-bridge-ingest"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:s3-wistia-bridge-ingest"
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def load_app(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], ModuleType]:
    """Import the real handler module with this environment (a fresh 'cold start')."""

    def load(env: dict[str, str]) -> ModuleType:
        for name in (
            "WISTIA_PROJECT_ID",
            "WISTIA_ROUTES",
            "WISTIA_DESCRIPTION",
            "ALLOWED_PREFIXES",
            "IDEMPOTENCY_TABLE",
            "ALLOWED_EXTENSIONS",
            "MAX_OBJECT_BYTES",
            "ALLOWED_REGIONS",
            "CONTENT_CHECK",
            "LEDGER_TABLE",
            "EVENT_BUS_NAME",
        ):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        import app

        return importlib.reload(app)

    return load
