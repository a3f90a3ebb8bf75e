"""What the CLI writes: result lines and tables on stdout, progress bars and prompts on stderr.

rich draws colour, tables and progress bars on a terminal only; piped or redirected, stdout gets
plain lines and a plain aligned table (stable for grep and scripts), and stderr no progress.
`--output json` prints one JSON document on stdout and nothing else there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


# Colours of the words that start result lines and fill the doctor's verdict column.
STYLES = {
    "copied": "green",
    "replayed": "green",
    "requeued": "green",
    "queued": "green",
    "pass": "green",
    "duplicate": "cyan",
    "would_replay": "cyan",
    "would_requeue": "cyan",
    "would_copy": "cyan",
    "skipped": "dim",
    "filtered": "dim",
    "skip": "dim",
    "rejected": "yellow",
    "superseded": "yellow",
    "warn": "yellow",
    "failed": "red",
    "requeue_failed": "red",
    "malformed": "red",
    "fail": "bold red",
}


def _console(stream: TextIO) -> Console:
    # No markup, emoji or highlighting: object keys are data ("[x]" or ":tv:" stay as they are);
    # soft_wrap: a long line is never cut or folded into the next one.
    return Console(file=stream, markup=False, emoji=False, highlight=False, soft_wrap=True)


class Ui:
    def __init__(self, stdout: TextIO, stderr: TextIO, output: OutputFormat, progress: bool) -> None:
        self.out = _console(stdout)
        self.err = _console(stderr)
        self.stdout = stdout
        self.output = output
        self._progress_wanted = progress and output is OutputFormat.TABLE and self.err.is_terminal
        self._bar: Bar | None = None

    @property
    def json(self) -> bool:
        return self.output is OutputFormat.JSON

    @property
    def interactive(self) -> bool:
        """A person can answer a prompt (stdin and stderr are a terminal)."""
        return self.err.is_terminal and _isatty(sys.stdin)  # sys.stdin at call time: tests replace it

    def line(self, text: str, status: str = "") -> None:
        """One result line; `status` colours its first word on a terminal."""
        if self.json:
            return
        rendered = Text(text)
        if status and status in STYLES:
            rendered.stylize(STYLES[status], 0, len(status))
        # While a bar is drawn on the same terminal, print through it so it is not overwritten.
        bar_console = self._bar.console if self._bar is not None else None
        (bar_console if bar_console is not None and self.out.is_terminal else self.out).print(rendered)

    def document(self, data: Any) -> None:
        print(json.dumps(data, indent=2, default=str), file=self.stdout)

    def table(self, rows: Iterable[Sequence[object]], headers: Sequence[str]) -> None:
        if self.out.is_terminal:
            grid = Table(*headers, box=box.SIMPLE_HEAD, show_edge=False)
            for column in grid.columns[1:]:
                column.justify = "right"
            for row in rows:
                grid.add_row(*(Text(str(cell), style=STYLES.get(str(cell), "")) for cell in row))
            self.out.print(grid)
        else:
            self.out.print(Text(plain_table(rows, headers)))

    def error(self, text: str) -> None:
        self.err.print(Text(text, style="red" if self.err.is_terminal else ""))

    def note(self, text: str) -> None:
        self.err.print(Text(text))

    @contextmanager
    def progress(self, label: str, total: int | None = None) -> Iterator[Bar]:
        """A progress bar on stderr (a terminal only, not with --no-progress or json)."""
        bar = Bar(label, total, self.err if self._progress_wanted else None)
        self._bar = bar if bar.console is not None else None
        try:
            with bar:
                yield bar
        finally:
            self._bar = None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Bar:
    """One rich progress bar: `label ━━━━ 12/300 replayed 10 · failed 2 0:00:04`; a no-op when
    `console` is None."""

    def __init__(self, label: str, total: int | None, console: Console | None) -> None:
        self.label = label
        self.total = total
        self.console = console
        self.counts: dict[str, int] = {}
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Bar:
        if self.console is not None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                console=self.console,
                redirect_stdout=False,  # the CLI prints its lines through ui.line
                redirect_stderr=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total, counts="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        if self._progress is not None and self._task is not None:
            counts = " · ".join(f"{name} {n}" for name, n in sorted(self.counts.items()))
            self._progress.update(self._task, advance=1, counts=counts)

    def grow(self, total: int) -> None:
        """A total learnt on the way (a listing's pages)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)


def plain_table(rows: Iterable[Sequence[object]], headers: Sequence[str]) -> str:
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
