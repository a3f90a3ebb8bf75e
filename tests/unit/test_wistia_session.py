"""The Wistia client skips requests' per-request environment lookup only when the environment
names no proxy: a configured proxy is still honoured, a CA bundle is read once."""

from __future__ import annotations

import pytest
import requests
from s3_wistia_bridge.wistia import WistiaClient

VARIABLES = (
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
    "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
)  # fmt: skip


class Tokens:
    def token(self, *, refresh: bool = False) -> str:
        return "token-0123456789"


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def client_of(tokens: Tokens) -> WistiaClient:
    return WistiaClient(
        base_url="https://upload.wistia.com",
        tokens=tokens,
        connect_timeout=3.05,
        read_timeout=20,
        max_attempts=4,
    )


def session(client: WistiaClient) -> requests.Session:
    return client._session


def test_without_proxy_variables_the_environment_is_not_read_per_request() -> None:
    assert session(client_of(Tokens())).trust_env is False


def test_a_ca_bundle_variable_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/curl.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")  # requests' precedence

    client = client_of(Tokens())

    assert (session(client).trust_env, session(client).verify) == (False, "/etc/ssl/corporate.pem")


@pytest.mark.parametrize(("name", "scheme"), [("HTTPS_PROXY", "https"), ("http_proxy", "http")])
def test_a_proxy_variable_keeps_requests_environment_handling(
    monkeypatch: pytest.MonkeyPatch, name: str, scheme: str
) -> None:
    monkeypatch.setenv(name, "http://proxy.internal:3128")

    client = client_of(Tokens())

    assert session(client).trust_env is True
    settings = session(client).merge_environment_settings(
        f"{scheme}://upload.wistia.com/", {}, None, None, None
    )
    assert settings["proxies"][scheme] == "http://proxy.internal:3128"
