"""Helpers for the library endpoints' tests: a client for the emulator and the spec's schemas."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator.readers import read_from_filename
from wistia_emulator import WistiaEmulator

TOKEN = "library-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPEC, _ = read_from_filename(str(Path(__file__).with_name("wistia-data-api-subset.yaml")))
SRT = "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n00:00:01,500 --> 00:00:03,000\nGoodbye.\n"


def checked(response: requests.Response, path: str, method: str, status: int) -> Any:
    """The JSON body, after checking the status and the spec's schema for that answer."""
    assert response.status_code == status, response.text
    answer = SPEC["paths"][path][method]["responses"][str(status)]
    if "content" not in answer:
        return response.content
    assert response.headers["Content-Type"].startswith("application/json")
    schema: Mapping[str, Any] = answer["content"]["application/json"]["schema"]
    body = response.json()
    OAS31Validator(schema, format_checker=oas31_format_checker).validate(body)
    return body


def call(wistia: WistiaEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", AUTH)
    return requests.request(method, f"{wistia.url}{path}", timeout=5, **kwargs)


def upload(wistia: WistiaEmulator, name: str = "clip.mp4", **fields: str) -> str:
    data = {"bucket": "media-uploads-example", "source_file": f"videos/{name}", "name": name, **fields}
    response = call(wistia, "POST", "/s3_copy", data=data)
    assert response.status_code == 200, response.text
    return str(response.json()["hashed_id"])


def upload_file(wistia: WistiaEmulator, content: bytes, name: str = "clip.mp4") -> str:
    files = {"file": (name, content, "video/mp4")}
    response = call(wistia, "POST", "/", files=files)
    assert response.status_code == 200, response.text
    return str(response.json()["hashed_id"])


def control(wistia: WistiaEmulator, method: str, route: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{wistia.url}/__emulator__/{route}", json=body, timeout=5)
