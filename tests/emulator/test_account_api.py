"""The emulator's Get Current Token and Get Account Usage, checked against Wistia's own OpenAPI
(the excerpt vendored next to this file): what `s3-wistia-bridge doctor` asks Wistia."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.readers import read_from_filename
from wistia_emulator import WistiaEmulator

TOKEN = "account-api-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPEC, _ = read_from_filename(str(Path(__file__).with_name("wistia-account-api-subset.yaml")))


@pytest.fixture
def wistia() -> Iterator[WistiaEmulator]:
    with WistiaEmulator(tokens=(TOKEN,)) as emulator:
        yield emulator


def checked(response: requests.Response, path: str, status: int) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    schema = SPEC["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]
    body = response.json()
    OAS31Validator(schema, format_checker=oas31_format_checker).validate(body)
    return body


def test_the_vendored_excerpt_is_a_valid_openapi_document() -> None:
    validate_spec(SPEC)


def test_the_token_is_described_with_its_type_and_scopes(wistia: WistiaEmulator) -> None:
    body = checked(requests.get(f"{wistia.url}/modern/token", headers=AUTH, timeout=5), "/token", 200)

    assert (body["type"], body["scopes"], body["application"]) == ("permanent", ["all:all"], None)
    assert TOKEN not in str(body)  # "Sensitive data such as the token value is excluded"


def test_the_account_can_upload_until_the_video_limit(wistia: WistiaEmulator) -> None:
    url = f"{wistia.url}/modern/account_usage"
    free = checked(requests.get(url, headers=AUTH, timeout=5), "/account_usage", 200)
    wistia.video_limit = 0
    full = checked(requests.get(url, headers=AUTH, timeout=5), "/account_usage", 200)

    assert (free["can_upload"], free["upload_blocked_reason"]) == (True, None)
    assert (full["can_upload"], full["upload_blocked_reason"]) == (False, "reached_media_limit")
    assert full["limits"]["media"] == {"count": 0, "flexible_limit": None, "inflexible_limit": 0}


@pytest.mark.parametrize("path", ["/token", "/account_usage"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token-of-this-emulator"}])
def test_a_missing_or_refused_token_is_the_modern_401(
    wistia: WistiaEmulator, path: str, headers: dict[str, str]
) -> None:
    body = checked(requests.get(f"{wistia.url}/modern{path}", headers=headers, timeout=5), path, 401)

    assert body == {"code": "unauthorized_credentials", "error": "Invalid credentials."}
