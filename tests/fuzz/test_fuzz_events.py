"""Fuzzing the bridge: hypothesis over every envelope, odd fields and hostile keys (issue 6, item 5).

Generated events go through the REAL parser, allowlist, routing, bridge and runtime (`handle`,
including Powertools' SQS batch processor), with a recording fake copier and failure sink, so
thousands of examples run in seconds. One test drives the real handler against moto and the
Wistia emulator instead. Properties:

1. no exception escapes `handle` but TransientFailure, and none at all when no copy fails
   transiently;
2. no rejected input reaches the copier: every request comes from an object the allowlist
   accepts, and independently checked: allowlisted bucket and region, a relative non-empty key
   without control characters or dot segments, an allowed extension, a name <= 255 that keeps
   the extension;
3. every parsed item gets exactly one outcome (a report, a failure record, or its share of the
   transient exception / SQS batch item failure): nothing is dropped, nothing is copied twice;
4. failure records are plain JSON (no NaN, no repr fallbacks), under SQS's 256 KB, and replayable
   (their `event` announces exactly the failed object again).
"""

from __future__ import annotations

import contextlib
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

import hypothesis
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.bridge import Bridge, Invocation, Processed
from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge.deadline import Deadline
from s3_wistia_bridge.errors import PermanentFailure, TransientFailure
from s3_wistia_bridge.events import ParsedItem, is_sqs_batch, parse_event, parse_sqs_body, s3_notification
from s3_wistia_bridge.failures import failure_record
from s3_wistia_bridge.models import (
    CopyRequest,
    CopyResult,
    JsonDict,
    MalformedEvent,
    ObjectReport,
    Outcome,
    RemovedObject,
    S3Object,
    SkippedEvent,
)
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge.routing import MAX_NAME_CHARS
from s3_wistia_bridge.runtime import handle
from s3_wistia_bridge.s3_objects import ObjectHead, TagWrite
from s3_wistia_bridge.validation import Rejection, validate

from tests.conftest import LambdaContextStub
from tests.integration.conftest import Stack

from .conftest import LONG_PROFILE, long_run_enabled

SQS_MAX_BYTES = 256 * 1024
MAX_KEY_BYTES = 1024
BUCKETS = ("media-uploads-example", "archive-videos")
REGIONS = ("us-east-1", "eu-west-1")
FUZZ = settings.get_profile("fuzz")

# --- configurations: built through the real environment reader ---------------------------------

_BASE_ENV = {
    "WISTIA_SECRET_ID": "arn:aws:secretsmanager:us-east-1:111122223333:secret:wistia-token-AbCdEf",
    "FAILURE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/s3-wistia-bridge-failures",
    "ALLOWED_BUCKETS": ",".join(BUCKETS),
    "ALLOWED_REGIONS": ",".join(REGIONS),
    # The bridges here have no S3 store (the events are the subject); tests/fuzz/test_content.py
    # fuzzes the content check on its own.
    "CONTENT_CHECK": "false",
}
CONFIGS = (
    BridgeConfig.from_environ(_BASE_ENV),
    BridgeConfig.from_environ(
        _BASE_ENV
        | {
            "ALLOWED_BUCKETS": BUCKETS[0],
            "ALLOWED_REGIONS": REGIONS[0],
            "ALLOWED_PREFIXES": "videos/,incoming/raw/",
            "ALLOWED_EXTENSIONS": "mp4,.MOV,mkv",
            "MAX_OBJECT_BYTES": "5000000000",
            "WISTIA_PROJECT_ID": "defaultproj1",
            "WISTIA_ROUTES": json.dumps(
                [
                    {"prefix": "videos/", "project_id": "vidproj", "contact_id": 3},
                    {"prefix": "videos/webinars/", "project_id": "webproj", "description": "Webinars"},
                ]
            ),
        }
    ),
)

# --- strategies ---------------------------------------------------------------------------------


class _Missing:
    """A field value meaning "leave the field out"."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def drop_missing(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_missing(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [drop_missing(v) for v in value if v is not MISSING]
    return value


def weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, chosen with the given relative weights (shrinks to the first)."""
    return st.sampled_from([strategy for weight, strategy in options for _ in range(weight)]).flatmap(
        lambda strategy: strategy
    )


def mostly(good: st.SearchStrategy[Any], *odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` about nine times in ten, else one of the odd alternatives.

    Most fields of a generated event are plausible, so that whole events often are too and the
    allowlist and the copier are reached; every field is still sometimes missing or odd.
    """
    return weighted((9, good), (1, st.one_of(*odd))) if odd else good


def record_of(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[JsonDict]:
    return st.fixed_dictionaries(fields).map(drop_missing)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)
ODD = st.one_of(JSON_VALUES, st.just(MISSING))

BUCKET = mostly(
    st.sampled_from(BUCKETS),
    st.sampled_from(["other-bucket", "Media-Uploads-Example", f"{BUCKETS[0]} ", "", f"{BUCKETS[0]}/x"]),
    st.text(max_size=12),
    ODD,
)
REGION = mostly(
    st.sampled_from(REGIONS),
    st.sampled_from(["us-west-2", "US-EAST-1", " us-east-1", "us-east-1\n", ""]),
    st.text(max_size=10),
    ODD,
)

# Keys: path-like ones with video extensions (so many get past the allowlist) and anything at all.
NICE_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("abcXYZ019 +-_%&=?#~()[]'!@$,;"),
        st.characters(min_codepoint=0xA0, max_codepoint=0x2FFF, exclude_categories=["Cc", "Cs"]),
    ),
    min_size=1,
    max_size=12,
)
SEGMENT = weighted(
    (3, st.sampled_from(["videos", "webinars", "2026", "Été 2026", "a+b", "x y", "100%", "\u212a"])),
    (2, NICE_TEXT),
    (1, st.sampled_from([".", "..", ""])),
    (1, st.text(max_size=10)),
)
EXTENSION = weighted(
    (5, st.sampled_from([".mp4", ".MP4", ".Mov", ".mkv", ".webm", ".m4v", ".mpeg", ".WMV"])),
    (1, st.sampled_from([".txt", ".mp4.exe", "", ".", ".mp4/", ".MP4 ", ".mp4\n", ".jpg"])),
    (1, st.sampled_from([".\uff4d\uff50\uff14", ".mp\u0664", ".m\u212av", ".MK\u0130"])),  # look-alikes
    (1, st.text(alphabet="mpkvoMPKV4\u212a\u0130.", max_size=5).map(lambda text: "." + text)),
)
PATH_KEY = st.builds(
    lambda prefix, segments, stem, ext: prefix + "/".join([*segments, stem + ext]),
    st.sampled_from(["videos/", "videos/webinars/", "incoming/raw/", "", "/", "./"]),
    st.lists(SEGMENT, max_size=3),
    weighted(
        (4, NICE_TEXT),
        (1, st.sampled_from(["", ".", "Sommer 2026 \u2013 Teil 1"])),
        (1, st.text(max_size=12)),
    ),
    EXTENSION,
)
LONG_KEY = st.builds(
    lambda prefix, length, ext: prefix + "n" * length + ext,
    st.sampled_from(["", "videos/", "videos/webinars/", "/videos/"]),
    st.integers(min_value=200, max_value=1100),
    EXTENSION,
)
DECODED_KEY = weighted((6, PATH_KEY), (1, st.text()), (1, LONG_KEY))
ENCODED_KEY = DECODED_KEY.map(lambda key: quote_plus(key, safe="/"))
BAD_ESCAPE = st.sampled_from(
    ["%FF", "%", "%G1", "%E9", "%C3", "%C3%28", "%ED%A0%80", "%F0%9F", "%2", "%%", "%00", "%0A", "+", "%2B"]
)
RAW_KEY = mostly(
    ENCODED_KEY,
    st.builds(lambda a, bad, b: a + bad + b, ENCODED_KEY, BAD_ESCAPE, ENCODED_KEY),
    DECODED_KEY,  # not encoded at all
    ODD,
)
SIZE = mostly(
    st.integers(min_value=1, max_value=10**10),
    st.just(0),
    st.none(),
    st.integers(max_value=-1),
    st.booleans(),
    st.sampled_from(["1024", "", "-1"]),
    st.integers(min_value=2**63, max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    ODD,
)
VERSION_TEXT = mostly(
    st.text(alphabet="0123456789abcdefABCDEF.-_", min_size=1, max_size=34),
    st.text(max_size=8),
    ODD,
)
EVENT_NAME = mostly(
    st.sampled_from(
        [
            "ObjectCreated:Put",
            "ObjectCreated:Post",
            "ObjectCreated:Copy",
            "ObjectCreated:CompleteMultipartUpload",
        ]
    ),
    st.sampled_from(
        [
            "ObjectRemoved:Delete",
            "ObjectRemoved:DeleteMarkerCreated",
            "ObjectRestore:Completed",
            "ObjectCreated:",
            "ObjectCreated",
            "objectcreated:put",
        ]
    ),
    st.text(max_size=12),
    ODD,
)
TIME = st.just("2026-11-21T10:00:00.000Z")

S3_RECORD = record_of(
    eventVersion=st.just("2.1"),
    eventSource=mostly(st.just("aws:s3"), st.just("aws:sqs"), ODD),
    awsRegion=REGION,
    eventTime=TIME,
    eventName=EVENT_NAME,
    s3=mostly(
        record_of(
            s3SchemaVersion=st.just("1.0"),
            configurationId=st.just("bridge"),
            bucket=mostly(record_of(name=BUCKET, arn=st.just("arn:aws:s3:::x")), ODD),
            object=mostly(
                record_of(
                    key=RAW_KEY, size=SIZE, eTag=VERSION_TEXT, versionId=VERSION_TEXT, sequencer=VERSION_TEXT
                ),
                ODD,
            ),
        ),
        ODD,
    ),
)
S3_NOTIFICATION = record_of(
    Records=mostly(st.lists(mostly(S3_RECORD, JSON_VALUES), min_size=1, max_size=5), st.just([]))
)
EVENTBRIDGE = record_of(
    version=st.just("0"),
    id=mostly(st.uuids().map(str), ODD),
    **{
        "detail-type": mostly(
            st.just("Object Created"), st.sampled_from(["Object Deleted", "object created"]), ODD
        )
    },
    source=st.just("aws.s3"),
    account=st.just("111122223333"),
    time=TIME,
    region=REGION,
    resources=st.just(["arn:aws:s3:::media-uploads-example"]),
    detail=mostly(
        record_of(
            version=st.just("0"),
            bucket=mostly(record_of(name=BUCKET), ODD),
            object=mostly(
                record_of(
                    key=RAW_KEY,
                    size=SIZE,
                    etag=VERSION_TEXT,
                    **{"version-id": VERSION_TEXT},
                    sequencer=VERSION_TEXT,
                ),
                ODD,
            ),
            reason=mostly(st.sampled_from(["PutObject", "CopyObject", "CompleteMultipartUpload"]), ODD),
        ),
        ODD,
    ),
)
TEST_EVENT = record_of(
    Service=st.just("Amazon S3"),
    Event=st.just("s3:TestEvent"),
    Time=TIME,
    Bucket=BUCKET,
    RequestId=st.just("7A1E2F3D4C5B6A79"),
)
NEAR_MISS = st.one_of(
    record_of(Records=JSON_VALUES),
    record_of(requestPayload=JSON_VALUES),
    record_of(requestContext=JSON_VALUES),
    record_of(source=st.just("aws.s3"), **{"detail-type": JSON_VALUES}),
    record_of(source=st.sampled_from(["aws.s3 ", "aws.sqs"]), **{"detail-type": st.just("Object Created")}),
    record_of(Event=st.text(max_size=15)),
)
_BASE_EVENT = weighted(
    (6, S3_NOTIFICATION), (3, EVENTBRIDGE), (1, TEST_EVENT), (1, NEAR_MISS), (1, JSON_VALUES)
)


@st.composite
def base_event(draw: st.DrawFn) -> Any:
    """_BASE_EVENT behind a short repr: st.recursive formats its base's repr (hundreds of kB)."""
    return draw(_BASE_EVENT)


BASE_EVENT = base_event()


def on_failure(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[JsonDict]:
    """Lambda's on-failure destination record wrapping an event (requestPayload)."""
    return record_of(
        version=st.just("1.0"),
        timestamp=TIME,
        requestContext=mostly(
            record_of(
                requestId=st.uuids().map(str),
                functionArn=st.just("arn:aws:lambda:us-east-1:111122223333:function:ingest"),
                condition=st.sampled_from(["RetriesExhausted", "EventAgeExceeded"]),
                approximateInvokeCount=st.integers(min_value=1, max_value=3),
            ),
            JSON_VALUES,
        ),
        requestPayload=mostly(inner, st.just(MISSING)),
        responseContext=st.just({"statusCode": 200, "functionError": "Unhandled"}),
        responsePayload=st.just({"errorType": "TransientFailure", "errorMessage": "x"}),
    )


def sqs_message(body: st.SearchStrategy[Any]) -> st.SearchStrategy[JsonDict]:
    """One SQS message as Lambda's SQS event source delivers it; `body` may be anything."""
    return record_of(
        messageId=st.uuids().map(str),
        receiptHandle=st.just("AQEB..."),
        body=mostly(body, st.text(max_size=30), JSON_VALUES, st.just(MISSING)),
        attributes=st.just({"ApproximateReceiveCount": "1"}),
        messageAttributes=st.just({}),
        md5OfBody=st.just(""),
        eventSource=st.just("aws:sqs"),
        eventSourceARN=st.just("arn:aws:sqs:us-east-1:111122223333:media-uploads-events"),
        awsRegion=st.just("us-east-1"),
    )


def sqs_batch(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[JsonDict]:
    return record_of(Records=st.lists(sqs_message(inner.map(json.dumps)), min_size=1, max_size=5))


# Events nest: on-failure records of on-failure records (deeper than the parser's bound), SQS
# batches whose bodies are any event (or an SQS batch, or an on-failure record of one).
NESTED_EVENT: st.SearchStrategy[Any] = st.recursive(
    BASE_EVENT, lambda inner: weighted((4, on_failure(inner)), (1, sqs_batch(inner))), max_leaves=4
)
EVENTS = weighted((4, NESTED_EVENT), (1, sqs_batch(NESTED_EVENT)))

# What the fake copier does, call after call (cycled): always succeed, or a mix of failures.
COPY_PLAN = st.one_of(
    st.just(("ok",)),
    st.lists(st.sampled_from(["ok", "permanent", "transient"]), min_size=1, max_size=6).map(tuple),
)

# --- the fakes and the oracle -------------------------------------------------------------------


@dataclass
class PlannedCopier:
    """Records every request; answers by cycling through `plan`."""

    plan: tuple[str, ...] = ("ok",)
    calls: list[tuple[CopyRequest, str]] = field(default_factory=list)

    def s3_copy(
        self,
        request: CopyRequest,
        deadline: Deadline,
        *,
        max_sleep: float | None = None,
        maybe_sent_since: float | None = None,
    ) -> CopyResult:
        outcome = self.plan[len(self.calls) % len(self.plan)]
        self.calls.append((request, outcome))
        if outcome == "permanent":
            raise PermanentFailure(
                FailureReason.WISTIA_BAD_REQUEST,
                "fuzz: refused",
                http_status=400,
                wistia_error="bad",
                attempts=1,
            )
        if outcome == "transient":
            raise TransientFailure(
                FailureReason.WISTIA_SERVER_ERROR, "fuzz: HTTP 503", http_status=503, attempts=1
            )
        return CopyResult(hashed_id=f"fz{len(self.calls)}", media_id=len(self.calls), attempts=1)


class EveryKeyExists:
    """S3 as the bridge's HeadObject sees it, when every reading of a key exists: the bridge then
    copies the first allowed candidate of an EventBridge key (raw, then decoded). Nothing else of
    S3 is used by the fuzzed configurations."""

    def head(self, obj: S3Object) -> ObjectHead:
        return ObjectHead(size=obj.size, etag=obj.etag, metadata={})

    def presigned_get(self, obj: S3Object, expires_seconds: int) -> str:
        raise AssertionError("no fuzzed configuration presigns")

    def credential_facts(self) -> None:
        raise AssertionError("no fuzzed configuration presigns")

    def head_metadata(self, obj: S3Object) -> dict[str, str] | None:
        raise AssertionError("no fuzzed configuration reads metadata")

    def tag(self, obj: S3Object, key: str, value: str) -> TagWrite:
        raise AssertionError("no fuzzed configuration writes back")


@dataclass
class RecordingSink:
    records: list[JsonDict] = field(default_factory=list)

    def send(self, record: JsonDict) -> None:
        self.records.append(record)


class RecordingBridge(Bridge):
    """The real Bridge; remembers what each `process` call without a transient failure reported."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reported: list[list[ObjectReport]] = []

    def process(self, items: Iterable[ParsedItem], invocation: Invocation) -> Processed:
        processed = super().process(items, invocation)
        if not processed.transient:
            self.reported.append(processed.reports)
        return processed


def check_request_allowed(request: CopyRequest, obj: S3Object, config: BridgeConfig) -> None:
    """Property 2, checked independently of the package's own allowlist code where possible."""
    assert validate(obj, config) is None
    assert (request.bucket, request.source_file, request.region) == (obj.bucket, obj.key, obj.region)
    key = request.source_file
    assert key
    assert not key.startswith("/")
    assert not key.endswith("/")
    assert len(key.encode("utf-8")) <= MAX_KEY_BYTES
    assert not any(unicodedata.category(char) in {"Cc", "Cs"} for char in key)
    assert not {".", ".."} & set(key.split("/"))
    assert request.bucket in config.allowed_buckets
    assert request.region in config.allowed_regions
    if config.allowed_prefixes:
        assert key.startswith(config.allowed_prefixes)
    file_name = key.rsplit("/", 1)[-1]
    stem, dot, extension = file_name.rpartition(".")
    assert dot
    assert stem
    # Matched case-insensitively, ASCII only (str.lower() folds U+212A KELVIN SIGN into "k").
    assert extension.isascii()
    assert f".{extension.lower()}" in config.allowed_extensions
    assert obj.size != 0
    if config.max_object_bytes is not None and obj.size is not None:
        assert obj.size <= config.max_object_bytes
    assert request.name
    assert len(request.name) <= MAX_NAME_CHARS
    assert request.name.lower().endswith(f".{extension.lower()}")
    assert all(isinstance(value, str) for value in request.form().values())


def check_failure_record(record: JsonDict) -> None:
    """Property 4: plain JSON, under SQS's limit, and what an operator needs."""
    text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    assert json.loads(text) == record
    assert len(text.encode("utf-8")) < SQS_MAX_BYTES
    assert record["type"] == "s3-wistia-bridge.failure"
    assert record["failureClass"] == "permanent"
    assert isinstance(record["reason"], str)
    assert record["reason"]
    assert isinstance(record["message"], str)


@dataclass
class Expected:
    """What the oracle predicts from the parsed items and the copier's calls."""

    reports: list[tuple[str, str | None]] = field(default_factory=list)
    failures: list[tuple[str, str | None]] = field(default_factory=list)
    transient: int = 0


def walk(items: list[ParsedItem], calls: Iterator[tuple[CopyRequest, str]], config: BridgeConfig) -> Expected:
    """Predict each item's outcome, consuming the copier's calls in order (property 3)."""
    expected = Expected()
    for item in items:
        if isinstance(item, MalformedEvent):
            expected.reports.append((Outcome.PERMANENT_FAILURE.value, "malformed_event"))
            expected.failures.append(("malformed_event", None))
        elif isinstance(item, SkippedEvent):
            expected.reports.append((Outcome.SKIPPED.value, item.reason))
        elif isinstance(item, RemovedObject):  # DeletePolicy=ignore: skipped as before
            expected.reports.append((Outcome.SKIPPED.value, item.skipped().reason))
        else:
            chosen = chosen_candidate(item, config)
            if isinstance(chosen, Rejection):
                expected.reports.append((Outcome.REJECTED.value, chosen.reason.value))
                continue
            request, outcome = next(calls, (None, "no call"))
            assert request is not None, f"an accepted object was never sent: {chosen}"
            check_request_allowed(request, chosen, config)
            if outcome == "ok":
                expected.reports.append((Outcome.COPIED.value, None))
            elif outcome == "permanent":
                expected.reports.append((Outcome.PERMANENT_FAILURE.value, "wistia_bad_request"))
                expected.failures.append(("wistia_bad_request", chosen.key))
            else:
                expected.transient += 1
    return expected


def chosen_candidate(item: S3Object, config: BridgeConfig) -> S3Object | Rejection:
    """What the bridge copies when every reading of the key exists: the first allowed candidate,
    else the decoded key's rejection."""
    candidates = item.key_candidates()
    allowed = [candidate for candidate in candidates if validate(candidate, config) is None]
    if allowed:
        return allowed[0]
    rejection = validate(candidates[-1], config)
    assert rejection is not None
    return rejection


def report_tuples(reports: Iterable[ObjectReport]) -> list[tuple[str, str | None]]:
    return [(report.outcome.value, report.reason) for report in reports]


def note_coverage(
    generated: Any, copier: PlannedCopier, sink: RecordingSink, raised: BaseException | None
) -> None:
    """Labels for --hypothesis-show-statistics: which paths the examples really took."""
    hypothesis.event("envelope: SQS batch" if is_sqs_batch(generated) else "envelope: other")
    hypothesis.event(f"copier calls: {min(len(copier.calls), 3)}{'+' if len(copier.calls) >= 3 else ''}")
    hypothesis.event(f"failure records: {'some' if sink.records else 'none'}")
    hypothesis.event(f"raised: {type(raised).__name__ if raised else 'nothing'}")


def run_through_bridge(event: Any, plan: tuple[str, ...], config: BridgeConfig) -> None:
    """Run `event` through the real runtime and check properties 1 to 4."""
    copier, sink = PlannedCopier(plan), RecordingSink()
    bridge = RecordingBridge(config, copier, sink, objects=EveryKeyExists())
    raised: BaseException | None = None
    result: JsonDict | None = None
    try:
        result = handle(bridge, event, LambdaContextStub(remaining_seconds=60.0))
    except TransientFailure as failure:
        raised = failure
    # Property 1: anything else propagates and fails the test with its traceback.

    note_coverage(event, copier, sink, raised)
    calls = iter(copier.calls)
    if is_sqs_batch(event):
        failing: list[str] = []
        expected_reports: list[list[tuple[str, str | None]]] = []
        expected_failures: list[tuple[str, str | None]] = []
        for message in event["Records"]:
            if "body" not in message:  # not from SQS; Powertools reports it as a failed item
                failing.append(message["messageId"])
                continue
            expected = walk(parse_sqs_body(message["body"]), calls, config)
            expected_failures += expected.failures
            if expected.transient:
                failing.append(message["messageId"])
            else:
                expected_reports.append(expected.reports)
        assert raised is None, "an SQS batch reports failed messages instead of raising"
        assert result == {"batchItemFailures": [{"itemIdentifier": m} for m in failing]}
        assert [report_tuples(reports) for reports in bridge.reported] == expected_reports
    else:
        items = parse_event(event)
        expected = walk(items, calls, config)
        expected_failures = expected.failures
        if expected.transient:
            assert isinstance(raised, TransientFailure)
        else:
            assert raised is None
            assert result is not None
            objects = result["objects"]
            assert [(o["outcome"], o.get("reason")) for o in objects] == expected.reports
            assert len(objects) == len(items)
    assert next(calls, None) is None, "the copier got a request no accepted object explains"
    if all(outcome == "ok" for outcome in plan):
        assert raised is None
    # Property 3 (failure records) and 4.
    assert [(r["reason"], (r["object"] or {}).get("key")) for r in sink.records] == expected_failures
    for record in sink.records:
        check_failure_record(record)
        if record["object"] is not None:
            [replayed] = parse_event(record["event"])
            assert isinstance(replayed, S3Object)
            # The replay resolves the key again (EventBridge: raw or decoded): the recorded one is a
            # reading of it.
            [same] = [c for c in replayed.key_candidates() if c.key == record["object"]["key"]]
            assert same.describe() == record["object"]


# --- the tests ----------------------------------------------------------------------------------


def s3_put(
    key: str, *, size: Any = 1024, bucket: str = BUCKETS[0], name: str = "ObjectCreated:Put"
) -> JsonDict:
    """A plausible one-record S3 notification; `key` is put in the event as given (raw)."""
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "awsRegion": REGIONS[0],
                "eventName": name,
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {"key": key, "size": size, "eTag": "9b2cf535f27731c974343645a3985328"},
                },
            }
        ]
    }


def sqs_of(*bodies: Any) -> JsonDict:
    return {
        "Records": [
            {"messageId": f"m{index}", "eventSource": "aws:sqs", "body": body}
            for index, body in enumerate(bodies)
        ]
    }


GOOD = s3_put("videos/Sommer+2026/clip.mp4")
# Every path at least once, whatever hypothesis draws.
PATH_EXAMPLES: list[tuple[Any, tuple[str, ...]]] = [
    (GOOD, ("ok",)),
    (GOOD, ("permanent",)),
    (GOOD, ("transient",)),
    ({"Records": GOOD["Records"] * 3}, ("ok", "transient", "permanent")),
    (s3_put("videos/a%FF.mp4"), ("ok",)),
    (s3_put("videos/a.txt"), ("ok",)),
    (s3_put("videos/a.mp4", name="ObjectRemoved:Delete"), ("ok",)),
    (s3_put("videos/a.mp4", size=True), ("ok",)),
    (
        {"requestContext": {}, "requestPayload": {"requestContext": {}, "requestPayload": GOOD}},
        ("permanent",),
    ),
    (sqs_of(json.dumps(GOOD), "not json", 7, json.dumps({"Event": "s3:TestEvent"})), ("ok",)),
    (sqs_of(json.dumps(GOOD), json.dumps(GOOD)), ("transient", "ok")),
]


@FUZZ
@given(event=EVENTS, plan=COPY_PLAN, config=st.sampled_from(CONFIGS))
def test_any_event_gets_one_outcome_per_item_and_only_accepted_objects_are_sent(event, plan, config):
    run_through_bridge(event, plan, config)


for _event, _plan in PATH_EXAMPLES:
    test_any_event_gets_one_outcome_per_item_and_only_accepted_objects_are_sent = example(
        event=_event, plan=_plan, config=CONFIGS[1]
    )(test_any_event_gets_one_outcome_per_item_and_only_accepted_objects_are_sent)


@pytest.mark.fuzz_long
@pytest.mark.skipif(not long_run_enabled(), reason=f"set HYPOTHESIS_PROFILE={LONG_PROFILE} (make fuzz)")
@settings(settings.get_profile(LONG_PROFILE))
@given(event=EVENTS, plan=COPY_PLAN, config=st.sampled_from(CONFIGS))
def test_long_any_event_gets_one_outcome_per_item_and_only_accepted_objects_are_sent(event, plan, config):
    run_through_bridge(event, plan, config)


@FUZZ
@given(key=DECODED_KEY, size=SIZE, config=st.sampled_from(CONFIGS))
def test_any_single_object_event_is_copied_only_when_every_rule_allows_it(key, size, config):
    """Concentrates on keys and sizes: one well-formed record, the key and size vary."""
    event = {
        "Records": [
            drop_missing(
                {
                    "eventSource": "aws:s3",
                    "awsRegion": REGIONS[0],
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": BUCKETS[0]},
                        "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": "e"},
                    },
                }
            )
        ]
    }
    run_through_bridge(event, ("ok",), config)


# Large payloads: malformed input is truncated to a preview, whatever its size.
BIG_TEXT = st.integers(min_value=0, max_value=400_000).map(lambda n: '\u00e9"\\' * (n // 3))


@FUZZ
@given(
    big=BIG_TEXT,
    shape=st.sampled_from(["unknown", "record", "sqs", "on_failure"]),
)
def test_failure_records_for_huge_malformed_payloads_stay_under_the_sqs_limit(big, shape):
    unusable_record = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKETS[0]}}, "pad": big}
    event: Any = {
        "unknown": {"what": big},
        "record": {"Records": [unusable_record]},
        "sqs": {
            "Records": [
                {
                    "messageId": "m1",
                    "eventSource": "aws:sqs",
                    "body": json.dumps({"pad": big, "Records": "x"}),
                }
            ]
        },
        "on_failure": {"requestContext": {}, "requestPayload": {"Records": [unusable_record, 3]}},
    }[shape]
    run_through_bridge(event, ("ok",), CONFIGS[0])


def test_permanent_failure_record_of_a_large_but_valid_event_stays_under_the_sqs_limit():
    big_etag = "e" * 150_000
    event = s3_notification(BUCKETS[0], REGIONS[0], "videos/a.mp4", size=1, etag=big_etag)
    assert len(json.dumps(event)) < SQS_MAX_BYTES
    [obj] = parse_event(event)
    assert isinstance(obj, S3Object)
    record = failure_record(
        PermanentFailure(FailureReason.WISTIA_BAD_REQUEST, "refused", http_status=400),
        obj,
        request_id="r",
        function_arn="f",
    )
    check_failure_record(record)


def test_extension_allowlist_is_ascii_only():
    key = "videos/clip.m\u212av"
    event = s3_notification(BUCKETS[0], REGIONS[0], key, size=1)
    copier = PlannedCopier()
    handle(Bridge(CONFIGS[0], copier, RecordingSink()), event, LambdaContextStub())
    assert copier.calls == []


def test_sqs_shaped_record_without_message_id_does_not_escape_as_key_error():
    event = {
        "Records": [{"eventSource": "aws:sqs", "eventName": "ObjectCreated:Put", "awsRegion": REGIONS[0]}]
    }
    copier, sink = PlannedCopier(), RecordingSink()
    with contextlib.suppress(TransientFailure):
        handle(Bridge(CONFIGS[0], copier, sink), event, LambdaContextStub())
    assert copier.calls == []


def test_failure_record_of_a_record_labelled_aws_sqs_replays_as_that_object():
    mislabelled = s3_put("videos/a.mp4")["Records"][0] | {"eventSource": "aws:sqs"}
    event = {"Records": [{"eventName": "ObjectRemoved:Delete"}, mislabelled]}
    sink = RecordingSink()
    handle(Bridge(CONFIGS[0], PlannedCopier(("permanent",)), sink), event, LambdaContextStub())
    [record] = sink.records
    assert [item.describe() for item in parse_event(record["event"]) if isinstance(item, S3Object)] == [
        record["object"]
    ]


# --- through the real handler, moto and the Wistia emulator ------------------------------------

HANDLER_EXAMPLES = 25


def sent_copies(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in stack.emulator.requests() if r["path"] == "/s3_copy"]


def announced_objects(event: Any) -> list[S3Object]:
    items: list[ParsedItem] = []
    if is_sqs_batch(event):
        for message in event["Records"]:
            if "body" in message:
                items += parse_sqs_body(message["body"])
    else:
        items = parse_event(event)
    return [item for item in items if isinstance(item, S3Object)]


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_handler_never_sends_a_rejected_object_to_the_emulator(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
) -> None:
    # One stack for the whole test (hypothesis reruns the body; fixtures are not re-created),
    # so each example starts by clearing the emulator's state.
    app = load_app(stack.env | {"ALLOWED_REGIONS": ",".join(REGIONS), "WISTIA_MAX_ATTEMPTS": "1"})
    config: BridgeConfig = app.BRIDGE.config
    stack.emulator.s3_endpoint_url = None  # accept every copy, so successes are exercised too

    @settings(
        FUZZ,
        max_examples=HANDLER_EXAMPLES,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(event=EVENTS)
    @example(event=GOOD)
    @example(event=sqs_of(json.dumps(s3_put("videos/b+c.MOV")), "garbage"))
    @example(event={"requestContext": {}, "requestPayload": s3_put("videos/x/../y.mp4")})
    def run(event: Any) -> None:
        stack.emulator.reset()
        with contextlib.suppress(TransientFailure):  # property 1 holds here as well
            app.lambda_handler(event, LambdaContextStub())
        accepted = [obj for obj in announced_objects(event) if validate(obj, config) is None]
        by_identity = {(obj.bucket, obj.key, obj.region): obj for obj in accepted}
        requests = sent_copies(stack)
        assert len(requests) <= len(accepted)
        for request in requests:
            form = request["form"]
            obj = by_identity.get((form.get("bucket"), form.get("source_file"), form.get("region")))
            assert obj is not None, f"Wistia received a copy no accepted object explains: {form}"
            check_request_allowed(
                CopyRequest(form["bucket"], form["source_file"], form["region"], form["name"]), obj, config
            )
            assert request["auth"] == "valid"
        sent.append(len(requests))

    sent: list[int] = []
    run()
    assert sum(sent) >= 2, "the explicit examples must reach the emulator"
