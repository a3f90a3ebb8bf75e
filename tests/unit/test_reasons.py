"""The failure vocabulary: every reason has a class and advice, and the docs say the same."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from s3_wistia_bridge.reasons import FailureReason, ReasonClass, reason_class, runbook_table

ROOT = Path(__file__).resolve().parents[2]


def _docs_module() -> Any:
    spec = importlib.util.spec_from_file_location("mk_docs", ROOT / "mk" / "docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("reason", list(FailureReason))
def test_every_reason_has_a_class_and_advice(reason: FailureReason):
    assert isinstance(reason.reason_class, ReasonClass)
    assert reason.happened.strip()
    assert reason.advice.strip()
    assert reason.value == reason.name.lower()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wistia_ambiguous", ReasonClass.PERMANENT),
        ("s3_access_denied", ReasonClass.PERMANENT),
        ("s3_unavailable", ReasonClass.TRANSIENT),
        ("function_timeout", ReasonClass.TRANSIENT),
        ("retries_exhausted", ReasonClass.UNKNOWN),
        ("wistia_http_409", ReasonClass.PERMANENT),
    ],
)
def test_parse_gives_the_documented_class(text: str, expected: ReasonClass):
    assert reason_class(FailureReason.parse(text)) is expected


@pytest.mark.parametrize("text", [None, "", "wistia_http_", "wistia_http_4000", "KeyError", "WISTIA_TIMEOUT"])
def test_parse_refuses_what_is_not_a_reason(text: str | None):
    assert FailureReason.parse(text) is None


def test_runbook_table_has_one_row_per_reason():
    listed = [row.split("`")[1] for row in runbook_table().splitlines()[2:]]
    assert sorted(listed) == sorted(reason.value for reason in FailureReason)
    classes = [reason_class(FailureReason.parse(value)) for value in listed]
    order = [ReasonClass.TRANSIENT, ReasonClass.UNKNOWN, ReasonClass.PERMANENT]
    assert classes == sorted(classes, key=order.index), "grouped: transient, unknown, permanent"


def test_generated_docs_are_up_to_date():
    assert _docs_module().stale() == [], "run `make docs` and commit the result"


def test_render_refuses_a_file_without_markers():
    with pytest.raises(ValueError, match="generated:reasons"):
        _docs_module().render("no markers here", "reasons", "body")
