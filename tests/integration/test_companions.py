"""Sidecars, captions and tags through the real handler: moto (S3, DynamoDB, SQS) and the emulator.

Each test delivers S3 events as direct delivery does (a transient failure is raised, as Lambda's
async retry would see it) and checks what Wistia got: one media per video, with the sidecar's
metadata, its captions and its tags, whatever the order of arrival.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from s3_wistia_bridge.errors import TransientFailure
from wistia_emulator import FaultRule

from tests.conftest import LambdaContextStub, load_event
from tests.lifecycle.conftest import LEDGER_TABLE, create_ledger_table

from .conftest import BUCKET, Stack, s3_event
from .test_exactly_once import Buffered

pytestmark = pytest.mark.integration

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
SIDECAR = {
    "name": "Spring launch",
    "description": "The keynote, <b>cut 2</b>",
    "project": "sidecarproj7",
    "tags": ["launch", "keynote"],
    "custom_fields": {"campaign": "spring-26"},
}
SRT = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n\n"
VTT = b"WEBVTT\n\nNOTE from the editor\n\ncue-1\n00:01.000 --> 00:02.500 align:start\n<v Ann>Bonjour\n"


class Companions:
    """The handler with sidecars, captions and tags on, and what it did."""

    def __init__(self, stack: Stack, app: ModuleType) -> None:
        self.stack, self.app = stack, app

    def put(self, key: str, body: bytes, tags: str | None = None) -> dict[str, Any]:
        extra = {"Tagging": tags} if tags else {}
        self.stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body, **extra)
        head = self.stack.s3.head_object(Bucket=BUCKET, Key=key)
        return s3_event(key, size=len(body), etag=head["ETag"].strip('"'))

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """The object's report, or {"outcome": "transient", "reason": ...} when it is retried."""
        try:
            result = self.app.lambda_handler(event, LambdaContextStub())
        except TransientFailure as failure:
            return {
                "outcome": "transient",
                "reason": failure.reason.value,
                "retry_after": failure.retry_after,
            }
        reports: list[dict[str, Any]] = result["objects"]
        assert len(reports) == 1
        return reports[0]

    def medias(self) -> list[dict[str, Any]]:
        return self.stack.emulator.medias()

    def media(self) -> dict[str, Any]:
        medias = self.medias()
        assert len(medias) == 1, medias
        return self.stack.emulator.media(medias[0]["hashed_id"])

    def calls(self, method: str, fragment: str) -> list[dict[str, Any]]:
        return [r for r in self.stack.emulator.requests() if r["method"] == method and fragment in r["path"]]

    def copies(self) -> int:
        return len(self.calls("POST", "s3_copy"))

    def ledger_item(self, key: str) -> dict[str, Any]:
        items = self.stack.dynamodb.query(
            TableName=LEDGER_TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{BUCKET}/{key}"}},
        )["Items"]
        assert len(items) == 1, items
        return dict(items[0])


Make = Callable[..., Companions]


@pytest.fixture
def companions(stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]) -> Make:
    create_ledger_table(stack.dynamodb)

    def make(wait: int = 60, **env: str) -> Companions:
        settings = {
            "LEDGER_TABLE": LEDGER_TABLE,
            "SIDECARS": "on",
            "SIDECAR_WAIT_SECONDS": str(wait),
            "CAPTIONS": "on",
            "COPY_OBJECT_TAGS": "true",
            "WRITE_BACK_TAG_KEY": "wistia-hashed-id",
        }
        return Companions(stack, load_app(stack.env | settings | env))

    return make


def _json(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8")


def _assert_sidecar_metadata(media: dict[str, Any]) -> None:
    assert media["name"] == SIDECAR["name"]
    assert media["description"] == SIDECAR["description"]
    assert media["project"]["hashed_id"] == SIDECAR["project"]


def test_sidecar_before_the_video(companions: Make) -> None:
    bridge = companions()
    first = bridge.deliver(bridge.put("v/clip.mp4.json", _json(SIDECAR)))
    assert first["outcome"] == "skipped"
    assert first["reason"] == "sidecar_stored"
    video_event = bridge.put("v/clip.mp4", VIDEO, tags="team=news&draft=&wistia-status=ready")
    report = bridge.deliver(video_event)
    assert report["outcome"] == "copied"
    media = bridge.media()
    _assert_sidecar_metadata(media)
    # The sidecar's tags, then the object's (key=value); never the bridge's lifecycle tag.
    assert media["tags"] == ["launch", "keynote", "draft", "team=news"]
    item = bridge.ledger_item("v/clip.mp4")
    assert item["custom_fields"] == {"M": {"campaign": {"S": "spring-26"}}}
    assert item["name"] == {"S": SIDECAR["name"]}
    assert "tags_sent" in item
    # A duplicate delivery of the video sends nothing to Wistia.
    before = len(bridge.stack.emulator.requests())
    assert bridge.deliver(video_event)["outcome"] == "duplicate"
    assert len(bridge.stack.emulator.requests()) == before


def test_sidecar_after_the_video_completes_the_pair(companions: Make) -> None:
    bridge = companions(wait=60)
    video_event = bridge.put("v/clip.mp4", VIDEO)
    waiting = bridge.deliver(video_event)
    assert waiting["outcome"] == "transient"
    assert waiting["reason"] == "sidecar_pending"
    assert 50 <= waiting["retry_after"] <= 62  # the message comes back when the wait is over
    assert bridge.medias() == []
    paired = bridge.deliver(bridge.put("v/clip.json", _json(SIDECAR)))  # the stem's sidecar
    assert paired["outcome"] == "copied"
    assert paired["uri"] == f"s3://{BUCKET}/v/clip.mp4"
    _assert_sidecar_metadata(bridge.media())
    # The video's own retry: the duplicate answer, no second copy, no second tags PUT.
    puts = len(bridge.calls("PUT", "/modern/medias/"))
    assert bridge.deliver(video_event)["outcome"] == "duplicate"
    assert bridge.copies() == 1
    assert len(bridge.calls("PUT", "/modern/medias/")) == puts


def test_no_sidecar_within_the_wait_the_video_goes_with_what_is_known(companions: Make) -> None:
    bridge = companions(wait=1)
    event = bridge.put("v/clip.mp4", VIDEO)
    time.sleep(2.1)  # S3's LastModified has whole seconds
    assert bridge.deliver(event)["outcome"] == "copied"
    media = bridge.media()
    assert media["name"] == "clip.mp4"
    assert media["tags"] == []
    assert bridge.calls("PUT", "/modern/medias/") == []  # no tags: nothing to update


def test_a_late_sidecar_updates_the_media_once(companions: Make) -> None:
    bridge = companions(wait=0)
    bridge.deliver(bridge.put("v/clip.mp4", VIDEO, tags="team=news"))
    hashed_id = bridge.medias()[0]["hashed_id"]
    sidecar_event = bridge.put("v/clip.mp4.json", _json(SIDECAR))
    report = bridge.deliver(sidecar_event)
    assert report == {
        "outcome": "updated",
        "uri": f"s3://{BUCKET}/v/clip.mp4.json",
        "reason": "sidecar_applied",
        "hashed_id": hashed_id,
    }
    media = bridge.media()
    assert media["name"] == SIDECAR["name"]
    assert media["description"] == SIDECAR["description"]
    assert media["tags"] == ["launch", "keynote", "team=news"]
    assert bridge.copies() == 1
    updates = bridge.calls("PUT", f"/modern/medias/{hashed_id}")
    assert len(updates) == 2  # the video's object tags after its copy, then the sidecar
    assert bridge.deliver(sidecar_event)["outcome"] == "updated"  # a duplicate delivery
    assert len(bridge.calls("PUT", f"/modern/medias/{hashed_id}")) == 2


def test_an_invalid_sidecar_rejects_the_video_until_it_is_fixed(companions: Make) -> None:
    bridge = companions(wait=0)
    bad = bridge.deliver(bridge.put("v/clip.mp4.json", b'{"name": "x", "tags": "launch"}'))
    assert bad["outcome"] == "rejected"
    assert bad["reason"] == "sidecar_invalid"
    assert "tags" in bad["message"]
    video = bridge.deliver(bridge.put("v/clip.mp4", VIDEO))
    assert video["outcome"] == "rejected"
    assert video["reason"] == "sidecar_invalid"
    assert "clip.mp4.json" in video["message"]
    assert bridge.medias() == []
    fixed = bridge.deliver(bridge.put("v/clip.mp4.json", _json(SIDECAR)))
    assert fixed["outcome"] == "copied"
    _assert_sidecar_metadata(bridge.media())


def test_the_full_name_sidecar_wins_over_the_stem_one(companions: Make) -> None:
    bridge = companions(wait=0)
    bridge.put("v/clip.json", _json({"name": "from the stem"}))
    bridge.put("v/clip.mp4.json", _json({"name": "from the full name"}))
    assert bridge.deliver(bridge.put("v/clip.mp4", VIDEO))["outcome"] == "copied"
    assert bridge.media()["name"] == "from the full name"
    # The stem's sidecar changing later is not this video's sidecar: nothing sent.
    later = bridge.deliver(bridge.put("v/clip.json", _json({"name": "stem again"})))
    assert later["outcome"] == "skipped"
    assert bridge.media()["name"] == "from the full name"


def test_a_caption_lands_on_its_media_put_then_post_then_replaced(companions: Make) -> None:
    bridge = companions(wait=0)
    bridge.deliver(bridge.put("v/clip.mp4", VIDEO))
    hashed_id = bridge.medias()[0]["hashed_id"]
    caption_event = bridge.put("v/clip.eng.srt", SRT)
    assert bridge.deliver(caption_event) == {
        "outcome": "updated",
        "uri": f"s3://{BUCKET}/v/clip.eng.srt",
        "reason": "caption_sent",
        "hashed_id": hashed_id,
    }
    calls = [(r["method"], r["status"]) for r in bridge.stack.emulator.requests() if "/captions" in r["path"]]
    assert calls == [("PUT", 404), ("POST", 200)]
    assert "Hello" in bridge.media()["captions"]["eng"]["text"]
    assert bridge.deliver(caption_event)["outcome"] == "updated"  # duplicate: nothing sent
    assert len(bridge.calls("PUT", "/captions")) == 1
    changed = bridge.put("v/clip.eng.srt", SRT.replace(b"Hello", b"Hello again"))
    assert bridge.deliver(changed)["outcome"] == "updated"
    assert [r["status"] for r in bridge.calls("PUT", "/captions")] == [404, 200]
    assert "Hello again" in bridge.media()["captions"]["eng"]["text"]


def test_a_vtt_caption_is_converted_and_two_letter_codes_mapped(companions: Make) -> None:
    bridge = companions(wait=0)
    bridge.deliver(bridge.put("v/clip.mp4", VIDEO))
    assert bridge.deliver(bridge.put("v/clip.mp4.fr.vtt", VTT))["outcome"] == "updated"
    caption = bridge.media()["captions"]["fra"]["text"]
    assert "00:00:01,000 --> 00:00:02,500" in caption
    assert "Bonjour" in caption
    assert "WEBVTT" not in caption


def test_a_caption_before_its_media_is_retried_then_sent_after_the_copy(companions: Make) -> None:
    bridge = companions(wait=60)
    video_event = bridge.put("v/clip.mp4", VIDEO)
    caption_event = bridge.put("v/clip.deu.srt", SRT)
    early = bridge.deliver(caption_event)
    assert early["outcome"] == "transient"
    assert early["reason"] == "media_not_yet_copied"
    assert bridge.deliver(video_event)["reason"] == "sidecar_pending"
    # The sidecar completes the pair; the copy's follow-ups send the caption beside it.
    assert (
        bridge.deliver(bridge.put("v/clip.mp4.json", _json({"name": "With captions"})))["outcome"] == "copied"
    )
    media = bridge.media()
    assert "deu" in media["captions"]
    assert bridge.deliver(caption_event)["outcome"] == "updated"  # the caption's retry: already sent
    assert len(bridge.calls("POST", "/captions")) == 1
    assert bridge.copies() == 1


def test_a_caption_without_its_video_is_kept_for_it(companions: Make) -> None:
    bridge = companions(wait=0)
    stored = bridge.deliver(bridge.put("v/clip.eng.srt", SRT))
    assert stored["outcome"] == "skipped"
    assert stored["reason"] == "caption_stored"
    assert bridge.deliver(bridge.put("v/clip.mov", VIDEO))["outcome"] == "copied"
    assert "eng" in bridge.media()["captions"]


@pytest.mark.parametrize(
    ("key", "body", "message"),
    [
        ("v/clip.eng.srt", b"not a caption\n", "not a timing line"),
        ("v/clip.xx.srt", SRT, "'xx'"),
        ("v/clip.eng.vtt", b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_an_invalid_caption_is_a_replayable_failure_record(
    companions: Make, key: str, body: bytes, message: str
) -> None:
    bridge = companions(wait=0)
    bridge.deliver(bridge.put("v/clip.mp4", VIDEO))
    report = bridge.deliver(bridge.put(key, body))
    assert report["outcome"] == "permanent_failure"
    assert report["reason"] == "caption_invalid"
    assert message in report["message"]
    assert bridge.calls("PUT", "/captions") == []
    records = bridge.stack.failure_records()
    assert [record["reason"] for record in records] == ["caption_invalid"]
    assert records[0]["event"]["Records"][0]["s3"]["object"]["key"] == key


def test_an_invalid_caption_beside_a_video_fails_alone_and_the_media_stays(companions: Make) -> None:
    bridge = companions(wait=0)
    bridge.put("v/clip.eng.srt", b"1\n00:00:09,000 --> 00:00:01,000\nbackwards\n")
    assert bridge.deliver(bridge.put("v/clip.mp4", VIDEO))["outcome"] == "copied"
    assert len(bridge.medias()) == 1
    records = bridge.stack.failure_records()
    assert [record["reason"] for record in records] == ["caption_invalid"]
    assert records[0]["object"]["key"] == "v/clip.eng.srt"


def test_a_transient_follow_up_failure_does_not_repeat_the_copy(companions: Make) -> None:
    bridge = companions(wait=0)
    bridge.put("v/clip.eng.srt", SRT)
    bridge.stack.emulator.add_rule(FaultRule(503, path_pattern="/modern/medias/[^/]+/captions.*", times=1))
    event = bridge.put("v/clip.mp4", VIDEO, tags="team=news")
    failed = bridge.deliver(event)
    assert failed["outcome"] == "transient"
    assert failed["reason"] == "wistia_rate_limited"
    assert bridge.media()["tags"] == ["team=news"]  # the tags went before the caption failed
    again = bridge.deliver(event)
    assert again["outcome"] == "duplicate"
    assert bridge.copies() == 1
    assert "eng" in bridge.media()["captions"]
    assert len(bridge.calls("PUT", "/modern/medias/")) - len(bridge.calls("PUT", "/captions")) == 1


def test_off_by_default_companion_keys_are_rejected_as_before(stack: Stack, load_app: Any) -> None:
    app = load_app(stack.env)
    bridge = Companions(stack, app)
    report = bridge.deliver(bridge.put("v/clip.mp4.json", _json(SIDECAR)))
    assert report["reason"] == "extension_not_allowed"
    assert bridge.deliver(bridge.put("v/clip.eng.srt", SRT))["reason"] == "extension_not_allowed"


def test_a_sidecar_folder_name_is_looked_up_in_wistia_and_a_missing_one_fails_the_video(
    companions: Make,
) -> None:
    bridge = companions(wait=0)
    [folder] = bridge.stack.emulator.seed_folders(["Marketing"])
    bridge.put("v/clip.mp4.json", _json({"project": {"name": "Marketing"}}))
    assert bridge.deliver(bridge.put("v/clip.mp4", VIDEO))["outcome"] == "copied"
    assert bridge.media()["project"]["hashed_id"] == folder["hashed_id"]
    bridge.put("v/other.mp4.json", _json({"project": {"name": "Nowhere"}}))
    failed = bridge.deliver(bridge.put("v/other.mp4", VIDEO))
    assert (failed["outcome"], failed["reason"]) == ("permanent_failure", "folder_missing")
    assert len(bridge.medias()) == 1
    assert [record["reason"] for record in bridge.stack.failure_records()] == ["folder_missing"]


def test_a_caption_of_a_rejected_video_waits_for_its_copy_without_retrying(companions: Make) -> None:
    bridge = companions(wait=0)
    bridge.put("v/clip.mp4.json", b"[]")  # invalid: the video is rejected
    assert bridge.deliver(bridge.put("v/clip.mp4", VIDEO))["reason"] == "sidecar_invalid"
    stored = bridge.deliver(bridge.put("v/clip.eng.srt", SRT))
    assert stored["outcome"] == "skipped"
    assert stored["reason"] == "caption_stored"
    # The fixed sidecar copies the video, whose follow-ups send the caption.
    assert bridge.deliver(bridge.put("v/clip.mp4.json", _json({"name": "Fixed"})))["outcome"] == "copied"
    media = bridge.media()
    assert media["name"] == "Fixed"
    assert "eng" in media["captions"]


def test_buffered_the_waiting_video_comes_back_when_the_wait_is_over(companions: Make) -> None:
    bridge = companions(wait=2)
    queue = Buffered(bridge.stack, bridge.app)
    event = bridge.put("v/clip.mp4", VIDEO)
    assert queue.deliver(event) == "transient"
    assert queue.receive() == []  # hidden for the rest of the wait, not the queue's backoff
    time.sleep(4.2)  # the wait, S3's whole-second LastModified, and the one second added
    assert queue.deliver(event) == "done"
    assert bridge.media()["name"] == "clip.mp4"


@pytest.mark.parametrize(
    "key_in_event", ["v/a test+1.mp4.json", "v/a+test%2B1.mp4.json"], ids=["raw", "encoded"]
)
def test_an_eventbridge_sidecar_is_read_under_the_key_s3_has(companions: Make, key_in_event: str) -> None:
    bridge = companions(wait=0)
    bridge.put("v/a test+1.mp4", VIDEO)
    bridge.put("v/a test+1.mp4.json", _json({"name": "Plus and space"}))
    head = bridge.stack.s3.head_object(Bucket=BUCKET, Key="v/a test+1.mp4.json")
    event = copy.deepcopy(load_event("eventbridge-object-created.json"))
    event["detail"]["bucket"]["name"] = BUCKET
    event["detail"]["object"] = {
        "key": key_in_event,
        "size": head["ContentLength"],
        "etag": head["ETag"].strip('"'),
    }
    assert bridge.deliver(event)["outcome"] == "copied"
    assert bridge.media()["name"] == "Plus and space"


def test_under_replace_a_new_versions_captions_and_late_sidecar_go_to_the_media_embeds_show(
    companions: Make,
) -> None:
    bridge = companions(wait=0, OVERWRITE_POLICY="replace")
    bridge.deliver(bridge.put("v/clip.mp4", VIDEO))
    [embedded] = [media["hashed_id"] for media in bridge.medias()]
    bridge.put("v/clip.eng.srt", SRT)  # beside the video before its new version arrives

    second = bridge.deliver(bridge.put("v/clip.mp4", VIDEO + b"cut 2"))

    assert second["outcome"] == "copied"
    replacement = second["hashed_id"]
    assert replacement != embedded
    assert [r["path"] for r in bridge.calls("PUT", "/swap")] == [f"/modern/medias/{embedded}/swap"]
    caption_paths = {r["path"] for r in bridge.stack.emulator.requests() if "/captions" in r["path"]}
    assert caption_paths <= {f"/modern/medias/{embedded}/captions", f"/modern/medias/{embedded}/captions/eng"}
    assert "Hello" in bridge.stack.emulator.media(embedded)["captions"]["eng"]["text"]
    assert not bridge.stack.emulator.media(replacement).get("captions")

    late = bridge.deliver(bridge.put("v/clip.mp4.json", _json({"name": "Cut 2"})))

    assert (late["outcome"], late["hashed_id"]) == ("updated", embedded)
    assert bridge.stack.emulator.media(embedded)["name"] == "Cut 2"
    assert bridge.copies() == 2
