"""The emulator's media processing and signed webhook deliveries, over real loopback HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from wistia_emulator import WistiaEmulator

TOKEN = "emu-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "emu-webhook-secret"


@pytest.fixture
def wistia() -> Iterator[WistiaEmulator]:
    emulator = WistiaEmulator(tokens=(TOKEN,)).start()
    yield emulator
    emulator.stop()


class Consumer:
    """A webhook consumer on loopback that keeps what it received and answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers.items()), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def events(self) -> list[dict[str, Any]]:
        return [event for _, body in self.received for event in json.loads(body)["events"]]


@pytest.fixture
def consumer() -> Iterator[Consumer]:
    consumer = Consumer()
    yield consumer
    consumer.server.shutdown()
    consumer.server.server_close()


def upload(wistia: WistiaEmulator, name: str = "clip.mp4") -> str:
    response = requests.post(
        f"{wistia.url}/s3_copy",
        data={"bucket": "media-uploads-example", "source_file": f"v/{name}", "name": name},
        headers=AUTH,
        timeout=5,
    )
    assert response.status_code == 200
    return str(response.json()["hashed_id"])


def show(wistia: WistiaEmulator, hashed_id: str) -> dict[str, Any]:
    response = requests.get(f"{wistia.url}/modern/medias/{hashed_id}", headers=AUTH, timeout=5)
    assert response.status_code == 200
    return dict(response.json())


def wait_for(check: Callable[[], bool], seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("not reached")


def test_medias_are_created_ready_while_the_lifecycle_is_off(wistia: WistiaEmulator):
    assert show(wistia, upload(wistia))["status"] == "ready"


def test_the_status_advances_queued_processing_ready(wistia: WistiaEmulator):
    wistia.configure_lifecycle(enabled=True, queued_seconds=0.2, processing_seconds=0.3)
    hashed_id = upload(wistia)
    assert show(wistia, hashed_id)["status"] == "queued"
    wait_for(lambda: show(wistia, hashed_id)["status"] == "processing")
    wait_for(lambda: show(wistia, hashed_id)["status"] == "ready")
    assert wistia.medias()[0]["status"] == "ready"  # the control API sees the same


def test_a_failure_rule_fails_the_matching_medias_only_as_often_as_asked(wistia: WistiaEmulator):
    response = requests.post(
        f"{wistia.url}/__emulator__/lifecycle",
        json={
            "enabled": True,
            "queued_seconds": 0,
            "processing_seconds": 0.05,
            "fail_match": ["corrupt"],
            "fail_times": 1,
        },
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json()["fail_match"] == ["corrupt"]
    first, second, other = (
        upload(wistia, "corrupt-1.mp4"),
        upload(wistia, "corrupt-2.mp4"),
        upload(wistia, "fine.mp4"),
    )
    wait_for(lambda: all(show(wistia, h)["status"] in ("ready", "failed") for h in (first, second, other)))
    assert [show(wistia, h)["status"] for h in (first, second, other)] == ["failed", "ready", "ready"]


@pytest.mark.parametrize(
    "body",
    [
        {"enabled": "yes"},
        {"queued_seconds": -1},
        {"fail_match": [""]},
        {"fail_times": 1.5},
        {"unknown": 1},
        [],
    ],
)
def test_bad_lifecycle_settings_are_refused(wistia: WistiaEmulator, body: Any):
    response = requests.post(f"{wistia.url}/__emulator__/lifecycle", json=body, timeout=5)
    assert response.status_code == 400


def test_webhooks_are_signed_deliveries_of_the_documented_envelope(
    wistia: WistiaEmulator, consumer: Consumer
):
    wistia.configure_lifecycle(enabled=True, queued_seconds=0.05, processing_seconds=0.05)
    response = requests.post(
        f"{wistia.url}/__emulator__/webhooks", json={"url": consumer.url, "secret": SECRET}, timeout=5
    )
    assert response.json()["secret"] == "[set]"  # never echoed
    hashed_id = upload(wistia)
    wait_for(lambda: len(wistia.webhook_deliveries()) == 3)
    for headers, body in consumer.received:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Wistia-Signature"] == expected
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"].startswith("Wistia-Webhooks/")
        envelope = json.loads(body)
        assert set(envelope) == {"hook", "events"}
        assert len(envelope["events"]) == 1
    events = consumer.events()
    assert [event["type"] for event in events] == ["media.created", "media.processing", "media.ready"]
    assert {event["payload"]["media"]["id"] for event in events} == {hashed_id}
    assert len({event["uuid"] for event in events}) == 3
    assert all(event["generated_at"].endswith("Z") for event in events)
    listed = requests.get(f"{wistia.url}/__emulator__/webhooks", timeout=5).json()
    assert SECRET not in json.dumps(listed)
    assert [d["status"] for d in listed["deliveries"]] == [200, 200, 200]


def test_a_failed_media_sends_media_failed(wistia: WistiaEmulator, consumer: Consumer):
    wistia.configure_lifecycle(enabled=True, queued_seconds=0, processing_seconds=0.05, fail_match=["bad"])
    wistia.configure_webhooks(url=consumer.url, secret=SECRET)
    upload(wistia, "bad.mp4")
    wait_for(lambda: len(consumer.received) == 3)
    assert consumer.events()[-1]["type"] == "media.failed"


def test_duplicates_late_and_reordered_deliveries_are_seeded(wistia: WistiaEmulator, consumer: Consumer):
    wistia.configure_lifecycle(enabled=True, queued_seconds=0.05, processing_seconds=0.1)
    wistia.configure_webhooks(
        url=consumer.url,
        secret=SECRET,
        duplicate_rate=1.0,
        reorder_rate=1.0,
        late_rate=1.0,
        late_seconds=0.1,
        seed=3,
    )
    upload(wistia)
    wait_for(lambda: len(wistia.webhook_deliveries()) == 6)
    kinds = [event["type"] for event in consumer.events()]
    assert sorted(kinds) == sorted(["media.created", "media.processing", "media.ready"] * 2)
    assert kinds.index("media.processing") > kinds.index("media.ready")
    deliveries = wistia.webhook_deliveries()
    assert sum(d["duplicate"] for d in deliveries) == 3
    assert all(d["late"] for d in deliveries)


def test_a_refused_delivery_is_tried_again(wistia: WistiaEmulator, consumer: Consumer):
    consumer.status = 500
    wistia.configure_webhooks(url=consumer.url, secret=SECRET, events=["media.ready"])
    upload(wistia)
    wait_for(lambda: len(wistia.webhook_deliveries()) == 3)
    assert [(d["attempt"], d["status"]) for d in wistia.webhook_deliveries()] == [
        (1, 500),
        (2, 500),
        (3, 500),
    ]


def test_bad_webhook_settings_are_refused(wistia: WistiaEmulator):
    for body in ({"url": "ftp://x"}, {"duplicate_rate": 2}, {"events": ["media.exploded"]}, {"secret": 5}):
        assert requests.post(f"{wistia.url}/__emulator__/webhooks", json=body, timeout=5).status_code == 400
