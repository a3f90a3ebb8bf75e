"""Per-object Wistia settings carried by the object itself (x-amz-meta-wistia-*). Pure.

Editors set the media's name, description and project when they upload:

    aws s3 cp talk.mp4 s3://bucket/videos/ --metadata wistia-name="Keynote",wistia-project-id=abc123

boto3's head_object() returns user metadata lower-cased and without the x-amz-meta- prefix, so
the keys read here are `wistia-name`, `wistia-description` and `wistia-project-id`. Values that
are not US-ASCII come back RFC 2047 encoded (=?UTF-8?B?...?=), as S3 documents: they are decoded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header

from .config import PROJECT_ID
from .routing import MAX_NAME_CHARS
from .validation import Reason, Rejection, control_character

NAME_KEY = "wistia-name"
DESCRIPTION_KEY = "wistia-description"
PROJECT_ID_KEY = "wistia-project-id"
MAX_DESCRIPTION_CHARS = 5_000
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
    values = _decoded_values(metadata)
    if isinstance(values, Rejection):
        return values
    for key, problem_of in _CHECKS:
        problem = problem_of(values[key]) if key in values else None
        if problem is not None:
            return _invalid(key, problem)
    return ObjectSettings(
        name=values.get(NAME_KEY),
        description=values.get(DESCRIPTION_KEY),
        project_id=values.get(PROJECT_ID_KEY),
    )


def _decoded_values(metadata: Mapping[str, str]) -> dict[str, str] | Rejection:
    """The wistia-* values present, decoded and stripped (keys compared case-insensitively)."""
    lowered = {key.lower(): value for key, value in metadata.items()}
    values: dict[str, str] = {}
    for key in (NAME_KEY, DESCRIPTION_KEY, PROJECT_ID_KEY):
        if key in lowered:
            try:
                values[key] = _decoded(lowered[key]).strip()
            except ValueError:
                return _invalid(key, "is RFC 2047 encoded but does not decode")
    return values


def _name_problem(name: str) -> str | None:
    if not name:
        return "is blank"
    if len(name) > MAX_NAME_CHARS:
        return f"is {len(name)} characters, over Wistia's {MAX_NAME_CHARS}"
    control = control_character(name)
    return None if control is None else f"contains control character U+{ord(control):04X}"


def _description_problem(description: str) -> str | None:
    if len(description) > MAX_DESCRIPTION_CHARS:
        return f"is {len(description)} characters, over {MAX_DESCRIPTION_CHARS}"
    return None


def _project_id_problem(project_id: str) -> str | None:
    if PROJECT_ID.match(project_id):
        return None
    return "is not a Wistia project hashed id (1..64 letters and digits)"


# In the order they are checked: the first problem found rejects the object.
_CHECKS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    (NAME_KEY, _name_problem),
    (DESCRIPTION_KEY, _description_problem),
    (PROJECT_ID_KEY, _project_id_problem),
)


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
