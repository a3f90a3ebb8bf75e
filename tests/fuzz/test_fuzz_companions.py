"""Hostile sidecars and caption files through the real handler (moto + the emulator): each gets a
clear outcome (rejected with its reason, a failure record, or applied), nothing invalid reaches
Wistia, and nothing is lost (a valid pair always ends as one media)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.captions import CaptionError, srt_text
from s3_wistia_bridge.sidecar import Sidecar, parse_sidecar

from tests.integration.conftest import Stack
from tests.integration.test_companions import VIDEO, Companions
from tests.lifecycle.conftest import LEDGER_TABLE, create_ledger_table

pytestmark = pytest.mark.integration
_names = itertools.count()
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
)
FIELD = st.sampled_from(["name", "description", "project", "tags", "custom_fields", "Name", "extra"])
NEAR_VALID = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=300),
        "description": st.text(max_size=50),
        "project": st.one_of(st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True), st.text(max_size=5)),
        "tags": st.lists(st.text(max_size=8), max_size=4),
        "custom_fields": st.dictionaries(st.text(max_size=5), st.text(max_size=5) | JSON_LEAF, max_size=3),
    },
)
SIDECAR_BYTES = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(FIELD, JSON_VALUE, max_size=4).map(lambda d: json.dumps(d).encode()),
    NEAR_VALID.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8")),
    NEAR_VALID.map(lambda d: json.dumps(d).encode()[:-1]),  # truncated
)
CUE_TIME = st.from_regex(r"\d{2}:\d{2}:\d{2}[,.]\d{3}", fullmatch=True)
SRT_LIKE = st.builds(
    lambda a, b, text: f"1\n{a} --> {b}\n{text}\n".encode(),
    CUE_TIME,
    CUE_TIME,
    st.text(max_size=20),
)
VTT_LIKE = st.builds(
    lambda a, b, text: f"WEBVTT\n\n{a[3:].replace(',', '.')} --> {b}\n{text}\n".encode(),
    CUE_TIME,
    CUE_TIME,
    st.text(max_size=20),
)
CAPTION_BYTES = st.one_of(st.binary(max_size=200), SRT_LIKE, VTT_LIKE)
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def bridge(stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]) -> Companions:
    create_ledger_table(stack.dynamodb)
    env = {"LEDGER_TABLE": LEDGER_TABLE, "SIDECARS": "on", "SIDECAR_WAIT_SECONDS": "0", "CAPTIONS": "on"}
    return Companions(stack, load_app(stack.env | env))


def _wistia_writes(bridge: Companions) -> int:
    return sum(1 for r in bridge.stack.emulator.requests() if r["method"] in {"POST", "PUT"})


@EXAMPLES
@given(data=SIDECAR_BYTES)
def test_any_sidecar_is_rejected_with_its_reason_or_pairs_into_one_media(
    bridge: Companions, data: bytes
) -> None:
    stem = f"fuzz/s{next(_names)}"
    parsed = parse_sidecar(data)
    writes = _wistia_writes(bridge)
    first: dict[str, Any] = bridge.deliver(bridge.put(f"{stem}.mp4.json", data))
    video: dict[str, Any] = bridge.deliver(bridge.put(f"{stem}.mp4", VIDEO))
    if not isinstance(parsed, Sidecar):
        if data:
            assert (first["outcome"], first["reason"]) == ("rejected", "sidecar_invalid")
            assert parsed.field in first["message"]
        else:  # a zero-byte object, as any other
            assert (first["outcome"], first["reason"]) == ("rejected", "empty_object")
        assert (video["outcome"], video["reason"]) == ("rejected", "sidecar_invalid")
        assert _wistia_writes(bridge) == writes  # nothing sent
        return
    assert first["reason"] == "sidecar_stored"
    if parsed.project is not None and parsed.project.name:
        assert video["reason"] == "folder_missing"  # the emulator has no folders
        return
    assert video["outcome"] == "copied"
    [media] = [m for m in bridge.medias() if m["hashed_id"] == video["hashed_id"]]
    assert media["name"] == (parsed.name or f"{stem.rsplit('/', 1)[-1]}.mp4")


@EXAMPLES
@given(data=CAPTION_BYTES, extension=st.sampled_from([".srt", ".vtt"]))
def test_any_caption_file_is_a_failure_record_or_lands_on_its_media(
    bridge: Companions, data: bytes, extension: str
) -> None:
    stem = f"fuzz/c{next(_names)}"
    copied = bridge.deliver(bridge.put(f"{stem}.mp4", VIDEO))
    assert copied["outcome"] == "copied"
    writes = _wistia_writes(bridge)
    report = bridge.deliver(bridge.put(f"{stem}.eng{extension}", data))
    expected = srt_text(data, extension)
    if not data:  # a zero-byte object, as any other
        assert (report["outcome"], report["reason"]) == ("rejected", "empty_object")
        return
    if isinstance(expected, CaptionError):
        assert (report["outcome"], report["reason"]) == ("permanent_failure", "caption_invalid")
        assert _wistia_writes(bridge) == writes
        records = [
            r for r in bridge.stack.failure_records() if r["object"]["key"] == f"{stem}.eng{extension}"
        ]
        assert [record["reason"] for record in records] == ["caption_invalid"]
        return
    assert report["outcome"] == "updated"
    assert (
        bridge.stack.emulator.media(copied["hashed_id"])["captions"]["eng"]["text"].strip()
        == expected.strip()
    )
