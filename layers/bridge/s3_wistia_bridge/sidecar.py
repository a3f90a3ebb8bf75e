"""Sidecar metadata: `<video>.json` beside a video, its keys and its schema. Pure.

A video `a/b.mp4` pairs with `a/b.mp4.json` (preferred: it names exactly one video) or `a/b.json`
(every video of stem `a/b`, unless that video has its own `a/b.mp4.json`). The document is one
UTF-8 JSON object of at most 64 KiB; docs/sidecar.schema.json publishes the same rules (a test
holds the two together) and docs/sidecars-and-captions.md explains them.

Parsing never raises for bad input: it answers a `SidecarError` naming the field, which the bridge
turns into a `sidecar_invalid` rejection.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from .validation import control_character, file_extension

SIDECAR_EXTENSION = ".json"
MAX_SIDECAR_BYTES = 64 * 1024
MAX_NAME_CHARS = 255
MAX_DESCRIPTION_CHARS = 10_000
MAX_TAGS = 50
MAX_TAG_CHARS = 100
MAX_CUSTOM_FIELDS = 20
MAX_CUSTOM_KEY_CHARS = 64
MAX_CUSTOM_VALUE_CHARS = 1_000
MAX_FOLDER_NAME_CHARS = 255
FIELDS = ("name", "description", "project", "tags", "custom_fields")
# A Wistia project (folder) hashed id, as config.PROJECT_ID has it.
PROJECT_HASHED_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
# Line breaks and tabs are text in a description (Wistia takes basic HTML); nowhere else.
_DESCRIPTION_WHITESPACE = frozenset("\n\r\t")
_UTF8_BOM = b"\xef\xbb\xbf"
_ABSENT = object()  # a field that is not there (null is a value, and a wrong one)


class ProjectRef(NamedTuple):
    """Where the media goes: a folder's hashed id, or a folder's name to look up."""

    hashed_id: str | None = None
    name: str | None = None


class Sidecar(NamedTuple):
    """A valid sidecar; every field optional (`{}` is valid and changes nothing)."""

    name: str | None = None
    description: str | None = None
    project: ProjectRef | None = None
    tags: tuple[str, ...] = ()
    custom_fields: tuple[tuple[str, str], ...] = ()


class SidecarError(NamedTuple):
    field: str  # the JSON path of the offending value ("tags[2]"), or "document"
    message: str

    def text(self) -> str:
        return f"{self.field}: {self.message}"


# ---------------------------------------------------------------------------------- keys


def is_sidecar_key(key: str) -> bool:
    return file_extension(key) == SIDECAR_EXTENSION


def sidecar_keys(video_key: str) -> tuple[str, str]:
    """The sidecar keys of a video, preferred first: `a/b.mp4.json`, then `a/b.json`."""
    return f"{video_key}{SIDECAR_EXTENSION}", f"{video_stem(video_key)}{SIDECAR_EXTENSION}"


def video_stem(video_key: str) -> str:
    """`a/b.mp4` -> `a/b` (the key without its extension)."""
    extension = file_extension(video_key)
    return video_key[: -len(extension)] if extension else video_key


def sidecar_target(sidecar_key: str, allowed_extensions: frozenset[str]) -> tuple[str, str | None]:
    """What a sidecar is about: (stem, the one video key it names or None).

    `a/b.mp4.json` names `a/b.mp4` exactly (when `.mp4` is an allowed extension); `a/b.json`
    names every video `a/b.<ext>`."""
    without = sidecar_key[: -len(SIDECAR_EXTENSION)]
    extension = file_extension(without)
    if extension in allowed_extensions:
        return video_stem(without), without
    return without, None


# ---------------------------------------------------------------------------------- parsing


def parse_sidecar(data: bytes) -> Sidecar | SidecarError:
    """The sidecar in `data` (the object's bytes), or the first thing wrong with it."""
    document = _document(data)
    if isinstance(document, SidecarError):
        return document
    unknown = sorted(set(document) - set(FIELDS))
    if unknown:
        return SidecarError(unknown[0], f"unknown field (allowed: {', '.join(FIELDS)})")
    name = _text(document, "name", MAX_NAME_CHARS)
    description = _text(document, "description", MAX_DESCRIPTION_CHARS, _DESCRIPTION_WHITESPACE)
    project = _project(document.get("project", _ABSENT))
    tags = _tags(document.get("tags", _ABSENT))
    custom = _custom_fields(document.get("custom_fields", _ABSENT))
    for value in (name, description, project, tags, custom):
        if isinstance(value, SidecarError):
            return value
    return Sidecar(name, description, project, tags, custom)  # type: ignore[arg-type]


def _document(data: bytes) -> dict[str, Any] | SidecarError:
    if len(data) > MAX_SIDECAR_BYTES:
        return SidecarError("document", f"{len(data)} bytes, over the limit of {MAX_SIDECAR_BYTES}")
    try:
        text = data.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as error:
        return SidecarError("document", f"not UTF-8 (byte {error.start})")
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _DuplicateKey as duplicate:
        return SidecarError(str(duplicate), "appears twice")
    except _NotANumber as constant:
        return SidecarError("document", f"{constant} is not JSON")
    except json.JSONDecodeError as error:
        return SidecarError("document", f"not JSON ({error.msg} at char {error.pos})")
    except RecursionError:
        return SidecarError("document", "nested too deeply")
    if not isinstance(document, dict):
        return SidecarError("document", f"must be a JSON object, not {_kind(document)}")
    return document


class _DuplicateKey(Exception):
    pass


class _NotANumber(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _NotANumber(name)


def _kind(value: Any) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
    if value is None:
        return "null"
    return kinds.get(type(value), "an object")


def _checked_text(
    field: str, value: Any, limit: int, allowed: frozenset[str] = frozenset()
) -> str | SidecarError:
    """A string of 1..limit characters without control characters (but `allowed` ones)."""
    if not isinstance(value, str):
        return SidecarError(field, f"must be a string, not {_kind(value)}")
    if not value.strip():
        return SidecarError(field, "must not be empty")
    if len(value) > limit:
        return SidecarError(field, f"{len(value)} characters, over the limit of {limit}")
    control = control_character("".join(char for char in value if char not in allowed))
    if control is not None:
        return SidecarError(field, f"contains control character U+{ord(control):04X}")
    return value


def _text(
    document: dict[str, Any], field: str, limit: int, allowed: frozenset[str] = frozenset()
) -> str | SidecarError | None:
    if field not in document:
        return None
    return _checked_text(field, document[field], limit, allowed)


def _project(value: Any) -> ProjectRef | SidecarError | None:
    """`"<hashed id>"` or `{"name": "<folder name>"}`; nothing else, so neither can be mistaken."""
    if value is _ABSENT:
        return None
    if isinstance(value, str):
        if not PROJECT_HASHED_ID.match(value):
            return SidecarError(
                "project", 'a string is a folder hashed id (letters and digits); use {"name": ...} for a name'
            )
        return ProjectRef(hashed_id=value)
    if not isinstance(value, dict):
        return SidecarError("project", f'must be a hashed id or {{"name": ...}}, not {_kind(value)}')
    if set(value) != {"name"}:
        return SidecarError("project", 'an object must have exactly one field, "name"')
    name = _checked_text("project.name", value["name"], MAX_FOLDER_NAME_CHARS)
    return name if isinstance(name, SidecarError) else ProjectRef(name=name)


def _tags(value: Any) -> tuple[str, ...] | SidecarError:
    if value is _ABSENT:
        return ()
    if not isinstance(value, list):
        return SidecarError("tags", f"must be a list of strings, not {_kind(value)}")
    if len(value) > MAX_TAGS:
        return SidecarError("tags", f"{len(value)} tags, over the limit of {MAX_TAGS}")
    tags: list[str] = []
    for index, tag in enumerate(value):
        checked = _checked_text(f"tags[{index}]", tag, MAX_TAG_CHARS)
        if isinstance(checked, SidecarError):
            return checked
        if checked not in tags:
            tags.append(checked)
    return tuple(tags)


def _custom_fields(value: Any) -> tuple[tuple[str, str], ...] | SidecarError:
    if value is _ABSENT:
        return ()
    if not isinstance(value, dict):
        return SidecarError("custom_fields", f"must be an object of strings, not {_kind(value)}")
    if len(value) > MAX_CUSTOM_FIELDS:
        return SidecarError("custom_fields", f"{len(value)} fields, over the limit of {MAX_CUSTOM_FIELDS}")
    fields: list[tuple[str, str]] = []
    for key, item in value.items():
        checked_key = _checked_text(f"custom_fields key {key[:40]!r}", key, MAX_CUSTOM_KEY_CHARS)
        if isinstance(checked_key, SidecarError):
            return checked_key
        checked = _checked_text(f"custom_fields.{key}", item, MAX_CUSTOM_VALUE_CHARS)
        if isinstance(checked, SidecarError):
            return checked
        fields.append((key, checked))
    return tuple(fields)
