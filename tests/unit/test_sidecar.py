"""The sidecar's parser and its published schema (docs/sidecar.schema.json) say the same thing."""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.sidecar import (
    MAX_SIDECAR_BYTES,
    ProjectRef,
    Sidecar,
    SidecarError,
    parse_sidecar,
    sidecar_keys,
    sidecar_target,
    video_stem,
)

from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "docs" / "sidecar.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
VIDEOS = frozenset({".mp4", ".mov"})

GOOD: list[Any] = [
    {},
    {"name": "Launch keynote"},
    {"name": "Café — 東京", "description": "Line one\nline two\twith a tab"},
    {"project": "abc123XYZ"},
    {"project": {"name": "Marketing / 2026"}},
    {"tags": ["launch", "keynote", "launch"]},
    {"tags": []},
    {"custom_fields": {"campaign": "spring", "owner": "jo"}},
    {"name": "x" * 255, "tags": ["t" * 100] * 50},
    {
        "name": "All of it",
        "description": "<b>basic</b> HTML",
        "project": {"name": "Sales"},
        "tags": ["a", "b"],
        "custom_fields": {"k": "v"},
    },
]
# (document, the field the parser names)
BAD: list[tuple[Any, str]] = [
    ([], "document"),
    ("a string", "document"),
    (42, "document"),
    (None, "document"),
    ({"title": "x"}, "title"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": 7}, "name"),
    ({"name": None}, "name"),
    ({"name": ["a"]}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"name": "bad\x00name"}, "name"),
    ({"name": "tab\there"}, "name"),
    ({"name": "line\n"}, "name"),
    ({"name": "c1\x85control"}, "name"),
    ({"description": "bell\x07"}, "description"),
    ({"description": "d" * 10_001}, "description"),
    ({"project": "has space"}, "project"),
    ({"project": "x" * 65}, "project"),
    ({"project": 12345}, "project"),
    ({"project": {"id": "abc"}}, "project"),
    ({"project": {"name": "a", "id": "b"}}, "project"),
    ({"project": {"name": ""}}, "project.name"),
    ({"project": {"name": 3}}, "project.name"),
    ({"project": ["abc"]}, "project"),
    ({"tags": "launch"}, "tags"),
    ({"tags": [1, 2]}, "tags[0]"),
    ({"tags": ["ok", "42", 42]}, "tags[2]"),
    ({"tags": ["ok", ""]}, "tags[1]"),
    ({"tags": ["t" * 101]}, "tags[0]"),
    ({"tags": ["a"] * 51}, "tags"),
    ({"tags": [["nested"]]}, "tags[0]"),
    ({"custom_fields": ["a"]}, "custom_fields"),
    ({"custom_fields": {"n": 1}}, "custom_fields.n"),
    ({"custom_fields": {"n": None}}, "custom_fields.n"),
    ({"custom_fields": {"": "v"}}, "custom_fields key ''"),
    ({"custom_fields": {"k" * 65: "v"}}, "custom_fields key"),
    ({"custom_fields": {f"k{i}": "v" for i in range(21)}}, "custom_fields"),
    ({"custom_fields": {"k": "v" * 1001}}, "custom_fields.k"),
    ({"custom_fields": {"k": {"deep": "x"}}}, "custom_fields.k"),
]


def _parse(document: Any) -> Sidecar | SidecarError:
    return parse_sidecar(json.dumps(document).encode("utf-8"))


@pytest.mark.parametrize("document", GOOD)
def test_good_documents_pass_the_parser_and_the_schema(document: Any) -> None:
    assert isinstance(_parse(document), Sidecar)
    assert list(VALIDATOR.iter_errors(document)) == []


@pytest.mark.parametrize(("document", "field"), BAD)
def test_bad_documents_fail_both_and_the_parser_names_the_field(document: Any, field: str) -> None:
    parsed = _parse(document)
    assert isinstance(parsed, SidecarError), parsed
    assert parsed.field.startswith(field)
    assert parsed.text().startswith(f"{parsed.field}: ")
    assert list(VALIDATOR.iter_errors(document)), f"the schema accepts what the parser refuses: {document!r}"


def test_the_parsed_values() -> None:
    parsed = _parse(GOOD[-1])
    assert parsed == Sidecar(
        "All of it", "<b>basic</b> HTML", ProjectRef(name="Sales"), ("a", "b"), (("k", "v"),)
    )
    assert _parse({"project": "abc123"}) == Sidecar(project=ProjectRef(hashed_id="abc123"))
    assert _parse({"tags": ["b", "a", "b"]}) == Sidecar(tags=("b", "a"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b'{"name": "a",}', "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"name": "caf\xe9"}', "not UTF-8"),
        (b'{"name": "a", "name": "b"}', "appears twice"),
        (b'{"tags": [NaN]}', "NaN is not JSON"),
        (b'{"name": Infinity}', "Infinity is not JSON"),
        (b'{"name": "\\ud800"}', "control character U+D800"),
        (b'{"name": "nul\\u0000"}', "control character U+0000"),
        (b"[" * 100_000 + b"]" * 100_000, "over the limit"),
        (b"[" * 30_000 + b"]" * 30_000, "document"),
        (b'{"name": "' + b"x" * MAX_SIDECAR_BYTES + b'"}', "over the limit"),
    ],
)
def test_hostile_bytes_are_refused_with_a_reason(data: bytes, message: str) -> None:
    parsed = parse_sidecar(data)
    assert isinstance(parsed, SidecarError)
    assert message in parsed.text()


def test_a_utf8_bom_is_accepted() -> None:
    assert parse_sidecar(b'\xef\xbb\xbf{"name": "x"}') == Sidecar(name="x")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
SIDECAR_LIKE = st.dictionaries(
    st.sampled_from(["name", "description", "project", "tags", "custom_fields", "other"]),
    JSON_VALUES,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data: bytes) -> None:
    assert isinstance(parse_sidecar(data), Sidecar | SidecarError)


@settings(max_examples=500, deadline=None)
@given(SIDECAR_LIKE)
def test_the_parser_and_the_schema_agree_on_any_document(document: dict[str, Any]) -> None:
    parsed = _parse(document)
    schema_ok = not list(VALIDATOR.iter_errors(document))
    assert isinstance(parsed, Sidecar) == schema_ok, (document, parsed)


def test_keys() -> None:
    assert sidecar_keys("a/b.mp4") == ("a/b.mp4.json", "a/b.json")
    assert sidecar_keys("clip") == ("clip.json", "clip.json")
    assert video_stem("a/b.final.mov") == "a/b.final"
    assert sidecar_target("a/b.mp4.json", VIDEOS) == ("a/b", "a/b.mp4")
    assert sidecar_target("a/b.json", VIDEOS) == ("a/b", None)
    assert sidecar_target("a/b.final.json", VIDEOS) == ("a/b.final", None)


@pytest.mark.parametrize("field", ["name", "description", "project", "tags", "custom_fields"])
def test_null_is_a_wrong_value_not_an_absent_one(field: str) -> None:
    parsed = _parse({field: None})
    assert isinstance(parsed, SidecarError)
    assert parsed.field == field
    assert list(VALIDATOR.iter_errors({field: None}))
