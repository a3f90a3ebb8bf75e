"""WistiaClient over real loopback HTTP: retries, backoff, Retry-After, keep-alive, redirects."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from s3_wistia_bridge.deadline import Deadline
from s3_wistia_bridge.errors import PermanentFailure, TransientFailure
from s3_wistia_bridge.models import CopyRequest
from s3_wistia_bridge.wistia import WistiaClient, _is_candidate
from wistia_emulator import FaultRule, WistiaEmulator

from .faults import fail_requests

pytestmark = pytest.mark.integration

TOKEN = "client-test-token-0123456789"
REQUEST = CopyRequest(
    bucket="media-uploads-example", source_file="videos/a.mp4", region="us-east-1", name="a.mp4"
)


class StaticToken:
    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.refreshes = 0

    def token(self, *, refresh: bool = False) -> str:
        if refresh:
            self.refreshes += 1
            self.tokens.pop(0)
        return self.tokens[0]


@pytest.fixture
def wistia() -> Iterator[WistiaEmulator]:
    emulator = WistiaEmulator(tokens=(TOKEN,)).start()
    yield emulator
    emulator.stop()


# The function's defaults (config.py); a test overrides what it is about.
TIMEOUTS: dict[str, Any] = {"connect_timeout": 3.05, "read_timeout": 20.0, "max_attempts": 4}


def client(emulator: WistiaEmulator, sleeps: list[float], **options: Any) -> WistiaClient:
    return WistiaClient(
        base_url=emulator.url,
        tokens=StaticToken(TOKEN),
        sleep=sleeps.append,
        jitter=lambda: 1.0,
        **(TIMEOUTS | options),
    )


def test_backoff_doubles_between_attempts(wistia: WistiaEmulator) -> None:
    sleeps: list[float] = []
    fail_requests(wistia, 500, times=3)

    result = client(wistia, sleeps, max_attempts=4).s3_copy(REQUEST, Deadline.after(60))

    assert result.attempts == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_capped(wistia: WistiaEmulator) -> None:
    sleeps: list[float] = []
    fail_requests(wistia, 500, times=5)

    client(wistia, sleeps, max_attempts=6, backoff_cap=1.5).s3_copy(REQUEST, Deadline.after(60))

    assert sleeps == [0.5, 1.0, 1.5, 1.5, 1.5]


def test_retry_after_header_sets_the_delay(wistia: WistiaEmulator) -> None:
    sleeps: list[float] = []
    fail_requests(wistia, 429, times=1, retry_after=7)

    result = client(wistia, sleeps).s3_copy(REQUEST, Deadline.after(60))

    assert sleeps == [7.0]
    assert result.hashed_id == wistia.medias()[0]["hashed_id"]


def test_at_least_three_attempts_when_time_allows(wistia: WistiaEmulator) -> None:
    sleeps: list[float] = []
    fail_requests(wistia, 503, retry_after=0)

    with pytest.raises(TransientFailure) as raised:
        client(wistia, sleeps).s3_copy(REQUEST, Deadline.after(60))

    assert raised.value.attempts == 4
    assert len(wistia.requests()) == 4


def test_success_without_json_body_still_counts_as_copied(wistia: WistiaEmulator) -> None:
    fail_requests(wistia, 200, times=1, body="OK")

    result = client(wistia, []).s3_copy(REQUEST, Deadline.after(60))

    assert (result.hashed_id, result.media_id) == (None, None)


def test_redirect_is_not_followed_and_is_permanent(wistia: WistiaEmulator) -> None:
    fail_requests(wistia, 302, times=1)

    with pytest.raises(PermanentFailure) as raised:
        client(wistia, []).s3_copy(REQUEST, Deadline.after(60))

    assert (raised.value.reason, raised.value.http_status) == ("wistia_http_error", 302)
    assert len(wistia.requests()) == 1


def test_one_keep_alive_connection_serves_many_copies(wistia: WistiaEmulator) -> None:
    bridge_client = client(wistia, [])
    for _ in range(5):
        bridge_client.s3_copy(REQUEST, Deadline.after(60))

    assert len(wistia.medias()) == 5
    assert len({r["peer"] for r in wistia.requests()}) == 1


def test_no_attempt_starts_without_time_to_read_the_answer(wistia: WistiaEmulator) -> None:
    with pytest.raises(TransientFailure) as raised:
        client(wistia, [], connect_timeout=3.0).s3_copy(REQUEST, Deadline.after(3.5))

    assert raised.value.reason == "deadline_exhausted"
    assert wistia.requests() == []


def test_a_read_timeout_shorter_than_a_second_is_honoured_not_taken_for_exhaustion(
    wistia: WistiaEmulator,
) -> None:
    result = client(wistia, [], read_timeout=0.5).s3_copy(REQUEST, Deadline.after(30))

    assert result.hashed_id == wistia.medias()[0]["hashed_id"]


def ambiguous_client(emulator: WistiaEmulator, **options: Any) -> WistiaClient:
    return client(emulator, [], api_url=emulator.url, **options)


@pytest.mark.parametrize("fault", ["drop_after_processing", "timeout_after_processing"])
def test_an_unanswered_copy_that_created_the_media_is_found_not_sent_again(
    wistia: WistiaEmulator, fault: str
) -> None:
    wistia.add_rule(FaultRule(action=fault, times=1, timeout_seconds=2.0))

    result = ambiguous_client(wistia, read_timeout=0.5).s3_copy(REQUEST, Deadline.after(30))

    [media] = wistia.medias()
    assert (result.hashed_id, result.recovered) == (media["hashed_id"], True)
    assert [r["path"] for r in wistia.requests()] == ["/s3_copy", "/modern/medias"]


def test_an_unanswered_copy_that_created_nothing_is_sent_again(wistia: WistiaEmulator) -> None:
    fail_requests(wistia, "drop", times=1)

    result = ambiguous_client(wistia).s3_copy(REQUEST, Deadline.after(30))

    [media] = wistia.medias()
    assert (result.hashed_id, result.recovered) == (media["hashed_id"], False)
    assert [r["path"] for r in wistia.requests()] == ["/s3_copy", "/modern/medias", "/s3_copy"]


def test_the_lookup_is_scoped_to_the_media_name_and_folder(wistia: WistiaEmulator) -> None:
    wistia.add_rule(FaultRule(action="drop_after_processing", times=1))
    routed = CopyRequest(**{**REQUEST.__dict__, "project_id": "proj42"})

    ambiguous_client(wistia).s3_copy(routed, Deadline.after(30))

    [lookup] = [r for r in wistia.requests() if r["path"] == "/modern/medias"]
    # List Media of the current Data API: folders were called projects (folder_id, not project_id).
    assert lookup["query"] == {
        "name": "a.mp4",
        "folder_id": "proj42",
        "sort_by": "created",
        "sort_direction": "0",
        "per_page": "100",
    }
    assert lookup["auth"] == "valid"


def test_two_candidate_medias_are_a_permanent_ambiguity_not_a_guess(wistia: WistiaEmulator) -> None:
    wistia.add_rule(FaultRule(action="drop_after_processing", times=1))
    other = WistiaClient(base_url=wistia.url, tokens=StaticToken(TOKEN), **TIMEOUTS)

    def meanwhile_another_upload_of_the_same_name(_delay: float) -> None:
        other.s3_copy(REQUEST, Deadline.after(30))

    with pytest.raises(PermanentFailure) as raised:
        WistiaClient(
            base_url=wistia.url,
            api_url=wistia.url,
            tokens=StaticToken(TOKEN),
            sleep=meanwhile_another_upload_of_the_same_name,
            jitter=lambda: 1.0,
            **TIMEOUTS,
        ).s3_copy(REQUEST, Deadline.after(30))

    assert raised.value.reason == "wistia_ambiguous"
    assert len(wistia.medias()) == 2  # nothing more was sent


def test_a_failed_lookup_never_sends_the_copy_again_blind(wistia: WistiaEmulator) -> None:
    """A second POST could be a second media: a transient failure instead, and a later delivery
    (with the idempotency journal) asks the Data API again before sending anything."""
    wistia.add_rule(FaultRule(action="drop_after_processing", times=1))
    unreachable_api = "http://127.0.0.1:9"  # discard port: connection refused

    with pytest.raises(TransientFailure) as raised:
        client(wistia, [], api_url=unreachable_api).s3_copy(REQUEST, Deadline.after(30))

    assert raised.value.reason == "wistia_lookup_failed"
    assert "ConnectionError" in raised.value.message
    assert len(wistia.medias()) == 1


IN_FOLDER = CopyRequest(
    bucket="media-uploads-example",
    source_file="videos/a.mp4",
    region="us-east-1",
    name="a.mp4",
    project_id="ourfolder1",
)


def test_an_earlier_invocations_media_is_adopted_without_sending_again(wistia: WistiaEmulator) -> None:
    since = time.time()
    first = client(wistia, []).s3_copy(IN_FOLDER, Deadline.after(30))

    again = client(wistia, [], api_url=wistia.url).s3_copy(
        IN_FOLDER, Deadline.after(30), maybe_sent_since=since
    )

    assert (again.recovered, again.hashed_id) == (True, first.hashed_id)
    assert len(wistia.medias()) == 1
    assert [r["path"] for r in wistia.requests()].count("/s3_copy") == 1


def test_a_same_named_media_in_another_folder_is_never_adopted(wistia: WistiaEmulator) -> None:
    since = time.time()
    client(wistia, []).s3_copy(_in("otherfolder"), Deadline.after(30))

    again = client(wistia, [], api_url=wistia.url).s3_copy(
        IN_FOLDER, Deadline.after(30), maybe_sent_since=since
    )

    assert again.recovered is False
    assert len(wistia.medias()) == 2


def test_nothing_earlier_than_the_earlier_request_is_adopted(wistia: WistiaEmulator) -> None:
    client(wistia, []).s3_copy(IN_FOLDER, Deadline.after(30))  # an older upload of the same name

    again = client(wistia, [], api_url=wistia.url).s3_copy(
        IN_FOLDER, Deadline.after(30), maybe_sent_since=time.time() + 60
    )

    assert again.recovered is False
    assert len(wistia.medias()) == 2


def _in(folder: str) -> CopyRequest:
    return CopyRequest(
        bucket=IN_FOLDER.bucket,
        source_file=IN_FOLDER.source_file,
        region=IN_FOLDER.region,
        name=IN_FOLDER.name,
        project_id=folder,
    )


@pytest.mark.parametrize(
    ("media", "adopted"),
    [
        ({"name": "a.mp4", "created": "2030-01-01T00:00:00Z", "folder": {"hashedId": "ourfolder1"}}, True),
        ({"name": "a.mp4", "created": "2030-01-01T00:00:00Z", "folder": {"hashed_id": "ourfolder1"}}, True),
        ({"name": "a.mp4", "created": "2030-01-01T00:00:00Z", "project": {"hashed_id": "ourfolder1"}}, True),
        ({"name": "a.mp4", "created": "2030-01-01T00:00:00Z", "folder": {"hashed_id": "elsewhere1"}}, False),
        ({"name": "a.mp4", "created": "2030-01-01T00:00:00Z", "folder": None}, False),
        ({"name": "b.mp4", "created": "2030-01-01T00:00:00Z", "folder": {"hashed_id": "ourfolder1"}}, False),
        ({"name": "a.mp4", "created": "2001-01-01T00:00:00Z", "folder": {"hashed_id": "ourfolder1"}}, False),
        ({"name": "a.mp4", "created": "yesterday", "folder": {"hashed_id": "ourfolder1"}}, False),
        ("not a media", False),
    ],
)
def test_a_listed_media_is_ours_only_with_the_same_name_folder_and_age(media: Any, adopted: bool) -> None:
    """Whatever filters the Data API applied (or ignored), the client checks each media itself."""
    since = datetime(2029, 1, 1, tzinfo=UTC).timestamp()
    assert _is_candidate(media, IN_FOLDER, since) is adopted
