"""api.wistia.com's media reads, served on the emulator's port: the legacy list and the modern API.

- `GET /v1/medias.json?name=&project_id=`: the legacy Data API's list, exact-name matches, oldest
  first. Listing by exact name is the only duplicate check Wistia offers; the bridge uses it after
  an ambiguous outcome.
- `GET /modern/medias` (List Media) and `GET /modern/medias/{hashed_id}` (Show Media): Wistia's
  current Data API, shaped as its public OpenAPI (Data API 2026.03.0, server
  https://api.wistia.com/modern) describes them. Folders are what the legacy API calls projects.

Reads are not subject to injected faults or rate limits: those model the upload host.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from . import contract
from .contract import ApiError
from .messages import UNAUTHORIZED, Response, json_response
from .state import EmulatorState

LEGACY_LIST_PATH = "/v1/medias.json"
MODERN_LIST_PATH = "/modern/medias"
_MODERN_SHOW = re.compile(r"/modern/medias/([^/]+)")
# List Media's schema gives per_page no default or maximum; 10 by default and at most 100 are
# what notes in Wistia's full spec and client libraries say. A larger per_page is refused rather
# than cut, so a client that asks for more than one page can hold notices.
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
_WHOLE = re.compile(r"[0-9]{1,9}")
_MEDIA_TYPES = ("Video", "Audio", "Image", "PdfDocument", "MicrosoftOfficeDocument", "Swf", "UnknownType")
# The enumerated query parameters of List Media and their allowed values, as the spec gives them.
_CHOICES: dict[str, tuple[str, ...]] = {
    "sort_by": ("name", "created", "updated", "position"),
    "sort_direction": ("0", "1"),
    "type": _MEDIA_TYPES,
    "archived": ("true", "false"),
    # Descriptions are kept as sent, so markdown (the only format the spec offers) is that text.
    "description_format": ("markdown",),
}
_LIST_PARAMS = frozenset({"page", "per_page", "folder_id", "name", "hashed_ids[]", "tags[]", *_CHOICES})
_SHOW_PARAMS = frozenset({"description_format"})
Media = dict[str, Any]
Query = dict[str, list[str]]
# List Media's filters, each on the modern media object; a media is listed when all given match.
_FILTERS: dict[str, Callable[[Media, list[str]], bool]] = {
    "name": lambda media, values: media["name"] == values[-1],
    "folder_id": lambda media, values: media["folder"]["hashedId"] == values[-1],
    "type": lambda media, values: media["type"] == values[-1],
    "archived": lambda media, values: media["archived"] == (values[-1] == "true"),
    "hashed_ids[]": lambda media, values: media["hashed_id"] in values,
    "tags[]": lambda media, values: set(values) <= {tag["name"] for tag in media["tags"]},
}
# The emulator has no manual ordering, so a folder's "position" order is the upload order.
_SORT_KEYS: dict[str, Callable[[Media], Any]] = {
    "name": lambda media: (media["name"], media["id"]),
    "created": lambda media: (media["created"], media["id"]),
    "updated": lambda media: (media["updated"], media["id"]),
    "position": lambda media: media["id"],
}


class _BadQuery(Exception):
    """A query the emulator refuses: a 400 in the spec's {"error": "..."} shape."""


def answer(
    state: EmulatorState, method: str, path: str, query_text: str, token: str | None
) -> Response | None:
    """The answer to a Data API read, or None when the request is not one."""
    if method != "GET":
        return None
    if path == LEGACY_LIST_PATH:
        return _legacy_list(state, query_text) if token is not None else UNAUTHORIZED
    show = _MODERN_SHOW.fullmatch(path)
    if path != MODERN_LIST_PATH and show is None:
        return None
    if token is None:
        return _flat_error(401, "Invalid credentials.")
    try:
        if show is None:
            return json_response(200, _modern_list(state, query_text))
        return _modern_show(state, unquote(show.group(1)), query_text)
    except _BadQuery as exc:
        return _flat_error(400, str(exc))


def modern_media(media: Media) -> Media:
    """A media as the modern API shows it, from the emulator's record of it.

    Omitted, as the spec allows: `section` (not in one), `subfolder` (not in one; the schema has
    no null for it), `embedCode` (deprecated) and `cursor` (no cursor pagination). `assets` holds
    the OriginalFile, with the size of what the media is made of now (a swap changes it), when the
    emulator knows that size.
    """
    project = media["project"]
    folder = {"hashedId": project["hashed_id"]}
    if "name" in project:
        folder["name"] = project["name"]
    return {
        "id": media["id"],
        "hashed_id": media["hashed_id"],
        "name": media["name"],
        "type": media["type"],
        "archived": media.get("archived", False),
        "created": media["created"],
        "updated": media["updated"],
        "duration": media["duration"],
        "description": media["description"],
        "progress": media["progress"],
        "status": media["status"],
        "thumbnail": media["thumbnail"],
        "folder": folder,
        "tags": [{"name": name} for name in media.get("tags", [])],
        **_assets(media),
    }


def _assets(media: Media) -> Media:
    size = media.get("content", {}).get("bytes")
    if size is None:
        return {}
    original = {
        "url": f"https://embed-ssl.wistia.com/deliveries/{media['hashed_id']}.bin",
        "width": None,
        "height": None,
        "file_size": size,
        "content_type": media["source"].get("content_type") or "video/mp4",
        "type": "OriginalFile",
    }
    return {"assets": [original]}


def _legacy_list(state: EmulatorState, query_text: str) -> Response:
    try:
        query = contract.parse_query(query_text)
    except ApiError:
        query = {}  # an unreadable query filters nothing
    name, project = query.get("name"), query.get("project_id")
    found = [
        media
        for media in state.medias()
        if (name is None or media["name"] == name)
        and (project is None or media["project"]["hashed_id"] == project)
    ]
    return json_response(200, found)


def _modern_list(state: EmulatorState, query_text: str) -> list[Media]:
    query = _parsed(query_text, _LIST_PARAMS)
    page = _whole(query, "page", 1, None)
    per_page = _whole(query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    medias = [modern_media(media) for media in state.media_views()]
    found = [media for media in medias if _matches(media, query)]
    found.sort(key=_SORT_KEYS[_last(query, "sort_by", "position")])
    if _last(query, "sort_direction", "1") == "0":
        found.reverse()
    start = (page - 1) * per_page
    return found[start : start + per_page]


def _modern_show(state: EmulatorState, hashed_id: str, query_text: str) -> Response:
    _parsed(query_text, _SHOW_PARAMS)
    for media in state.media_views():
        if media["hashed_id"] == hashed_id:
            return json_response(200, modern_media(media))
    return _flat_error(404, f"Media with ID '{hashed_id}' not found.")


def _parsed(query_text: str, allowed: frozenset[str]) -> Query:
    """The query's values by name, checked against the spec's parameters.

    A parameter outside the spec is refused, not ignored: a misspelt or legacy filter (project_id)
    would otherwise list more medias than the caller meant. So is cursor pagination, which the
    emulator does not implement.
    """
    try:
        pairs = contract.parse_pairs(query_text)
    except ApiError as exc:
        raise _BadQuery(exc.detail) from None
    query: Query = {}
    for name, value in pairs:
        query.setdefault(name, []).append(value)
    for name in query:
        if name.startswith("cursor"):
            raise _BadQuery("cursor pagination is not emulated: use page and per_page")
        if name not in allowed:
            raise _BadQuery(f"unknown parameter {name}")
    for name, choices in _CHOICES.items():
        if name in query and query[name][-1] not in choices:
            raise _BadQuery(f"{name} must be one of {', '.join(choices)}")
    return query


def _last(query: Query, name: str, default: str) -> str:
    return query[name][-1] if name in query else default


def _whole(query: Query, name: str, default: int, most: int | None) -> int:
    text = _last(query, name, str(default))
    value = int(text) if _WHOLE.fullmatch(text) else 0
    if value < 1 or (most is not None and value > most):
        upper = "" if most is None else f" and at most {most}"
        raise _BadQuery(f"{name} must be a whole number from 1{upper}")
    return value


def _matches(media: Media, query: Query) -> bool:
    return all(test(media, query[name]) for name, test in _FILTERS.items() if name in query)


def _flat_error(status: int, message: str) -> Response:
    """The modern API's error shape, {"error": "..."} (its 400, 401 and 404 responses)."""
    return json_response(status, {"error": message})
