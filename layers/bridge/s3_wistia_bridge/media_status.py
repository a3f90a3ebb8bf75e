"""Show Media of Wistia's current Data API: a media's status, for the sweeper.

`GET {api}/modern/medias/{hashed_id}` (https://docs.wistia.com/reference/get_medias-mediahashedid)
answers the media with its `status` (queued | processing | ready | failed); 404 means it no longer
exists. The answer is a value, never an exception: the sweeper decides what each one means for the
run (a 429 or 503 ends it, to leave the account's rate limit to the ingest path).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple
from urllib.parse import quote

import requests

from .lifecycle import MediaStatus, wistia_status
from .wistia import USER_AGENT, retry_after_seconds
from .wistia import _session as keep_alive_session
from .wistia_token import TokenSource


class Reply(StrEnum):
    STATUS = "status"  # `status` holds the media's status
    GONE = "gone"  # 404: deleted in Wistia
    RATE_LIMITED = "rate_limited"  # 429 or 503: stop asking for now
    UNAUTHORIZED = "unauthorized"  # 401 or 403, also after re-reading the token
    ERROR = "error"  # anything else: ask again next run


class Shown(NamedTuple):
    reply: Reply
    status: MediaStatus | None = None
    detail: str = ""
    retry_after: float | None = None


class MediaStatusReader:
    def __init__(
        self,
        api_url: str,
        tokens: TokenSource,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._url = f"{api_url.rstrip('/')}/modern/medias/"
        self._tokens = tokens
        self._timeout = (connect_timeout, read_timeout)
        self._session = session or keep_alive_session()
        self._session.headers["User-Agent"] = USER_AGENT

    def show(self, hashed_id: str) -> Shown:
        shown = self._show(hashed_id, self._tokens.token())
        if shown.reply is Reply.UNAUTHORIZED:  # perhaps rotated: once more with a fresh read
            shown = self._show(hashed_id, self._tokens.token(refresh=True))
        return shown

    def _show(self, hashed_id: str, token: str) -> Shown:
        try:
            response = self._session.get(
                self._url + quote(hashed_id, safe=""),
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            return Shown(Reply.ERROR, detail=type(error).__name__)
        return _reply(response)


def _reply(response: requests.Response) -> Shown:
    status = response.status_code
    if status == 200:
        try:
            body = response.json()
        except ValueError:
            return Shown(Reply.ERROR, detail="the answer is not JSON")
        found = wistia_status(body.get("status")) if isinstance(body, dict) else None
        return Shown(Reply.STATUS, found) if found else Shown(Reply.ERROR, detail="no known status")
    if status == 404:
        return Shown(Reply.GONE, MediaStatus.DELETED)
    if status in (429, 503):
        return Shown(Reply.RATE_LIMITED, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    if status in (401, 403):
        return Shown(Reply.UNAUTHORIZED, detail=f"HTTP {status}")
    return Shown(Reply.ERROR, detail=f"HTTP {status}")
