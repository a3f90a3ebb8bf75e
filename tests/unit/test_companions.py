"""The companions' pure decisions: what lies beside a video, the tag union, the sidecar wait."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from s3_wistia_bridge.companions import Listed, beside, fingerprint, tag_union, videos_of, wait_left
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
