"""The Wistia emulator: a threaded HTTP/1.1 server that speaks upload.wistia.com's contract.

Endpoints: POST /s3_copy, POST / (Upload API: multipart `file` or form `url`), and JSON control
endpoints under /__emulator__/ for tests, the demo and benchmarks. See __init__.py for an overview.
"""

from __future__ import annotations

import contextlib
import copy
import hmac
import ipaddress
import json
import math
import os
import random
import socket
import string
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import SplitResult, urlsplit

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import contract
from .contract import ApiError, Upload
from .faults import FaultRule, Faults

CONTROL_PREFIX = "/__emulator__/"
API_PATHS = ("/s3_copy", "/")
# Wistia's Data API (api.wistia.com), served by the same emulator: listing medias by exact name is
# the only duplicate check Wistia offers (WISTIA-CONTRACT.md); the bridge uses it after an
# ambiguous outcome. Not subject to injected faults: they model the upload host.
MEDIAS_PATH = "/v1/medias.json"
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
_HASHED_ID_ALPHABET = string.ascii_lowercase + string.digits
_UNAUTHORIZED_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>401 Unauthorized</title></head>"
    b"<body><h1>Unauthorized</h1><p>Check your access token.</p></body></html>\n"
)
_BODYLESS_STATUSES = (204, 304)  # RFC 9110: these responses never carry content
_SETTINGS = (
    "video_limit",
    "rate_limit_per_minute",
    "rate_limit_window_seconds",
    "rate_limit_status",
    "fetch_urls",
)


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def _json_response(status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> _Response:
    return _Response(status, json.dumps(data).encode("utf-8"), JSON_TYPE, headers)


def _error(status: int, code: str, detail: str, headers: tuple[tuple[str, str], ...] = ()) -> _Response:
    return _json_response(status, {"error": {"code": code, "detail": detail}}, headers)


_UNAUTHORIZED = _Response(401, _UNAUTHORIZED_HTML, HTML_TYPE)


def _fault_response(rule: FaultRule) -> _Response:
    """The answer of a status fault: its body, or a nested error (HTML for 401, like the real one)."""
    status = int(rule.action)
    headers = tuple(rule.headers.items())
    if rule.retry_after is not None:
        headers += (("Retry-After", str(rule.retry_after)),)
    if rule.body is None:
        default = (
            _UNAUTHORIZED if status == 401 else _error(status, "injected_fault", f"injected HTTP {status}")
        )
        body, content_type = default.body, default.content_type
    elif isinstance(rule.body, str):
        body, content_type = rule.body.encode("utf-8"), TEXT_TYPE
    else:
        body, content_type = json.dumps(rule.body).encode("utf-8"), JSON_TYPE
    return _Response(status, body, rule.content_type or content_type, headers)


def _now() -> datetime:
    return datetime.now(UTC)


def _redacted(fields: dict[str, str]) -> dict[str, str]:
    # The legacy access_token form field is not accepted, but it is a token: never record it.
    return {k: "[redacted]" if k == "access_token" else v for k, v in fields.items()}


class WistiaEmulator:
    """A Wistia upload host on loopback. Thread-safe; start() it, then point a client at `.url`.

    `video_limit`, `rate_limit_per_minute`, `rate_limit_window_seconds`, `rate_limit_status`,
    `fetch_urls` and `s3_endpoint_url` are plain attributes and may be changed at any time.
    """

    def __init__(
        self,
        tokens: Iterable[str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        video_limit: int | None = None,
        rate_limit_per_minute: int | None = None,
        rate_limit_window_seconds: float = 60.0,
        rate_limit_status: int = 429,
        s3_endpoint_url: str | None = None,
        seed: int = 0,
        fetch_urls: bool = True,
        fetch_timeout_seconds: float = 5.0,
        faults: Faults | None = None,
    ) -> None:
        self.video_limit = video_limit
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_window_seconds = rate_limit_window_seconds
        self.rate_limit_status = rate_limit_status
        self.s3_endpoint_url = s3_endpoint_url
        self.fetch_urls = fetch_urls
        self.fetch_timeout_seconds = fetch_timeout_seconds
        self._host = host
        self._port = port
        self._seed = seed
        self._lock = threading.Lock()
        self._tokens = self._checked_tokens(tokens)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._s3_clients: dict[tuple[str, str], Any] = {}
        self._clear(faults or Faults())

    def _clear(self, faults: Faults) -> None:
        """Forget every media, request and rate-limit window; call under the lock (or in __init__)."""
        self._faults = faults
        # Seeded sequences for reproducible runs, not secrets (S311). Ids get their own sequence
        # so changing the faults never changes the hashed_ids.
        self._fault_rng = random.Random(self._seed)  # noqa: S311
        self._id_rng = random.Random(self._seed)  # noqa: S311
        self._medias: list[dict[str, Any]] = []
        self._requests: list[dict[str, Any]] = []
        self._hashed_ids: set[str] = set()
        self._daily_projects: dict[str, dict[str, str]] = {}
        self._windows: dict[str, deque[float]] = {}
        self._next_id = 1

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        # A short poll interval lets stop() return within ~50 ms.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="wistia-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and every open connection. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in latency or timeout faults
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host  # noqa: S104 - a comparison
        return f"http://{host}:{self.port}"

    # -- state and configuration --------------------------------------------------------------

    def medias(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._medias)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def faults(self) -> Faults:
        """The live fault config: changes to it apply from the next request."""
        return self._faults

    def set_faults(
        self, faults: Faults | None = None, /, *, seed: int | None = None, **fields: Any
    ) -> Faults:
        """Replace the fault config, given as a Faults or as Faults' fields (none: no faults).

        Restarts the random fault sequence from `seed` (default: the emulator's seed), so a config
        replays the same outcomes for the same requests.
        """
        if faults is not None and fields:
            raise TypeError("pass a Faults or its fields, not both")
        new = faults if faults is not None else Faults(**fields)
        with self._lock:
            self._faults = new
            self._fault_rng = random.Random(self._seed if seed is None else seed)  # noqa: S311
        return new

    def reset_faults(self) -> None:
        self.set_faults()

    def add_rule(self, rule: FaultRule) -> FaultRule:
        """Append a rule (rules apply in order; the first matching one with a count left wins)."""
        with self._lock:
            self._faults.rules.append(rule)
        return rule

    def set_tokens(self, tokens: Iterable[str]) -> None:
        """Replace the valid tokens: rotation and revocation both apply from the next request."""
        checked = self._checked_tokens(tokens)
        with self._lock:
            self._tokens = checked

    def reset(self) -> None:
        """Forget medias, requests, rate-limit windows and faults; tokens and settings stay."""
        with self._lock:
            self._clear(Faults())

    @staticmethod
    def _checked_tokens(tokens: Iterable[str]) -> tuple[str, ...]:
        checked = tuple(tokens)
        if isinstance(tokens, str) or not all(isinstance(t, str) and t for t in checked):
            raise ValueError("tokens must be an iterable of non-empty strings")
        return checked

    # -- request handling (called by _Handler) ------------------------------------------------

    def _auth(self, header: str | None) -> tuple[str, str | None]:
        """("valid", token), ("invalid", None) or ("missing", None)."""
        if not header:
            return "missing", None
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "invalid", None
        with self._lock:
            valid = self._tokens
        # compare_digest: the emulator should not model a timing side channel on the token.
        if any(hmac.compare_digest(token.encode(), t.encode()) for t in valid):
            return "valid", token
        return "invalid", None

    def _record(self, **fields: Any) -> dict[str, Any]:
        record = {
            "time": _now().isoformat(timespec="milliseconds"),
            **fields,
            "status": None,
            "fault": None,
            "rule": None,
            "hashed_id": None,
        }
        with self._lock:
            self._requests.append(record)
        return record

    def _update(self, record: dict[str, Any], **fields: Any) -> None:
        with self._lock:
            record.update(fields)

    def _delay(self) -> bool:
        """Sleep the configured latency; False when the emulator stopped meanwhile."""
        with self._lock:
            faults = self._faults
            jitter = self._fault_rng.uniform(0, faults.jitter_seconds) if faults.jitter_seconds else 0.0
        seconds = faults.latency_seconds + jitter
        return seconds <= 0 or not self._stopping.wait(seconds)

    def _choose_fault(self, path: str, params: dict[str, str]) -> tuple[FaultRule | None, int | None]:
        with self._lock:
            return self._faults.choose(path, params, self._fault_rng)

    def _timeout_seconds(self, rule: FaultRule) -> float:
        return self._faults.timeout_seconds if rule.timeout_seconds is None else rule.timeout_seconds

    def _process(
        self,
        path: str,
        params: dict[str, str],
        upload: Upload | None,
        token: str | None,
        problem: ApiError | None,
    ) -> tuple[_Response, str | None]:
        """The real answer to an API request, and the hashed_id of the media it created."""
        if token is None:
            return _UNAUTHORIZED, None
        limited = self._rate_limited(token)
        if limited is not None:
            return limited, None
        try:
            if problem is not None:
                raise problem
            if path == "/s3_copy":
                options, default_name, source = self._s3_copy_source(params)
            else:
                options, default_name, source = self._upload_source(params, upload)
        except ApiError as exc:
            return _error(exc.status, exc.code, exc.detail), None
        media = self._create(options, default_name, source)
        if media is None:
            return _json_response(400, {"error": contract.VIDEO_LIMIT_MESSAGE}), None
        return _json_response(200, media), media["hashed_id"]

    def _list_medias(self, token: str | None, query: dict[str, str]) -> _Response:
        """GET /v1/medias.json?name=...&project_id=...: exact-name matches, oldest first."""
        if token is None:
            return _UNAUTHORIZED
        name, project = query.get("name"), query.get("project_id")
        found = [
            media
            for media in self.medias()
            if (name is None or media["name"] == name)
            and (project is None or media["project"]["hashed_id"] == project)
        ]
        return _json_response(200, found)

    def _rate_limited(self, token: str) -> _Response | None:
        """A sliding window per token; only admitted requests count, so Retry-After is exact."""
        limit, window = self.rate_limit_per_minute, self.rate_limit_window_seconds
        if limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            stamps = self._windows.setdefault(token, deque())
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) < limit:
                stamps.append(now)
                return None
            retry_after = max(1, math.ceil(stamps[0] + window - now))
        return _error(
            self.rate_limit_status,
            "rate_limited",
            f"more than {limit} requests in {window:g} seconds",
            (("Retry-After", str(retry_after)),),
        )

    def _s3_copy_source(self, params: dict[str, str]) -> tuple[contract.Options, str, dict[str, Any]]:
        bucket, source_file, region = contract.s3_copy_params(params)
        options = contract.options(params)
        if self.s3_endpoint_url is not None:
            self._check_s3_source(self.s3_endpoint_url, bucket, source_file, region)
        default_name = source_file.rsplit("/", 1)[-1] or source_file
        return options, default_name, {"bucket": bucket, "source_file": source_file, "region": region}

    def _upload_source(
        self, params: dict[str, str], upload: Upload | None
    ) -> tuple[contract.Options, str, dict[str, Any]]:
        if upload is not None and params.get("url"):
            raise ApiError(400, "invalid_parameter", "send either file or url, not both")
        if upload is not None:
            options = contract.options(params)
            source = {"filename": upload.filename, "content_type": upload.content_type, "bytes": upload.size}
            return options, upload.filename or "Untitled", source
        if not params.get("url"):
            raise ApiError(400, "missing_parameter", "file or url is required")
        url, file_name = contract.url_param(params)
        options = contract.options(params)
        fetched = self._fetch(url) if self.fetch_urls else None
        return options, file_name, {"url": url, "bytes": fetched}

    def _fetch(self, url: str) -> int:
        """GET the URL like Wistia's importer would; the number of bytes it served."""
        try:
            with requests.Session() as session:
                session.trust_env = False  # an environment proxy must not intercept loopback fetches
                with session.get(url, timeout=self.fetch_timeout_seconds, stream=True) as response:
                    if not 200 <= response.status_code < 300:
                        raise ApiError(
                            400, "url_fetch_failed", f"fetching the url answered HTTP {response.status_code}"
                        )
                    return sum(len(chunk) for chunk in response.iter_content(65536))
        except requests.RequestException as exc:
            raise ApiError(
                400, "url_fetch_failed", f"could not fetch the url: {type(exc).__name__}"
            ) from None

    def _s3_client(self, endpoint_url: str, region: str) -> Any:
        key = (endpoint_url, region)
        with self._lock:
            client = self._s3_clients.get(key)
        if client is None:
            client = boto3.session.Session().client(
                "s3",
                region_name=region,
                endpoint_url=endpoint_url,
                aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or "test",
                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or "test",
                aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
                config=Config(
                    s3={"addressing_style": "path"},  # the endpoint is an IP: no virtual-host buckets
                    retries={"total_max_attempts": 2},
                    connect_timeout=2,
                    read_timeout=5,
                ),
            )
            with self._lock:
                client = self._s3_clients.setdefault(key, client)
        return client

    def _check_s3_source(self, endpoint_url: str, bucket: str, key: str, region: str) -> None:
        """What Wistia's copy would hit: a missing bucket or object, or a bucket in another region."""
        client = self._s3_client(endpoint_url, region)
        try:
            location = client.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
            location = "eu-west-1" if location == "EU" else location  # S3's legacy name for Ireland
            if location != region:
                raise ApiError(400, "region_mismatch", f"bucket {bucket} is in {location}, not in {region}")
            client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code")
            if status == 404 or code in ("NoSuchBucket", "NoSuchKey"):
                raise ApiError(404, "source_not_found", f"s3://{bucket}/{key} does not exist") from None
            if status == 403:
                raise ApiError(403, "access_denied", f"Wistia cannot read s3://{bucket}/{key}") from None
            raise ApiError(500, "s3_error", f"S3 answered {code}") from None
        except BotoCoreError as exc:
            raise ApiError(500, "s3_unavailable", f"S3 could not be reached: {type(exc).__name__}") from None

    def _create(
        self, options: contract.Options, default_name: str, source: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Create a media, or None when the account is at its video limit (checked atomically)."""
        now = _now()
        with self._lock:
            if self.video_limit is not None and len(self._medias) >= self.video_limit:
                return None
            if options.project_id is not None:
                project = {"hashed_id": options.project_id}
            else:
                project = self._daily_project(now.date().isoformat())
            media = contract.media(
                media_id=self._next_id,
                hashed_id=self._new_hashed_id(),
                name=options.name or default_name,
                created=now.isoformat(timespec="seconds"),
                description=options.description,
                project=project,
                source=source,
            )
            self._next_id += 1
            self._medias.append(media)
            return copy.deepcopy(media)

    def _daily_project(self, day: str) -> dict[str, str]:
        """The project Wistia creates for uploads without project_id; call under the lock."""
        if day not in self._daily_projects:
            self._daily_projects[day] = {"hashed_id": self._new_hashed_id(), "name": f"Uploads_{day}"}
        return dict(self._daily_projects[day])

    def _new_hashed_id(self) -> str:
        while True:
            hashed_id = "".join(self._id_rng.choices(_HASHED_ID_ALPHABET, k=10))
            if hashed_id not in self._hashed_ids:
                self._hashed_ids.add(hashed_id)
                return hashed_id

    # -- control endpoints --------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes, loopback: bool) -> _Response:
        if not loopback:
            return _error(403, "forbidden", "the control endpoints answer loopback clients only")
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return _error(400, "invalid_json", "the body must be JSON")
        try:
            return self._control_route(method, path.removeprefix(CONTROL_PREFIX), data)
        except (ValueError, TypeError) as exc:
            return _error(400, "invalid_parameter", str(exc))

    def _control_route(self, method: str, route: str, data: Any) -> _Response:
        match method, route:
            case "GET", "health":
                with self._lock:
                    counts = {"medias": len(self._medias), "requests": len(self._requests)}
                return _json_response(200, {"status": "ok", **counts})
            case "GET", "requests":
                return _json_response(200, self.requests())
            case "GET", "medias":
                return _json_response(200, self.medias())
            case "GET", "faults":
                with self._lock:
                    return _json_response(200, self._faults.to_json())
            case "POST", "faults":
                if not isinstance(data, dict):
                    raise TypeError("the fault config must be a JSON object")
                seed = data.pop("seed", None)
                if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
                    raise ValueError("seed must be an integer")
                faults = self.set_faults(Faults.from_json(data), seed=seed)
                return _json_response(200, faults.to_json())
            case "POST", "reset":
                self.reset()
                return _json_response(200, {"status": "reset"})
            case "POST", "tokens":
                tokens = data.get("tokens") if isinstance(data, dict) else None
                if not isinstance(tokens, list):
                    raise TypeError('send {"tokens": ["...", ...]}')
                self.set_tokens(tokens)
                return _json_response(200, {"tokens": len(tokens)})  # a count: never echo tokens
            case "GET", "settings":
                return _json_response(200, {name: getattr(self, name) for name in _SETTINGS})
            case "POST", "settings":
                self._apply_settings(data)
                return _json_response(200, {name: getattr(self, name) for name in _SETTINGS})
        return _error(404, "not_found", f"no control endpoint {method} {CONTROL_PREFIX}{route}")

    def _apply_settings(self, data: Any) -> None:
        if not isinstance(data, dict) or not set(data) <= set(_SETTINGS):
            raise ValueError(f"settings is a JSON object with keys among {list(_SETTINGS)}")

        def whole(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and value >= 0

        for name in ("video_limit", "rate_limit_per_minute"):
            if name in data and data[name] is not None and not whole(data[name]):
                raise ValueError(f"{name} must be a whole number or null")
        window = data.get("rate_limit_window_seconds", 1)
        if not isinstance(window, int | float) or isinstance(window, bool) or window <= 0:
            raise ValueError("rate_limit_window_seconds must be a positive number")
        if data.get("rate_limit_status", 429) not in (429, 503):
            raise ValueError("rate_limit_status must be 429 or 503")
        if not isinstance(data.get("fetch_urls", True), bool):
            raise TypeError("fetch_urls must be a boolean")
        for name, value in data.items():
            setattr(self, name, value)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping in a fault must never keep the process alive

    def __init__(self, address: tuple[str, int], emulator: WistiaEmulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """End every keep-alive connection, so no handler thread answers after stop()."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            _shutdown(connection)


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked reading the next request


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    timeout = 120  # seconds an idle keep-alive connection stays open
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)
        if self.server.emulator._stopping.is_set():
            _shutdown(self.connection)  # accepted while stop() was closing connections

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def handle(self) -> None:
        # The client went away, or stop() closed the connection: nothing left to answer.
        with contextlib.suppress(OSError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and benchmarks read the request log instead (and it never holds tokens)."""

    def _dispatch(self) -> None:
        target = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True  # the framing is lost: the next request cannot be found
            self._write(_error(400, "invalid_request", "unreadable Content-Length or chunked body"))
            return
        if body is None:
            self.close_connection = True  # the client hung up mid-body
            return
        if target.path.startswith(CONTROL_PREFIX):
            loopback = ipaddress.ip_address(self.client_address[0]).is_loopback
            self._write(self.server.emulator._control(self.command, target.path, body, loopback))
        else:
            self._api(target, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        body = self.rfile.read(length)
        return body if len(body) == length else None

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        while True:
            line = self.rfile.readline(65537)
            if not line:
                return None
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields: nothing here uses them
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _api(self, target: SplitResult, body: bytes) -> None:
        emulator = self.server.emulator
        path = target.path
        content_type = self.headers.get("Content-Type", "")
        problem: ApiError | None = None
        query: dict[str, str] = {}
        form: dict[str, str] = {}
        upload: Upload | None = None
        try:
            query = contract.parse_query(target.query)
            form, upload = contract.parse_body(content_type, body)
        except ApiError as exc:
            problem = exc
        auth, token = emulator._auth(self.headers.get("Authorization"))
        record = emulator._record(
            method=self.command,
            path=path,
            peer=f"{self.client_address[0]}:{self.client_address[1]}",
            content_type=content_type or None,
            query=_redacted(query),
            form=_redacted(form),
            upload=None if upload is None else {"filename": upload.filename, "bytes": upload.size},
            auth=auth,
        )
        if path == MEDIAS_PATH and self.command == "GET":
            self._answer(record, emulator._list_medias(token, query))
            return
        if path not in API_PATHS:
            self._answer(record, _error(404, "not_found", f"no endpoint {path}"))
            return
        if self.command != "POST":
            self._answer(record, _error(405, "method_not_allowed", "use POST", (("Allow", "POST"),)))
            return
        if not emulator._delay():
            self.close_connection = True
            return
        # Parameters may come in the query string too; the body wins (the Upload API docs).
        params = {**query, **form}
        fault, rule_index = emulator._choose_fault(path, params)
        processed: _Response | None = None
        if fault is not None:
            emulator._update(record, fault=fault.label, rule=rule_index)
        if fault is None or fault.after_processing:
            processed, hashed_id = emulator._process(path, params, upload, token, problem)
            emulator._update(record, hashed_id=hashed_id)
            if fault is None:
                self._answer(record, processed)
                return
        self._apply_fault(fault, record, processed)

    def _apply_fault(self, fault: FaultRule, record: dict[str, Any], processed: _Response | None) -> None:
        emulator = self.server.emulator
        if fault.action == "drop":
            self.close_connection = True  # no response at all: the client sees the connection end
            return
        if fault.action == "timeout":
            if emulator._stopping.wait(emulator._timeout_seconds(fault)):
                self.close_connection = True
                return
            # After the stall: the real answer if the request was processed, else a gateway timeout.
            self._answer(record, processed or _error(504, "gateway_timeout", "the upstream did not answer"))
            return
        self._answer(record, _fault_response(fault))

    def _answer(self, record: dict[str, Any], response: _Response) -> None:
        self.server.emulator._update(record, status=response.status)
        self._write(response)

    def _write(self, response: _Response) -> None:
        """The whole response in one write: separate header and body writes stall on delayed ACKs."""
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        lines = [
            f"HTTP/1.1 {response.status} {phrase}",
            "Server: wistia-emulator",
            f"Date: {self.date_time_string()}",
        ]
        body = response.body
        if response.status in _BODYLESS_STATUSES:
            body = b""
        else:
            lines += [f"Content-Type: {response.content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in response.headers]
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")  # HTTP/1.0 clients (ab) asked for it explicitly
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body)
