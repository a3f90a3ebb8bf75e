"""The webhook receiver: a Lambda Function URL request (payload format 2.0) in, an HTTP answer out.

In order, each step answering before the next one runs:

1. 405 to anything but POST;
2. 413 to a body over MAX_BODY_BYTES (checked on the encoded length, then on the decoded one);
3. the body base64-decoded when the event says `isBase64Encoded`;
4. 401 to a missing or wrong `X-Wistia-Signature` (webhooks.signature_valid, on the raw bytes,
   before anything parses them); a wrong one re-reads the secret once a minute at most (rotation)
   without letting forged requests drive Secrets Manager calls;
5. 400 to a signed body that is not Wistia's envelope;
6. each event of the batch applied (tracker.Tracker: dedupe, order, unknown medias ignored);
   200 with the counts. 500 when the ledger or the failure queue could not be written, so
   Wistia delivers again (the uuid dedupe makes that harmless).

Never logged: the secret, the signature header, the body.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from .errors import TransientFailure
from .ledger import LedgerError
from .lifecycle import Change
from .models import JsonDict
from .observability import count, logger
from .tracker import Tracker
from .webhooks import MAX_BODY_BYTES, SIGNATURE_HEADER, EnvelopeError, parse_envelope, signature_valid

# A forged request may cost one Secrets Manager read a minute, never one per request.
SECRET_REFRESH_SECONDS = 60.0


class SecretSource(Protocol):
    def secret(self, *, refresh: bool = False) -> str: ...


class Refused(NamedTuple):
    status: int
    message: str


def answer(status: int, body: JsonDict, headers: dict[str, str] | None = None) -> JsonDict:
    """A Function URL response."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body),
    }


def raw_request(event: Any) -> tuple[bytes, str | None] | Refused:
    """The body's bytes and the signature header of a Function URL event, or why it is refused."""
    if not isinstance(event, dict):
        return Refused(400, "not a Function URL event")
    method = (event.get("requestContext") or {}).get("http", {}).get("method")
    if method != "POST":
        return Refused(405, "only POST")
    raw = _body(event)
    if isinstance(raw, Refused):
        return raw
    headers = event.get("headers") or {}
    signature = next((v for k, v in headers.items() if str(k).lower() == SIGNATURE_HEADER), None)
    return raw, signature if isinstance(signature, str) else None


def _body(event: JsonDict) -> bytes | Refused:
    """The raw body, decoded from base64 when the event says so; its size checked before and after."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        return Refused(400, "the body is not text")
    encoded = bool(event.get("isBase64Encoded"))
    too_large = Refused(413, f"the body is over {MAX_BODY_BYTES} bytes")
    if len(body) > (MAX_BODY_BYTES * 4 // 3 + 4 if encoded else MAX_BODY_BYTES):
        return too_large
    raw = _decoded(body) if encoded else body.encode("utf-8")
    if raw is None:
        return Refused(400, "the body is not valid base64")
    return too_large if len(raw) > MAX_BODY_BYTES else raw


def _decoded(body: str) -> bytes | None:
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None


class WebhookReceiver:
    def __init__(
        self, secrets: SecretSource, tracker: Tracker, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._secrets = secrets
        self._tracker = tracker
        self._clock = clock
        self._refreshed_at: float | None = None

    def handle(self, event: Any, context: Any) -> JsonDict:
        request = raw_request(event)
        if isinstance(request, Refused):
            return self._refused(request, event)
        self._tracker.request_id = getattr(context, "aws_request_id", None)
        self._tracker.function_arn = getattr(context, "invoked_function_arn", None)
        try:
            return self._verified(*request, event)
        except (LedgerError, TransientFailure) as error:  # the secret, the ledger or the queue
            logger.error("webhook not applied: Wistia will deliver it again", error=str(error))
            count("WebhookRetryAsked")
            return answer(500, {"message": "try again"})

    def _verified(self, body: bytes, signature: str | None, event: Any) -> JsonDict:
        if not self._signed(body, signature):
            return self._refused(Refused(401, "missing or invalid signature"), event)
        try:
            envelope = parse_envelope(body)
        except EnvelopeError as error:
            return self._refused(Refused(400, str(error)), event)
        counts = self._apply(envelope.observations)
        counts["other_events"] = len(envelope.other_events)
        logger.info("webhook applied", hook_uuid=envelope.hook_uuid, **counts)
        return answer(200, counts)

    def _signed(self, body: bytes, signature: str | None) -> bool:
        if signature is None:
            return False
        if signature_valid(self._secrets.secret(), body, signature):
            return True
        now = self._clock()
        if self._refreshed_at is not None and now - self._refreshed_at < SECRET_REFRESH_SECONDS:
            return False
        self._refreshed_at = now  # perhaps rotated since it was cached: read it again, once
        return signature_valid(self._secrets.secret(refresh=True), body, signature)

    def _apply(self, observations: list[Any]) -> dict[str, Any]:
        counts: dict[str, Any] = {
            "events": len(observations),
            "applied": 0,
            "duplicates": 0,
            "stale": 0,
            "unknown": 0,
        }
        names = {
            Change.APPLY: "applied",
            Change.DUPLICATE: "duplicates",
            Change.STALE: "stale",
            None: "unknown",
        }
        for observation in observations:
            counts[names[self._tracker.observe(observation).change]] += 1
        return counts

    @staticmethod
    def _refused(refused: Refused, event: Any) -> JsonDict:
        context = (event.get("requestContext") or {}) if isinstance(event, dict) else {}
        http = context.get("http") or {}
        logger.warning(
            "webhook refused",
            status=refused.status,
            detail=refused.message,
            source_ip=http.get("sourceIp"),
            user_agent=str(http.get("userAgent") or "")[:100],
        )
        count(f"WebhookRefused{refused.status}")
        headers = {"Allow": "POST"} if refused.status == 405 else None
        return answer(refused.status, {"message": refused.message}, headers)
