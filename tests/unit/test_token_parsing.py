"""parse_token: the secret's two accepted shapes, and never an echo of a bad secret; the token's
prefetch at cold start."""

from __future__ import annotations

import json
import traceback

import pytest
from s3_wistia_bridge.errors import PermanentFailure, TransientFailure
from s3_wistia_bridge.wistia_token import SecretsManagerToken, parse_token

TOKEN = "wst-0123456789abcdef-GOOD-TOKEN"


@pytest.mark.parametrize(
    "raw",
    [
        TOKEN,
        f"  {TOKEN}\n",
        f"\t{TOKEN}\r\n",
        json.dumps({"access_token": TOKEN}),
        json.dumps({"access_token": f" {TOKEN}\n"}),
        json.dumps({"access_token": TOKEN, "note": "rotated 2025-11-20", "expires": None}),
        f'\n  {{"access_token": "{TOKEN}"}}  \n',
        TOKEN.encode("utf-8"),
        json.dumps({"access_token": TOKEN}).encode("utf-8"),
    ],
)
def test_valid_secret_shapes_give_the_bare_token(raw):
    assert parse_token(raw) == TOKEN


def test_any_visible_ascii_token_of_8_chars_or_more_is_accepted():
    visible = "".join(chr(c) for c in range(0x21, 0x7F))
    assert parse_token(visible) == visible
    assert parse_token("12345678") == "12345678"


# Each malformed secret carries a distinctive marker that must never reach the message.
MALFORMED = [
    pytest.param("", id="empty"),
    pytest.param("   \n\t ", id="whitespace-only"),
    pytest.param("SHORT77", id="too-short"),
    pytest.param("LEAKY-inner space-ZQXJ-01", id="inner-space"),
    pytest.param("LEAKY-inner\nnewline-ZQXJ-02", id="inner-newline"),
    pytest.param("LEAKY-inner\ttab-ZQXJ-03", id="inner-tab"),
    pytest.param("LEAKY-non-ascii-é-ZQXJ-04", id="non-ascii"),
    pytest.param("LEAKY-zero-width\u200b-ZQXJ-05", id="zero-width"),
    pytest.param("LEAKY-" + "x" * 4100 + "-ZQXJ-06", id="too-long"),
    pytest.param('{"access_token": "LEAKY-not-closed-ZQXJ-07"', id="json-broken"),
    pytest.param('{"token": "LEAKY-wrong-field-ZQXJ-08"}', id="json-no-access-token"),
    pytest.param('{"access_token": 12345678901234567890}', id="json-number"),
    pytest.param('{"access_token": ["LEAKY-in-a-list-ZQXJ-09"]}', id="json-list"),
    pytest.param('{"access_token": null, "x": "LEAKY-null-ZQXJ-10"}', id="json-null"),
    pytest.param('{"access_token": "LEAKY with space ZQXJ-11"}', id="json-inner-space"),
    pytest.param('{"access_token": ""}', id="json-empty"),
    pytest.param(b"LEAKY-\xff\xfe-binary-ZQXJ-12", id="binary-not-utf8"),
    pytest.param(b"LEAKY-bytes-space ZQXJ-13", id="bytes-inner-space"),
]


def secret_fragments(raw: str | bytes) -> list[str]:
    """Pieces of the secret that would show that it was echoed."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    fragments = [part for part in ("LEAKY", "ZQXJ", "12345678901234567890") if part in text]
    stripped = text.strip()
    if len(stripped) >= 6:
        fragments.append(stripped)
    return fragments


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_secret_is_a_permanent_secret_malformed_failure(raw):
    with pytest.raises(PermanentFailure) as info:
        parse_token(raw)
    assert info.value.reason == "secret_malformed"
    assert info.value.http_status is None
    assert "WISTIA_SECRET_ID" in info.value.message


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_secret_value_never_appears_in_the_error(raw):
    with pytest.raises(PermanentFailure) as info:
        parse_token(raw)
    error = info.value
    shown = [
        str(error),
        repr(error),
        error.message,
        repr(error.args),
        "".join(traceback.format_exception(error)),
    ]
    for fragment in secret_fragments(raw):
        for text in shown:
            assert fragment not in text


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_secret_error_has_no_chained_cause_to_print(raw):
    with pytest.raises(PermanentFailure) as info:
        parse_token(raw)
    assert info.value.__cause__ is None
    # A context may exist (the JSON or Unicode error), but it must be suppressed when printed.
    assert info.value.__context__ is None or info.value.__suppress_context__


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty, too short"),
        ('{"access_token": "x"', "looks like JSON but does not parse"),
        ('{"other": "value"}', 'no string "access_token"'),
        ("[1, 2]", "empty, too short"),
        (b"\xff\xfe", "binary and not UTF-8"),
    ],
)
def test_error_message_says_what_is_wrong(raw, why):
    with pytest.raises(PermanentFailure) as info:
        parse_token(raw)
    assert why in info.value.message


def test_a_json_list_is_not_the_json_shape():
    # Only an object is the JSON shape; anything else is judged as a bare token.
    assert parse_token('["abc12345"]') == '["abc12345"]'
    with pytest.raises(PermanentFailure):
        parse_token('["abc 12345"]')


# --------------------------------------------------------------------------- prefetch at cold start


class CountingProvider:
    """Powertools' provider interface, counting reads; `fail` raises as a Secrets Manager outage."""

    def __init__(self, value: str, fail: bool = False) -> None:
        self.value, self.fail, self.reads = value, fail, 0
        self.cached: str | None = None

    def get(self, name: str, max_age: int, force_fetch: bool) -> str:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        if self.cached is not None and not force_fetch and max_age > 0:
            return self.cached
        self.reads += 1
        if self.fail:
            raise GetParameterError("AccessDeniedException")
        self.cached = self.value
        return self.value


def test_a_prefetched_token_is_read_once_and_served_from_the_cache():
    provider = CountingProvider('{"access_token": "prefetched-token-1"}')
    tokens = SecretsManagerToken("arn:secret", 300, provider=provider)  # type: ignore[arg-type]

    tokens.prefetch()

    assert tokens.token() == "prefetched-token-1"
    assert tokens.token() == "prefetched-token-1"
    assert provider.reads == 1


def test_a_failed_prefetch_is_reported_by_the_first_token_read():
    provider = CountingProvider("unused-token-value", fail=True)
    tokens = SecretsManagerToken("arn:secret", 300, provider=provider)  # type: ignore[arg-type]

    tokens.prefetch()  # quiet: nothing raised here

    with pytest.raises(TransientFailure) as raised:
        tokens.token()
    assert raised.value.reason == "secret_unavailable"
    assert provider.reads == 2  # the prefetch, then the first read that reports


def test_no_prefetch_without_a_cache():
    provider = CountingProvider("uncached-token-1")
    tokens = SecretsManagerToken("arn:secret", 0, provider=provider)  # type: ignore[arg-type]

    tokens.prefetch()

    assert provider.reads == 0
    assert tokens.token() == "uncached-token-1"
