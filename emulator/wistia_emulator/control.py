"""The control API: JSON endpoints under /__emulator__/ for tests, the demo and benchmarks.

Loopback clients only. They read the state (health, requests, medias, faults, settings) and change
it (faults, tokens, settings, reset); they are never recorded and never faulted.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from . import folders_api
from .catalog import SWAP_REPLACEMENT_CHOICES, NotFound
from .faults import Faults
from .messages import Request, Response, error, json_response
from .state import EmulatorState

CONTROL_PREFIX = "/__emulator__/"
# The settings the control API reads and writes, in the order their values are checked.
SETTINGS = (
    "video_limit",
    "rate_limit_per_minute",
    "rate_limit_window_seconds",
    "rate_limit_status",
    "fetch_urls",
    "archiving_enabled",
    "job_queued_seconds",
    "job_started_seconds",
    "swap_replacement",
    "accept_vtt_captions",
    "restore_days",
)


def _whole_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


# Per setting: whether a value is acceptable, and the error that says why not.
_SETTING_RULES: dict[str, tuple[Callable[[Any], bool], type[Exception], str]] = {
    "video_limit": (_whole_or_null, ValueError, "video_limit must be a whole number or null"),
    "rate_limit_per_minute": (
        _whole_or_null,
        ValueError,
        "rate_limit_per_minute must be a whole number or null",
    ),
    "rate_limit_window_seconds": (
        _positive,
        ValueError,
        "rate_limit_window_seconds must be a positive number",
    ),
    "rate_limit_status": (
        lambda value: value in (429, 503),
        ValueError,
        "rate_limit_status must be 429 or 503",
    ),
    "fetch_urls": (_bool, TypeError, "fetch_urls must be a boolean"),
    "archiving_enabled": (_bool, TypeError, "archiving_enabled must be a boolean"),
    "job_queued_seconds": (_seconds, ValueError, "job_queued_seconds must be a number >= 0"),
    "job_started_seconds": (_seconds, ValueError, "job_started_seconds must be a number >= 0"),
    "swap_replacement": (
        lambda value: value in SWAP_REPLACEMENT_CHOICES,
        ValueError,
        f"swap_replacement must be one of {', '.join(SWAP_REPLACEMENT_CHOICES)}",
    ),
    "accept_vtt_captions": (_bool, TypeError, "accept_vtt_captions must be a boolean"),
    "restore_days": (
        lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 1,
        ValueError,
        "restore_days must be a whole number >= 1",
    ),
}


def handle(state: EmulatorState, request: Request) -> Response:
    loopback = ipaddress.ip_address(request.peer[0]).is_loopback
    if not loopback:
        return error(403, "forbidden", "the control endpoints answer loopback clients only")
    try:
        data = json.loads(request.body) if request.body else {}
    except ValueError:
        return error(400, "invalid_json", "the body must be JSON")
    route = urlsplit(request.target).path.removeprefix(CONTROL_PREFIX)
    endpoint = _ROUTES.get((request.method, route))
    if endpoint is None and route.startswith(_MEDIA_ROUTE):
        data = {"hashed_id": route.removeprefix(_MEDIA_ROUTE), "change": data}
        endpoint = _MEDIA_ROUTES.get(request.method)
    if endpoint is None:
        return error(404, "not_found", f"no control endpoint {request.method} {CONTROL_PREFIX}{route}")
    try:
        return json_response(200, endpoint(state, data))
    except NotFound as exc:
        return error(404, "not_found", f"no media {exc}")
    except (ValueError, TypeError) as exc:
        return error(400, "invalid_parameter", str(exc))


def _health(state: EmulatorState, _: Any) -> Any:
    return {"status": "ok", **state.counts()}


def _requests(state: EmulatorState, _: Any) -> Any:
    return state.requests()


def _medias(state: EmulatorState, _: Any) -> Any:
    return state.medias()


def _faults(state: EmulatorState, _: Any) -> Any:
    return state.faults_json()


def _set_faults(state: EmulatorState, data: Any) -> Any:
    if not isinstance(data, dict):
        raise TypeError("the fault config must be a JSON object")
    seed = data.pop("seed", None)
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError("seed must be an integer")
    faults = Faults.from_json(data)
    state.set_faults(faults, seed)
    return faults.to_json()


def _reset(state: EmulatorState, _: Any) -> Any:
    state.reset()
    return {"status": "reset"}


def _set_tokens(state: EmulatorState, data: Any) -> Any:
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, list):
        raise TypeError('send {"tokens": ["...", ...]}')
    state.set_tokens(tokens)
    return {"tokens": len(tokens)}  # a count: never echo tokens


def _settings(state: EmulatorState, _: Any) -> Any:
    return {name: getattr(state.settings, name) for name in SETTINGS}


def _set_settings(state: EmulatorState, data: Any) -> Any:
    if not isinstance(data, dict) or not set(data) <= set(SETTINGS):
        raise ValueError(f"settings is a JSON object with keys among {list(SETTINGS)}")
    for name, (acceptable, kind, problem) in _SETTING_RULES.items():
        if name in data and not acceptable(data[name]):
            raise kind(problem)
    for name, value in data.items():
        setattr(state.settings, name, value)
    return _settings(state, data)


def _media(state: EmulatorState, data: dict[str, Any]) -> Any:
    return media_details(state, data["hashed_id"])


def media_details(state: EmulatorState, hashed_id: str) -> dict[str, Any]:
    """One media with what the emulator knows of it: record, archived, tags, content, captions,
    or the deleted media (with deleted_at)."""

    def look(books: Any) -> Any:
        for media in books.deleted:
            if media["hashed_id"] == hashed_id:
                return media | {"deleted": True}
        view = books.view(books.media(hashed_id))
        return view | {"deleted": False, "captions": books.captions(hashed_id)}

    details: dict[str, Any] = state.transact(look)
    return details


_MEDIA_KNOBS = {
    "type": ("Video", "Audio", "Image", "PdfDocument", "MicrosoftOfficeDocument", "Swf", "UnknownType")
}


def _change_media(state: EmulatorState, data: dict[str, Any]) -> Any:
    """Set what the Upload API cannot: the media `type` (to test a swap between types)."""
    change = data["change"]
    if not isinstance(change, dict) or not set(change) <= set(_MEDIA_KNOBS):
        raise ValueError(f"send a JSON object with keys among {sorted(_MEDIA_KNOBS)}")
    for name, value in change.items():
        if value not in _MEDIA_KNOBS[name]:
            raise ValueError(f"{name} must be one of {', '.join(_MEDIA_KNOBS[name])}")
    state.transact(lambda books: books.media(data["hashed_id"]).update(change))
    return _media(state, data)


def _set_permission(state: EmulatorState, data: Any) -> Any:
    if not isinstance(data, dict) or set(data) != {"token", "permission"}:
        raise TypeError('send {"token": "...", "permission": "full" | "read_only" | "upload_only"}')
    state.set_permission(data["token"], data["permission"])
    return {"permission": data["permission"]}  # never echo the token


def _seed_folders(state: EmulatorState, data: Any) -> Any:
    return folders_api.seed(state, data.get("names") if isinstance(data, dict) else None)


_MEDIA_ROUTE = "medias/"
_MEDIA_ROUTES: dict[str, Callable[[EmulatorState, Any], Any]] = {"GET": _media, "POST": _change_media}
_ROUTES: dict[tuple[str, str], Callable[[EmulatorState, Any], Any]] = {
    ("POST", "permissions"): _set_permission,
    ("GET", "folders"): lambda state, _: state.transact(lambda books: books.folder_list()),
    ("POST", "folders"): _seed_folders,
    ("GET", "jobs"): lambda state, _: state.transact(lambda books: books.job_list()),
    ("POST", "jobs/finish"): lambda state, _: {"finished": state.finish_jobs()},
    ("GET", "lifecycle"): lambda state, _: state.lifecycle.to_json(),
    ("POST", "lifecycle"): lambda state, data: state.lifecycle.configure(data),
    ("GET", "webhooks"): lambda state, _: state.webhooks.to_json(),
    ("POST", "webhooks"): lambda state, data: state.webhooks.configure(data),
    ("GET", "health"): _health,
    ("GET", "requests"): _requests,
    ("GET", "medias"): _medias,
    ("GET", "faults"): _faults,
    ("POST", "faults"): _set_faults,
    ("POST", "reset"): _reset,
    ("POST", "tokens"): _set_tokens,
    ("GET", "settings"): _settings,
    ("POST", "settings"): _set_settings,
}
