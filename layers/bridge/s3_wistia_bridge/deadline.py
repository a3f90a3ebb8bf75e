"""How much time the current invocation has left, so HTTP work never outlives it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """Seconds left, minus a reserve kept for writing failure records and flushing metrics."""

    def __init__(self, remaining: Callable[[], float], reserve_seconds: float = 0.0) -> None:
        self._remaining = remaining
        self._reserve = reserve_seconds

    @classmethod
    def from_context(cls, context: LambdaContextLike, reserve_seconds: float = 2.0) -> Deadline:
        return cls(lambda: context.get_remaining_time_in_millis() / 1000.0, reserve_seconds)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """A deadline `seconds` from now (operator tools, tests)."""
        end = time.monotonic() + seconds
        return cls(lambda: end - time.monotonic())

    def remaining(self) -> float:
        return self._remaining() - self._reserve
