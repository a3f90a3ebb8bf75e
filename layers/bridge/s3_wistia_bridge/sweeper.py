"""The sweeper: asks Wistia about medias the ledger still has open, paced, on a schedule.

Every run reads the ledger's `open-by-age` index for medias accepted more than SWEEP_AFTER_MINUTES
ago, oldest first, and asks Show Media (media_status.py) for each: at most SWEEP_MAX_REQUESTS a
run, SWEEP_REQUESTS_PER_SECOND apart, so the sweeper's share of the account's rate limit is bounded
by configuration (a 429 or 503 ends the run at once). What Wistia answers is applied like a webhook
event (tracker.Tracker); a media still not ready READY_DEADLINE_MINUTES after its copy fails as
`wistia_processing_stuck`. With STATUS_TRACKING=poll this is the whole mechanism; with `webhooks`
it catches what the webhooks missed; with `off` a run does nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from .deletes import DeleteSweep
from .ledger import Entry, Ledger
from .lifecycle import Change, Observation
from .media_status import Reply, Shown
from .models import JsonDict, utc_timestamp
from .observability import count, logger
from .tracker import Tracker, now_utc
from .tracking_config import StatusTracking, TrackingConfig

# A run stops asking when less than this is left of its invocation.
RESERVE_SECONDS = 5.0


class StatusReader(Protocol):
    def show(self, hashed_id: str) -> Shown: ...


class Pacer:
    """At most `per_second` requests a second, and `most` in all."""

    def __init__(
        self,
        per_second: float,
        most: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._left = most
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def take(self) -> bool:
        """Wait for the next slot; False when the run has used all its requests."""
        if self._left <= 0:
            return False
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval
        self._left -= 1
        return True


class Sweeper:
    def __init__(
        self,
        config: TrackingConfig,
        ledger: Ledger,
        tracker: Tracker,
        reader: StatusReader,
        *,
        clock: Callable[[], datetime] = now_utc,
        pacer: Callable[[], Pacer] | None = None,
        deletes: DeleteSweep | None = None,
    ) -> None:
        self._config = config
        self._ledger = ledger
        self._tracker = tracker
        self._reader = reader
        self._clock = clock
        self._pacer = pacer or (lambda: Pacer(config.sweep_requests_per_second, config.sweep_max_requests))
        self._deletes = deletes

    def run(self, remaining: Callable[[], float], now: datetime | None = None) -> JsonDict:
        """One sweep; `remaining`: the invocation's seconds left; `now`: the sweep's time (default:
        the clock's). Returns what it did."""
        now = now or self._clock()
        if self._config.status_tracking is StatusTracking.OFF:
            return {"tracking": StatusTracking.OFF.value, **self._due_deletes(self._pacer(), remaining, now)}
        cutoff = utc_timestamp(now - timedelta(minutes=self._config.sweep_after_minutes))
        deadline = utc_timestamp(now - timedelta(minutes=self._config.ready_deadline_minutes))
        pacer = self._pacer()
        counts: Counter[str] = Counter()
        stopped = None
        # One more than may be asked: the run then knows (and says) that it left some open.
        for entry in self._ledger.open_before(cutoff, self._config.sweep_max_requests + 1):
            if remaining() < RESERVE_SECONDS or not pacer.take():
                stopped = "out of time" if remaining() < RESERVE_SECONDS else "SWEEP_MAX_REQUESTS"
                break
            shown = self._reader.show(str(entry.hashed_id))
            if shown.reply in (Reply.RATE_LIMITED, Reply.UNAUTHORIZED):
                stopped = f"{shown.reply.value} {shown.detail}".strip()
                break
            counts[self._one(entry, shown, now, deadline)] += 1
        report: JsonDict = {"tracking": self._config.status_tracking.value, **counts, "stopped": stopped}
        for name, value in counts.items():
            count(f"Swept{name.title().replace('_', '')}", value)
        logger.info("sweep done", **report)
        return report | self._due_deletes(pacer, remaining, now)

    def _due_deletes(self, pacer: Pacer, remaining: Callable[[], float], now: datetime) -> JsonDict:
        """DeletePolicy: the due deletes, after the statuses, in what is left of the run's requests."""
        if self._deletes is None:
            return {}
        report = self._deletes.run(pacer, remaining, now, self._config.sweep_max_requests)
        if report:
            logger.info("deletes done", **report)
        return {"deletes": report} if report else {}

    def _one(self, entry: Entry, shown: Shown, now: datetime, deadline: str) -> str:
        """What one answer did: the new status, `unchanged`, `stuck` or `error`."""
        outcome = "error" if shown.reply is Reply.ERROR else "unchanged"
        status = entry.status
        if shown.status is not None:
            seen = self._tracker.apply(
                entry, Observation(str(entry.hashed_id), shown.status, utc_timestamp(now))
            )
            if seen.change is Change.APPLY:
                outcome, status = shown.status.value, shown.status
        if shown.reply is Reply.ERROR:
            logger.warning("Show Media failed", hashed_id=entry.hashed_id, detail=shown.detail)
        accepted = entry.get("accepted_at")
        if status.is_open and isinstance(accepted, str) and accepted < deadline:
            self._tracker.stuck(entry, now)
            return "stuck"
        return outcome
