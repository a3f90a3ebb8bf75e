"""The content check (content.py): known container signatures, and what hostile bytes get."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from s3_wistia_bridge.config import DEFAULT_EXTENSIONS
from s3_wistia_bridge.content import EXPECTED, HEAD_BYTES, check_content, describe

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
SAMPLES = {
    ".mp4": MP4,
    ".m4v": b"\x00\x00\x00\x1cftypM4V \x00\x00\x00\x01",
    ".mov": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00",
    ".3gp": b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00",
    ".mkv": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01matroska",
    ".webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm",
    ".avi": b"RIFF\x24\x00\x01\x00AVI LIST",
    ".ts": b"\x47\x40\x00\x10\x00",
    ".m2ts": b"\x00\x00\x00\x00\x47\x40\x00\x10",
    ".mpg": b"\x00\x00\x01\xba\x44\x00\x04\x00",
    ".mpeg": b"\x00\x00\x01\xb3\x16\x00\xf0\x15",
    ".flv": b"FLV\x01\x05\x00\x00\x00\x09",
    ".wmv": bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C") + b"\x00" * 8,
    ".asf": bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C"),
}


@pytest.mark.parametrize(("extension", "head"), SAMPLES.items())
def test_each_container_is_recognized_for_its_extension(extension: str, head: bytes):
    verdict = check_content(extension, head)
    assert verdict.ok
    assert verdict.found == verdict.expected


@pytest.mark.parametrize("atom", [b"moov", b"mdat", b"wide", b"free"])
def test_old_quicktime_files_start_with_another_atom(atom: bytes):
    assert check_content(".mov", b"\x00\x00\x00\x08" + atom + b"\x00" * 8).ok


def test_the_extension_is_case_insensitive():
    assert check_content(".MP4", MP4).ok


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (b"hello, this is my meeting notes file\n", "text ('hello, this is m'...)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a PNG image"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"PK\x03\x04\x14\x00", "a ZIP archive (or an Office document)"),
        (b"", "nothing (the object is empty)"),
        (b"\x00\x00\x00", "unknown bytes (00 00 00)"),
    ],
)
def test_a_renamed_file_is_not_a_video_and_the_message_says_what_it_is(head: bytes, found: str):
    verdict = check_content(".mp4", head)
    assert not verdict.ok
    assert verdict.found == found
    assert (
        verdict.message(".mp4")
        == f".mp4 promises an MP4/QuickTime file but the object's first bytes are {found}"
    )


def test_another_video_container_than_the_extension_says_passes():
    verdict = check_content(".mp4", SAMPLES[".mkv"])
    assert verdict.ok
    assert verdict.found == "a Matroska/WebM file"


def test_a_lone_sync_byte_does_not_pass_for_another_container():
    assert not check_content(".mp4", b"\x47garbage").ok


@pytest.mark.parametrize("extension", [".vob", ".mod", ".divx", ".xvid", ".f4v"])
def test_every_default_extension_with_a_container_is_checked(extension: str):
    assert extension in EXPECTED


def test_default_extensions_without_a_known_signature_pass_unchecked():
    unchecked = {f".{ext}" for ext in DEFAULT_EXTENSIONS.split(",")} - set(EXPECTED)
    assert unchecked == set(), "every default extension has a signature"
    verdict = check_content(".rm", b"anything at all")
    assert verdict.ok
    assert verdict.expected is None


@given(st.sampled_from(sorted(EXPECTED)), st.binary(max_size=HEAD_BYTES))
def test_any_bytes_get_a_verdict_and_a_short_printable_description(extension: str, head: bytes):
    verdict = check_content(extension, head)
    assert verdict.ok in (True, False)
    assert len(verdict.found) < 120
    assert verdict.found.isprintable()


@pytest.mark.parametrize(("extension", "head"), SAMPLES.items())
def test_a_truncated_signature_never_passes(extension: str, head: bytes):
    # Every prefix shorter than the signature itself fails: a 3-byte object is not a video.
    needed = next(n for n in range(len(head) + 1) if check_content(extension, head[:n]).ok)
    assert needed > 0
    assert not any(check_content(extension, head[:cut]).ok for cut in range(needed))


@given(st.sampled_from(sorted(SAMPLES)), st.binary(max_size=HEAD_BYTES - 16))
def test_a_valid_signature_passes_whatever_follows(extension: str, tail: bytes):
    assert check_content(extension, SAMPLES[extension][:16] + tail).ok


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=8, max_size=HEAD_BYTES))
def test_printable_text_is_never_a_video(text: str):
    head = text.encode()
    if (
        head[:1] == b"G"
        or head.startswith((b"FLV", b"RIFF"))
        or head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
    ):
        return  # text that happens to spell a signature
    verdict = check_content(".mp4", head)
    assert not verdict.ok
    assert describe(head).startswith("text")
