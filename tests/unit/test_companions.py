"""The companions' pure decisions: what lies beside a video, the tag union, the sidecar wait."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from s3_wistia_bridge.companions import (
    Companions,
    Listed,
    beside,
    fingerprint,
    tag_union,
    videos_of,
    wait_left,
)
from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge.errors import PermanentFailure
from s3_wistia_bridge.models import CopyRequest, S3Object
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge.validation import Reason, Rejection
from s3_wistia_bridge.wistia_media import Answer, Reply, WistiaMedia

VIDEOS = frozenset({".mp4", ".mov"})


def _listing(*keys: str) -> list[Listed]:
    return [Listed(key, f"etag-{key}", 10) for key in keys]


def test_beside_prefers_the_full_name_sidecar_and_captions() -> None:
    listing = _listing(
        "v/clip.mp4",
        "v/clip.mov",
        "v/clip.json",
        "v/clip.mp4.json",
        "v/clip.eng.srt",
        "v/clip.mp4.eng.vtt",
        "v/clip.fra.vtt",
        "v/clip.fra.srt",
        "v/clip.mov.deu.srt",
        "v/clip.xx.srt",
        "v/clip.final.eng.srt",
    )
    mp4 = beside("v/clip.mp4", listing, VIDEOS)
    assert mp4.video is not None
    assert mp4.video.key == "v/clip.mp4"
    assert mp4.sidecar is not None
    assert mp4.sidecar.key == "v/clip.mp4.json"
    assert {lang: item.key for lang, item in mp4.captions.items()} == {
        "eng": "v/clip.mp4.eng.vtt",  # the video's full name first, whatever the format
        "fra": "v/clip.fra.srt",  # SRT before WebVTT
    }
    mov = beside("v/clip.mov", listing, VIDEOS)
    assert mov.sidecar is not None
    assert mov.sidecar.key == "v/clip.json"
    assert {lang: item.key for lang, item in mov.captions.items()} == {
        "deu": "v/clip.mov.deu.srt",
        "eng": "v/clip.eng.srt",
        "fra": "v/clip.fra.srt",
    }
    alone = beside("v/other.mp4", listing, VIDEOS)
    assert alone == (None, None, {})


def test_videos_of_a_stem_or_an_exact_key() -> None:
    listing = _listing("v/clip.mp4", "v/clip.mov", "v/clip.mp4.json", "v/clip.txt", "v/clipper.mp4")
    assert [item.key for item in videos_of("v/clip", None, listing, VIDEOS)] == ["v/clip.mov", "v/clip.mp4"]
    assert [item.key for item in videos_of("v/clip", "v/clip.mp4", listing, VIDEOS)] == ["v/clip.mp4"]


def test_the_tag_union() -> None:
    tags = tag_union(
        ["launch", "team=news"],
        {
            "team": "news",
            "draft": "",
            "aws:cloudformation:stack-name": "x",
            "wistia-status": "ready",
            "hid": "a",
        },
        frozenset({"wistia-status", "hid"}),
    )
    assert tags == ["launch", "team=news", "draft"]
    assert fingerprint(tags) == fingerprint(list(tags))
    assert fingerprint(tags) != fingerprint(reversed(tags))


def test_the_sidecar_wait() -> None:
    uploaded = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    at = uploaded.timestamp()
    assert wait_left(uploaded, at + 10, 60) == 50
    assert wait_left(uploaded, at + 61, 60) == 0
    assert wait_left(uploaded, at, 0) == 0
    assert wait_left(None, at, 60) == 0  # the video is gone from the listing: go now


class _ScriptedMedia(WistiaMedia):
    """WistiaMedia whose calls answer from a script, recording what was asked."""

    def __init__(self, *answers: Answer) -> None:
        super().__init__("http://127.0.0.1:1", tokens=None)  # type: ignore[arg-type]
        self.answers = list(answers)
        self.asked: list[tuple[str, str, Any]] = []

    def call(self, method: str, path: str, **kwargs: Any) -> Answer:
        self.asked.append((method, path, kwargs.get("json")))
        return self.answers.pop(0)


def test_put_caption_creates_on_404_and_replaces_after_a_lost_create_race() -> None:
    media = _ScriptedMedia(
        Answer(Reply.NOT_FOUND, http_status=404),
        Answer(Reply.REFUSED, http_status=400),
        Answer(Reply.OK, http_status=200),
    )
    assert media.put_caption("abc123", "eng", "SRT").ok
    assert media.asked == [
        ("PUT", "/medias/abc123/captions/eng", {"caption_file": "SRT"}),
        ("POST", "/medias/abc123/captions", {"caption_file": "SRT", "language": "eng"}),
        ("PUT", "/medias/abc123/captions/eng", {"caption_file": "SRT"}),
    ]
    assert _ScriptedMedia(Answer(Reply.OK, http_status=200)).put_caption("abc123", "eng", "SRT").ok


def test_update_sends_only_the_fields_given() -> None:
    media = _ScriptedMedia(Answer(Reply.OK, http_status=200))
    media.update("abc123", tags=["a"])
    assert media.asked == [("PUT", "/medias/abc123", {"tags": ["a"]})]


class _Folders:
    """A FolderLookup fake (folders.FolderDirectory is wired in by the folder-routing work)."""

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known
        self.asked: list[str] = []

    def folder_id(self, name: str) -> str:
        self.asked.append(name)
        if name not in self.known:
            raise PermanentFailure(FailureReason.FOLDER_MISSING, f"no Wistia folder named {name!r}")
        return self.known[name]


class _Objects:
    """What S3 holds beside the video: a listing and the sidecar's bytes."""

    def __init__(self, sidecar: bytes) -> None:
        self.sidecar = sidecar

    def listing(self, bucket: str, region: str, prefix: str) -> list[Listed]:
        return _listing("v/clip.mp4", "v/clip.mp4.json")

    def read(self, obj: S3Object, limit: int) -> bytes | None:
        return self.sidecar


def _companions(sidecar: bytes, folders: _Folders | None) -> Companions:
    config = BridgeConfig.from_environ(
        {
            "ALLOWED_BUCKETS": "media-uploads-example",
            "ALLOWED_REGIONS": "us-east-1",
            "WISTIA_SECRET_ID": "x",
            "FAILURE_QUEUE_URL": "q",
            "SIDECARS": "on",
            "WISTIA_PROJECT_ID": "routed1",
        }
    )
    return Companions(config, _Objects(sidecar), None, None, folders=folders)  # type: ignore[arg-type]


VIDEO_OBJECT = S3Object("media-uploads-example", "v/clip.mp4", "us-east-1", 10, "etag")
REQUEST = CopyRequest("media-uploads-example", "v/clip.mp4", "us-east-1", "clip.mp4", project_id="routed1")


def test_a_folder_name_is_resolved_through_the_lookup() -> None:
    folders = _Folders({"Marketing": "fold123"})
    request = _companions(b'{"project": {"name": "Marketing"}, "name": "N"}', folders).paired(
        VIDEO_OBJECT, REQUEST
    )
    assert isinstance(request, CopyRequest)
    assert (request.project_id, request.name) == ("fold123", "N")
    assert folders.asked == ["Marketing"]


def test_a_missing_folder_is_folder_missing_and_a_hashed_id_needs_no_lookup() -> None:
    with pytest.raises(PermanentFailure) as raised:
        _companions(b'{"project": {"name": "Nowhere"}}', _Folders({})).paired(VIDEO_OBJECT, REQUEST)
    assert raised.value.reason is FailureReason.FOLDER_MISSING
    folders = _Folders({})
    request = _companions(b'{"project": "abc123"}', folders).paired(VIDEO_OBJECT, REQUEST)
    assert isinstance(request, CopyRequest)
    assert request.project_id == "abc123"
    assert folders.asked == []


def test_without_a_lookup_a_folder_name_is_a_rejection_naming_the_field() -> None:
    answer = _companions(b'{"project": {"name": "Marketing"}}', None).paired(VIDEO_OBJECT, REQUEST)
    assert isinstance(answer, Rejection)
    assert answer.reason is Reason.SIDECAR_INVALID
    assert answer.message.startswith("project.name:")
