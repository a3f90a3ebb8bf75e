"""Event intake: every envelope in events/ and every malformed shape, parsed without I/O."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.events import decode_key, is_sqs_batch, parse_event, parse_sqs_body
from s3_wistia_bridge.models import MalformedEvent, RemovedObject, S3Object, SkippedEvent

from tests.unit.conftest import BUCKET, REGION, read_event, s3_record


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def only_object(event: Any) -> S3Object:
    item = only(parse_event(event))
    assert isinstance(item, S3Object), item
    return item


def only_malformed(event: Any) -> MalformedEvent:
    item = only(parse_event(event))
    assert isinstance(item, MalformedEvent), item
    return item


def wrap_on_failure(payload: Any) -> dict[str, Any]:
    record: dict[str, Any] = read_event("on-failure-record.json")
    record["requestPayload"] = payload
    return record


# --- S3 notifications -------------------------------------------------------------------------


def test_s3_put_gives_one_object_with_every_field(load_event):
    obj = only_object(load_event("s3-put.json"))

    assert obj == S3Object(
        bucket=BUCKET,
        key="videos/product launch teaser.mp4",
        region=REGION,
        size=10485760,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
        sequencer="0062E99A88DC407460",
        event_name="ObjectCreated:Put",
        event_id=None,
    )
    assert obj.uri == "s3://media-uploads-example/videos/product launch teaser.mp4"
    assert obj.version == "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"


def test_multiple_records_keep_their_order():
    items = parse_event(read_event("s3-multiple-records.json"))

    assert all(isinstance(item, S3Object) for item in items)
    assert [(o.key, o.size, o.version_id) for o in items if isinstance(o, S3Object)] == [
        ("videos/episode-01.mp4", 52428800, "v1.ep01"),
        ("videos/episode-02.mov", 73400320, "v1.ep02"),
        ("videos/behind the scenes.m4v", 31457280, "v1.bts"),
    ]


def test_multipart_upload_is_an_object_creation():
    obj = only_object(read_event("s3-multipart.json"))
    assert obj.event_name == "ObjectCreated:CompleteMultipartUpload"
    assert obj.key == "videos/keynote-4k.mp4"
    assert obj.size == 5368709120
    assert obj.etag == "4af981f98d22a0b9979da24b259e5e42-640"


def test_copy_is_an_object_creation():
    obj = only_object(read_event("s3-copy.json"))
    assert obj.event_name == "ObjectCreated:Copy"
    assert obj.key == "videos/archive/webinar-2024.mp4"


def test_s3_delete_is_a_removal_skipped_as_before_under_delete_policy_ignore():
    item = only(parse_event(read_event("s3-delete.json")))
    assert isinstance(item, RemovedObject)
    assert item.skipped() == SkippedEvent("not_object_created", "event ObjectRemoved:Delete")


def test_s3_test_event_is_skipped_and_names_the_bucket():
    item = only(parse_event(read_event("s3-test-event.json")))
    assert isinstance(item, SkippedEvent)
    assert item.reason == "s3_test_event"
    assert "media-uploads-example" in item.detail


def test_other_non_creation_events_in_a_batch_are_skipped_individually():
    event = {
        "Records": [
            s3_record("videos/a.mp4"),
            s3_record("videos/b.mp4", event_name="ObjectRestore:Completed"),
            s3_record("videos/c.mp4", event_name="ObjectTagging:Put"),
            s3_record("videos/d.mp4", event_name="ObjectCreated:Post"),
        ]
    }
    items = parse_event(event)
    assert [type(item).__name__ for item in items] == ["S3Object", "SkippedEvent", "SkippedEvent", "S3Object"]
    assert [item.key for item in items if isinstance(item, S3Object)] == ["videos/a.mp4", "videos/d.mp4"]


def test_missing_optional_fields_become_none():
    record = s3_record("videos/a.mp4")
    for name in ("size", "eTag", "versionId", "sequencer"):
        del record["s3"]["object"][name]
    obj = only_object({"Records": [record]})
    assert (obj.size, obj.etag, obj.version_id, obj.sequencer) == (None, None, None, None)
    assert obj.version is None


def test_empty_or_non_string_optional_texts_become_none():
    record = s3_record("videos/a.mp4")
    record["s3"]["object"].update({"eTag": "", "versionId": 7, "sequencer": None})
    obj = only_object({"Records": [record]})
    assert (obj.etag, obj.version_id, obj.sequencer) == (None, None, None)


def test_version_falls_back_to_etag_when_unversioned():
    record = s3_record("videos/a.mp4")
    del record["s3"]["object"]["versionId"]
    assert only_object({"Records": [record]}).version == "d41d8cd98f00b204e9800998ecf8427e"


def test_zero_size_is_kept_for_validation_to_reject():
    assert only_object({"Records": [s3_record("videos/", size=0)]}).size == 0


# --- EventBridge ------------------------------------------------------------------------------


def test_eventbridge_object_created_gives_one_object_with_every_field():
    event = read_event("eventbridge-object-created.json")
    obj = only_object(event)

    assert obj == S3Object(
        bucket=BUCKET,
        key="videos/launch teaser.mp4",
        region="us-east-1",
        size=5242880,
        etag="b1946ac92492d2347c6235b4d2611184",
        version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        sequencer="00617F08299329D189",
        event_name="ObjectCreated:PutObject",
        event_id="17793124-05d4-b198-2fde-7ededc63b103",
        raw_key="videos/launch+teaser.mp4",  # EventBridge keys may be raw: S3 is asked which exists
    )
    assert obj.source_event == event


@pytest.mark.parametrize(
    ("key", "decoded", "raw_key"),
    [
        ("videos/plain.mp4", "videos/plain.mp4", None),
        ("videos/a+b.mp4", "videos/a b.mp4", "videos/a+b.mp4"),
        ("videos/100%25.mp4", "videos/100%.mp4", "videos/100%25.mp4"),
        ("videos/50%off.mp4", "videos/50%off.mp4", None),  # not an escape: the key itself
        ("videos/%ff.mp4", "videos/%ff.mp4", None),  # not UTF-8 once decoded: the key itself
    ],
)
def test_an_eventbridge_key_keeps_its_raw_form_when_decoding_changes_it(key, decoded, raw_key):
    event = read_event("eventbridge-object-created.json")
    event["detail"]["object"]["key"] = key
    obj = only_object(event)
    assert (obj.key, obj.raw_key) == (decoded, raw_key)
    assert [candidate.key for candidate in obj.key_candidates()] == (
        [raw_key, decoded] if raw_key else [decoded]
    )


def test_a_notification_key_is_decoded_once_and_keeps_no_raw_form():
    [obj] = parse_event(read_event("s3-key-plus-and-space.json"))
    assert isinstance(obj, S3Object)
    assert obj.raw_key is None


def test_eventbridge_region_comes_from_the_event():
    event = read_event("eventbridge-object-created.json")
    event["region"] = "eu-central-1"
    assert only_object(event).region == "eu-central-1"


@pytest.mark.parametrize("reason", ["CompleteMultipartUpload", "CopyObject", "PostObject"])
def test_eventbridge_reason_becomes_the_event_name(reason):
    event = read_event("eventbridge-object-created.json")
    event["detail"]["reason"] = reason
    assert only_object(event).event_name == f"ObjectCreated:{reason}"


def test_eventbridge_without_reason_or_id_still_parses():
    event = read_event("eventbridge-object-created.json")
    del event["detail"]["reason"]
    event["id"] = 12345
    obj = only_object(event)
    assert obj.event_name == "ObjectCreated"
    assert obj.event_id is None


def test_eventbridge_object_deleted_is_a_removal_skipped_as_before_under_delete_policy_ignore():
    item = only(parse_event(read_event("eventbridge-object-deleted.json")))
    assert isinstance(item, RemovedObject)
    skipped = item.skipped()
    assert skipped.reason == "not_object_created"
    assert "Object Deleted" in skipped.detail


def test_eventbridge_without_bucket_or_object_is_malformed():
    event = read_event("eventbridge-object-created.json")
    del event["detail"]["bucket"]
    assert "detail.bucket.name" in only_malformed(event).detail
    event = read_event("eventbridge-object-created.json")
    event["detail"]["object"] = "videos/a.mp4"
    assert "detail.object" in only_malformed(event).detail


def test_eventbridge_without_region_is_malformed():
    event = read_event("eventbridge-object-created.json")
    del event["region"]
    assert only_malformed(event).detail == "event has no region"


# --- on-failure destination records ---------------------------------------------------------


def test_on_failure_record_is_unwrapped_to_the_original_event():
    record = read_event("on-failure-record.json")
    obj = only_object(record)
    assert obj.key == "videos/retried upload.mp4"
    assert obj.sequencer == "0062E99F33CC44DD55"
    # The replayable event is the original notification, not the failure record around it.
    assert obj.source_event == record["requestPayload"]


def test_on_failure_record_wrapping_an_eventbridge_event_is_unwrapped():
    inner = read_event("eventbridge-object-created.json")
    obj = only_object(wrap_on_failure(inner))
    assert obj.event_id == inner["id"]


def test_on_failure_record_nested_twice_is_unwrapped():
    twice = wrap_on_failure(wrap_on_failure(read_event("s3-put.json")))
    assert only_object(twice).key == "videos/product launch teaser.mp4"


def test_on_failure_record_nested_three_times_is_still_unwrapped():
    thrice = wrap_on_failure(wrap_on_failure(wrap_on_failure(read_event("s3-put.json"))))
    assert only_object(thrice).key == "videos/product launch teaser.mp4"


def test_on_failure_record_nested_too_deeply_is_malformed():
    event: Any = read_event("s3-put.json")
    for _ in range(4):
        event = wrap_on_failure(event)
    assert only_malformed(event).detail == "on-failure records nested too deeply"


def test_on_failure_record_around_a_test_event_is_skipped():
    item = only(parse_event(wrap_on_failure(read_event("s3-test-event.json"))))
    assert isinstance(item, SkippedEvent)
    assert item.reason == "s3_test_event"


def test_request_payload_without_request_context_is_not_unwrapped():
    event = {"requestPayload": read_event("s3-put.json")}
    assert "not an S3, EventBridge, SQS or on-failure event" in only_malformed(event).detail


def test_a_bridge_failure_record_is_unwrapped_to_its_event():
    # A dead-letter queue redrive (StartMessageMoveTask) moves the bridge's records to the ingest queue.
    inner = read_event("s3-put.json")
    record = {"type": "s3-wistia-bridge.failure", "reason": "wistia_video_limit", "event": inner}
    obj = only_object(record)
    assert obj.key == "videos/product launch teaser.mp4"
    assert obj.source_event == inner  # a new record would carry the event, not the old record


def test_a_bridge_failure_record_without_an_event_is_malformed():
    record = {"type": "s3-wistia-bridge.failure", "reason": "malformed_event", "event": "junk"}
    assert "not an S3, EventBridge, SQS or on-failure event" in only_malformed(record).detail


# --- SQS --------------------------------------------------------------------------------------


def test_sqs_batch_is_recognised():
    assert is_sqs_batch(read_event("sqs-s3-notification.json"))


@pytest.mark.parametrize(
    "name", ["s3-put.json", "eventbridge-object-created.json", "on-failure-record.json", "s3-test-event.json"]
)
def test_other_envelopes_are_not_sqs_batches(name):
    assert not is_sqs_batch(read_event(name))


@pytest.mark.parametrize("event", [None, [], "Records", {"Records": []}, {"Records": "x"}, {"Records": [1]}])
def test_odd_values_are_not_sqs_batches(event):
    assert not is_sqs_batch(event)


def test_mixed_sources_are_not_an_sqs_batch():
    batch = read_event("sqs-s3-notification.json")
    batch["Records"].append(s3_record("videos/a.mp4"))
    assert not is_sqs_batch(batch)


def test_sqs_message_body_with_an_s3_notification_gives_its_object():
    message = read_event("sqs-s3-notification.json")["Records"][0]
    obj = only(parse_sqs_body(message["body"]))
    assert isinstance(obj, S3Object)
    assert obj.key == "videos/from the queue.mp4"
    assert obj.size == 20971520
    assert obj.source_event == json.loads(message["body"])


def test_sqs_message_body_with_a_test_event_is_skipped():
    message = read_event("sqs-s3-notification.json")["Records"][1]
    item = only(parse_sqs_body(message["body"]))
    assert isinstance(item, SkippedEvent)
    assert item.reason == "s3_test_event"


def test_sqs_message_body_with_an_eventbridge_event_gives_its_object():
    body = json.dumps(read_event("eventbridge-object-created.json"))
    item = only(parse_sqs_body(body))
    assert isinstance(item, S3Object)
    assert item.key == "videos/launch teaser.mp4"


def test_sqs_message_body_that_is_not_json_is_malformed():
    item = only(parse_sqs_body("hello from a producer"))
    assert isinstance(item, MalformedEvent)
    assert item.detail.startswith("SQS message body is not JSON")
    assert item.payload == "hello from a producer"


def test_sqs_message_body_that_is_not_a_string_is_malformed():
    item = only(parse_sqs_body({"Records": []}))
    assert isinstance(item, MalformedEvent)
    assert item.detail == "SQS message body is not a string"


def test_sqs_message_body_that_is_a_json_scalar_is_malformed():
    item = only(parse_sqs_body("42"))
    assert isinstance(item, MalformedEvent)
    assert item.detail == "event is not a JSON object"


def test_sqs_batch_given_to_parse_event_whole_is_malformed():
    detail = only_malformed(read_event("sqs-s3-notification.json")).detail
    assert detail == "an SQS batch must be processed message by message"


# --- malformed input ------------------------------------------------------------------------


def record_with(mutate: Any) -> dict[str, Any]:
    record = s3_record("videos/a.mp4")
    mutate(record)
    return {"Records": [record]}


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        (None, "event is not a JSON object"),
        ("{}", "event is not a JSON object"),
        ([read_event("s3-put.json")], "event is not a JSON object"),
        ({}, "not an S3, EventBridge, SQS or on-failure event"),
        ({"Records": {"0": {}}}, "not an S3, EventBridge, SQS or on-failure event"),
        ({"Records": []}, "Records is empty"),
        ({"Records": ["videos/a.mp4"]}, "S3 record is not a JSON object"),
        (record_with(lambda r: r.pop("eventName")), "S3 record has no eventName"),
        (record_with(lambda r: r.update(eventName=None)), "S3 record has no eventName"),
        (record_with(lambda r: r["s3"].pop("bucket")), "S3 record lacks s3.bucket.name or s3.object"),
        (record_with(lambda r: r["s3"]["bucket"].pop("name")), "S3 record lacks s3.bucket.name or s3.object"),
        (
            record_with(lambda r: r["s3"]["bucket"].update(name="")),
            "S3 record lacks s3.bucket.name or s3.object",
        ),
        (record_with(lambda r: r["s3"].pop("object")), "S3 record lacks s3.bucket.name or s3.object"),
        (record_with(lambda r: r.pop("s3")), "S3 record lacks s3.bucket.name or s3.object"),
        (record_with(lambda r: r["s3"]["object"].pop("key")), "object key is missing or not a string"),
        (record_with(lambda r: r["s3"]["object"].update(key=123)), "object key is missing or not a string"),
        (record_with(lambda r: r["s3"]["object"].update(key=None)), "object key is missing or not a string"),
        (record_with(lambda r: r.pop("awsRegion")), "event has no region"),
        (record_with(lambda r: r.update(awsRegion="")), "event has no region"),
        (
            record_with(lambda r: r["s3"]["object"].update(size=-1)),
            "object size -1 is not a non-negative integer",
        ),
        (
            record_with(lambda r: r["s3"]["object"].update(size=True)),
            "object size True is not a non-negative integer",
        ),
        (
            record_with(lambda r: r["s3"]["object"].update(size="1024")),
            "object size '1024' is not a non-negative integer",
        ),
        (
            record_with(lambda r: r["s3"]["object"].update(size=10.5)),
            "object size 10.5 is not a non-negative integer",
        ),
        (
            record_with(lambda r: r["s3"]["object"].update(key="videos/caf%FF.mp4")),
            "object key has percent-escapes that are not UTF-8",
        ),
        (
            record_with(lambda r: r["s3"]["object"].update(key="videos/%C3.mp4")),
            "object key has percent-escapes that are not UTF-8",
        ),
    ],
)
def test_malformed_input_gives_a_malformed_event_with_a_specific_detail(event, detail):
    assert only_malformed(event).detail == detail


def test_malformed_record_keeps_its_own_record_as_payload():
    bad = s3_record("videos/%FF.mp4")
    malformed = only_malformed({"Records": [bad]})
    assert malformed.payload == {"Records": [bad]}


def test_one_bad_record_does_not_spoil_its_neighbours():
    good_before, good_after = s3_record("videos/a.mp4"), s3_record("videos/c.mp4")
    bad = s3_record("videos/b.mp4", size=-5)
    items = parse_event({"Records": [good_before, bad, good_after]})
    assert [type(item).__name__ for item in items] == ["S3Object", "MalformedEvent", "S3Object"]


def test_parse_event_does_not_mutate_its_input():
    event = read_event("on-failure-record.json")
    before = copy.deepcopy(event)
    parse_event(event)
    assert event == before


# --- replayable source events ------------------------------------------------------------------

ALL_OBJECT_SAMPLES = [
    "s3-put.json",
    "s3-multiple-records.json",
    "s3-multipart.json",
    "s3-copy.json",
    "eventbridge-object-created.json",
    "on-failure-record.json",
    "s3-key-plus-and-space.json",
    "s3-key-percent20.json",
    "s3-key-encoded-slash.json",
    "s3-key-utf8.json",
    "s3-key-literal-percent.json",
]


@pytest.mark.parametrize("name", ALL_OBJECT_SAMPLES)
def test_source_event_of_each_object_replays_to_an_equal_object(name):
    objects = parse_event(read_event(name))
    assert objects
    for obj in objects:
        assert isinstance(obj, S3Object)
        replayed = only_object(obj.source_event)
        assert replayed == obj
        assert replayed.source_event == obj.source_event


def test_source_event_of_a_record_in_a_batch_holds_only_that_record():
    event = read_event("s3-multiple-records.json")
    objects = parse_event(event)
    for index, obj in enumerate(objects):
        assert isinstance(obj, S3Object)
        assert obj.source_event == {"Records": [event["Records"][index]]}


def test_source_event_of_an_sqs_message_is_its_inner_notification():
    body = read_event("sqs-s3-notification.json")["Records"][0]["body"]
    obj = only(parse_sqs_body(body))
    assert isinstance(obj, S3Object)
    assert only_object(obj.source_event) == obj


def test_source_event_survives_a_json_round_trip():
    for name in ALL_OBJECT_SAMPLES:
        for obj in parse_event(read_event(name)):
            assert isinstance(obj, S3Object)
            assert only_object(json.loads(json.dumps(obj.source_event))) == obj


def test_describe_reports_the_decoded_object():
    obj = only_object(read_event("s3-put.json"))
    assert obj.describe() == {
        "bucket": BUCKET,
        "key": "videos/product launch teaser.mp4",
        "region": REGION,
        "size": 10485760,
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
        "versionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
        "sequencer": "0062E99A88DC407460",
        "eventName": "ObjectCreated:Put",
    }


# --- keys are decoded exactly once ------------------------------------------------------------

# Any text S3 accepts as a key: everything but lone surrogates (not encodable as UTF-8).
KEY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("+%/ ?#&=~._-"),
        st.characters(exclude_categories=["Cs"]),
    ),
    min_size=1,
    max_size=80,
)


def encode_like_s3(key: str) -> str:
    return quote_plus(key, safe="/")


def encode_like_moto(key: str) -> str:
    return quote_plus(key, safe="")


def encode_like_sam_generate_event(key: str) -> str:
    return quote(key, safe="/")


ENCODERS = [encode_like_s3, encode_like_moto, encode_like_sam_generate_event]


@settings(deadline=None)
@given(key=KEY_TEXT)
def test_every_encoding_of_any_key_decodes_back_to_exactly_the_key(key):
    for encode in ENCODERS:
        assert decode_key(encode(key)) == key


@settings(deadline=None)
@given(key=KEY_TEXT, encode=st.sampled_from(ENCODERS))
def test_parse_event_decodes_any_encoded_key_exactly_once(key, encode):
    obj = only_object({"Records": [s3_record(encode(key))]})
    assert obj.key == key


@settings(deadline=None)
@given(key=KEY_TEXT)
def test_eventbridge_key_is_decoded_like_a_notification_key(key):
    event = read_event("eventbridge-object-created.json")
    event["detail"]["object"]["key"] = encode_like_s3(key)
    assert only_object(event).key == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("videos/my+clip.mp4", "videos/my clip.mp4"),  # '+' is a space
        ("videos/a%2Bb.mp4", "videos/a+b.mp4"),  # a literal '+'
        ("videos/a%2Bb+c.mp4", "videos/a+b c.mp4"),
        ("videos/my%20clip.mp4", "videos/my clip.mp4"),  # sam local generate-event
        ("videos%2Fclip.mp4", "videos/clip.mp4"),  # moto
        ("vid%C3%A9os/caf%C3%A9.mp4", "vidéos/café.mp4"),  # UTF-8
        ("videos/%E2%9C%93+%F0%9F%8E%AC.mp4", "videos/✓ 🎬.mp4"),  # 3- and 4-byte UTF-8
        ("videos/100%2541.mp4", "videos/100%41.mp4"),  # a literal '%41', not 'A'
        ("videos/100%25.mp4", "videos/100%.mp4"),
        ("videos/50%25+off%2B.mp4", "videos/50% off+.mp4"),
        ("videos/already decoded.mp4", "videos/already decoded.mp4"),
    ],
)
def test_issue_examples_decode_exactly_once(raw, key):
    assert decode_key(raw) == key
    assert only_object({"Records": [s3_record(raw)]}).key == key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("s3-key-plus-and-space.json", "videos/a+b c.mp4"),
        ("s3-key-percent20.json", "videos/summer launch party.mp4"),
        ("s3-key-encoded-slash.json", "videos/clip.mp4"),
        ("s3-key-utf8.json", "vidéos/café.mp4"),
        ("s3-key-literal-percent.json", "videos/100%41.mp4"),
    ],
)
def test_tricky_key_samples_decode_to_the_real_key(name, key):
    assert only_object(read_event(name)).key == key


def test_decoding_twice_would_be_wrong_for_the_literal_percent_sample():
    # Guards the sample itself: a double decode turns the real '%41' into 'A'.
    raw = read_event("s3-key-literal-percent.json")["Records"][0]["s3"]["object"]["key"]
    assert decode_key(decode_key(raw)) == "videos/100A.mp4"
    assert only_object(read_event("s3-key-literal-percent.json")).key == "videos/100%41.mp4"


def test_decode_key_rejects_escapes_that_are_not_utf8():
    with pytest.raises(UnicodeDecodeError):
        decode_key("videos/%FF.mp4")
