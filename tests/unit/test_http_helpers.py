"""The pure HTTP helpers of the Wistia client: Retry-After and Wistia's error text."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.wistia import error_text, retry_after_seconds

TOKEN = "wst-0123456789abcdef-HELPER-TOKEN"


def response(
    status: int, body: bytes | str, content_type: str | None = "application/json"
) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = body.encode("utf-8") if isinstance(body, str) else body
    r.encoding = "utf-8"
    if content_type is not None:
        r.headers["Content-Type"] = content_type
    return r


def json_response(status: int, document: object) -> requests.Response:
    return response(status, json.dumps(document))


# --- Retry-After ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("1", 1.0), ("120", 120.0), (" 30 ", 30.0)])
def test_retry_after_delta_seconds(value, seconds):
    assert retry_after_seconds(value) == seconds


def test_retry_after_http_date_in_the_future_is_seconds_from_now():
    when = datetime.now(UTC) + timedelta(seconds=90)
    seconds = retry_after_seconds(format_datetime(when, usegmt=True))
    assert seconds is not None
    assert 85 <= seconds <= 90


def test_retry_after_http_date_in_the_past_is_zero():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "-5", "1.5", "1e3", "0x10", "Mon, 99 Foo 2025", "Retry-After: 5", "∞"],
)
def test_retry_after_garbage_is_none(value):
    assert retry_after_seconds(value) is None


@pytest.mark.parametrize("value", ["²", "¹", "3³"])
def test_retry_after_with_a_latin1_superscript_digit_is_none(value):
    assert retry_after_seconds(value) is None


# Latin-1: what header values decode to.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)


@settings(deadline=None)
@given(value=HEADER_TEXT)
def test_retry_after_never_raises_and_is_never_negative(value):
    seconds = retry_after_seconds(value)
    assert seconds is None or seconds >= 0


@settings(deadline=None)
@given(delay=st.integers(min_value=0, max_value=10**9))
def test_retry_after_any_whole_number_is_taken_literally(delay):
    assert retry_after_seconds(str(delay)) == float(delay)


def test_retry_after_date_is_relative_to_the_wall_clock():
    when = datetime.fromtimestamp(time.time() + 3600, UTC)
    seconds = retry_after_seconds(format_datetime(when, usegmt=True))
    assert seconds is not None
    assert 3590 <= seconds <= 3600


# --- error_text -----------------------------------------------------------------------------

VIDEO_LIMIT = "This account has exceeded its video limit. Please upgrade to upload more videos."


def test_flat_error_shape_gives_text_and_no_code():
    r = json_response(400, {"error": VIDEO_LIMIT})
    assert error_text(r, TOKEN) == (VIDEO_LIMIT, None)


def test_nested_error_shape_gives_detail_and_code():
    r = json_response(400, {"error": {"code": "missing_param", "detail": "bucket is required"}})
    assert error_text(r, TOKEN) == ("bucket is required", "missing_param")


def test_nested_error_shape_with_message_instead_of_detail():
    r = json_response(422, {"error": {"code": 17, "message": "unprocessable source"}})
    assert error_text(r, TOKEN) == ("unprocessable source", "17")


def test_nested_error_with_only_a_code():
    r = json_response(400, {"error": {"code": "bad_region"}})
    assert error_text(r, TOKEN) == (None, "bad_region")


def test_errors_list_is_joined():
    r = json_response(400, {"errors": ["name is too long", "project not found"]})
    assert error_text(r, TOKEN) == ("name is too long; project not found", None)


@pytest.mark.parametrize("document", [{}, {"error": None}, {"error": []}, {"error": ""}, {"message": "x"}])
def test_json_without_an_error_gives_nothing(document):
    assert error_text(json_response(400, document), TOKEN) == (None, None)


def test_html_401_body_is_ignored():
    r = response(401, "<html><body><h1>401 Unauthorized</h1></body></html>", "text/html; charset=utf-8")
    assert error_text(r, TOKEN) == (None, None)


def test_plain_text_body_is_used_as_the_text():
    r = response(502, "upstream connect error", "text/plain")
    assert error_text(r, TOKEN) == ("upstream connect error", None)


def test_empty_body_gives_nothing():
    assert error_text(response(500, b"", None), TOKEN) == (None, None)


def test_json_shape_is_read_whatever_the_content_type_says():
    r = response(400, json.dumps({"error": VIDEO_LIMIT}), "text/plain")
    assert error_text(r, TOKEN) == (VIDEO_LIMIT, None)


def test_text_is_capped_at_500_and_code_at_100_characters():
    r = json_response(400, {"error": {"code": "c" * 300, "detail": "d" * 2000}})
    text, code = error_text(r, TOKEN)
    assert text == "d" * 500
    assert code == "c" * 100


@pytest.mark.parametrize(
    "r",
    [
        json_response(400, {"error": f"token {TOKEN} is not allowed to copy"}),
        json_response(400, {"error": {"code": f"bad:{TOKEN}", "detail": f"rejected {TOKEN} twice {TOKEN}"}}),
        json_response(400, {"errors": [f"Bearer {TOKEN}", "other"]}),
        response(500, f"Authorization: Bearer {TOKEN}", "text/plain"),
    ],
    ids=["flat", "nested", "list", "text"],
)
def test_the_token_is_redacted_from_text_and_code(r):
    text, code = error_text(r, TOKEN)
    for value in (text, code):
        assert value is None or TOKEN not in value
    assert text is not None
    assert "***" in text


def test_redaction_with_no_token_leaves_text_alone():
    assert error_text(json_response(400, {"error": "plain"}), "") == ("plain", None)


@pytest.mark.parametrize("cut", [500, 100])
def test_a_token_straddling_the_length_cap_does_not_leak_a_prefix(cut):
    filler = "a" * (cut - 20)
    r = json_response(400, {"error": {"code": filler + TOKEN, "detail": filler + TOKEN}})
    text, code = error_text(r, TOKEN)
    leaked_prefix = TOKEN[:20]
    assert text is not None
    assert code is not None
    assert leaked_prefix not in (text if cut == 500 else code)


ECHOED_URL = (
    "http://127.0.0.1:9000/media/videos/a.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=ASIAEXAMPLE%2F20261121%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLESESSION&X-Amz-Signature=0123abcdef"
)


def test_a_presigned_url_echoed_by_wistia_loses_its_signature_credential_and_session_token():
    text, _ = error_text(json_response(400, {"error": f"could not fetch {ECHOED_URL}"}), TOKEN)
    assert text is not None
    for secret in ("ASIAEXAMPLE", "IQoJb3JpZ2luX2VjEXAMPLESESSION", "0123abcdef"):
        assert secret not in text
    # What helps an operator stays: the host, the key and the signing algorithm.
    assert "/media/videos/a.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256" in text
    assert text.count("=***") == 3
