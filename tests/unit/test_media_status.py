"""The sweeper's Show Media: each Data API answer one reply the sweeper acts on."""

from __future__ import annotations

import pytest
import responses
from s3_wistia_bridge.lifecycle import MediaStatus
from s3_wistia_bridge.media_status import MediaStatusReader, Reply
from s3_wistia_bridge.wistia_media import WistiaMedia

API = "https://api.wistia.com"
SHOW = f"{API}/modern/medias/abc123"


class Tokens:
    def token(self, *, refresh: bool = False) -> str:
        return "token-0123456789"


def reader() -> MediaStatusReader:
    return MediaStatusReader(WistiaMedia(API, Tokens()))


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "reply", "media_status"),
    [
        (200, {"status": "ready"}, Reply.STATUS, MediaStatus.READY),
        (200, {"status": "processing"}, Reply.STATUS, MediaStatus.PROCESSING),
        (200, {"status": "archived-ish"}, Reply.ERROR, None),
        (200, None, Reply.ERROR, None),
        (404, None, Reply.GONE, MediaStatus.DELETED),
        (429, None, Reply.RATE_LIMITED, None),
        (503, None, Reply.RATE_LIMITED, None),
        (403, None, Reply.UNAUTHORIZED, None),
        (500, None, Reply.ERROR, None),
    ],
)
def test_each_answer_is_one_reply(
    status: int, body: object, reply: Reply, media_status: MediaStatus | None
) -> None:
    responses.get(SHOW, status=status, json=body, headers={"Retry-After": "9"} if status == 429 else {})

    shown = reader().show("abc123")

    assert (shown.reply, shown.status) == (reply, media_status)
    if status == 429:
        assert shown.retry_after == 9


@responses.activate
def test_a_401_reads_the_token_again_once() -> None:
    responses.get(SHOW, status=401)
    responses.get(SHOW, json={"status": "queued"})

    assert reader().show("abc123").status is MediaStatus.QUEUED
    assert len(responses.calls) == 2
