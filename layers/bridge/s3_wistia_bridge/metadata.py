"""Per-object Wistia settings carried by the object itself (x-amz-meta-wistia-*). Pure.

Editors set the media's name, description and project when they upload:

    aws s3 cp talk.mp4 s3://bucket/videos/ --metadata wistia-name="Keynote",wistia-project-id=abc123

boto3's head_object() returns user metadata lower-cased and without the x-amz-meta- prefix, so
the keys read here are `wistia-name`, `wistia-description` and `wistia-project-id`. Values that
are not US-ASCII come back RFC 2047 encoded (=?UTF-8?B?...?=), as S3 documents: they are decoded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header

from .validation import Reason, Rejection

NAME_KEY = "wistia-name"
DESCRIPTION_KEY = "wistia-description"
PROJECT_ID_KEY = "wistia-project-id"
MAX_NAME_CHARS = 255
MAX_DESCRIPTION_CHARS = 5_000
_PROJECT_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")


@dataclass(frozen=True)
class ObjectSettings:
    """What the object's metadata overrides; None = not set (the route or default applies).

    `description` is "" when the metadata is present but blank: it clears the route's
    description rather than falling back to it.
    """

    name: str | None = None
    description: str | None = None
    project_id: str | None = None


def object_settings(metadata: Mapping[str, str]) -> ObjectSettings | Rejection:
    """The validated overrides, or a `metadata_invalid` rejection naming the field."""
    lowered = {key.lower(): value for key, value in metadata.items()}
    values: dict[str, str] = {}
    for key in (NAME_KEY, DESCRIPTION_KEY, PROJECT_ID_KEY):
        if key in lowered:
            try:
                values[key] = _decoded(lowered[key]).strip()
            except ValueError:
                return _invalid(key, "is RFC 2047 encoded but does not decode")
    name = values.get(NAME_KEY)
    if name is not None:
        if not name:
            return _invalid(NAME_KEY, "is blank")
        if len(name) > MAX_NAME_CHARS:
            return _invalid(NAME_KEY, f"is {len(name)} characters, over Wistia's {MAX_NAME_CHARS}")
        control = next((char for char in name if unicodedata.category(char) in {"Cc", "Cs"}), None)
        if control is not None:
            return _invalid(NAME_KEY, f"contains control character U+{ord(control):04X}")
    description = values.get(DESCRIPTION_KEY)
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        return _invalid(DESCRIPTION_KEY, f"is {len(description)} characters, over {MAX_DESCRIPTION_CHARS}")
    project_id = values.get(PROJECT_ID_KEY)
    if project_id is not None and not _PROJECT_ID.match(project_id):
        return _invalid(PROJECT_ID_KEY, "is not a Wistia project hashed id (1..64 letters and digits)")
    return ObjectSettings(name=name, description=description, project_id=project_id)


def _decoded(value: str) -> str:
    """The value, with RFC 2047 encoded words decoded; ValueError when they do not decode."""
    if not _ENCODED_WORD.search(value):
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeError) as error:
        raise ValueError(str(error)) from None


def _invalid(key: str, why: str) -> Rejection:
    return Rejection(Reason.METADATA_INVALID, f"x-amz-meta-{key} {why}")
