"""Webhook signatures and envelopes (webhooks.py), the Function URL request (webhook_receiver.py)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from s3_wistia_bridge.lifecycle import MediaStatus
from s3_wistia_bridge.tracking_runtime import parse_webhook_secret
from s3_wistia_bridge.webhook_receiver import Refused, raw_request
from s3_wistia_bridge.webhooks import (
    MAX_BODY_BYTES,
    EnvelopeError,
    MediaEvent,
    parse_envelope,
    sign,
    signature_valid,
)

SECRET = "whsec-test-secret"
BODY = json.dumps(
    {
        "hook": {"uuid": "bb812395-8d23-4285-9278-9ca014209ae7"},
        "events": [
            {
                "uuid": "09e67f16e673a000",
                "type": "media.ready",
                "generated_at": "2016-03-30T15:53:15Z",
                "metadata": {"account_id": "8lq25o0p9c"},
                "payload": {
                    "media": {
                        "id": "f5diqltruh",
                        "name": "Cakes",
                        "url": "http://dave.wistia.com/medias/f5diqltruh",
                    }
                },
            }
        ],
    }
).encode()


# --- signatures -------------------------------------------------------------------------------


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body():
    assert sign(SECRET, BODY) == hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert signature_valid(SECRET, BODY, sign(SECRET, BODY))


def test_upper_case_hex_and_surrounding_spaces_are_the_same_signature():
    assert signature_valid(SECRET, BODY, f"  {sign(SECRET, BODY).upper()} ")


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        sign("another-secret", BODY),
        sign(SECRET, BODY)[:-1],
        sign(SECRET, BODY)[:32],
        "é" * 64,
        "00" * 32,
    ],
    ids=[
        "missing",
        "empty",
        "forged-other-secret",
        "truncated-by-one",
        "truncated-half",
        "non-ascii",
        "zeros",
    ],
)
def test_a_missing_forged_or_truncated_signature_is_refused(signature: str | None):
    assert not signature_valid(SECRET, BODY, signature)


def test_a_signature_does_not_cover_another_body():
    assert not signature_valid(SECRET, BODY + b" ", sign(SECRET, BODY))


def test_without_a_secret_nothing_verifies():
    assert not signature_valid("", BODY, sign("", BODY))


def test_a_replayed_body_still_verifies_so_dedupe_must_catch_it():
    # No timestamp or nonce is signed (Wistia's docs): a captured delivery replays with a valid
    # signature. The uuid dedupe (lifecycle.decide, the ledger's condition) makes it harmless.
    assert signature_valid(SECRET, BODY, sign(SECRET, BODY))
    assert parse_envelope(BODY).observations[0].event_id == "09e67f16e673a000"


@given(st.binary(max_size=512), st.text(min_size=1, max_size=40))
def test_only_the_right_signature_verifies_any_body(body: bytes, secret: str):
    right = sign(secret, body)
    assert signature_valid(secret, body, right)
    wrong = ("0" if right[0] != "0" else "1") + right[1:]
    assert not signature_valid(secret, body, wrong)


# --- envelopes --------------------------------------------------------------------------------


def test_the_documented_envelope_gives_one_observation_per_media_event():
    envelope = parse_envelope(BODY)
    assert envelope.hook_uuid == "bb812395-8d23-4285-9278-9ca014209ae7"
    (observation,) = envelope.observations
    assert observation.hashed_id == "f5diqltruh"
    assert observation.status is MediaStatus.READY
    assert observation.at == "2016-03-30T15:53:15.000Z"
    assert observation.name == "Cakes"
    assert observation.url == "http://dave.wistia.com/medias/f5diqltruh"


@pytest.mark.parametrize(
    ("kind", "status"),
    [(event.value, event.status) for event in MediaEvent],
)
def test_every_documented_media_event_means_a_status(kind: str, status: MediaStatus | None):
    body = json.loads(BODY)
    body["events"][0]["type"] = kind
    (observation,) = parse_envelope(json.dumps(body).encode()).observations
    assert observation.status is status


def test_a_batch_keeps_its_order_and_counts_other_events():
    body = json.loads(BODY)
    second = {**body["events"][0], "uuid": "2", "type": "media.processing"}
    other = {**body["events"][0], "uuid": "3", "type": "viewing_session.played"}
    body["events"] += [second, other]
    envelope = parse_envelope(json.dumps(body).encode())
    assert [o.event_id for o in envelope.observations] == ["09e67f16e673a000", "2"]
    assert envelope.other_events == ["viewing_session.played"]


def test_an_empty_batch_is_an_envelope():
    assert parse_envelope(b'{"events": []}').observations == []


def _with(path: tuple[str, ...], value: Any) -> bytes:
    body = json.loads(BODY)
    target = body["events"][0]
    for name in path[:-1]:
        target = target[name]
    if value is None:
        target.pop(path[-1])
    else:
        target[path[-1]] = value
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "`events` array"),
        (b'{"events": {}}', "`events` array"),
        (b'{"events": [1]}', "events[0] is not an object"),
        (_with(("uuid",), None), "events[0].uuid"),
        (_with(("uuid",), "x" * 129), "events[0].uuid"),
        (_with(("type",), None), "events[0].type"),
        (_with(("generated_at",), "yesterday"), "events[0].generated_at"),
        (_with(("payload",), None), "payload.media.id"),
        (_with(("payload", "media", "id"), 12345), "payload.media.id"),
        (_with(("payload", "media", "id"), "../etc"), "payload.media.id"),
    ],
)
def test_what_is_not_the_envelope_says_where(body: bytes, where: str):
    with pytest.raises(EnvelopeError, match=where.replace("[", r"\[").replace("]", r"\]").replace("`", ".")):
        parse_envelope(body)


@given(st.binary(max_size=300))
def test_any_signed_bytes_parse_or_raise_envelope_error(body: bytes):
    with contextlib.suppress(EnvelopeError):
        parse_envelope(body)


# --- the Function URL request -----------------------------------------------------------------


def url_event(
    method: str = "POST", body: str = "{}", *, encoded: bool = False, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "requestContext": {"http": {"method": method}},
        "headers": headers or {},
        "body": body,
        "isBase64Encoded": encoded,
    }


def test_a_base64_body_is_decoded_before_anything_else():
    event = url_event(
        body=base64.b64encode(BODY).decode(), encoded=True, headers={"x-wistia-signature": "abc"}
    )
    assert raw_request(event) == (BODY, "abc")


def test_the_signature_header_is_found_in_any_case():
    assert raw_request(url_event(headers={"X-Wistia-Signature": "abc"})) == (b"{}", "abc")


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (url_event("GET"), 405),
        (url_event("PUT"), 405),
        (url_event(body="x" * (MAX_BODY_BYTES + 1)), 413),
        (url_event(body=base64.b64encode(b"x" * (MAX_BODY_BYTES + 1)).decode(), encoded=True), 413),
        (url_event(body="%%%not base64", encoded=True), 400),
        ("not an event", 400),
    ],
    ids=["get", "put", "too-large", "too-large-decoded", "bad-base64", "not-an-event"],
)
def test_requests_refused_before_the_signature(event: Any, status: int):
    refused = raw_request(event)
    assert isinstance(refused, Refused)
    assert refused.status == status


def test_a_body_at_the_limit_is_read():
    body = "x" * MAX_BODY_BYTES
    assert raw_request(url_event(body=body)) == (body.encode(), None)


@pytest.mark.parametrize(
    ("raw", "secret"),
    [("plain-secret", "plain-secret"), ('{"secret_key": " k "}', "k"), ('{"other": 1}', ""), ("{broken", "")],
)
def test_the_webhook_secret_is_bare_or_its_secret_key(raw: str, secret: str):
    assert parse_webhook_secret(raw) == secret
