"""api.wistia.com's token and account reads, served on the emulator's port (what `doctor` asks).

- `GET /modern/token` (Get Current Token): the token's `type`, `application`, `scopes`, `name`
  and `expires_at`. Every emulator token is a permanent token with the `all:all` scope.
- `GET /modern/account_usage` (Get Account Usage): `plan`, `can_upload`,
  `upload_blocked_reason` (`reached_media_limit` once the emulator's `video_limit` is reached),
  `limits` and `links`.

Shapes from Wistia's public OpenAPI (Data API 2026.03.0 for /token; the edge version, served at
https://api.wistia.com/modern, for /account_usage). Both take "(any scope allowed)"; an invalid
or missing token gets the modern 401 `{"code": "unauthorized_credentials", "error": ...}`.
"""

from __future__ import annotations

from typing import Any

from .messages import Response, json_response
from .state import EmulatorState

TOKEN_PATH = "/modern/token"  # noqa: S105 - a URL path, not a secret
ACCOUNT_USAGE_PATH = "/modern/account_usage"
# The OAuth scope that allows everything (Wistia's OAuth2 guide); the emulator's tokens have it.
ALL_SCOPES = ("all:all",)
REACHED_MEDIA_LIMIT = "reached_media_limit"
_PLANS_URL = "https://emulator.wistia.test/account/plans"


def answer(state: EmulatorState, method: str, path: str, token: str | None) -> Response | None:
    """The answer to a token or account read, or None when the request is not one."""
    if method != "GET" or path not in (TOKEN_PATH, ACCOUNT_USAGE_PATH):
        return None
    if token is None:
        return json_response(401, {"code": "unauthorized_credentials", "error": "Invalid credentials."})
    if path == TOKEN_PATH:
        return json_response(200, token_details())
    return json_response(200, account_usage(len(state.medias()), state.settings.video_limit))


def token_details() -> dict[str, Any]:
    return {
        "type": "permanent",
        "application": None,
        "scopes": list(ALL_SCOPES),
        "name": "wistia-emulator",
        "expires_at": None,
    }


def account_usage(media_count: int, video_limit: int | None) -> dict[str, Any]:
    """A legacy media-count plan whose hard media limit is the emulator's video limit."""
    blocked = video_limit is not None and media_count >= video_limit
    return {
        "plan": {
            "tier": "pro",
            "name": "Pro",
            "is_standard": False,
            "is_trial": False,
            "trial_expires_at": None,
        },
        "can_upload": not blocked,
        "upload_blocked_reason": REACHED_MEDIA_LIMIT if blocked else None,
        "limits": {
            "primary_resource": "media",
            "media": {"count": media_count, "flexible_limit": None, "inflexible_limit": video_limit},
            "storage": {"used_bytes": 0, "flexible_limit_bytes": None, "inflexible_limit_bytes": None},
        },
        "links": {"plans_url": _PLANS_URL, "usage_url": None, "billing_url": None},
    }
