"""Media processing in the emulator: a status that advances queued → processing → ready (or failed).

Off by default (medias are created `ready`, as before). Configured through the control API
(`POST /__emulator__/lifecycle`) or `WistiaEmulator.configure_lifecycle`:

- `enabled`: medias then start `queued`;
- `queued_seconds`, `processing_seconds`: how long each stage lasts;
- `fail_match`: substrings of a media's name whose processing fails (a fault rule for processing),
  `fail_times`: how many such medias fail (null: every one).

The status is computed from the time since creation whenever a media is read (Show Media, List
Media, the control API), so it is exact without a timer; `schedule` gives the same transitions as
offsets, for the webhook deliveries (webhooks.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

QUEUED, PROCESSING, READY, FAILED = "queued", "processing", "ready", "failed"


@dataclass
class LifecycleSettings:
    enabled: bool = False
    queued_seconds: float = 0.2
    processing_seconds: float = 0.5
    fail_match: list[str] = field(default_factory=list)
    fail_times: int | None = None

    @classmethod
    def from_json(cls, data: Any, current: LifecycleSettings) -> LifecycleSettings:
        if not isinstance(data, dict) or not set(data) <= set(asdict(current)):
            raise ValueError(f"lifecycle is a JSON object with keys among {sorted(asdict(current))}")
        merged = {**asdict(current), **data}
        for name, acceptable, message in _CHECKS:
            _check(acceptable(merged[name]), message)
        return cls(**merged)


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _count_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


_CHECKS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("enabled", lambda value: isinstance(value, bool), "enabled must be a boolean"),
    ("queued_seconds", _seconds, "queued_seconds must be a number >= 0"),
    ("processing_seconds", _seconds, "processing_seconds must be a number >= 0"),
    ("fail_match", _names, "fail_match must be a list of non-empty strings"),
    ("fail_times", _count_or_null, "fail_times must be a whole number >= 0 or null"),
)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class _Fate:
    born: float  # monotonic
    queued_seconds: float
    processing_seconds: float
    final: str


class Lifecycle:
    """Each tracked media's birth time and fate; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = LifecycleSettings()
        self._clock = clock
        self._lock = threading.Lock()
        self._fates: dict[str, _Fate] = {}
        self._failed = 0

    def configure(self, data: Any) -> dict[str, Any]:
        with self._lock:
            self.settings = LifecycleSettings.from_json(data, self.settings)
            self._failed = 0
            return asdict(self.settings)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.settings)

    def clear(self) -> None:
        with self._lock:
            self._fates.clear()
            self._failed = 0

    def born(self, hashed_id: str, name: str) -> None:
        """A media was created: decide its fate now (failure rules count at creation)."""
        with self._lock:
            settings = self.settings
            if not settings.enabled:
                return
            final = FAILED if self._fails(name, settings) else READY
            self._fates[hashed_id] = _Fate(
                self._clock(), settings.queued_seconds, settings.processing_seconds, final
            )

    def _fails(self, name: str, settings: LifecycleSettings) -> bool:
        """Call under the lock."""
        if not any(match in name for match in settings.fail_match):
            return False
        if settings.fail_times is not None and self._failed >= settings.fail_times:
            return False
        self._failed += 1
        return True

    def status(self, hashed_id: str, stored: str) -> str:
        """The media's status now; `stored` for a media created while the lifecycle was off."""
        with self._lock:
            fate = self._fates.get(hashed_id)
        if fate is None:
            return stored
        elapsed = self._clock() - fate.born
        if elapsed < fate.queued_seconds:
            return QUEUED
        if elapsed < fate.queued_seconds + fate.processing_seconds:
            return PROCESSING
        return fate.final

    def schedule(self, hashed_id: str) -> list[tuple[float, str]]:
        """(seconds after creation, status) of each transition: the webhooks' timeline."""
        with self._lock:
            fate = self._fates.get(hashed_id)
        if fate is None:
            return [(0.0, QUEUED), (0.0, READY)]
        processing = fate.queued_seconds
        return [(0.0, QUEUED), (processing, PROCESSING), (processing + fate.processing_seconds, fate.final)]
