"""Signed webhook deliveries from the emulator, as https://docs.wistia.com/docs/webhooks describes them.

Configured through the control API (`POST /__emulator__/webhooks`) or
`WistiaEmulator.configure_webhooks`: `url` (the consumer; null: none), `secret` (the webhook's
secret key), `events` (the types subscribed to), and the delivery's imperfections, seeded
(`seed`) so a run replays the same: `duplicate_rate` (the same body delivered twice),
`late_rate` / `late_seconds` (a delivery held back), `reorder_rate` (`media.processing` delivered
after the final event).

For each media created, a background thread POSTs `media.created` (status queued),
`media.processing` and `media.ready` or `media.failed` at the lifecycle's times (lifecycle.py).
Each POST is `{"hook": {"uuid"}, "events": [event]}` with `Content-Type: application/json`,
`User-Agent: Wistia-Webhooks/0.0.47` and `X-Wistia-Signature`, the hex HMAC-SHA256 of the body
with the secret. A delivery not answered 2xx is tried again twice, 0.2 s apart. `deliveries()`
lists what was sent (never the secret or the signature).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import random
import threading
import time
import uuid as uuid_module
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from .lifecycle import FAILED, PROCESSING, QUEUED, READY, Lifecycle

USER_AGENT = "Wistia-Webhooks/0.0.47"
_TYPES = {
    QUEUED: "media.created",
    PROCESSING: "media.processing",
    READY: "media.ready",
    FAILED: "media.failed",
}
# UNVERIFIED: the docs list media.deleted with a payload of media{id} only; whether a Data API
# delete fires it is not documented. Sent when subscribed (in `events`, as by default).
DELETED = "media.deleted"
_ATTEMPTS = 3
_RETRY_SECONDS = 0.2


@dataclass
class WebhookSettings:
    url: str | None = None
    secret: str = ""
    events: list[str] = field(default_factory=lambda: [*_TYPES.values(), DELETED])
    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    late_seconds: float = 1.0
    reorder_rate: float = 0.0
    account_id: str = "emuaccount1"
    seed: int = 0

    @classmethod
    def from_json(cls, data: Any, current: WebhookSettings) -> WebhookSettings:
        if not isinstance(data, dict) or not set(data) <= set(asdict(current)):
            raise ValueError(f"webhooks is a JSON object with keys among {sorted(asdict(current))}")
        merged = replace(current, **data)
        _check(merged.url is None or (isinstance(merged.url, str) and merged.url.startswith("http")), "url")
        _check(isinstance(merged.secret, str), "secret must be a string")
        _check(
            isinstance(merged.events, list) and set(merged.events) <= {*_TYPES.values(), DELETED}, "events"
        )
        for name in ("duplicate_rate", "late_rate", "reorder_rate"):
            value = getattr(merged, name)
            _check(isinstance(value, int | float) and 0 <= value <= 1, f"{name} must be between 0 and 1")
        _check(isinstance(merged.late_seconds, int | float) and merged.late_seconds >= 0, "late_seconds >= 0")
        _check(isinstance(merged.seed, int) and not isinstance(merged.seed, bool), "seed must be an integer")
        return merged

    def public(self) -> dict[str, Any]:
        return {**asdict(self), "secret": "[set]" if self.secret else ""}


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(order=True)
class _Delivery:
    due: float
    order: int
    body: bytes = field(compare=False)
    info: dict[str, Any] = field(compare=False)
    attempt: int = field(default=1, compare=False)


class WebhookSender:
    """Schedules and sends the deliveries on one daemon thread; thread-safe."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle
        self.settings = WebhookSettings()
        self._rng = random.Random(0)  # noqa: S311 - reproducible delivery imperfections
        self._cond = threading.Condition()
        self._queue: list[_Delivery] = []
        self._order = 0
        self._log: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None
        self._stopping = False

    def configure(self, data: Any) -> dict[str, Any]:
        with self._cond:
            self.settings = WebhookSettings.from_json(data, self.settings)
            self._rng = random.Random(self.settings.seed)  # noqa: S311
            return self.settings.public()

    def to_json(self) -> dict[str, Any]:
        with self._cond:
            return {"settings": self.settings.public(), "deliveries": [dict(d) for d in self._log]}

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(d) for d in self._log]

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self._log.clear()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._thread = None

    def media_created(self, media: dict[str, Any]) -> None:
        """Schedule the media's lifecycle events (nothing when no consumer is configured)."""
        with self._cond:
            settings = self.settings
            if settings.url is None:
                return
            start, created = time.monotonic(), datetime.now(UTC)
            timeline = self._lifecycle.schedule(media["hashed_id"])
            for offset, status in timeline:
                kind = _TYPES[status]
                if kind in settings.events:
                    self._plan(settings, media, kind, start + offset, created + timedelta(seconds=offset))
            self._start_thread()
            self._cond.notify_all()

    def media_deleted(self, hashed_id: str) -> None:
        """Schedule media.deleted now (nothing when no consumer is configured or subscribed)."""
        with self._cond:
            settings = self.settings
            if settings.url is None or DELETED not in settings.events:
                return
            media = {"hashed_id": hashed_id}
            self._plan(
                settings, media, DELETED, time.monotonic(), datetime.now(UTC), payload={"id": hashed_id}
            )
            self._start_thread()
            self._cond.notify_all()

    def _plan(
        self,
        settings: WebhookSettings,
        media: dict[str, Any],
        kind: str,
        due: float,
        at: datetime,
        *,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Queue one event's delivery with its imperfections; call under the lock."""
        event = {
            "uuid": f"{self._rng.getrandbits(64):016x}",
            "type": kind,
            "generated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "metadata": {"account_id": settings.account_id},
            "payload": {"media": payload or _payload(media, settings.account_id)},
        }
        hook = {"uuid": str(uuid_module.UUID(int=self._rng.getrandbits(128), version=4))}
        body = json.dumps({"hook": hook, "events": [event]}).encode("utf-8")
        info = {"uuid": event["uuid"], "type": kind, "hashed_id": media["hashed_id"], "late": False}
        info |= {"duplicate": False, "reordered": False}
        if kind == "media.processing" and self._rng.random() < settings.reorder_rate:
            due += self._lifecycle_tail(media) + 0.1
            info["reordered"] = True
        if self._rng.random() < settings.late_rate:
            due += settings.late_seconds
            info["late"] = True
        self._push(due, body, info)
        if self._rng.random() < settings.duplicate_rate:
            self._push(due + self._rng.uniform(0.02, 0.2), body, {**info, "duplicate": True})

    def _lifecycle_tail(self, media: dict[str, Any]) -> float:
        timeline = self._lifecycle.schedule(media["hashed_id"])
        return timeline[-1][0] - timeline[1][0] if len(timeline) > 2 else 0.0

    def _push(self, due: float, body: bytes, info: dict[str, Any]) -> None:
        self._order += 1
        heapq.heappush(self._queue, _Delivery(due, self._order, body, info))

    def _start_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="wistia-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with requests.Session() as session:
            session.trust_env = False  # an environment proxy must not intercept loopback deliveries
            while (delivery := self._next()) is not None:
                self._send(session, delivery)

    def _next(self) -> _Delivery | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                if self._queue and self._queue[0].due <= now:
                    return heapq.heappop(self._queue)
                self._cond.wait(timeout=(self._queue[0].due - now) if self._queue else 0.5)
            return None

    def _send(self, session: requests.Session, delivery: _Delivery) -> None:
        with self._cond:
            url, secret = self.settings.url, self.settings.secret
        if url is None:
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Wistia-Signature": sign(secret, delivery.body),
        }
        try:
            status: int | str = session.post(url, data=delivery.body, headers=headers, timeout=5).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        with self._cond:
            self._log.append({**delivery.info, "status": status, "attempt": delivery.attempt})
            ok = isinstance(status, int) and 200 <= status < 300
            if not ok and delivery.attempt < _ATTEMPTS:
                retry = replace(delivery, due=time.monotonic() + _RETRY_SECONDS, attempt=delivery.attempt + 1)
                self._order += 1
                heapq.heappush(self._queue, replace(retry, order=self._order))
                self._cond.notify_all()


def _payload(media: dict[str, Any], account: str) -> dict[str, Any]:
    """`payload.media` as Wistia sends it: `id` is the hashed id."""
    hashed_id = media["hashed_id"]
    return {
        "id": hashed_id,
        "name": media["name"],
        "duration": None,
        "url": f"https://{account}.wistia.com/medias/{hashed_id}",
        "thumbnail": {"url": media.get("thumbnail", {}).get("url")},
    }
