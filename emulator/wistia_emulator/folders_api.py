"""Folders, what the legacy API calls projects: `/modern/folders[/{id}]`, `/v1/projects[/{id}].json`.

- List: `page`, `per_page` (10 by default, at most 100), `sort_by` (name, created, updated,
  mediaCount, id; by id when absent), `sort_direction` (0: descending, 1: ascending),
  `hashed_ids[]`. There is no name filter: a `name` parameter is refused, as data_api.py refuses
  any parameter outside the spec.
- Create: `name` (required by the emulator), `description`; 201 and a `Location` header.
  Names need not be unique (Wistia does not say they must be).
- Show: one folder; on v1 with its medias (ProjectWithMedias), on /modern with `medias` as the
  link the spec describes.

Modern folders are snake_case (`hashed_id`, `media_count`); v1 projects camelCase (`hashedId`,
`mediaCount`, `publicId`...). The uploads' `project_id` names these folders; an upload without
one goes to the day's `Uploads_YYYY-MM-DD` folder (state.py).
"""

from __future__ import annotations

from typing import Any

from . import contract, data_api
from .catalog import Books
from .contract import ApiError
from .library_api import READ, WRITE, Call, Refusal, body, in_books, routes
from .messages import Response, json_response
from .state import EmulatorState, now

_CHOICES = {"sort_by": ("name", "created", "updated", "mediaCount", "id"), "sort_direction": ("0", "1")}
_PARAMS = frozenset({"page", "per_page", "hashed_ids[]", *_CHOICES})
_SORT_KEYS = {
    "name": lambda folder: (folder["name"], folder["id"]),
    "created": lambda folder: (folder["created"], folder["id"]),
    "updated": lambda folder: (folder["updated"], folder["id"]),
    "mediaCount": lambda folder: (len(folder["medias"]), folder["id"]),
    "id": lambda folder: folder["id"],
}
_CAMEL = {
    "media_count": "mediaCount",
    "hashed_id": "hashedId",
    "public_id": "publicId",
    "anonymous_can_upload": "anonymousCanUpload",
    "anonymous_can_download": "anonymousCanDownload",
}


def _missing(hashed_id: str) -> Refusal:
    return Refusal(404, f"Folder with ID '{hashed_id}' not found.")


def shown(folder: dict[str, Any], call: Call, with_medias: bool = True) -> dict[str, Any]:
    medias = folder["medias"]
    data = {k: v for k, v in folder.items() if k != "medias"} | {"media_count": len(medias)}
    if call.legacy:
        data = {_CAMEL.get(k, k): v for k, v in data.items()}
        return data | ({"medias": medias} if with_medias else {})
    # The spec's `medias` is an object, "a link to where you can fetch the medias for this folder".
    return data | {"medias": {"url": f"/modern/medias?folder_id={folder['hashed_id']}"}}


def _query(call: Call) -> dict[str, list[str]]:
    try:
        pairs = contract.parse_pairs(call.query)
    except ApiError as exc:
        raise Refusal(400, exc.detail) from None
    query: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in _PARAMS:
            raise Refusal(400, f"unknown parameter {name}")
        query.setdefault(name, []).append(value)
    for name, choices in _CHOICES.items():
        if name in query and query[name][-1] not in choices:
            raise Refusal(400, f"{name} must be one of {', '.join(choices)}")
    return query


def _whole(query: dict[str, list[str]], name: str, default: int, most: int | None) -> int:
    text = query.get(name, [str(default)])[-1]
    value = int(text) if text.isdigit() and len(text) < 10 else 0
    if value < 1 or (most is not None and value > most):
        raise Refusal(
            400, f"{name} must be a whole number from 1" + ("" if most is None else f" and at most {most}")
        )
    return value


def listed(state: EmulatorState, call: Call) -> Response:
    query = _query(call)
    page = _whole(query, "page", 1, None)
    per_page = _whole(query, "per_page", data_api.DEFAULT_PER_PAGE, data_api.MAX_PER_PAGE)
    folders: list[dict[str, Any]] = state.transact(lambda books: books.folder_list())
    if "hashed_ids[]" in query:
        folders = [folder for folder in folders if folder["hashed_id"] in query["hashed_ids[]"]]
    folders.sort(key=_SORT_KEYS[query.get("sort_by", ["id"])[-1]])
    if query.get("sort_direction", ["1"])[-1] == "0":
        folders.reverse()
    start = (page - 1) * per_page
    return json_response(
        200, [shown(folder, call, with_medias=False) for folder in folders[start : start + per_page]]
    )


def create(state: EmulatorState, call: Call) -> Response:
    params = body(call)
    name = params.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Refusal(400, "name is required.")
    description = params.get("description", "")
    if not isinstance(description, str):
        raise Refusal(400, "description must be a string.")

    def add(books: Books) -> dict[str, Any]:
        return books.folder(
            books.add_folder(name, now().isoformat(timespec="seconds"), description)["hashed_id"]
        )

    folder = state.transact(add)
    location = (
        f"/v1/projects/{folder['hashed_id']}.json"
        if call.legacy
        else f"/modern/folders/{folder['hashed_id']}"
    )
    return json_response(201, shown(folder, call, with_medias=False), (("Location", location),))


def show(state: EmulatorState, call: Call) -> Response:
    folder = in_books(state, lambda books: books.folder(call.ids[0]), _missing)
    return json_response(200, shown(folder, call))


def seed(state: EmulatorState, names: Any) -> list[dict[str, Any]]:
    """The control API's folder seeding: one folder per name, duplicates included, in order."""
    if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
        raise TypeError('send {"names": ["...", ...]}')
    moment = now().isoformat(timespec="seconds")
    return state.transact(lambda books: [books.add_folder(name, moment) for name in names])


ROUTES = [
    *routes("GET", "/folders", "/projects.json", READ, listed),
    *routes("POST", "/folders", "/projects.json", WRITE, create),
    *routes("GET", "/folders/{id}", "/projects/{id}.json", READ, show),
]
