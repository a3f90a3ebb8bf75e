"""The allowlist: which announced objects may be sent to Wistia. Pure."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple

from .config import BridgeConfig
from .models import S3Object

MAX_KEY_BYTES = 1024
_CONTROL_CATEGORIES = frozenset({"Cc", "Cs"})


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
    # Only with CONTENT_CHECK=true (one ranged GET of the object's first bytes, content.py):
    NOT_A_VIDEO = "not_a_video"
    # A sidecar (`<video>.json`) that breaks its schema (docs/sidecar.schema.json); the message
    # names the field. The video waits for a fixed sidecar: uploading it completes the pair.
    SIDECAR_INVALID = "sidecar_invalid"


class Rejection(NamedTuple):
    reason: Reason
    message: str


def validate(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    """None when the object may be copied, else the first rule it breaks (in _RULES' order)."""
    for rule in _RULES:
        rejection = rule(obj, config)
        if rejection is not None:
            return rejection
    return None


def _bucket(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    if obj.bucket in config.allowed_buckets:
        return None
    return Rejection(Reason.BUCKET_NOT_ALLOWED, f"bucket {obj.bucket!r} is not in ALLOWED_BUCKETS")


def _region(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    if obj.region in config.allowed_regions:
        return None
    return Rejection(Reason.REGION_NOT_ALLOWED, f"region {obj.region!r} is not in ALLOWED_REGIONS")


def _key(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    return check_key(obj.key)


def _folder_marker(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    if not obj.key.endswith("/"):
        return None
    return Rejection(Reason.FOLDER_MARKER, "key ends with '/': a folder marker, not a video")


def _prefix(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    if not config.allowed_prefixes or obj.key.startswith(config.allowed_prefixes):
        return None
    return Rejection(Reason.PREFIX_NOT_ALLOWED, "key is outside ALLOWED_PREFIXES")


def _extension(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    extension = file_extension(obj.key)
    if extension in config.allowed_extensions:
        return None
    shown = extension or "no extension"
    return Rejection(Reason.EXTENSION_NOT_ALLOWED, f"{shown!r} is not in ALLOWED_EXTENSIONS")


def _size(obj: S3Object, config: BridgeConfig) -> Rejection | None:
    if obj.size == 0:
        return Rejection(Reason.EMPTY_OBJECT, "object is zero bytes")
    if config.max_object_bytes is not None and obj.size is not None and obj.size > config.max_object_bytes:
        return Rejection(
            Reason.OBJECT_TOO_LARGE,
            f"object is {obj.size} bytes, over MAX_OBJECT_BYTES={config.max_object_bytes}",
        )
    return None


# In the order they are checked: an object is rejected for the first rule it breaks.
_RULES: tuple[Callable[[S3Object, BridgeConfig], Rejection | None], ...] = (
    _bucket,
    _region,
    _key,
    _folder_marker,
    _prefix,
    _extension,
    _size,
)


def check_key(key: str) -> Rejection | None:
    """Key safety: what no sane video key contains, whatever the allowlist says."""
    if not key:
        return Rejection(Reason.KEY_EMPTY, "key is empty")
    if len(key.encode("utf-8", errors="surrogatepass")) > MAX_KEY_BYTES:
        return Rejection(Reason.KEY_TOO_LONG, f"key is over {MAX_KEY_BYTES} bytes of UTF-8")
    if key.startswith("/"):
        return Rejection(Reason.KEY_LEADING_SLASH, "key starts with '/'")
    control = control_character(key)
    if control is not None:
        return Rejection(Reason.KEY_CONTROL_CHARACTER, f"key contains control character U+{ord(control):04X}")
    if any(segment in {".", ".."} for segment in key.split("/")):
        return Rejection(Reason.KEY_DOT_SEGMENT, "key has a '.' or '..' path segment")
    return None


def control_character(text: str) -> str | None:
    """The first control character or lone surrogate in `text`, None when it has none."""
    return next((char for char in text if unicodedata.category(char) in _CONTROL_CATEGORIES), None)


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
