"""A one-line progress display on stderr and the summary table. Stdlib only."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import TextIO


class Progress:
    """`label: 12/300 · replayed 10 · failed 2`, rewritten in place; only on a terminal."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        min_interval: float = 0.1,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.counts: dict[str, int] = {}
        self._stream = stream or sys.stderr
        self.enabled = self._stream.isatty() if enabled is None else enabled
        self._min_interval = min_interval
        self._last = 0.0
        self._width = 0

    def advance(self, status: str, n: int = 1) -> None:
        self.done += n
        self.counts[status] = self.counts.get(status, 0) + n
        self._draw()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self._min_interval:
            return
        self._last = now
        line = self.line()
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self._stream.write("\r" + line + " " * pad)
        self._stream.flush()

    def line(self) -> str:
        done = f"{self.done}/{self.total}" if self.total else str(self.done)
        parts = [f"{self.label}: {done}"] + [f"{name} {n}" for name, n in sorted(self.counts.items())]
        return " · ".join(parts)

    def break_line(self) -> None:
        """End the progress line, so that a line printed next does not overwrite it."""
        if self.enabled:
            self._stream.write("\n")

    def close(self) -> None:
        if self.enabled and self.done:
            self._draw(force=True)
            self._stream.write("\n")
            self._stream.flush()


def table(rows: Iterable[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain aligned text table (first column left-aligned, numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [_table_line(row, widths) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _table_line(row: Sequence[str], widths: Sequence[int]) -> str:
    first, *rest = zip(row, widths, strict=True)
    cells = [first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)]
    return "  ".join(cells).rstrip()


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
