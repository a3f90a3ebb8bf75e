"""The progress line and the summary table."""

from __future__ import annotations

import io

import pytest
from s3_wistia_bridge.operator.progress import Progress, format_age, table


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress("replay", total=3, stream=stream, min_interval=0)
        progress.advance("replayed")
        progress.advance("failed")
        progress.close()

    assert tty.getvalue().endswith("\rreplay: 2/3 · failed 1 · replayed 1\n")
    assert pipe.getvalue() == ""


def test_table_aligns_columns() -> None:
    assert table([("replayed", 12), ("failed again", 3)], ("messages", "count")) == (
        "messages      count\n------------  -----\nreplayed         12\nfailed again      3"
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "?"), (5, "5s"), (125, "2m05s"), (7500, "2h05m"), (90000, "1d01h")]
)
def test_format_age(seconds: float | None, text: str) -> None:
    assert format_age(seconds) == text


def test_a_line_printed_during_progress_starts_below_the_progress_line() -> None:
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress("replay", stream=stream, min_interval=0)
        progress.advance("replayed")
        progress.break_line()

    assert tty.getvalue() == "\rreplay: 1 · replayed 1\n"
    assert pipe.getvalue() == ""
