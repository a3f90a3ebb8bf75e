"""The emulator's state: medias, the request log, tokens, rate-limit windows, settings, faults.

Pure and thread-safe: every method takes the one lock it needs; nothing here speaks HTTP.
"""

from __future__ import annotations

import copy
import hmac
import math
import random
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from . import contract
from .catalog import Books
from .faults import FaultRule, Faults
from .lifecycle import Lifecycle
from .webhooks import WebhookSender

_HASHED_ID_ALPHABET = string.ascii_lowercase + string.digits
# A media's processing status (the Data API's queued|processing|ready|failed). Medias are created
# ready, so a lookup right after an upload finds a playable media.
DEFAULT_STATUS = "ready"
# What a token may do, as the control API sets it (POST /__emulator__/permissions). Wistia names
# its permissions "Read, update & delete anything" (full), "Read all data" (read_only) and an
# upload permission (upload_only); a token is full unless set otherwise.
PERMISSIONS = ("full", "read_only", "upload_only")
_T = TypeVar("_T")


@dataclass
class Settings:
    """The account and environment the emulator plays; plain values, changeable at any time."""

    video_limit: int | None = None
    rate_limit_per_minute: int | None = None
    rate_limit_window_seconds: float = 60.0
    rate_limit_status: int = 429
    # A token bucket instead of the sliding window: this many requests at once, refilled at
    # rate_limit_per_minute per rate_limit_window_seconds (None: the sliding window).
    rate_limit_burst: int | None = None
    # Emulated seconds per real second, for time-compressed runs: the bucket refills this much
    # faster and Retry-After stays in emulated seconds, what the client would wait for real.
    clock_rate: float = 1.0
    fetch_urls: bool = True
    s3_endpoint_url: str | None = None
    fetch_timeout_seconds: float = 5.0
    # The plan's archiving feature: without it PUT /medias/archive answers 403.
    archiving_enabled: bool = True
    # How long a background job (swap, archive, restore) stays queued, then started; 0 and 0:
    # finished at the first look. POST /__emulator__/jobs/finish finishes every job at once.
    job_queued_seconds: float = 0.0
    job_started_seconds: float = 0.0
    # What becomes of a swap's replacement media: "keep" or "delete" (catalog.py).
    swap_replacement: str = "keep"
    # Only SRT is documented as caption input; WEBVTT text is refused unless this is True.
    accept_vtt_captions: bool = False
    # Days a deleted media stays restorable (Wistia: 30, 14 on free plans).
    restore_days: int = 30


def now() -> datetime:
    return datetime.now(UTC)


def checked_tokens(tokens: Iterable[str]) -> tuple[str, ...]:
    checked = tuple(tokens)
    if isinstance(tokens, str) or not all(isinstance(t, str) and t for t in checked):
        raise ValueError("tokens must be an iterable of non-empty strings")
    return checked


class EmulatorState:
    def __init__(self, tokens: Iterable[str], settings: Settings, seed: int, faults: Faults) -> None:
        self.settings = settings
        self._seed = seed
        self._lock = threading.Lock()
        self._tokens = checked_tokens(tokens)
        self._permissions: dict[str, str] = {}
        # Processing and webhook deliveries (lifecycle.py, webhooks.py): off until configured.
        self.lifecycle = Lifecycle()
        self.webhooks = WebhookSender(self.lifecycle)
        self._clear(faults)

    def _clear(self, faults: Faults) -> None:
        """Forget every media, request and rate-limit window; call under the lock (or in __init__)."""
        self._faults = faults
        # Seeded sequences for reproducible runs, not secrets (S311). Ids get their own sequence
        # so changing the faults never changes the hashed_ids.
        self._fault_rng = random.Random(self._seed)  # noqa: S311
        self._id_rng = random.Random(self._seed)  # noqa: S311
        self._medias: list[dict[str, Any]] = []
        self._requests: list[dict[str, Any]] = []
        self._hashed_ids: set[str] = set()
        self._daily_projects: dict[str, str] = {}  # day -> the folder's hashed_id
        self.books = Books(self._medias, self._new_hashed_id)
        self._windows: dict[str, deque[float]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # token -> (tokens left, when)
        self._next_id = 1

    # -- views ---------------------------------------------------------------------------------

    def medias(self) -> list[dict[str, Any]]:
        with self._lock:
            medias = copy.deepcopy(self._medias)
        for media in medias:  # the status as processing has advanced it by now
            media["status"] = self.lifecycle.status(media["hashed_id"], media["status"])
        return medias

    def media_views(self) -> list[dict[str, Any]]:
        """The medias with their extras (archived, tags, content), as the modern API shows them."""
        views = self.transact(lambda books: [books.view(media) for media in books.medias])
        for media in views:
            media["status"] = self.lifecycle.status(media["hashed_id"], media["status"])
        return views

    def transact(self, change: Callable[[Books], _T]) -> _T:
        """Run `change` on the library under the lock, after the jobs due by now have run; a copy
        of what it returns."""
        with self._lock:
            self.books.settle(time.monotonic())
            return copy.deepcopy(change(self.books))

    def finish_jobs(self) -> int:
        with self._lock:
            return self.books.settle(time.monotonic(), finish_all=True)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._requests)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"medias": len(self._medias), "requests": len(self._requests)}

    @property
    def faults(self) -> Faults:
        return self._faults

    def faults_json(self) -> dict[str, Any]:
        with self._lock:
            return self._faults.to_json()

    # -- configuration -------------------------------------------------------------------------

    def set_faults(self, faults: Faults, seed: int | None) -> None:
        with self._lock:
            self._faults = faults
            self._fault_rng = random.Random(self._seed if seed is None else seed)  # noqa: S311

    def add_rule(self, rule: FaultRule) -> None:
        with self._lock:
            self._faults.rules.append(rule)

    def set_permission(self, token: str, permission: str) -> None:
        if not isinstance(token, str) or not token:
            raise TypeError("token must be a non-empty string")
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {', '.join(PERMISSIONS)}")
        with self._lock:
            self._permissions[token] = permission

    def permission(self, token: str) -> str:
        with self._lock:
            return self._permissions.get(token, "full")

    def set_tokens(self, tokens: Iterable[str]) -> None:
        checked = checked_tokens(tokens)
        with self._lock:
            self._tokens = checked

    def reset(self) -> None:
        with self._lock:
            self._clear(Faults())
        self.lifecycle.clear()
        self.webhooks.clear()

    # -- per request ---------------------------------------------------------------------------

    def auth(self, header: str | None) -> tuple[str, str | None]:
        """("valid", token), ("invalid", None) or ("missing", None)."""
        if not header:
            return "missing", None
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "invalid", None
        with self._lock:
            valid = self._tokens
        # compare_digest: the emulator should not model a timing side channel on the token.
        if any(hmac.compare_digest(token.encode(), t.encode()) for t in valid):
            return "valid", token
        return "invalid", None

    def record(self, **fields: Any) -> dict[str, Any]:
        record = {
            "time": now().isoformat(timespec="milliseconds"),
            **fields,
            "status": None,
            "fault": None,
            "rule": None,
            "hashed_id": None,
        }
        with self._lock:
            self._requests.append(record)
        return record

    def update(self, record: dict[str, Any], **fields: Any) -> None:
        with self._lock:
            record.update(fields)

    def latency_seconds(self) -> float:
        """The configured latency plus a seeded jitter draw."""
        with self._lock:
            faults = self._faults
            jitter = self._fault_rng.uniform(0, faults.jitter_seconds) if faults.jitter_seconds else 0.0
        return faults.latency_seconds + jitter

    def choose_fault(
        self, path: str, params: dict[str, str], method: str | None = None
    ) -> tuple[FaultRule | None, int | None]:
        with self._lock:
            return self._faults.choose(path, params, self._fault_rng, method)

    def timeout_seconds(self, rule: FaultRule) -> float:
        return self._faults.timeout_seconds if rule.timeout_seconds is None else rule.timeout_seconds

    def retry_after(self, token: str) -> int | None:
        """Seconds until `token` may call again, or None (and the call counts) when it may now.

        A sliding window per token, or a token bucket with `rate_limit_burst`; only admitted
        requests count, so the answer is exact.
        """
        limit = self.settings.rate_limit_per_minute
        if limit is None:
            return None
        if self.settings.rate_limit_burst is not None:
            return self._bucket_wait(token, limit, self.settings.rate_limit_burst)
        window = self.settings.rate_limit_window_seconds
        moment = time.monotonic()
        with self._lock:
            stamps = self._windows.setdefault(token, deque())
            while stamps and stamps[0] <= moment - window:
                stamps.popleft()
            if len(stamps) < limit:
                stamps.append(moment)
                return None
            return max(1, math.ceil(stamps[0] + window - moment))

    def _bucket_wait(self, token: str, limit: int, burst: int) -> int | None:
        """Token bucket: a request takes a token; tokens refill at `limit` per window (emulated
        time), up to `burst`. Empty: the whole emulated seconds until the next token."""
        per_second = limit / self.settings.rate_limit_window_seconds  # in emulated seconds
        moment = time.monotonic() * self.settings.clock_rate
        with self._lock:
            tokens, then = self._buckets.get(token, (float(burst), moment))
            tokens = min(float(burst), tokens + (moment - then) * per_second)
            if tokens >= 1:
                self._buckets[token] = (tokens - 1, moment)
                return None
            self._buckets[token] = (tokens, moment)
            return max(1, math.ceil((1 - tokens) / per_second))

    def create_media(
        self,
        options: contract.Options,
        default_name: str,
        source: dict[str, Any],
        content: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Create a media, or None when the account is at its video limit (checked atomically)."""
        created = now()
        with self._lock:
            limit = self.settings.video_limit
            if limit is not None and len(self._medias) >= limit:
                return None
            if options.project_id is not None:
                project = self.books.project_ref(options.project_id)
            else:
                project = self._daily_project(created.date().isoformat())
            media = contract.media(
                media_id=self._next_id,
                hashed_id=self._new_hashed_id(),
                name=options.name or default_name,
                created=created.isoformat(timespec="seconds"),
                description=options.description,
                project=project,
                source=source,
            )
            media["status"] = DEFAULT_STATUS
            self._next_id += 1
            self._medias.append(media)
            self.books.extras_of(media["hashed_id"]).content = dict(content or {})
            made = copy.deepcopy(media)
        self.lifecycle.born(made["hashed_id"], made["name"])
        self.webhooks.media_created(made)
        return made

    def _daily_project(self, day: str) -> dict[str, str]:
        """The project Wistia creates for uploads without project_id; call under the lock."""
        if day not in self._daily_projects:
            moment = now().isoformat(timespec="seconds")
            self._daily_projects[day] = self.books.add_folder(f"Uploads_{day}", moment)["hashed_id"]
        return self.books.project_ref(self._daily_projects[day])

    def _new_hashed_id(self) -> str:
        while True:
            hashed_id = "".join(self._id_rng.choices(_HASHED_ID_ALPHABET, k=10))
            if hashed_id not in self._hashed_ids:
                self._hashed_ids.add(hashed_id)
                return hashed_id
