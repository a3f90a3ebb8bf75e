"""The allowlist and key safety: each rejection reason, its order, and its boundaries."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.validation import (
    MAX_KEY_BYTES,
    Reason,
    Rejection,
    check_key,
    file_extension,
    file_name,
    validate,
)

from tests.unit.conftest import build_config, s3_object

CONFIG = build_config(ALLOWED_PREFIXES="videos/,marketing/", MAX_OBJECT_BYTES="10000")


def reason_of(key: str = "videos/clip.mp4", **kwargs: Any) -> Reason | None:
    rejection = validate(s3_object(key, **kwargs), CONFIG)
    return rejection.reason if rejection else None


def test_a_plain_video_in_an_allowed_prefix_is_accepted():
    assert validate(s3_object("videos/clip.mp4", size=10), CONFIG) is None


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"bucket": "someone-elses-bucket"}, Reason.BUCKET_NOT_ALLOWED),
        ({"region": "eu-west-1"}, Reason.REGION_NOT_ALLOWED),
        ({"key": ""}, Reason.KEY_EMPTY),
        ({"key": "videos/" + "a" * 1030 + ".mp4"}, Reason.KEY_TOO_LONG),
        ({"key": "/videos/clip.mp4"}, Reason.KEY_LEADING_SLASH),
        ({"key": "videos/cl\x07ip.mp4"}, Reason.KEY_CONTROL_CHARACTER),
        ({"key": "videos/../clip.mp4"}, Reason.KEY_DOT_SEGMENT),
        ({"key": "videos/", "size": 0}, Reason.FOLDER_MARKER),
        ({"key": "private/clip.mp4"}, Reason.PREFIX_NOT_ALLOWED),
        ({"key": "videos/notes.txt"}, Reason.EXTENSION_NOT_ALLOWED),
        ({"key": "videos/clip.mp4", "size": 0}, Reason.EMPTY_OBJECT),
        ({"key": "videos/clip.mp4", "size": 10001}, Reason.OBJECT_TOO_LARGE),
    ],
)
def test_each_reason_has_a_minimal_trigger(kwargs, reason):
    assert reason_of(**kwargs) is reason


def test_every_reason_code_is_covered_and_stable():
    assert {r.value for r in Reason} == {
        "bucket_not_allowed",
        "region_not_allowed",
        "key_empty",
        "key_too_long",
        "key_leading_slash",
        "key_control_character",
        "key_dot_segment",
        "folder_marker",
        "prefix_not_allowed",
        "extension_not_allowed",
        "empty_object",
        "object_too_large",
        # Decided after a HeadObject, only with OBJECT_METADATA=true (tests/unit/test_metadata.py).
        "metadata_invalid",
        "object_missing",
        # Decided from the object's first bytes, only with CONTENT_CHECK=true (tests/unit/test_content.py).
        "not_a_video",
        # A video's sidecar (<video>.json) that breaks its schema (tests/unit/test_sidecar.py).
        "sidecar_invalid",
    }


@pytest.mark.parametrize(
    ("reason", "fragment"),
    [
        (("someone-elses-bucket", "us-east-1", "videos/a.mp4", 1), "'someone-elses-bucket'"),
        (("media-uploads-example", "eu-west-1", "videos/a.mp4", 1), "'eu-west-1'"),
        (("media-uploads-example", "us-east-1", "videos/a.txt", 1), "'.txt'"),
        (("media-uploads-example", "us-east-1", "videos/README", 1), "'no extension'"),
        (("media-uploads-example", "us-east-1", "videos/a.mp4", 50000), "50000 bytes"),
        (("media-uploads-example", "us-east-1", "videos/a\x1fb.mp4", 1), "U+001F"),
    ],
)
def test_rejection_messages_name_the_offending_value(reason, fragment):
    bucket, region, key, size = reason
    rejection = validate(s3_object(key, bucket=bucket, region=region, size=size), CONFIG)
    assert isinstance(rejection, Rejection)
    assert fragment in rejection.message


# --- order -----------------------------------------------------------------------------------


def test_folder_marker_is_reported_before_extension():
    assert reason_of("videos/", size=0) is Reason.FOLDER_MARKER
    assert reason_of("videos/sub.mp4/", size=0) is Reason.FOLDER_MARKER


def test_bucket_is_checked_before_everything_else():
    assert (
        reason_of("/../\x00", bucket="other-bucket", region="eu-west-1", size=0) is Reason.BUCKET_NOT_ALLOWED
    )


def test_region_is_checked_before_the_key():
    assert reason_of("/../\x00", region="eu-west-1") is Reason.REGION_NOT_ALLOWED


def test_key_safety_is_checked_before_the_prefix_allowlist():
    assert reason_of("elsewhere/../x.mp4") is Reason.KEY_DOT_SEGMENT


def test_prefix_is_checked_before_extension():
    assert reason_of("private/notes.txt") is Reason.PREFIX_NOT_ALLOWED


def test_extension_is_checked_before_size():
    assert reason_of("videos/notes.txt", size=0) is Reason.EXTENSION_NOT_ALLOWED
    assert reason_of("videos/notes.txt", size=10**9) is Reason.EXTENSION_NOT_ALLOWED


# --- extensions -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["videos/CLIP.MP4", "videos/clip.Mp4", "videos/a.b.MOV", "videos/x.mkv"])
def test_extension_match_is_case_insensitive(key):
    assert reason_of(key) is None


@pytest.mark.parametrize(
    "key",
    [
        "videos/clip",  # no extension
        "videos/.mp4",  # a dotfile: no stem
        "videos/clip.",  # empty extension
        "videos/clip.mp4.txt",  # only the last extension counts
        "videos/clip.mp4 ",  # trailing space is part of the extension
        "videos/v.mp4/clip",  # the folder's dot does not count
    ],
)
def test_names_without_a_real_allowed_extension_are_rejected(key):
    assert reason_of(key) is Reason.EXTENSION_NOT_ALLOWED


def test_configured_extensions_replace_the_defaults():
    config = build_config(ALLOWED_EXTENSIONS=".MOV")
    assert validate(s3_object("videos/a.mov"), config) is None
    rejection = validate(s3_object("videos/a.mp4"), config)
    assert rejection is not None
    assert rejection.reason is Reason.EXTENSION_NOT_ALLOWED


@pytest.mark.parametrize(
    ("key", "name", "extension"),
    [
        ("videos/clip.mp4", "clip.mp4", ".mp4"),
        ("clip.MP4", "clip.MP4", ".mp4"),
        ("a/b/c/archive.tar.GZ", "archive.tar.GZ", ".gz"),
        ("videos/.hidden", ".hidden", ""),
        ("videos/noext", "noext", ""),
        ("videos/", "", ""),
    ],
)
def test_file_name_and_extension(key, name, extension):
    assert file_name(key) == name
    assert file_extension(key) == extension


# --- size -----------------------------------------------------------------------------------


def test_unknown_size_skips_the_size_checks():
    assert reason_of("videos/clip.mp4", size=None) is None


def test_max_size_boundary_is_inclusive():
    assert reason_of(size=10000) is None
    assert reason_of(size=10001) is Reason.OBJECT_TOO_LARGE


def test_no_max_size_means_any_size():
    config = build_config()
    assert validate(s3_object("videos/clip.mp4", size=8 * 1024**4), config) is None


def test_zero_bytes_is_empty_even_without_a_max_size():
    rejection = validate(s3_object("videos/clip.mp4", size=0), build_config())
    assert rejection is not None
    assert rejection.reason is Reason.EMPTY_OBJECT


# --- key length -----------------------------------------------------------------------------


def key_of_bytes(total: int, char: str) -> str:
    """'videos/' + chars + padding + '.mp4', exactly `total` bytes of UTF-8."""
    head, tail = "videos/", ".mp4"
    width = len(char.encode("utf-8"))
    room = total - len(head) - len(tail)
    count, pad = divmod(room, width)
    key = head + char * count + "a" * pad + tail
    assert len(key.encode("utf-8")) == total
    return key


@pytest.mark.parametrize("char", ["a", "é", "✓", "🎬"])
def test_key_of_exactly_1024_bytes_is_allowed_and_1025_rejected(char):
    assert MAX_KEY_BYTES == 1024
    assert check_key(key_of_bytes(1024, char)) is None
    rejection = check_key(key_of_bytes(1025, char))
    assert rejection is not None
    assert rejection.reason is Reason.KEY_TOO_LONG


def test_key_length_is_counted_in_bytes_not_characters():
    key = "videos/" + "🎬" * 300 + ".mp4"  # 311 characters, 1211 bytes
    assert len(key) < MAX_KEY_BYTES
    rejection = check_key(key)
    assert rejection is not None
    assert rejection.reason is Reason.KEY_TOO_LONG


# --- key safety -----------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x01", "\t", "\n", "\r", "\x1f", "\x7f", "\x85", "\x9f"])
def test_control_characters_are_rejected(char):
    rejection = check_key(f"videos/a{char}b.mp4")
    assert rejection is not None
    assert rejection.reason is Reason.KEY_CONTROL_CHARACTER


@pytest.mark.parametrize(
    "key", ["videos/a b.mp4", "videos/\u00a0nbsp.mp4", "vidéos/✓.mp4", "videos/~$#!.mp4"]
)
def test_printable_unicode_and_spaces_are_fine(key):
    assert check_key(key) is None


@pytest.mark.parametrize(
    "key",
    [
        "./clip.mp4",
        "../clip.mp4",
        "videos/./clip.mp4",
        "videos/../clip.mp4",
        "videos/sub/..",
        "videos/.",
        "videos//../clip.mp4",
        "a/b/c/../../d.mp4",
    ],
)
def test_dot_segments_anywhere_are_rejected(key):
    rejection = check_key(key)
    assert rejection is not None
    assert rejection.reason is Reason.KEY_DOT_SEGMENT


@pytest.mark.parametrize("key", ["videos/...mp4", "videos/..clip.mp4", "videos/clip..mp4", ".../a.mp4"])
def test_dots_inside_a_segment_are_not_dot_segments(key):
    assert check_key(key) is None


def test_leading_slash_is_rejected_but_double_slash_inside_is_not():
    rejection = check_key("/videos/clip.mp4")
    assert rejection is not None
    assert rejection.reason is Reason.KEY_LEADING_SLASH
    assert check_key("videos//clip.mp4") is None


# --- prefixes -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["videos/a.mp4", "videos/deep/er/a.mp4", "marketing/a.mp4"])
def test_any_listed_prefix_is_accepted(key):
    assert reason_of(key) is None


@pytest.mark.parametrize("key", ["Videos/a.mp4", "video/a.mp4", "a.mp4", "x/videos/a.mp4"])
def test_keys_outside_every_prefix_are_rejected(key):
    assert reason_of(key) is Reason.PREFIX_NOT_ALLOWED


def test_no_prefixes_means_any_key():
    assert validate(s3_object("anywhere/at/all.mp4"), build_config()) is None


def test_several_buckets_and_regions_are_each_allowed():
    config = build_config(ALLOWED_BUCKETS="bucket-one,bucket-two", ALLOWED_REGIONS="us-east-1,eu-west-1")
    assert validate(s3_object("a.mp4", bucket="bucket-two", region="eu-west-1"), config) is None
    assert validate(s3_object("a.mp4", bucket="bucket-one", region="us-east-1"), config) is None


# --- properties -----------------------------------------------------------------------------

CONTROL = st.characters(categories=["Cc"])
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)


@settings(deadline=None)
@given(before=ANY_TEXT, control=CONTROL, after=ANY_TEXT)
def test_any_key_with_a_control_character_is_always_rejected(before, control, after):
    key = f"videos/{before}{control}{after}.mp4"
    assert check_key(key) is not None
    assert validate(s3_object(key), CONFIG) is not None


@settings(deadline=None)
@given(stem=st.text(st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="/."), min_size=1))
def test_any_safe_stem_with_an_allowed_extension_is_accepted(stem):
    key = f"videos/{stem}.mp4"
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        assert validate(s3_object(key), CONFIG) is None
