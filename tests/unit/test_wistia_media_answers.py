"""The Data API edit client's answers: each HTTP outcome one Reply, one failure reason, no secret."""

from __future__ import annotations

import pytest
import requests
import responses
from s3_wistia_bridge.errors import PermanentFailure, TransientFailure
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge.wistia_media import Reply, WistiaMedia

API = "https://api.wistia.com"
SHOW = f"{API}/modern/medias/abc123"
TOKEN = "secret-token-0123456789"


class Tokens:
    def __init__(self, *tokens: str) -> None:
        self._tokens = list(tokens)
        self.refreshed = 0

    def token(self, *, refresh: bool = False) -> str:
        if refresh:
            self.refreshed += 1
            self._tokens.pop(0)
        return self._tokens[0]


def media(tokens: Tokens | None = None) -> WistiaMedia:
    return WistiaMedia(API, tokens or Tokens(TOKEN))


@responses.activate
@pytest.mark.parametrize(
    ("status", "reply"),
    [
        (200, Reply.OK),
        (204, Reply.OK),
        (400, Reply.REFUSED),
        (422, Reply.REFUSED),
        (403, Reply.FORBIDDEN),
        (404, Reply.NOT_FOUND),
        (408, Reply.UNAVAILABLE),
        (429, Reply.RATE_LIMITED),
        (500, Reply.UNAVAILABLE),
        (503, Reply.RATE_LIMITED),
    ],
)
def test_each_status_is_one_reply(status: int, reply: Reply) -> None:
    responses.get(SHOW, status=status, json={"hashed_id": "abc123"} if status == 200 else None)

    answer = media().show("abc123")

    assert (answer.reply, answer.http_status) == (reply, status)


@responses.activate
def test_a_json_body_is_kept_and_an_empty_one_is_none() -> None:
    responses.get(SHOW, json={"hashed_id": "abc123", "status": "ready"})
    responses.put(f"{SHOW}/captions/eng", body=b"", status=200)

    assert media().show("abc123").body == {"hashed_id": "abc123", "status": "ready"}
    assert media().call("PUT", "/medias/abc123/captions/eng").body is None


@responses.activate
def test_the_token_is_sent_as_bearer_and_read_again_once_after_a_401() -> None:
    responses.get(SHOW, status=401, json={"error": "expired"})
    responses.get(SHOW, json={"hashed_id": "abc123"})
    tokens = Tokens("old-token", "new-token")

    answer = media(tokens).show("abc123")

    assert answer.reply is Reply.OK
    assert tokens.refreshed == 1
    sent = [call.request.headers["Authorization"] for call in responses.calls]
    assert sent == ["Bearer old-token", "Bearer new-token"]


@responses.activate
def test_a_hashed_id_cannot_add_a_path_of_its_own() -> None:
    responses.get(f"{API}/modern/medias/a%2F..%2Ftoken", status=404)

    assert media().show("a/../token").reply is Reply.NOT_FOUND


@responses.activate
def test_wistias_message_is_kept_without_the_token() -> None:
    responses.put(f"{SHOW}/swap", status=400, json={"error": f"bad replacement for {TOKEN}"})

    answer = media().call("PUT", "/medias/abc123/swap", json={"replacement_media_id": "x"})
    failure = answer.failure("swap", FailureReason.SWAP_REFUSED)

    assert isinstance(failure, PermanentFailure)
    assert failure.reason is FailureReason.SWAP_REFUSED
    assert TOKEN not in str(failure)
    assert TOKEN not in answer.detail
    assert "bad replacement for ***" in str(failure)


def test_a_connection_error_is_unavailable_and_transient() -> None:
    session = requests.Session()
    session.request = _raise  # type: ignore[method-assign]

    answer = WistiaMedia(API, Tokens(TOKEN), session=session).show("abc123")
    failure = answer.failure("show")

    assert answer.reply is Reply.UNAVAILABLE
    assert answer.detail == "ConnectionError"
    assert isinstance(failure, TransientFailure)
    assert failure.reason is FailureReason.WISTIA_CONNECTION_ERROR


def _raise(*args: object, **kwargs: object) -> requests.Response:
    raise requests.ConnectionError("connection refused")


@responses.activate
@pytest.mark.parametrize(
    ("status", "headers", "kind", "reason"),
    [
        (429, {"Retry-After": "7"}, TransientFailure, FailureReason.WISTIA_RATE_LIMITED),
        (502, {}, TransientFailure, FailureReason.WISTIA_SERVER_ERROR),
        (403, {}, PermanentFailure, FailureReason.WISTIA_EDIT_FORBIDDEN),
        (404, {}, PermanentFailure, FailureReason.WISTIA_NOT_FOUND),
        (422, {}, PermanentFailure, FailureReason.WISTIA_HTTP_ERROR),
    ],
)
def test_each_reply_is_one_failure_of_the_vocabulary(
    status: int, headers: dict[str, str], kind: type[Exception], reason: FailureReason
) -> None:
    responses.get(SHOW, status=status, headers=headers)

    failure = media().show("abc123").failure("show media abc123")

    assert isinstance(failure, kind)
    assert failure.reason is reason
    assert failure.message.startswith(f"show media abc123: HTTP {status}")
    if status == 429:
        assert isinstance(failure, TransientFailure)
        assert failure.retry_after == 7
