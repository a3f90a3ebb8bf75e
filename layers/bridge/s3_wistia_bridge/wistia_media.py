"""Edits of existing medias on Wistia's current Data API: every answer a value, never a secret.

The ingest path's follow-ups (swap a re-upload into its media, captions, tags, a late sidecar's
title), the sweeper's deletes and the folder routing all speak to `https://api.wistia.com/modern`
(https://docs.wistia.com/reference) with the same Bearer token as the uploads. Each call returns an
`Answer`: the caller decides what a 404 or a 403 means for its own step (a swap whose media is gone
falls back to a new media; a caption PUT on 404 becomes a POST). `failure()` turns an answer into
the bridge's one vocabulary of failures (reasons.FailureReason), with Wistia's message redacted.

These calls need Wistia's "Read, update & delete anything" permission; an upload-only token gets
401/403, `wistia_edit_forbidden`.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import quote

import requests

from .errors import PermanentFailure, TransientFailure
from .reasons import FailureReason
from .wistia import USER_AGENT, error_text, retry_after_seconds
from .wistia import _session as keep_alive_session
from .wistia_token import TokenSource

# Wistia's limit of hashed ids per archive call.
ARCHIVE_BATCH = 100


class Reply(StrEnum):
    OK = "ok"  # 2xx: `body` holds the JSON answer (None for an empty one)
    NOT_FOUND = "not_found"  # 404: the media (or caption language, folder) does not exist
    REFUSED = "refused"  # another 4xx: Wistia will not do it; `http_status` and `detail` say why
    FORBIDDEN = "forbidden"  # 401 or 403, also after re-reading the token
    RATE_LIMITED = "rate_limited"  # 429 or 503: `retry_after` when Wistia gave one
    UNAVAILABLE = "unavailable"  # 5xx, a timeout, a broken connection: may work later


class Answer(NamedTuple):
    reply: Reply
    body: Any = None
    http_status: int | None = None
    detail: str = ""  # Wistia's message (redacted, clipped) or the error's type
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.reply is Reply.OK

    def failure(
        self, what: str, refused: FailureReason = FailureReason.WISTIA_HTTP_ERROR
    ) -> TransientFailure | PermanentFailure:
        """The bridge's failure for an answer that is not OK; `what` names the call for the message,
        `refused` is the reason of a 4xx refusal in the caller's terms."""
        message = f"{what}: HTTP {self.http_status}" if self.http_status else f"{what}: {self.detail}"
        if self.detail and self.http_status:
            message += f": {self.detail}"
        if self.reply in _TRANSIENT:
            reason = _TRANSIENT[self.reply]
            if self.reply is Reply.UNAVAILABLE and not self.http_status:
                reason = FailureReason.WISTIA_CONNECTION_ERROR
            return TransientFailure(
                reason, message, http_status=self.http_status, retry_after=self.retry_after
            )
        reason = _PERMANENT.get(self.reply, refused)
        return PermanentFailure(
            reason, message, http_status=self.http_status, wistia_error=self.detail or None
        )


_TRANSIENT = {
    Reply.RATE_LIMITED: FailureReason.WISTIA_RATE_LIMITED,
    Reply.UNAVAILABLE: FailureReason.WISTIA_SERVER_ERROR,
}
_PERMANENT = {
    Reply.FORBIDDEN: FailureReason.WISTIA_EDIT_FORBIDDEN,
    Reply.NOT_FOUND: FailureReason.WISTIA_NOT_FOUND,
}


class WistiaMedia:
    """The Data API calls on medias and folders, on one keep-alive session (one per container)."""

    def __init__(
        self,
        api_url: str,
        tokens: TokenSource,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/modern"
        self._tokens = tokens
        self._timeout = (connect_timeout, read_timeout)
        self._session = session or keep_alive_session()
        self._session.headers["User-Agent"] = USER_AGENT

    def show(self, hashed_id: str) -> Answer:
        """`GET /modern/medias/{id}` (https://docs.wistia.com/reference/get_medias-mediahashedid)."""
        return self.call("GET", f"/medias/{_segment(hashed_id)}")

    # -- re-uploads and deletes (versions_and_deletes.py) ---------------------------------------

    def swap(self, original: str, replacement: str) -> Answer:
        """`PUT /modern/medias/{original}/swap` with `replacement_media_id`: a background job puts the
        replacement's file in the original's place; the original keeps its hashed_id and embeds
        (https://docs.wistia.com/reference, "swap")."""
        return self.call(
            "PUT", f"/medias/{_segment(original)}/swap", json={"replacement_media_id": replacement}
        )

    def delete(self, hashed_id: str) -> Answer:
        """`DELETE /modern/medias/{id}`: treated as permanent (Wistia's documents disagree on
        whether it can be undone)."""
        return self.call("DELETE", f"/medias/{_segment(hashed_id)}")

    def archive(self, hashed_ids: list[str]) -> Answer:
        """`PUT /modern/medias/archive` with at most ARCHIVE_BATCH hashed ids; 403: the plan has no
        archiving."""
        if not 0 < len(hashed_ids) <= ARCHIVE_BATCH:
            raise ValueError(f"archive takes 1..{ARCHIVE_BATCH} hashed ids, not {len(hashed_ids)}")
        return self.call("PUT", "/medias/archive", json={"hashed_ids": hashed_ids})

    # -- sidecars, captions and tags (r3-companions; docs/sidecars-and-captions.md) --------------

    def update(
        self,
        hashed_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
    ) -> Answer:
        """`PUT /modern/medias/{id}` with the fields given ("Update Media",
        https://docs.wistia.com/reference/put_medias-mediahashedid); `tags` REPLACES the media's."""
        body: dict[str, Any] = {"name": name, "description": description, "tags": tags}
        return self.call(
            "PUT", f"/medias/{_segment(hashed_id)}", json={k: v for k, v in body.items() if v is not None}
        )

    def put_caption(self, hashed_id: str, language: str, srt: str) -> Answer:
        """The media's caption in `language` set to `srt`: replace it (PUT), create it on 404
        (POST; Wistia answers 400 to a create for a language it has), and replace again if a
        concurrent create won that race (https://docs.wistia.com/reference/post_medias-mediahashedid-captions)."""
        path = f"/medias/{_segment(hashed_id)}/captions"
        answer = self.call("PUT", f"{path}/{_segment(language)}", json={"caption_file": srt})
        if answer.reply is not Reply.NOT_FOUND:
            return answer
        created = self.call("POST", path, json={"caption_file": srt, "language": language})
        if created.reply is Reply.REFUSED and created.http_status == 400:
            return self.call("PUT", f"{path}/{_segment(language)}", json={"caption_file": srt})
        return created

    # ------------------------------------------------------------ folders (PROJECT_ROUTING=folders)
    # https://docs.wistia.com/reference/get_folders, https://docs.wistia.com/reference/post_folders

    def list_folders(self, page: int, per_page: int = 100) -> Answer:
        """`GET /modern/folders`: one page, oldest first (sorted by id, ascending), so a folder
        created while the pages are read lands on a later page and none shifts out of view."""
        params = {"page": page, "per_page": per_page, "sort_by": "id", "sort_direction": 1}
        return self.call("GET", "/folders", params=params)

    def folder_pages(self, per_page: int = 100) -> Iterator[Answer]:
        """Every page of the list, the first answer that is not OK last; ends after a short page."""
        page = 1
        while True:
            answer = self.list_folders(page, per_page)
            yield answer
            body = answer.body.get("data") if isinstance(answer.body, dict) else answer.body
            if not answer.ok or not isinstance(body, list) or len(body) < per_page:
                return
            page += 1

    def create_folder(self, name: str) -> Answer:
        """`POST /modern/folders` `{"name": ...}`: 201 with the new folder."""
        return self.call("POST", "/folders", json={"name": name})

    # ------------------------------------------------------------ any call

    def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One request (`json=`, `params=` as requests takes them); on 401 once more with the token
        read again (it may have been rotated)."""
        answer = self._call(method, path, self._tokens.token(), kwargs)
        if answer.reply is Reply.FORBIDDEN and answer.http_status == 401:
            answer = self._call(method, path, self._tokens.token(refresh=True), kwargs)
        return answer

    def _call(self, method: str, path: str, token: str, kwargs: dict[str, Any]) -> Answer:
        try:
            response = self._session.request(
                method,
                self._base + path,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as error:
            return Answer(Reply.UNAVAILABLE, detail=type(error).__name__)
        return _answer(response, token)


def _segment(value: str) -> str:
    """A path segment: a hashed id or language code can never add a path of its own."""
    return quote(value, safe="")


def _answer(response: requests.Response, token: str) -> Answer:
    status = response.status_code
    if 200 <= status < 300:
        return Answer(Reply.OK, _json_or_none(response), status)
    text, _ = error_text(response, token)
    detail = text or ""
    if status in (429, 503):
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return Answer(Reply.RATE_LIMITED, None, status, detail, retry_after)
    if status >= 500 or status == 408:
        return Answer(Reply.UNAVAILABLE, None, status, detail)
    if status in (401, 403):
        return Answer(Reply.FORBIDDEN, None, status, detail)
    if status == 404:
        return Answer(Reply.NOT_FOUND, None, status, detail)
    return Answer(Reply.REFUSED, None, status, detail)


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
