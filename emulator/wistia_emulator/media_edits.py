"""Changing medias: swap, update (name, description, tags), delete, archive and restore, and the
background jobs that swap, archive and restore queue.

- `PUT /modern/medias/{id}/swap`, `PUT /v1/medias/{id}/swap.json`: `replacement_media_id`
  (required). A job; when it finishes the original's hashed id serves the replacement's file
  (catalog.Books.swap; setting `swap_replacement` says what becomes of the replacement).
- `GET /modern/background_job_status/{id}`, `GET /v1/background_job_status/{id}.json`: by numeric
  or hashed id; queued, started, finished on the clock the settings `job_queued_seconds` and
  `job_started_seconds` set.
- `PUT /modern/medias/{id}`, `PUT /v1/medias/{id}.json` (Update Media): `name`, `description`,
  `tags` (replaces every tag). `GET /v1/medias/{id}.json`: the legacy show.
- `DELETE /modern/medias/{id}`, `DELETE /v1/medias/{id}.json`: a soft delete (the edge spec's
  Deleted Media: restorable for `restore_days`); `GET /modern/deleted_media` and
  `POST /modern/deleted_media/restore` (`media_hashed_ids`), both from Wistia's edge (preview)
  spec, modern only; their item shape is the emulator's (the media plus `deleted_at` and
  `restore_expires_at`).
- `PUT /modern/medias/archive`, `PUT /v1/medias/archive.json`: `hashed_ids` (at most 100, else
  422), a job; 403 without the plan's archiving (setting `archiving_enabled`).
  `PUT /modern/medias/restore` (`hashed_ids`, `folder_id`; v1 `project_id`) un-archives into a
  folder, a job.
"""

from __future__ import annotations

import time
from typing import Any

from . import data_api
from .catalog import Books, Job
from .library_api import READ, WRITE, Call, Params, Refusal, body, hashed_ids, in_books, media_missing, routes
from .messages import Response, json_response
from .state import EmulatorState, now

ARCHIVE_MAX = 100
RESTORE_DELETED_MAX = 1000


def _stamp() -> str:
    return now().isoformat(timespec="seconds")


def shown(media: dict[str, Any], call: Call) -> dict[str, Any]:
    """The media as the API version shows it: the legacy record (with archived and tags as
    [{name}]) on /v1, the modern media object on /modern."""
    if not call.legacy:
        return data_api.modern_media(media)
    legacy = {k: v for k, v in media.items() if k != "content"}
    legacy["tags"] = [{"name": name} for name in media.get("tags", [])]
    return legacy


def _job(state: EmulatorState, books: Books, kind: str, effect: Any) -> Job:
    settings = state.settings
    durations = (settings.job_queued_seconds, settings.job_started_seconds)
    return books.add_job(kind, time.monotonic(), durations, effect)


# -- swap and jobs -------------------------------------------------------------------------------


def swap(state: EmulatorState, call: Call) -> Response:
    original = call.ids[0]
    replacement = body(call).get("replacement_media_id")
    if not isinstance(replacement, str) or not replacement:
        raise Refusal(400, "replacement_media_id is required.")
    fate, days = state.settings.swap_replacement, state.settings.restore_days

    def queue(books: Books) -> dict[str, Any]:
        media, other = books.media(original), books.media(replacement)
        if media["type"] != other["type"]:
            raise Refusal(
                400, f"Replacement media must be the same type as the original media ({media['type']})."
            )
        job = _job(state, books, "swap", lambda: books.swap(original, replacement, fate, now(), days))
        return {"media": books.view(media), "job": job.queued()}

    queued = in_books(state, queue, media_missing)
    return json_response(
        200,
        {
            "message": "Media swap has been queued for processing.",
            "media": shown(queued["media"], call),
            "background_job_status": queued["job"],
        },
    )


def job_status(state: EmulatorState, call: Call) -> Response:
    def look(books: Books) -> dict[str, Any]:
        return books.job(call.ids[0]).public(time.monotonic())

    found = in_books(
        state, look, lambda key: Refusal(404, f"Background job status with ID '{key}' not found.")
    )
    return json_response(200, {"background_job_status": found})


# -- update, show, delete ------------------------------------------------------------------------


def _name_ok(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 255


def _tags_ok(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(tag, str) and tag for tag in value)


# Update Media's fields, whether a value is acceptable, and the 400 that says why not.
_MEDIA_FIELDS: dict[str, tuple[Any, str]] = {
    "name": (_name_ok, "name must be a string of 1 to 255 characters."),
    "description": (lambda value: isinstance(value, str), "description must be a string."),
    "tags": (_tags_ok, "tags must be an array of tag names."),
}


def _media_changes(params: Params) -> Params:
    changes = {name: params[name] for name in _MEDIA_FIELDS if name in params}
    for name, value in changes.items():
        acceptable, problem = _MEDIA_FIELDS[name]
        if not acceptable(value):
            raise Refusal(400, problem)
    return changes


def update(state: EmulatorState, call: Call) -> Response:
    changes = _media_changes(body(call))
    media = in_books(state, lambda books: books.update(call.ids[0], changes, _stamp()), media_missing)
    return json_response(200, shown(media, call))


def legacy_show(state: EmulatorState, call: Call) -> Response:
    media = in_books(state, lambda books: books.view(books.media(call.ids[0])), media_missing)
    return json_response(200, shown(media, call))


def delete(state: EmulatorState, call: Call) -> Response:
    days = state.settings.restore_days
    media = in_books(state, lambda books: books.delete(call.ids[0], now(), days), media_missing)
    # UNVERIFIED: Wistia's docs do not say whether deleting fires media.deleted; the emulator
    # sends it (payload media{id} only) when a webhook consumer is configured.
    state.webhooks.media_deleted(media["hashed_id"])
    return json_response(200, shown(media, call))


def deleted_list(state: EmulatorState, call: Call) -> Response:
    medias = state.transact(lambda books: list(books.deleted))
    listed = [
        data_api.modern_media(media) | {k: media[k] for k in ("deleted_at", "restore_expires_at")}
        for media in medias
    ]
    return json_response(200, listed)


def restore_deleted(state: EmulatorState, call: Call) -> Response:
    wanted = hashed_ids(body(call), "media_hashed_ids")
    if len(wanted) > RESTORE_DELETED_MAX:
        raise Refusal(422, f"At most {RESTORE_DELETED_MAX} medias can be restored at once.")

    def queue(books: Books) -> dict[str, Any]:
        if not {m["hashed_id"] for m in books.deleted} >= set(wanted):
            raise Refusal(404, "Deleted media not found.")
        return _job(state, books, "restore_deleted", lambda: books.restore_deleted(wanted)).queued()

    job = state.transact(queue)
    return json_response(202, {"message": "Media restoration has been queued.", "background_job_status": job})


# -- archive and restore -------------------------------------------------------------------------


def archive(state: EmulatorState, call: Call) -> Response:
    wanted = hashed_ids(body(call), "hashed_ids")
    if not state.settings.archiving_enabled:
        raise Refusal(403, "Archiving is not available on your current plan.")
    if len(wanted) > ARCHIVE_MAX:
        raise Refusal(422, f"Too many media requested: at most {ARCHIVE_MAX} can be archived at once.")

    def queue(books: Books) -> dict[str, Any]:
        books.check_medias(wanted)
        return _job(state, books, "archive", lambda: books.set_archived(wanted, True)).queued()

    job = in_books(state, queue, media_missing)
    return json_response(200, {"message": "Media archival has been queued.", "background_job_status": job})


def restore(state: EmulatorState, call: Call) -> Response:
    params = body(call)
    wanted = hashed_ids(params, "hashed_ids")
    target_name = "project_id" if call.legacy else "folder_id"
    target = params.get(target_name)
    if not isinstance(target, str) or not target:
        raise Refusal(422, f"Incorrect number of parameters provided. Provide one {target_name}.")

    def queue(books: Books) -> dict[str, Any]:
        folder = books.folder(target)
        books.check_medias(wanted)
        job = _job(state, books, "restore", lambda: books.set_archived(wanted, False, target))
        return {"folder": folder, "job": job.queued()}

    queued = in_books(state, queue, lambda key: Refusal(404, f"Folder or media with ID '{key}' not found."))
    container = {"type": "Project", "name": queued["folder"]["name"], "hashedId": target}
    return json_response(
        200,
        {
            "message": "Media restoration has been queued.",
            "container": container,
            "background_job_status": queued["job"],
        },
    )


ROUTES = [
    *routes("PUT", "/medias/archive", "/medias/archive.json", WRITE, archive),
    *routes("PUT", "/medias/restore", "/medias/restore.json", WRITE, restore),
    *routes("PUT", "/medias/{id}/swap", "/medias/{id}/swap.json", WRITE, swap),
    *routes("GET", "/background_job_status/{id}", "/background_job_status/{id}.json", READ, job_status),
    *routes("GET", "/deleted_media", None, READ, deleted_list),
    *routes("POST", "/deleted_media/restore", None, WRITE, restore_deleted),
    *routes("PUT", "/medias/{id}", "/medias/{id}.json", WRITE, update),
    *routes("DELETE", "/medias/{id}", "/medias/{id}.json", WRITE, delete),
]
# The legacy show (the modern show is data_api.py's, unfaulted); after the routes above so that
# /v1/medias/archive.json is never read as a media id.
LEGACY_ROUTES = [r for r in routes("GET", "/medias/{id}", "/medias/{id}.json", READ, legacy_show) if r.legacy]
