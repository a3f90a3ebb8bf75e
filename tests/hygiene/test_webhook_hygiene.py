"""Webhook secret hygiene: the webhook's secret key and the signatures made with it appear in no
output of the webhook function, whatever the request (signed, forged, unsigned, malformed, for an
unknown media), at DEBUG: not in log lines or metric blobs, standard logging records, responses,
the ledger or failure records. Each case also checks that its path was taken."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from s3_wistia_bridge.observability import logger
from s3_wistia_bridge.webhooks import sign

from tests.conftest import LambdaContextStub
from tests.hygiene.test_secret_hygiene import Output, output
from tests.lifecycle import conftest as lifecycle
from tests.lifecycle.conftest import WEBHOOK_SECRET, Tracked, function_url_event

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

emulator = lifecycle.emulator
stack = lifecycle.stack
tracked = lifecycle.tracked
__all__ = ["output"]


def envelope(hashed_id: str, kind: str = "media.ready", uuid: str = "cafe0001") -> bytes:
    event = {
        "uuid": uuid,
        "type": kind,
        "generated_at": "2026-11-21T10:00:00Z",
        "payload": {
            "media": {"id": hashed_id, "name": "clip.mp4", "url": f"https://a.wistia.com/medias/{hashed_id}"}
        },
    }
    return json.dumps({"hook": {"uuid": "h-1"}, "events": [event]}).encode()


def test_no_webhook_secret_or_signature_in_any_output(
    tracked: Tracked, output: Output, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    ingest = tracked.ingest({"POWERTOOLS_LOG_LEVEL": "DEBUG"})
    copied = ingest.lambda_handler(tracked.stack.put("videos/hygiene.mp4"), LambdaContextStub())
    hashed_id = copied["objects"][0]["hashed_id"]
    app = tracked.webhook({"POWERTOOLS_LOG_LEVEL": "DEBUG"})
    logger.setLevel("DEBUG")

    bodies = {
        "ready": envelope(hashed_id),
        "failed": envelope(hashed_id, "media.failed", "cafe0002"),
        "unknown": envelope("zzzzzzzzzz", uuid="cafe0003"),
        "malformed": b'{"events": [{"type": "media.ready"}]}',
    }
    signatures = {name: sign(WEBHOOK_SECRET, body) for name, body in bodies.items()}
    requests = [
        function_url_event("POST", body, {"X-Wistia-Signature": signatures[name]})
        for name, body in bodies.items()
    ]
    forged = sign("not-the-secret", bodies["ready"])
    requests += [
        function_url_event("POST", bodies["ready"], {"X-Wistia-Signature": forged}),
        function_url_event("POST", bodies["ready"], {}),
        function_url_event("POST", bodies["ready"], {"X-Wistia-Signature": signatures["ready"][:40]}),
    ]
    answers: list[dict[str, Any]] = []
    with output.function_running():
        answers += [app.lambda_handler(request, LambdaContextStub()) for request in requests]

    assert [answer["statusCode"] for answer in answers] == [200, 200, 200, 400, 401, 401, 401]
    assert json.loads(answers[2]["body"])["unknown"] == 1
    assert tracked.entry("videos/hygiene.mp4")["status"] == "ready"  # the failed came later: stale

    needles = {WEBHOOK_SECRET, forged, *signatures.values(), signatures["ready"][:40]}
    everything = "\n".join(
        [
            output.text(),
            json.dumps(answers),
            json.dumps(tracked.ledger(), default=str),
            json.dumps(tracked.stack.failure_records()),
        ]
    )
    assert "webhook refused" in everything  # the refusals were logged...
    for needle in needles:
        assert needle not in everything  # ... and nothing of the secret with them
