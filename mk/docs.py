"""Regenerate the documentation sections that are derived from code (`make docs`).

A generated section sits between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in a
Markdown file; `tests/unit/test_reasons.py` fails when a section is out of date, so the docs cannot
drift from the declarations they describe. Hand-written because it is a dozen lines of `re`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from s3_wistia_bridge.config import batch_configuration_table, configuration_table
from s3_wistia_bridge.reasons import runbook_table
from s3_wistia_bridge.tracking_config import tracking_table

ROOT = Path(__file__).resolve().parents[1]

# (file, section name) -> the section's text
SECTIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("docs/runbook.md", "reasons"): runbook_table,
    ("docs/configuration.md", "configuration"): configuration_table,
    ("docs/configuration.md", "batch-configuration"): batch_configuration_table,
    ("docs/lifecycle.md", "tracking"): tracking_table,
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated:{re.escape(name)} -->\n).*?(<!-- /generated:{re.escape(name)} -->)", re.DOTALL
    )


def render(text: str, name: str, body: str) -> str:
    """`text` with section `name` replaced by `body`; ValueError when the markers are missing."""
    pattern = _pattern(name)
    if not pattern.search(text):
        raise ValueError(f"no <!-- generated:{name} --> ... <!-- /generated:{name} --> markers")
    section = body.rstrip("\n") + "\n"
    return pattern.sub(lambda match: match.group(1) + section + match.group(2), text, count=1)


def stale() -> list[str]:
    """The sections whose text differs from what the code generates."""
    out = []
    for (path, name), build in SECTIONS.items():
        text = (ROOT / path).read_text(encoding="utf-8")
        if render(text, name, build()) != text:
            out.append(f"{path}#{name}")
    return out


def main() -> int:
    for (path, name), build in SECTIONS.items():
        file = ROOT / path
        file.write_text(render(file.read_text(encoding="utf-8"), name, build()), encoding="utf-8")
    print(f"regenerated {len(SECTIONS)} section(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
