"""Wistia webhooks: the signature check and the envelope, as Wistia documents them. Pure.

https://docs.wistia.com/docs/webhooks: every delivery is a POST whose `X-Wistia-Signature` header is
the hex HMAC-SHA256 of the raw body, keyed with the webhook's secret key. The body is
`{"hook": {"uuid"}, "events": [{"uuid", "type", "generated_at", "payload", "metadata"}]}`, `events`
always an array; a media event's `payload.media.id` is the media's hashed id. Delivery is at least
once, in no promised order: events are deduplicated on their `uuid` and ordered by `generated_at`
(lifecycle.decide). There is no timestamp or nonce in the signature, so a captured body replays
with a valid signature: the uuid dedupe is what makes a replay harmless.

The check runs on the raw bytes before anything parses them, and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from enum import StrEnum
from typing import Any, NamedTuple

from .lifecycle import MediaStatus, Observation, normalize_time

SIGNATURE_HEADER = "x-wistia-signature"  # Function URL events carry header names in lower case
MAX_BODY_BYTES = 256 * 1024
_HASHED_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_MAX_UUID_CHARS = 128


class MediaEvent(StrEnum):
    """The media lifecycle events Wistia sends, with the status each one means (None: attributes)."""

    status: MediaStatus | None

    def __new__(cls, value: str, status: MediaStatus | None) -> MediaEvent:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        return member

    CREATED = ("media.created", MediaStatus.QUEUED)  # accepted by Wistia, waiting to be processed
    PROCESSING = ("media.processing", MediaStatus.PROCESSING)
    READY = ("media.ready", MediaStatus.READY)
    FAILED = ("media.failed", MediaStatus.FAILED)
    UPDATED = ("media.updated", None)  # name, description... changed: the name is kept
    DELETED = ("media.deleted", MediaStatus.DELETED)


def sign(secret: str, body: bytes) -> str:
    """The signature Wistia sends for `body` (the emulator and the tests sign with it too)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` is the body's; constant time whatever the header holds."""
    if not signature or not secret:
        return False
    given = signature.strip().lower().encode("utf-8", errors="replace")
    return hmac.compare_digest(sign(secret, body).encode("ascii"), given)


class Envelope(NamedTuple):
    """A delivery's events: the media lifecycle ones, and how many others it carried."""

    hook_uuid: str | None
    observations: list[Observation]
    other_events: list[str]  # the types of the events that are not media lifecycle events


class EnvelopeError(ValueError):
    """The body is not Wistia's documented envelope; the message says where it is not."""


def parse_envelope(body: bytes) -> Envelope:
    """A verified body's events, or EnvelopeError."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeError("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise EnvelopeError("the body is not an object with an `events` array")
    hook = data.get("hook")
    hook_uuid = hook.get("uuid") if isinstance(hook, dict) else None
    envelope = Envelope(hook_uuid if isinstance(hook_uuid, str) else None, [], [])
    for index, event in enumerate(data["events"]):
        parsed = _event(f"events[{index}]", event)
        if isinstance(parsed, Observation):
            envelope.observations.append(parsed)
        else:
            envelope.other_events.append(parsed)
    return envelope


def _event(where: str, event: Any) -> Observation | str:
    """One event: an Observation for a media lifecycle event, else its type."""
    if not isinstance(event, dict):
        raise EnvelopeError(f"{where} is not an object")
    uuid, kind, generated_at = event.get("uuid"), event.get("type"), normalize_time(event.get("generated_at"))
    if not isinstance(uuid, str) or not 0 < len(uuid) <= _MAX_UUID_CHARS:
        raise EnvelopeError(f"{where}.uuid is missing or not a string of 1..{_MAX_UUID_CHARS}")
    if not isinstance(kind, str) or not kind:
        raise EnvelopeError(f"{where}.type is missing")
    if generated_at is None:
        raise EnvelopeError(f"{where}.generated_at is missing or not an ISO 8601 time")
    media_event = next((member for member in MediaEvent if member.value == kind), None)
    if media_event is None:
        return kind
    media = _media(where, event.get("payload"))
    return Observation(
        hashed_id=media["id"],
        status=media_event.status,
        at=generated_at,
        event_id=uuid,
        name=_text(media.get("name")),
        url=_text(media.get("url")),
    )


def _media(where: str, payload: Any) -> dict[str, Any]:
    media = payload.get("media") if isinstance(payload, dict) else None
    if (
        not isinstance(media, dict)
        or not isinstance(media.get("id"), str)
        or not _HASHED_ID.match(media["id"])
    ):
        raise EnvelopeError(f"{where}.payload.media.id is missing or not a hashed id")
    return media


def _text(value: Any) -> str | None:
    return value[:2048] if isinstance(value, str) and value else None
