"""The progress bar, the result lines and the summary table (ui.py)."""

from __future__ import annotations

import io

import pytest
from s3_wistia_bridge_cli.ui import OutputFormat, Ui, format_age, plain_table


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        ui = Ui(io.StringIO(), stream, OutputFormat.TABLE, progress=True)
        with ui.progress("replay", total=3) as bar:
            bar.advance("replayed")
            bar.advance("failed")

    assert "replay" in tty.getvalue()
    assert "2/3" in tty.getvalue()
    assert "failed 1 · replayed 1" in tty.getvalue()
    assert pipe.getvalue() == ""


@pytest.mark.parametrize(("progress", "output"), [(False, OutputFormat.TABLE), (True, OutputFormat.JSON)])
def test_no_progress_and_json_draw_no_bar(progress: bool, output: OutputFormat) -> None:
    tty = Tty()
    ui = Ui(io.StringIO(), tty, output, progress=progress)
    with ui.progress("replay", total=3) as bar:
        bar.advance("replayed")

    assert tty.getvalue() == ""


def test_table_aligns_columns() -> None:
    assert plain_table([("replayed", 12), ("failed again", 3)], ("messages", "count")) == (
        "messages      count\n------------  -----\nreplayed         12\nfailed again      3"
    )


def test_a_pipe_gets_plain_lines_and_the_plain_table_without_colour() -> None:
    out = io.StringIO()
    ui = Ui(out, io.StringIO(), OutputFormat.TABLE, progress=True)

    ui.line("failed       s3://b/[x] :tv: " + "k" * 200, status="failed")
    ui.table([("replayed", 12)], ("messages", "count"))

    assert out.getvalue() == (
        "failed       s3://b/[x] :tv: " + "k" * 200 + "\nmessages  count\n--------  -----\nreplayed     12\n"
    )


def test_a_terminal_gets_colour() -> None:
    out = Tty()
    Ui(out, io.StringIO(), OutputFormat.TABLE, progress=True).line("failed  s3://b/k", status="failed")

    assert "\x1b[" in out.getvalue()
    assert "s3://b/k" in out.getvalue()


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "?"), (5, "5s"), (125, "2m05s"), (7500, "2h05m"), (90000, "1d01h")]
)
def test_format_age(seconds: float | None, text: str) -> None:
    assert format_age(seconds) == text


def test_a_line_printed_during_progress_on_one_terminal_is_printed_whole() -> None:
    tty = Tty()
    ui = Ui(tty, tty, OutputFormat.TABLE, progress=True)
    with ui.progress("replay") as bar:
        bar.advance("replayed")
        ui.line("replayed     s3://b/k")

    assert "replayed     s3://b/k\n" in tty.getvalue()
