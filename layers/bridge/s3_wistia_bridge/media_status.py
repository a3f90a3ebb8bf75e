"""Show Media of Wistia's current Data API: a media's status, for the sweeper.

`GET {api}/modern/medias/{hashed_id}` (https://docs.wistia.com/reference/get_medias-mediahashedid)
answers the media with its `status` (queued | processing | ready | failed); 404 means it no longer
exists. The answer is a value, never an exception: the sweeper decides what each one means for the
run (a 429 or 503 ends it, to leave the account's rate limit to the ingest path).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

from .lifecycle import MediaStatus, wistia_status
from .wistia_media import Answer, WistiaMedia
from .wistia_media import Reply as Answered


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
    """Show Media on the container's Data API client (wistia_media.py: its session, its token
    re-read on a 401)."""

    def __init__(self, media: WistiaMedia) -> None:
        self._media = media

    def show(self, hashed_id: str) -> Shown:
        return _shown(self._media.show(hashed_id))


def _shown(answer: Answer) -> Shown:
    if answer.reply is Answered.OK:
        return _status_of(answer.body)
    if answer.reply is Answered.NOT_FOUND:
        return Shown(Reply.GONE, MediaStatus.DELETED)
    if answer.reply is Answered.RATE_LIMITED:
        return Shown(Reply.RATE_LIMITED, retry_after=answer.retry_after)
    if answer.reply is Answered.FORBIDDEN:
        return Shown(Reply.UNAUTHORIZED, detail=f"HTTP {answer.http_status}")
    return Shown(Reply.ERROR, detail=f"HTTP {answer.http_status}" if answer.http_status else answer.detail)


def _status_of(body: Any) -> Shown:
    if not isinstance(body, dict):
        return Shown(Reply.ERROR, detail="the answer is not JSON")
    found = wistia_status(body.get("status"))
    return Shown(Reply.STATUS, found) if found else Shown(Reply.ERROR, detail="no known status")
