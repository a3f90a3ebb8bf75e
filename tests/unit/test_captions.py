"""Caption keys, language codes, WebVTT -> SRT and SRT checks: bad input is a CaptionError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.captions import (
    MAX_CAPTION_BYTES,
    CaptionError,
    CaptionFile,
    caption_file,
    language_code,
    parse_srt,
    srt_text,
)

VIDEOS = frozenset({".mp4", ".mov"})


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a/b.eng.srt", CaptionFile("eng", ".srt", "a/b", None)),
        ("a/b.en.vtt", CaptionFile("eng", ".vtt", "a/b", None)),
        ("a/b.FR.srt", CaptionFile("fra", ".srt", "a/b", None)),
        ("a/b.mp4.deu.srt", CaptionFile("deu", ".srt", "a/b", "a/b.mp4")),
        ("a/b.final.spa.SRT", CaptionFile("spa", ".srt", "a/b.final", None)),
    ],
)
def test_caption_keys(key: str, expected: CaptionFile) -> None:
    assert caption_file(key, VIDEOS) == expected


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ("a/b.srt", "no language code"),
        ("a/b.xx.srt", "'xx'"),
        ("a/b.english.vtt", "'english'"),
        ("a/b.e1.srt", "'e1'"),
    ],
)
def test_caption_keys_without_a_known_language_say_which_code(key: str, named: str) -> None:
    answer = caption_file(key, VIDEOS)
    assert isinstance(answer, CaptionError)
    assert named in answer.message


def test_language_codes() -> None:
    assert language_code("ENG") == "eng"
    assert language_code("ja") == "jpn"
    assert isinstance(language_code("é"), CaptionError)


VTT = (
    "\ufeffWEBVTT - a title\r\n"
    "Kind: captions\r\n"
    "\r\n"
    "NOTE a comment\r\nover two lines\r\n"
    "\r\n"
    "STYLE\r\n::cue { color: red }\r\n"
    "\r\n"
    "REGION\r\nid:fred width:40%\r\n"
    "\r\n"
    "intro\r\n"
    "00:01.000 --> 00:04.250 align:start position:10%\r\n"
    "<v Roger>Hello <b>there</b> &amp; <c.loud>welcome</c>\r\n"
    "\r\n"
    "01:02:03.004 --> 01:02:05.000\r\n"
    "Second <00:01:02.500>cue\r\n"
    "line two\r\n"
    "\r\n"
    "00:06.000 --> 00:07.000\r\n"
    "<c></c>\r\n"
)


def test_vtt_becomes_srt() -> None:
    assert srt_text(VTT.encode("utf-8"), ".vtt") == (
        "1\n00:00:01,000 --> 00:00:04,250\nHello <b>there</b> & welcome\n\n"
        "2\n01:02:03,004 --> 01:02:05,000\nSecond cue\nline two\n\n"
    )


def test_srt_is_checked_and_normalised() -> None:
    srt = (
        "\ufeff7\r\n00:00:01,000 --> 00:00:02,500\r\nHi\r\n\r\n\r\n"
        "8\r\n00:00:03.000 --> 00:00:04,000\r\nThere\r\n"
    )
    assert srt_text(srt.encode("utf-8"), ".srt") == (
        "1\n00:00:01,000 --> 00:00:02,500\nHi\n\n2\n00:00:03,000 --> 00:00:04,000\nThere\n\n"
    )


@pytest.mark.parametrize(
    ("data", "extension", "message"),
    [
        (b"", ".srt", "no cue"),
        (b"\n\n\n", ".srt", "no cue"),
        (b"", ".vtt", "not WebVTT"),
        (b"WEBVTT\n\n", ".vtt", "no cue"),
        (b"WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n", ".vtt", "not WebVTT"),
        (b"WEBVTT\n\nNOTE only a note\n", ".vtt", "no cue"),
        (b"1\n00:00:01,000 --> 00:00:02,000\n", ".srt", "no cue"),
        (b"1\n", ".srt", "without a timing line"),
        (b"1\n00:00:01 --> 00:00:02\nx\n", ".srt", "malformed timestamp"),
        (b"1\n00:61:01,000 --> 00:62:02,000\nx\n", ".srt", "malformed timestamp"),
        (b"1\n00:00:05,000 --> 00:00:02,000\nx\n", ".srt", "ends before it starts"),
        (b"just some text\n", ".srt", "not a timing line"),
        (b"WEBVTT\n\nid\nno timing\n", ".vtt", "no timing line"),
        (b"WEBVTT\n\n1:2.3 --> 00:02.000\nx\n", ".vtt", "malformed timestamp"),
        (b"\xff\xfe1\x00\n\x00", ".srt", "not UTF-8"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nnul\x00\n", ".srt", "NUL"),
        (b"x" * (MAX_CAPTION_BYTES + 1), ".srt", "over the limit"),
    ],
)
def test_bad_caption_files_say_why(data: bytes, extension: str, message: str) -> None:
    answer = srt_text(data, extension)
    assert isinstance(answer, CaptionError), answer
    assert message in answer.message


def test_a_big_valid_file_within_the_limit() -> None:
    cue = "1\n00:00:01,000 --> 00:00:02,000\n" + "word " * 40 + "\n\n"
    data = (cue * (MAX_CAPTION_BYTES // len(cue))).encode()
    answer = srt_text(data, ".srt")
    assert isinstance(answer, str)
    assert answer.count(" --> ") == MAX_CAPTION_BYTES // len(cue)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([".srt", ".vtt"]))
def test_random_bytes_never_crash(data: bytes, extension: str) -> None:
    assert isinstance(srt_text(data, extension), str | CaptionError)


TIME = st.integers(0, 99 * 3600 * 1000)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            TIME,
            TIME,
            st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_vtt_cue_list_round_trips_through_srt(cues: list[tuple[int, int, str]]) -> None:
    def vtt_time(ms: int) -> str:
        seconds, millis = divmod(ms, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"

    ordered = [
        (min(a, b), max(a, b), text.replace("<", "").replace(">", "").replace("&", "")) for a, b, text in cues
    ]
    kept = [cue for cue in ordered if cue[2].strip()]
    body = "".join(f"{vtt_time(a)} --> {vtt_time(b)}\n{text}\n\n" for a, b, text in ordered)
    answer = srt_text(f"WEBVTT\n\n{body}".encode(), ".vtt")
    if not kept:
        assert isinstance(answer, CaptionError)
        return
    assert isinstance(answer, str)
    cues_back = parse_srt(answer)
    assert not isinstance(cues_back, CaptionError)
    assert [(cue.start_ms, cue.end_ms) for cue in cues_back] == [(a, b) for a, b, _ in kept]
