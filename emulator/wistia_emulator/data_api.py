"""api.wistia.com's media list, served on the emulator's port.

`GET /v1/medias.json?name=&project_id=`: the legacy Data API's list, exact-name matches, oldest
first. Listing by exact name is the only duplicate check Wistia offers; the bridge uses it after an
ambiguous outcome. Reads are not subject to injected faults or rate limits: those model the upload
host.
"""

from __future__ import annotations

from . import contract
from .contract import ApiError
from .messages import UNAUTHORIZED, Response, json_response
from .state import EmulatorState

LEGACY_LIST_PATH = "/v1/medias.json"


def answer(
    state: EmulatorState, method: str, path: str, query_text: str, token: str | None
) -> Response | None:
    """The answer to a Data API read, or None when the request is not one."""
    if method != "GET" or path != LEGACY_LIST_PATH:
        return None
    return _legacy_list(state, query_text) if token is not None else UNAUTHORIZED


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
