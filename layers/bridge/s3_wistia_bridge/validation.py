"""The allowlist: which announced objects may be sent to Wistia. Pure."""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import NamedTuple

from .config import BridgeConfig
from .models import S3Object

MAX_KEY_BYTES = 1024


class Reason(StrEnum):
    """Stable rejection codes: they appear in logs, metrics and the README."""

    BUCKET_NOT_ALLOWED = "bucket_not_allowed"
    REGION_NOT_ALLOWED = "region_not_allowed"
    KEY_EMPTY = "key_empty"
    KEY_TOO_LONG = "key_too_long"
    KEY_LEADING_SLASH = "key_leading_slash"
    KEY_CONTROL_CHARACTER = "key_control_character"
    KEY_DOT_SEGMENT = "key_dot_segment"
    FOLDER_MARKER = "folder_marker"
    PREFIX_NOT_ALLOWED = "prefix_not_allowed"
    EXTENSION_NOT_ALLOWED = "extension_not_allowed"
    EMPTY_OBJECT = "empty_object"
    OBJECT_TOO_LARGE = "object_too_large"
    # Only with OBJECT_METADATA=true (they need the object's HeadObject):
    METADATA_INVALID = "metadata_invalid"
    OBJECT_MISSING = "object_missing"


class Rejection(NamedTuple):
    reason: Reason
    message: str


def validate(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    """None when the object may be copied, else the first rule it breaks."""
    if obj.bucket not in config.allowed_buckets:
        return Rejection(Reason.BUCKET_NOT_ALLOWED, f"bucket {obj.bucket!r} is not in ALLOWED_BUCKETS")
    if obj.region not in config.allowed_regions:
        return Rejection(Reason.REGION_NOT_ALLOWED, f"region {obj.region!r} is not in ALLOWED_REGIONS")
    key_problem = check_key(obj.key)
    if key_problem:
        return key_problem
    if obj.key.endswith("/"):
        return Rejection(Reason.FOLDER_MARKER, "key ends with '/': a folder marker, not a video")
    if config.allowed_prefixes and not obj.key.startswith(config.allowed_prefixes):
        return Rejection(Reason.PREFIX_NOT_ALLOWED, "key is outside ALLOWED_PREFIXES")
    extension = file_extension(obj.key)
    if extension not in config.allowed_extensions:
        shown = extension or "no extension"
        return Rejection(Reason.EXTENSION_NOT_ALLOWED, f"{shown!r} is not in ALLOWED_EXTENSIONS")
    if obj.size == 0:
        return Rejection(Reason.EMPTY_OBJECT, "object is zero bytes")
    if config.max_object_bytes is not None and obj.size is not None and obj.size > config.max_object_bytes:
        return Rejection(
            Reason.OBJECT_TOO_LARGE,
            f"object is {obj.size} bytes, over MAX_OBJECT_BYTES={config.max_object_bytes}",
        )
    return None


def check_key(key: str) -> Rejection | None:
    """Key safety: what no sane video key contains, whatever the allowlist says."""
    if not key:
        return Rejection(Reason.KEY_EMPTY, "key is empty")
    if len(key.encode("utf-8", errors="surrogatepass")) > MAX_KEY_BYTES:
        return Rejection(Reason.KEY_TOO_LONG, f"key is over {MAX_KEY_BYTES} bytes of UTF-8")
    if key.startswith("/"):
        return Rejection(Reason.KEY_LEADING_SLASH, "key starts with '/'")
    for char in key:
        if unicodedata.category(char) in {"Cc", "Cs"}:
            return Rejection(
                Reason.KEY_CONTROL_CHARACTER, f"key contains control character U+{ord(char):04X}"
            )
    if any(segment in {".", ".."} for segment in key.split("/")):
        return Rejection(Reason.KEY_DOT_SEGMENT, "key has a '.' or '..' path segment")
    return None


def file_name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def file_extension(key: str) -> str:
    """Lower-case extension with its dot ('.mp4'), or '' when the file name has none.

    ASCII only: str.lower() folds look-alikes such as the Kelvin sign into 'k', which would let
    'clip.m\u212av' pass an allowlist holding mkv.
    """
    name = file_name(key)
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem and ext and ext.isascii() else ""
