"""Wistia's s3_copy and URL import over HTTP: one keep-alive session, errors classified, retries
bounded by time.

A CopyRequest with a `url` (COPY_MODE=url_import) is posted to the Upload API `POST {base}/` as
form field `url`; any other to `POST {base}/s3_copy`. Everything else (auth, retries,
classification, the ambiguity lookup) is one code path for both.

Ambiguous outcomes: after a read timeout, a connection lost once the request was sent, or a 504,
Wistia may have created the media without telling us. Before sending the copy again the client
asks the current Data API's List Media for medias of that exact name in the request's folder,
created since the unanswered request: exactly one is taken as ours (no second copy); several
cannot be told apart and become a permanent `wistia_ambiguous` failure for an operator; none means
nothing was created, so the copy is sent again. When the Data API cannot answer, nothing is sent
again (a second media is as bad as none): a `wistia_lookup_failed` TransientFailure, and a later
delivery asks again. An earlier invocation that may have sent the request (`maybe_sent_since`,
from the idempotency journal) gets the same look before the first attempt.

Residual risks, by the Data API's nature: a media of the same name created in the same folder by
someone else within seconds of the unanswered request is taken as ours; one created before the
clock-skew allowance, or indexed late by the Data API, is not seen (then the copy is sent again).

Retries are hand-written rather than urllib3's Retry because they must stop at the invocation's
deadline, honour Retry-After only when it fits in that deadline, and refresh the token on a 401:
three things urllib3 cannot know about.
"""

from __future__ import annotations

import os
import random
import re
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .deadline import Deadline
from .errors import PermanentFailure, TransientFailure
from .models import CopyRequest, CopyResult, JsonDict
from .reasons import FailureReason
from .wistia_token import TokenSource

USER_AGENT = "s3-wistia-bridge/0.1 (+https://github.com/s3-wistia-bridge)"
VIDEO_LIMIT_TEXT = "video limit"
# Never start an attempt that cannot get at least this long to read the answer.
MIN_READ_SECONDS = 1.0
# Clocks differ a little between Wistia and Lambda; a media created this much before the
# unanswered request started still counts as possibly ours.
CLOCK_SKEW_SECONDS = 5.0
# A presigned URL echoed back in an error would carry a signature and, with temporary
# credentials, a session token: neither may reach logs or failure records.
_PRESIGNED_SECRETS = re.compile(
    r"(X-Amz-(?:Signature|Security-Token|Credential)=)[^&\s\"'<>]+", re.IGNORECASE
)
# Statuses worth another attempt (any 5xx too), and the reason each is reported under.
_TRANSIENT_REASONS = {
    408: FailureReason.WISTIA_TIMEOUT,
    429: FailureReason.WISTIA_RATE_LIMITED,
    503: FailureReason.WISTIA_RATE_LIMITED,
}
_PERMANENT_REASONS = {
    400: FailureReason.WISTIA_BAD_REQUEST,
    403: FailureReason.WISTIA_FORBIDDEN,
    404: FailureReason.WISTIA_NOT_FOUND,
    422: FailureReason.WISTIA_UNPROCESSABLE,
}


class RetryNotice(NamedTuple):
    """Told to the observer before each backoff sleep (logs, metrics)."""

    attempt: int
    reason: FailureReason
    http_status: int | None
    delay_seconds: float


# --- what one attempt can end in ----------------------------------------------------------------


class Copied(NamedTuple):
    result: CopyResult


class Unauthorized(NamedTuple):
    """HTTP 401: the token was refused (perhaps rotated since it was read)."""


class Retry(NamedTuple):
    """A transient answer: another attempt may succeed, if the budget allows one."""

    reason: FailureReason
    detail: str
    http_status: int | None = None
    retry_after: float | None = None
    maybe_sent: bool = False  # the request may have reached Wistia and created the media

    def failure(self, attempts: int, why_stopped: str = "") -> TransientFailure:
        return TransientFailure(
            self.reason,
            self.detail + why_stopped,
            http_status=self.http_status,
            attempts=attempts,
            retry_after=self.retry_after,
        )


Answer = Copied | Unauthorized | Retry


class _Budget:
    """What one copy may still spend: attempts, and the invocation's time."""

    def __init__(self, deadline: Deadline, max_attempts: int, connect_timeout: float, min_read: float):
        self.deadline = deadline
        self.attempts = 0
        self._max_attempts = max_attempts
        self._connect_timeout = connect_timeout
        self._min_read = min_read

    def read_timeout(self, configured: float) -> float | None:
        """The read timeout a request may have now; None when not even the least is left."""
        read = min(configured, self.deadline.remaining() - self._connect_timeout)
        return read if read >= self._min_read else None

    def out_of_attempts(self) -> bool:
        return self.attempts >= self._max_attempts

    def fits_after(self, delay: float) -> bool:
        """Whether an attempt started after sleeping `delay` could still read an answer."""
        return delay + self._connect_timeout + self._min_read <= self.deadline.remaining()


class WistiaClient:
    """POST {base}/s3_copy or {base}/ (URL import), form-encoded, Bearer auth; one per container."""

    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenSource,
        connect_timeout: float,
        read_timeout: float,
        max_attempts: int,
        api_url: str | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        session: requests.Session | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/s3_copy"
        self._import_url = f"{base_url.rstrip('/')}/"
        self._medias_url = f"{api_url.rstrip('/')}/modern/medias" if api_url else None
        self._tokens = tokens
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        # The least read time worth starting an attempt for (a configured timeout may be shorter).
        self._min_read = min(MIN_READ_SECONDS, read_timeout)
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._session = session or _session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._on_retry = on_retry or (lambda notice: None)
        self._sleep = sleep
        self._jitter = jitter

    def s3_copy(
        self,
        request: CopyRequest,
        deadline: Deadline,
        *,
        max_sleep: float | None = None,
        maybe_sent_since: float | None = None,
    ) -> CopyResult:
        """The media Wistia created; PermanentFailure or TransientFailure otherwise.

        Named after the original endpoint; a request with a `url` is a URL import instead.
        `max_sleep`: the longest backoff worth waiting inside the invocation (None: as long as the
        deadline allows); a longer one ends the copy with a TransientFailure to retry later.
        `maybe_sent_since`: when an earlier invocation may have sent this request (epoch seconds):
        the Data API is asked first, and nothing is sent again if the media exists.
        """
        budget = _Budget(deadline, self._max_attempts, self._connect_timeout, self._min_read)
        token = self._tokens.token()
        since = maybe_sent_since  # from then on, a media of this name may be ours
        found = self._find_created(request, token, since, budget) if since is not None else None
        refreshed = False
        while found is None:
            started = time.time()
            answer = self._attempt(request, token, budget)
            if isinstance(answer, Copied):
                return answer.result
            if isinstance(answer, Unauthorized):
                token = self._fresh_token(refreshed, budget.attempts)
                refreshed = True
                continue
            if answer.maybe_sent and since is None:
                since = started
            found = self._after_retry(answer, request, token, budget, since=since, max_sleep=max_sleep)
        return found

    def _after_retry(
        self,
        answer: Retry,
        request: CopyRequest,
        token: str,
        budget: _Budget,
        *,
        since: float | None,
        max_sleep: float | None,
    ) -> CopyResult | None:
        """Back off; then the media an earlier request created, if any; else None to try again,
        or the failure when no attempt may follow."""
        stopped = self._back_off(answer, budget, max_sleep)
        found = self._find_created(request, token, since, budget) if since is not None else None
        if found is None and stopped is not None:
            raise stopped
        return found

    def _fresh_token(self, refreshed: bool, attempts: int) -> str:
        """After a 401: the secret read again, bypassing the cache (rotation), once per copy."""
        if refreshed:
            raise PermanentFailure(
                FailureReason.WISTIA_UNAUTHORIZED,
                "Wistia answered 401 twice, also with a freshly read token: "
                "put a valid token with upload permission in WISTIA_SECRET_ID",
                http_status=401,
                attempts=attempts,
            )
        return self._tokens.token(refresh=True)

    def _back_off(self, answer: Retry, budget: _Budget, max_sleep: float | None) -> TransientFailure | None:
        """Sleep before the next attempt; or the failure to raise when none may follow."""
        delay = self._delay(budget.attempts, answer.retry_after)
        if budget.out_of_attempts():
            return answer.failure(budget.attempts)
        if max_sleep is not None and delay > max_sleep:
            return answer.failure(budget.attempts, f" (a retry in {delay:.1f}s is left to the queue)")
        if not budget.fits_after(delay):
            return answer.failure(budget.attempts, f" (no time left for another attempt after {delay:.1f}s)")
        self._on_retry(RetryNotice(budget.attempts, answer.reason, answer.http_status, delay))
        self._sleep(delay)
        return None

    def _find_created(
        self, request: CopyRequest, token: str, since: float, budget: _Budget
    ) -> CopyResult | None:
        """The media an unanswered request created, if Wistia's Data API shows exactly one; None
        when it shows none. When the Data API cannot say, nothing may be sent again (it could be a
        second media): TransientFailure, and a later delivery asks again."""
        medias = self._medias_named(request, token, budget)
        if isinstance(medias, str):
            raise TransientFailure(
                FailureReason.WISTIA_LOOKUP_FAILED,
                f"a request for {request.name!r} may have created a media, and the Data API could not "
                f"say whether it did ({medias})",
                attempts=budget.attempts,
            )
        candidates = [media for media in medias if _is_candidate(media, request, since - CLOCK_SKEW_SECONDS)]
        if len(candidates) > 1:
            raise PermanentFailure(
                FailureReason.WISTIA_AMBIGUOUS,
                f"a request got no answer and {len(candidates)} medias named {request.name!r} "
                "appeared since: check them in Wistia, keep one, then replay only if none is this object",
                attempts=budget.attempts,
            )
        if not candidates:
            return None
        return _media_result(candidates[0], budget.attempts)._replace(recovered=True)

    def _medias_named(self, request: CopyRequest, token: str, budget: _Budget) -> list[Any] | str:
        """List Media of the current Data API: the request's name in its folder, newest first
        (https://docs.wistia.com/reference/get_medias). A str says why there is no answer."""
        read_timeout = budget.read_timeout(self._read_timeout)
        if self._medias_url is None:
            return "no Data API URL is configured"
        if read_timeout is None:
            return "no time left in the invocation to ask"
        # Folders were called projects: the Upload API's project_id is the folder's hashed id.
        params = {"name": request.name, "sort_by": "created", "sort_direction": "0", "per_page": "100"}
        if request.project_id:
            params["folder_id"] = request.project_id
        try:
            response = self._session.get(
                self._medias_url,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=(self._connect_timeout, read_timeout),
                allow_redirects=False,
            )
        except requests.RequestException as error:
            return type(error).__name__
        medias = _json(response) if response.status_code == 200 else None
        return medias if isinstance(medias, list) else f"HTTP {response.status_code}"

    def _attempt(self, request: CopyRequest, token: str, budget: _Budget) -> Answer:
        budget.attempts += 1
        read_timeout = budget.read_timeout(self._read_timeout)
        if read_timeout is None:
            left = budget.deadline.remaining()
            return Retry(FailureReason.DEADLINE_EXHAUSTED, f"only {left:.1f}s left in the invocation")
        try:
            response = self._session.post(
                self._import_url if request.url is not None else self._url,
                data=request.form(),  # requests form-encodes it: a URL's query string survives intact
                headers={"Authorization": f"Bearer {token}"},
                timeout=(self._connect_timeout, read_timeout),
                allow_redirects=False,  # a redirect would carry the token elsewhere
            )
        except requests.ConnectTimeout:
            return Retry(FailureReason.WISTIA_TIMEOUT, "connect timeout")
        except requests.Timeout:
            return Retry(FailureReason.WISTIA_TIMEOUT, "read timeout", maybe_sent=True)
        except requests.RequestException as error:
            return Retry(
                FailureReason.WISTIA_CONNECTION_ERROR,
                type(error).__name__,
                maybe_sent=_may_have_been_sent(error),
            )
        return _classify(response, token, budget.attempts)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** (attempt - 1))
        return self._jitter() * ceiling  # full jitter: spreads a burst of retries


def _session() -> requests.Session:
    """A session that does not read the environment on every request.

    requests scans os.environ for proxy and CA bundle variables on every request (~75 µs, a
    tenth of a loopback round trip); a container's environment does not change, so when it names
    no proxy (Lambda's case) the CA bundle is read once, here, and the per-request lookup is
    off. A proxy variable keeps requests' per-request handling (NO_PROXY is decided per host).
    This also ignores ~/.netrc, whose Basic credentials would replace the Bearer token.
    """
    session = requests.Session()
    if not urllib.request.getproxies_environment():
        # requests' own precedence for the bundle, as it would apply it to each request.
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
    return session


def _classify(response: requests.Response, token: str, attempt: int) -> Answer:
    """Success, 401 and transient answers as values; anything else raises PermanentFailure."""
    status = response.status_code
    if 200 <= status < 300:
        return Copied(_media_result(_json(response), attempt))
    if status == 401:
        return Unauthorized()
    if status in _TRANSIENT_REASONS or status >= 500:
        text, _ = error_text(response, token)
        return Retry(
            _TRANSIENT_REASONS.get(status, FailureReason.WISTIA_SERVER_ERROR),
            f"HTTP {status}" + (f": {text}" if text else ""),
            http_status=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            maybe_sent=status == 504,  # a gateway gave up waiting: the upload host may have acted
        )
    raise _permanent(response, token, attempt)


def _permanent(response: requests.Response, token: str, attempt: int) -> PermanentFailure:
    status = response.status_code
    text, code = error_text(response, token)
    if status == 400 and text and VIDEO_LIMIT_TEXT in text.lower():
        reason = FailureReason.WISTIA_VIDEO_LIMIT
    else:
        reason = _PERMANENT_REASONS.get(status, FailureReason.WISTIA_HTTP_ERROR)
    return PermanentFailure(
        reason,
        f"Wistia answered HTTP {status}" + (f": {text}" if text else ""),
        http_status=status,
        wistia_error=text,
        wistia_error_code=code,
        attempts=attempt,
    )


def _media_result(body: Any, attempts: int) -> CopyResult:
    """Wistia documents the media JSON may change: read only hashed_id and id, when present."""
    hashed_id = body.get("hashed_id") if isinstance(body, dict) else None
    media_id = body.get("id") if isinstance(body, dict) else None
    return CopyResult(
        hashed_id=hashed_id if isinstance(hashed_id, str) else None,
        media_id=media_id if isinstance(media_id, int) and not isinstance(media_id, bool) else None,
        attempts=attempts,
    )


def error_text(response: requests.Response, token: str) -> tuple[str | None, str | None]:
    """Wistia's error message and code, from either documented JSON shape or a text body."""
    body = _json(response)
    text: Any = None
    code: Any = None
    if isinstance(body, dict):
        text, code = _error_fields(body.get("error", body.get("errors")))
    elif response.text and "html" not in response.headers.get("Content-Type", ""):
        text = response.text
    # Redact before clipping: a token cut in half by the clip would no longer be found.
    clean_text = _redact(str(text), token)[:500] if text else None
    clean_code = _redact(str(code), token)[:100] if code is not None else None
    return clean_text, clean_code


def _error_fields(error: Any) -> tuple[Any, Any]:
    """(message, code) of `{"error": {...}}`, `{"error": "..."}` or `{"errors": [...]}`."""
    if isinstance(error, dict):
        return error.get("detail") or error.get("message"), error.get("code")
    if isinstance(error, str):
        return error, None
    if isinstance(error, list) and error:
        return "; ".join(str(item) for item in error), None
    return None, None


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _may_have_been_sent(error: requests.RequestException) -> bool:
    """False only when the connection was never established (nothing reached Wistia)."""
    cause = error.args[0] if error.args else None
    cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the real cause
    return not isinstance(cause, NewConnectionError | ConnectTimeoutError)


def _is_candidate(media: Any, request: CopyRequest, since: float) -> bool:
    """Possibly the media this request created: same name, created since, and in the request's
    folder (a same-named media elsewhere is never adopted, whatever filters the API applied)."""
    return (
        isinstance(media, dict)
        and media.get("name") == request.name
        and _created_since(media.get("created"), since)
        and (request.project_id is None or _folder_id(media) == request.project_id)
    )


def _folder_id(media: JsonDict) -> str | None:
    """The media's folder hashed id: `folder.hashedId` in the current Data API's schema,
    `project.hashed_id` in the legacy one (both spellings accepted for either)."""
    folder = media.get("folder") or media.get("project")
    if not isinstance(folder, dict):
        return None
    hashed_id = folder.get("hashedId", folder.get("hashed_id"))
    return hashed_id if isinstance(hashed_id, str) else None


def _created_since(created: Any, since: float) -> bool:
    if not isinstance(created, str):
        return False
    try:
        return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() >= since
    except ValueError:
        return False


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _redact(text: str, token: str) -> str:
    text = text.replace(token, "***") if token else text
    return _PRESIGNED_SECRETS.sub(r"\1***", text)
