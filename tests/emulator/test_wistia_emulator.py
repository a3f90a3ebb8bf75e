"""The Wistia emulator itself, over real loopback HTTP: contract, faults, control endpoints, CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from wistia_emulator import FaultRule, Faults, WistiaEmulator
from wistia_emulator.contract import ApiError
from wistia_emulator.uploads import _bucket_region

TOKEN = "emu-test-token-0123456789abcdef"
OTHER_TOKEN = "emu-other-token-fedcba9876543210"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
COPY = {"bucket": "media-uploads-example", "source_file": "videos/dog/lenny.mp4"}
VIDEO_LIMIT = {"error": "This account has exceeded its video limit. Please upgrade to upload more videos."}
CLIP = b"\x00\x00\x00\x18ftypmp42\r\n\n\r" + bytes(range(256)) * 4  # line endings must survive


@pytest.fixture
def wistia() -> Iterator[WistiaEmulator]:
    emulator = WistiaEmulator(tokens=(TOKEN,)).start()
    yield emulator
    emulator.stop()


def post(
    emulator: WistiaEmulator,
    data: Any = None,
    path: str = "/s3_copy",
    token: str | None = TOKEN,
    timeout: float = 5,
    **kwargs: Any,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{emulator.url}{path}",
        data=COPY if data is None else data,
        headers=headers,
        timeout=timeout,
        **kwargs,
    )


def control(emulator: WistiaEmulator, method: str, route: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{emulator.url}/__emulator__/{route}", json=body, timeout=5)


@pytest.fixture
def file_server() -> Iterator[str]:
    """A second local HTTP server for URL imports: /clip.mp4 exists, anything else is a 404."""

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.split("?", 1)[0] == "/clip.mp4"
            body = CLIP if found else b"missing"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "recorded"),
    [
        (None, "missing"),
        (f"Bearer {OTHER_TOKEN}", "invalid"),
        (f"Basic {TOKEN}", "invalid"),
        ("Bearer ", "invalid"),
    ],
)
def test_missing_or_wrong_token_is_a_401_in_html(
    wistia: WistiaEmulator, authorization: str | None, recorded: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = requests.post(f"{wistia.url}/s3_copy", data=COPY, headers=headers, timeout=5)

    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text
    assert wistia.medias() == []
    assert wistia.requests()[0]["auth"] == recorded


def test_tokens_rotate_through_the_python_api_and_the_control_endpoint(wistia: WistiaEmulator) -> None:
    wistia.set_tokens([OTHER_TOKEN])
    assert post(wistia).status_code == 401
    assert post(wistia, token=OTHER_TOKEN).status_code == 200

    answer = control(wistia, "POST", "tokens", {"tokens": [TOKEN]})

    assert answer.json() == {"tokens": 1}  # a count, never the tokens
    assert post(wistia, token=OTHER_TOKEN).status_code == 401
    assert post(wistia).status_code == 200
    assert [r["auth"] for r in wistia.requests()] == ["invalid", "valid", "invalid", "valid"]


def test_no_token_is_ever_recorded(wistia: WistiaEmulator) -> None:
    post(wistia, data=COPY | {"access_token": TOKEN})  # the legacy form field: not accepted either
    post(wistia, path=f"/s3_copy?access_token={TOKEN}")

    log = control(wistia, "GET", "requests").text
    assert TOKEN not in log
    assert json.loads(log)[0]["form"]["access_token"] == "[redacted]"


# -- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "mentions"),
    [
        ({"source_file": "a.mp4"}, "missing_parameter", "bucket"),
        ({"bucket": "", "source_file": "a.mp4"}, "missing_parameter", "bucket"),
        (
            {"bucket": "arn:aws:s3:::media-uploads-example", "source_file": "a.mp4"},
            "invalid_parameter",
            "ARN",
        ),
        ({"bucket": "media-uploads-example/videos", "source_file": "a.mp4"}, "invalid_parameter", "slash"),
        ({"bucket": "Media_Uploads", "source_file": "a.mp4"}, "invalid_parameter", "bucket"),
        ({"bucket": "192.168.1.10", "source_file": "a.mp4"}, "invalid_parameter", "bucket"),
        ({"bucket": "ab", "source_file": "a.mp4"}, "invalid_parameter", "bucket"),
        ({"bucket": "media-uploads-example"}, "missing_parameter", "source_file"),
        (COPY | {"source_file": "/videos/a.mp4"}, "invalid_parameter", "source_file"),
        (COPY | {"source_file": "k" * 1025}, "invalid_parameter", "source_file"),
        (COPY | {"contact_id": "7a"}, "invalid_parameter", "contact_id"),
        (COPY | {"contact_id": "1.5"}, "invalid_parameter", "contact_id"),
        (COPY | {"name": "n" * 256}, "invalid_parameter", "name"),
        (COPY | {"region": "mars-central"}, "invalid_parameter", "region"),
    ],
)
def test_invalid_parameters_are_a_400_in_the_nested_shape(
    wistia: WistiaEmulator, data: dict[str, str], code: str, mentions: str
) -> None:
    response = post(wistia, data=data)

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert mentions in error["detail"]
    assert wistia.medias() == []


def test_limits_are_inclusive(wistia: WistiaEmulator) -> None:
    response = post(wistia, data=COPY | {"name": "n" * 255, "source_file": "k" * 1024, "contact_id": "42"})

    assert response.status_code == 200
    assert response.json()["name"] == "n" * 255


def test_parameters_may_come_in_the_query_string_and_the_body_wins(wistia: WistiaEmulator) -> None:
    response = post(
        wistia, data={"name": "from body"}, path="/s3_copy?bucket=query-bucket&source_file=q.mp4&name=q"
    )

    assert response.json()["name"] == "from body"
    assert response.json()["source"]["bucket"] == "query-bucket"


def test_a_json_body_is_refused(wistia: WistiaEmulator) -> None:
    response = requests.post(f"{wistia.url}/s3_copy", json=COPY, headers=AUTH, timeout=5)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_content_type"


def test_a_chunked_form_body_is_read(wistia: WistiaEmulator) -> None:
    chunks = iter([b"bucket=media-uploads-example&", b"source_file=chunked%2Fa.mp4"])
    headers = AUTH | {"Content-Type": "application/x-www-form-urlencoded"}
    response = requests.post(f"{wistia.url}/s3_copy", data=chunks, headers=headers, timeout=5)

    assert response.status_code == 200
    assert response.json()["source"]["source_file"] == "chunked/a.mp4"


def test_unknown_paths_and_methods(wistia: WistiaEmulator) -> None:
    missing = post(wistia, path="/v1/medias")
    wrong_method = requests.get(f"{wistia.url}/s3_copy", headers=AUTH, timeout=5)

    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"
    assert [r["status"] for r in wistia.requests()] == [404, 405]


# -- success ---------------------------------------------------------------------------------


def test_success_returns_the_media_object(wistia: WistiaEmulator) -> None:
    response = post(wistia, data=COPY | {"region": "eu-west-1", "description": "<b>Lenny</b>"})

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    media = response.json()
    assert wistia.medias()[0] == media | {"status": "ready"}  # the Upload API's answer has no status
    assert media["id"] == 1
    assert re.fullmatch(r"[a-z0-9]{10}", media["hashed_id"])
    assert media["name"] == "lenny.mp4"  # the file name of source_file
    assert (media["type"], media["duration"], media["progress"]) == ("Video", 0.0, 0.0)
    created = datetime.fromisoformat(media["created"])
    assert created.utcoffset() == timedelta(0)
    assert media["updated"] == media["created"]
    assert set(media["thumbnail"]) == {"url", "width", "height"}
    assert media["description"] == "<b>Lenny</b>"
    assert media["project"] == {
        "hashed_id": media["project"]["hashed_id"],
        "name": f"Uploads_{created.date().isoformat()}",
    }
    assert media["source"] == {
        "bucket": COPY["bucket"],
        "source_file": COPY["source_file"],
        "region": "eu-west-1",
    }
    assert wistia.requests()[0]["hashed_id"] == media["hashed_id"]


def test_ids_increase_and_hashed_ids_are_unique(wistia: WistiaEmulator) -> None:
    medias = [
        post(wistia, data=COPY | {"name": f"clip {i}", "project_id": "proj123"}).json() for i in range(40)
    ]

    assert [m["id"] for m in medias] == list(range(1, 41))
    assert len({m["hashed_id"] for m in medias}) == 40
    assert [m["name"] for m in medias] == [f"clip {i}" for i in range(40)]
    assert {m["project"]["hashed_id"] for m in medias} == {"proj123"}


def test_the_same_seed_gives_the_same_hashed_ids() -> None:
    def hashed_ids(seed: int) -> list[str]:
        with WistiaEmulator(tokens=(TOKEN,), seed=seed) as emulator:
            return [post(emulator).json()["hashed_id"] for _ in range(3)]

    assert hashed_ids(5) == hashed_ids(5)
    assert hashed_ids(5) != hashed_ids(6)


def test_one_keep_alive_connection_serves_a_session(wistia: WistiaEmulator) -> None:
    with requests.Session() as session:
        for _ in range(5):
            assert (
                session.post(f"{wistia.url}/s3_copy", data=COPY, headers=AUTH, timeout=5).status_code == 200
            )

    assert len({r["peer"] for r in wistia.requests()}) == 1


def test_concurrent_requests_respect_the_video_limit_and_get_unique_ids() -> None:
    with WistiaEmulator(tokens=(TOKEN,), video_limit=50) as emulator:

        def client() -> list[int]:
            with requests.Session() as session:
                return [
                    session.post(f"{emulator.url}/s3_copy", data=COPY, headers=AUTH, timeout=5).status_code
                    for _ in range(10)
                ]

        threads = [threading.Thread(target=lambda: statuses.extend(client())) for _ in range(8)]
        statuses: list[int] = []
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        medias = emulator.medias()

    assert sorted(statuses) == [200] * 50 + [400] * 30
    assert sorted(m["id"] for m in medias) == list(range(1, 51))
    assert len({m["hashed_id"] for m in medias}) == 50


# -- account limits --------------------------------------------------------------------------


def test_video_limit_answers_the_flat_error_shape(wistia: WistiaEmulator) -> None:
    wistia.video_limit = 2
    statuses = [post(wistia).status_code for _ in range(2)]
    over = post(wistia)

    assert statuses == [200, 200]
    assert over.status_code == 400
    assert over.json() == VIDEO_LIMIT
    assert len(wistia.medias()) == 2
    wistia.video_limit = None
    assert post(wistia).status_code == 200


def test_rate_limit_is_a_429_with_retry_after_per_token_and_window() -> None:
    with WistiaEmulator(
        tokens=(TOKEN, OTHER_TOKEN), rate_limit_per_minute=3, rate_limit_window_seconds=0.6
    ) as emulator:
        statuses = [post(emulator).status_code for _ in range(3)]
        limited = post(emulator)
        other_token = post(emulator, token=OTHER_TOKEN)
        time.sleep(0.65)
        after_window = post(emulator)

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"  # whole seconds, rounded up
    assert limited.json()["error"]["code"] == "rate_limited"
    assert other_token.status_code == 200
    assert after_window.status_code == 200


def test_rate_limit_can_answer_503_like_the_old_docs() -> None:
    with WistiaEmulator(tokens=(TOKEN,), rate_limit_per_minute=1, rate_limit_status=503) as emulator:
        post(emulator)
        limited = post(emulator)

    assert limited.status_code == 503
    assert int(limited.headers["Retry-After"]) >= 59


def test_token_bucket_admits_its_burst_then_one_request_per_refill() -> None:
    # 60/min is a token an emulated second; clock_rate 10: a real 0.1 s is 1 emulated second.
    with WistiaEmulator(
        tokens=(TOKEN, OTHER_TOKEN), rate_limit_per_minute=60, rate_limit_burst=2, clock_rate=10.0
    ) as emulator:
        burst = [post(emulator).status_code for _ in range(2)]
        limited = post(emulator)
        other_token = post(emulator, token=OTHER_TOKEN)
        time.sleep(0.12)  # 1.2 emulated seconds: one token more
        refilled = post(emulator)
        empty_again = post(emulator)

    assert burst == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"  # emulated seconds, whole, rounded up
    assert other_token.status_code == 200  # a bucket per token
    assert refilled.status_code == 200
    assert empty_again.status_code == 429


def test_a_rate_limited_call_is_answered_at_once_and_creates_nothing() -> None:
    with WistiaEmulator(tokens=(TOKEN,), rate_limit_per_minute=60, rate_limit_burst=1) as emulator:
        emulator.set_faults(latency_seconds=0.3)
        post(emulator)
        started = time.monotonic()
        limited = post(emulator)
        waited = time.monotonic() - started
        medias = emulator.medias()

    assert limited.status_code == 429
    assert waited < 0.2  # not the 0.3 s an accepted call takes
    assert len(medias) == 1


# -- faults ----------------------------------------------------------------------------------


def test_error_rates_are_reproducible_with_a_seed(wistia: WistiaEmulator) -> None:
    def run() -> list[tuple[int, str | None]]:
        wistia.set_faults(error_rates={500: 0.3, 503: 0.2}, retry_after=2, seed=7)
        answers = [post(wistia) for _ in range(40)]
        return [(r.status_code, r.headers.get("Retry-After")) for r in answers]

    first, second = run(), run()

    assert first == second
    assert {status for status, _ in first} == {200, 500, 503}
    assert {retry for status, retry in first if status == 503} == {"2"}
    assert {retry for status, retry in first if status != 503} == {None}
    assert len(wistia.medias()) == 2 * sum(status == 200 for status, _ in first)
    faults = [r["fault"] for r in wistia.requests()[:40]]
    assert [f or "200" for f in faults] == [str(status) for status, _ in first]


def test_drop_before_processing_creates_nothing(wistia: WistiaEmulator) -> None:
    wistia.set_faults(drop_rate=1.0)

    with pytest.raises(requests.ConnectionError):
        post(wistia)

    assert wistia.medias() == []
    [record] = wistia.requests()
    assert (record["fault"], record["status"], record["hashed_id"]) == ("drop", None, None)


def test_drop_after_processing_creates_the_media_but_never_answers(wistia: WistiaEmulator) -> None:
    wistia.set_faults(drop_after_processing_rate=1.0)

    with pytest.raises(requests.ConnectionError):
        post(wistia)

    [media] = wistia.medias()
    [record] = wistia.requests()
    assert (record["fault"], record["status"], record["hashed_id"]) == (
        "drop_after_processing",
        None,
        media["hashed_id"],
    )


def test_timeout_stalls_past_the_client_timeout_and_stop_wakes_it() -> None:
    emulator = WistiaEmulator(tokens=(TOKEN,)).start()
    emulator.set_faults(timeout_rate=1.0, timeout_seconds=30.0)

    with pytest.raises(requests.ReadTimeout):
        post(emulator, timeout=0.3)

    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 1.0
    assert emulator.medias() == []
    assert emulator.requests()[0]["fault"] == "timeout"


def test_timeout_after_processing_creates_the_media(wistia: WistiaEmulator) -> None:
    wistia.set_faults(timeout_rate=1.0, timeout_seconds=30.0, timeout_after_processing=True)

    with pytest.raises(requests.ReadTimeout):
        post(wistia, timeout=0.3)

    assert len(wistia.medias()) == 1


def test_a_short_timeout_ends_in_a_504_or_the_late_answer(wistia: WistiaEmulator) -> None:
    wistia.add_rule(FaultRule("timeout", times=1, timeout_seconds=0.1))
    wistia.add_rule(FaultRule("timeout_after_processing", times=1, timeout_seconds=0.1))

    stalled, late = post(wistia), post(wistia)

    assert stalled.status_code == 504
    assert late.status_code == 200
    assert late.json()["hashed_id"] == wistia.medias()[0]["hashed_id"]


def test_latency_is_added_to_every_api_request(wistia: WistiaEmulator) -> None:
    wistia.set_faults(latency_seconds=0.2)

    started = time.monotonic()
    response = post(wistia)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


def test_rules_apply_in_order_with_counts(wistia: WistiaEmulator) -> None:
    twice = wistia.add_rule(FaultRule(500, times=2))

    statuses = [post(wistia).status_code for _ in range(3)]

    assert statuses == [500, 500, 200]
    assert (twice.applied, twice.remaining) == (2, 0)
    assert [r["rule"] for r in wistia.requests()] == [0, 0, None]


def test_rules_match_a_substring_a_regex_or_a_path(wistia: WistiaEmulator) -> None:
    wistia.add_rule(FaultRule(503, match="flaky/", retry_after=0))
    wistia.add_rule(FaultRule(422, match=r"^take-\d+$", regex=True, fields=("name",)))
    wistia.add_rule(FaultRule(403, path="/"))

    answers = {
        "flaky": post(wistia, data=COPY | {"source_file": "videos/flaky/a.mp4"}),
        "flaky again": post(wistia, data=COPY | {"source_file": "flaky/b.mp4"}),
        "regex": post(wistia, data=COPY | {"name": "take-12"}),
        "regex miss": post(wistia, data=COPY | {"name": "take-12b"}),
        "upload path": post(wistia, data={"url": "http://127.0.0.1:9/a.mp4"}, path="/"),
        "clean": post(wistia),
    }

    assert {k: r.status_code for k, r in answers.items()} == {
        "flaky": 503,
        "flaky again": 503,
        "regex": 422,
        "regex miss": 200,
        "upload path": 403,
        "clean": 200,
    }
    assert answers["flaky"].headers["Retry-After"] == "0"
    assert answers["flaky"].json() == {"error": {"code": "injected_fault", "detail": "injected HTTP 503"}}


def test_a_rule_can_script_the_whole_answer(wistia: WistiaEmulator) -> None:
    wistia.add_rule(FaultRule(200, times=1, body="OK", headers={"X-Upstream": "edge"}))
    wistia.add_rule(FaultRule(302, times=1, headers={"Location": "https://example.com/"}))
    wistia.add_rule(FaultRule(401, times=1))
    wistia.add_rule(FaultRule(500, times=1, after_processing=True, body={"error": "late"}))

    plain = post(wistia)
    redirect = post(wistia, allow_redirects=False)
    unauthorized = post(wistia)
    failed_after_create = post(wistia)

    assert (plain.status_code, plain.text, plain.headers["X-Upstream"]) == (200, "OK", "edge")
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert (redirect.status_code, redirect.headers["Location"]) == (302, "https://example.com/")
    assert unauthorized.headers["Content-Type"].startswith("text/html")
    assert (failed_after_create.status_code, failed_after_create.json()) == (500, {"error": "late"})
    assert len(wistia.medias()) == 1  # only the after_processing rule let the request through


def test_reset_faults_and_invalid_configs(wistia: WistiaEmulator) -> None:
    wistia.set_faults(drop_rate=1.0)
    wistia.reset_faults()
    assert post(wistia).status_code == 200

    with pytest.raises(ValueError, match="sum"):
        Faults(drop_rate=0.6, error_rates={500: 0.5})
    with pytest.raises(ValueError, match="action"):
        FaultRule("explode")
    with pytest.raises(ValueError, match="retry_after"):
        FaultRule(429, retry_after=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="regex"):
        FaultRule(500, match="(", regex=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"match": 1}, "match must be a string or null"),
        ({"regex": "yes"}, "regex must be a boolean"),
        ({"fields": ["name", 2]}, "fields must be a list of parameter names"),
        ({"path": 1}, "path must be a string or null"),
        ({"times": -1}, "times must be >= 0 or null"),
        ({"after_processing": 1}, "after_processing must be a boolean"),
        ({"retry_after": True}, "retry_after must be a whole number of seconds >= 0 or null"),
        ({"content_type": 1}, "content_type must be a string"),
        ({"headers": {"X-A": "a\r\nX-B: b"}}, "headers must map strings to strings without line breaks"),
        ({"timeout_seconds": -0.5}, "timeout_seconds must be >= 0 or null"),
    ],
)
def test_a_bad_rule_field_is_named_in_the_error(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        FaultRule.from_json({"action": 500, **fields})


# -- control endpoints -----------------------------------------------------------------------


def test_control_endpoints_report_state_and_are_not_recorded(wistia: WistiaEmulator) -> None:
    created = post(wistia).json()

    health = control(wistia, "GET", "health").json()
    medias = control(wistia, "GET", "medias").json()
    [record] = control(wistia, "GET", "requests").json()

    assert health == {"status": "ok", "medias": 1, "requests": 1}
    assert medias == [created | {"status": "ready"}]
    assert record["method"] == "POST"
    assert record["path"] == "/s3_copy"
    assert record["form"] == COPY
    assert record["content_type"] == "application/x-www-form-urlencoded"
    assert (record["auth"], record["status"], record["hashed_id"]) == ("valid", 200, created["hashed_id"])
    assert record["peer"].startswith("127.0.0.1:")
    assert datetime.fromisoformat(record["time"]).utcoffset() is not None
    assert len(wistia.requests()) == 1


def test_faults_are_set_over_http_with_rules_and_seed(wistia: WistiaEmulator) -> None:
    config = {
        "error_rates": {"500": 0.5},
        "seed": 3,
        "rules": [{"action": "drop_after_processing", "match": "drop-me", "times": 1}],
    }

    answer = control(wistia, "POST", "faults", config)

    assert answer.status_code == 200
    assert answer.json()["error_rates"] == {"500": 0.5}
    assert answer.json()["rules"][0]["action"] == "drop"
    assert answer.json()["rules"][0]["after_processing"] is True
    assert wistia.faults.error_rates == {500: 0.5}
    with pytest.raises(requests.ConnectionError):
        post(wistia, data=COPY | {"name": "drop-me"})
    assert control(wistia, "GET", "faults").json()["rules"][0]["remaining"] == 0
    statuses = [post(wistia).status_code for _ in range(10)]
    assert set(statuses) == {200, 500}
    wistia.set_faults(error_rates={500: 0.5}, seed=3)  # the same config and seed replay the same answers
    assert [post(wistia).status_code for _ in range(10)] == statuses


@pytest.mark.parametrize(
    "config",
    [
        {"drop_rate": 2},
        {"error_rates": {"abc": 0.1}},
        {"rules": [{"action": 503, "times": "2"}]},
        {"rules": [{"match": "x"}]},
        {"no_such_fault": 1},
        ["not", "an", "object"],
    ],
)
def test_invalid_fault_configs_are_refused(wistia: WistiaEmulator, config: Any) -> None:
    wistia.set_faults(drop_rate=1.0)

    answer = control(wistia, "POST", "faults", config)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_parameter"
    assert wistia.faults.drop_rate == 1.0  # the previous config stays


def test_reset_and_settings_endpoints(wistia: WistiaEmulator) -> None:
    post(wistia)
    wistia.set_faults(drop_rate=1.0)

    assert control(wistia, "POST", "reset").status_code == 200
    assert (wistia.medias(), wistia.requests(), wistia.faults) == ([], [], Faults())
    assert post(wistia).json()["id"] == 1  # ids start over
    settings = control(wistia, "POST", "settings", {"video_limit": 1, "rate_limit_status": 503}).json()
    assert (settings["video_limit"], settings["rate_limit_status"]) == (1, 503)
    assert (wistia.video_limit, wistia.rate_limit_status) == (1, 503)
    assert post(wistia).json() == VIDEO_LIMIT
    assert control(wistia, "POST", "settings", {"video_limit": "ten"}).status_code == 400
    assert control(wistia, "POST", "settings", {"tokens": [TOKEN]}).status_code == 400
    assert control(wistia, "GET", "nope").status_code == 404
    assert wistia.video_limit == 1  # refused settings change nothing


# -- Upload API ------------------------------------------------------------------------------


def test_url_import_fetches_the_url_and_records_its_size(wistia: WistiaEmulator, file_server: str) -> None:
    url = f"{file_server}/clip.mp4?X-Amz-Signature=abc%2Fdef&X-Amz-Expires=3600"

    response = post(wistia, data={"url": url, "project_id": "proj1"}, path="/")

    assert response.status_code == 200
    media = response.json()
    assert media["name"] == "clip.mp4"
    assert media["source"] == {"url": url, "bytes": len(CLIP)}
    assert media["project"] == {"hashed_id": "proj1"}


@pytest.mark.parametrize(("path", "detail"), [("/missing.mp4", "HTTP 404"), (None, "ConnectionError")])
def test_url_import_fails_when_the_fetch_fails(
    wistia: WistiaEmulator, file_server: str, path: str | None, detail: str
) -> None:
    url = f"{file_server}{path}" if path else f"http://127.0.0.1:{free_port()}/gone.mp4"

    response = post(wistia, data={"url": url}, path="/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "url_fetch_failed"
    assert detail in response.json()["error"]["detail"]
    assert wistia.medias() == []


@pytest.mark.parametrize(
    "url",
    ["https://dropbox.com/s/abc/clip?dl=1", "https://host/videos/", "ftp://host/a.mp4", "clip.mp4"],
)
def test_url_import_needs_an_http_url_ending_in_an_extension(wistia: WistiaEmulator, url: str) -> None:
    response = post(wistia, data={"url": url}, path="/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_url_import_without_fetching() -> None:
    with WistiaEmulator(tokens=(TOKEN,), fetch_urls=False) as emulator:
        response = post(emulator, data={"url": "http://127.0.0.1:9/never.mp4"}, path="/")

    assert response.status_code == 200
    assert response.json()["source"]["bytes"] is None


def test_multipart_upload(wistia: WistiaEmulator) -> None:
    response = post(
        wistia,
        data={"name": "Lenny", "contact_id": "7"},
        path="/",
        files={"file": ("lenny.mov", CLIP, "video/mp4")},
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Lenny"
    assert response.json()["source"] == {
        "filename": "lenny.mov",
        "content_type": "video/mp4",
        "bytes": len(CLIP),
    }
    record = wistia.requests()[0]
    assert record["form"] == {"name": "Lenny", "contact_id": "7"}
    assert record["upload"] == {"filename": "lenny.mov", "bytes": len(CLIP)}


def test_upload_needs_exactly_one_of_file_or_url(wistia: WistiaEmulator) -> None:
    neither = post(wistia, data={"name": "x"}, path="/")
    both = post(wistia, data={"url": "http://127.0.0.1:9/a.mp4"}, path="/", files={"file": ("a.mp4", b"x")})

    assert (neither.status_code, neither.json()["error"]["code"]) == (400, "missing_parameter")
    assert (both.status_code, both.json()["error"]["code"]) == (400, "invalid_parameter")


# -- S3 existence check ----------------------------------------------------------------------


def test_s3_check_against_moto(aws: str) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws)
    s3.create_bucket(Bucket="media-uploads-example")
    s3.put_object(Bucket="media-uploads-example", Key="videos/dog/lenny.mp4", Body=b"video")
    s3.create_bucket(Bucket="eu-videos", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="eu-videos", Key="a.mp4", Body=b"video")

    with WistiaEmulator(tokens=(TOKEN,), s3_endpoint_url=aws) as emulator:
        found = post(emulator)
        missing_key = post(emulator, data=COPY | {"source_file": "videos/nope.mp4"})
        missing_bucket = post(emulator, data=COPY | {"bucket": "no-such-bucket"})
        wrong_region = post(emulator, data={"bucket": "eu-videos", "source_file": "a.mp4"})
        right_region = post(
            emulator, data={"bucket": "eu-videos", "source_file": "a.mp4", "region": "eu-west-1"}
        )

    assert found.status_code == 200
    assert (missing_key.status_code, missing_key.json()["error"]["code"]) == (404, "source_not_found")
    assert (missing_bucket.status_code, missing_bucket.json()["error"]["code"]) == (404, "source_not_found")
    assert (wrong_region.status_code, wrong_region.json()["error"]["code"]) == (400, "region_mismatch")
    assert "eu-west-1" in wrong_region.json()["error"]["detail"]
    assert right_region.status_code == 200


def test_a_bucket_region_comes_from_head_bucket_even_on_a_redirect() -> None:
    # Real S3 answers HeadBucket from a client of another region with a 301 naming the region.
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with Stubber(client) as stubber:
        stubber.add_response("head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": "eu-videos"})
        stubber.add_client_error(
            "head_bucket",
            "PermanentRedirect",
            http_status_code=301,
            response_meta={"HTTPHeaders": {"x-amz-bucket-region": "eu-central-1"}},
        )
        stubber.add_client_error("head_bucket", "404", http_status_code=404)
        stubber.add_response("head_bucket", {})

        assert _bucket_region(client, "eu-videos") == "eu-west-1"
        assert _bucket_region(client, "de-videos") == "eu-central-1"
        with pytest.raises(ClientError):
            _bucket_region(client, "no-such-bucket")
        with pytest.raises(ApiError, match="did not name the region"):
            _bucket_region(client, "odd-s3")


# -- lifecycle and CLI -----------------------------------------------------------------------


def test_stop_closes_the_listening_socket_and_open_connections() -> None:
    emulator = WistiaEmulator(tokens=(TOKEN,)).start()
    url = emulator.url
    with requests.Session() as session:
        assert session.post(f"{url}/s3_copy", data=COPY, headers=AUTH, timeout=5).status_code == 200

        emulator.stop()

        with pytest.raises(requests.ConnectionError):  # the kept-alive connection is gone too
            session.post(f"{url}/s3_copy", data=COPY, headers=AUTH, timeout=5)
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))),
    ):
        pass
    assert len(emulator.medias()) == 1


def test_cli_runs_until_sigterm(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    token_file = tmp_path / "tokens"
    token_file.write_text(f"{OTHER_TOKEN}\n", encoding="utf-8")
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "wistia_emulator", "--port", "0", "--token", TOKEN]
    command += ["--token-file", str(token_file), "--video-limit", "1", "--ready-file", str(ready_file)]
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 10
        while not ready_file.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        ready = json.loads(ready_file.read_text(encoding="utf-8"))
        assert ready["pid"] == process.pid
        answers = [
            requests.post(
                f"{ready['url']}/s3_copy", data=COPY, headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
            for token in (TOKEN, OTHER_TOKEN)  # from --token and from --token-file
        ]

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=5)
    finally:
        process.kill()

    assert [a.status_code for a in answers] == [200, 400]  # the second one hit --video-limit 1
    assert process.returncode == 0
    assert json.loads(out.splitlines()[0]) == ready
    assert TOKEN not in out + err
    assert OTHER_TOKEN not in out + err


def test_the_data_api_lists_medias_by_exact_name_and_project(wistia: WistiaEmulator) -> None:
    post(wistia, COPY | {"name": "intro.mp4", "project_id": "proja"})
    post(wistia, COPY | {"name": "intro.mp4", "project_id": "projb"})
    post(wistia, COPY | {"name": "intro.mp4 (1)", "project_id": "proja"})

    listed = requests.get(
        f"{wistia.url}/v1/medias.json",
        params={"name": "intro.mp4", "project_id": "proja"},
        headers=AUTH,
        timeout=5,
    )
    every_project = requests.get(
        f"{wistia.url}/v1/medias.json", params={"name": "intro.mp4"}, headers=AUTH, timeout=5
    )
    unauthorized = requests.get(f"{wistia.url}/v1/medias.json", timeout=5)

    assert listed.status_code == 200
    assert [(m["name"], m["project"]["hashed_id"]) for m in listed.json()] == [("intro.mp4", "proja")]
    assert len(every_project.json()) == 2
    assert unauthorized.status_code == 401
    assert unauthorized.headers["Content-Type"].startswith("text/html")
