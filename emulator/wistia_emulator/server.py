"""WistiaEmulator: Wistia's upload host and media reads on one loopback port, for tests and benchmarks.

Endpoints: POST /s3_copy and POST / (uploads.py); GET /v1/medias.json, GET /modern/medias and
GET /modern/medias/{hashed_id} (data_api.py); swap, update, delete, archive, captions, folders and
background jobs on /modern and /v1 (library_api.py); JSON control endpoints under /__emulator__/
(control.py). The state lives in state.py, the HTTP framing in wire.py. See __init__.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import partial
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast, overload

from . import control, folders_api
from .api import Api
from .faults import FaultRule, Faults
from .state import EmulatorState, Settings
from .uploads import Uploads
from .wire import Server

_T = TypeVar("_T")


class _Setting(Generic[_T]):
    """A plain WistiaEmulator attribute stored in the state's settings, where requests read it."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, emulator: None, owner: type) -> _Setting[_T]: ...
    @overload
    def __get__(self, emulator: WistiaEmulator, owner: type) -> _T: ...
    def __get__(self, emulator: WistiaEmulator | None, owner: type) -> _Setting[_T] | _T:
        if emulator is None:
            return self
        return cast(_T, getattr(emulator._state.settings, self._name))

    def __set__(self, emulator: WistiaEmulator, value: _T) -> None:
        setattr(emulator._state.settings, self._name, value)


class WistiaEmulator:
    """A Wistia upload host on loopback. Thread-safe; start() it, then point a client at `.url`.

    `video_limit`, `rate_limit_per_minute`, `rate_limit_window_seconds`, `rate_limit_status`,
    `rate_limit_burst` (a token bucket of that size instead of the sliding window), `clock_rate`
    (emulated seconds per real second), `fetch_urls`, `s3_endpoint_url`, and the library's
    `archiving_enabled`, `job_queued_seconds`, `job_started_seconds`, `swap_replacement`,
    `accept_vtt_captions` and `restore_days` are plain attributes and may be changed at any time.
    """

    video_limit = _Setting[int | None]()
    rate_limit_per_minute = _Setting[int | None]()
    rate_limit_window_seconds = _Setting[float]()
    rate_limit_status = _Setting[int]()
    rate_limit_burst = _Setting[int | None]()
    clock_rate = _Setting[float]()
    fetch_urls = _Setting[bool]()
    s3_endpoint_url = _Setting[str | None]()
    fetch_timeout_seconds = _Setting[float]()
    archiving_enabled = _Setting[bool]()
    job_queued_seconds = _Setting[float]()
    job_started_seconds = _Setting[float]()
    swap_replacement = _Setting[str]()
    accept_vtt_captions = _Setting[bool]()
    restore_days = _Setting[int]()

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
        rate_limit_burst: int | None = None,
        clock_rate: float = 1.0,
        s3_endpoint_url: str | None = None,
        seed: int = 0,
        fetch_urls: bool = True,
        fetch_timeout_seconds: float = 5.0,
        faults: Faults | None = None,
    ) -> None:
        settings = Settings(
            video_limit=video_limit,
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_window_seconds=rate_limit_window_seconds,
            rate_limit_status=rate_limit_status,
            rate_limit_burst=rate_limit_burst,
            clock_rate=clock_rate,
            fetch_urls=fetch_urls,
            s3_endpoint_url=s3_endpoint_url,
            fetch_timeout_seconds=fetch_timeout_seconds,
        )
        self._state = EmulatorState(tokens, settings, seed, faults or Faults())

        def delay() -> bool:
            return self._delay()  # looked up per request: a test may wrap the instance's _delay

        self._api = Api(self._state, Uploads(self._state), delay=delay)
        self._host = host
        self._port = port
        self._stopping = threading.Event()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping.clear()
        self._server = Server(
            (self._host, self._port),
            control_prefix=control.CONTROL_PREFIX,
            control=partial(control.handle, self._state),
            api=self._api.handle,
            stopping=self._stopping,
        )
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
        self._state.webhooks.stop()
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
        return self._state.medias()

    def requests(self) -> list[dict[str, Any]]:
        return self._state.requests()

    @property
    def faults(self) -> Faults:
        """The live fault config: changes to it apply from the next request."""
        return self._state.faults

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
        self._state.set_faults(new, seed)
        return new

    def reset_faults(self) -> None:
        self.set_faults()

    def add_rule(self, rule: FaultRule) -> FaultRule:
        """Append a rule (rules apply in order; the first matching one with a count left wins)."""
        self._state.add_rule(rule)
        return rule

    def set_tokens(self, tokens: Iterable[str]) -> None:
        """Replace the valid tokens: rotation and revocation both apply from the next request."""
        self._state.set_tokens(tokens)

    def set_permission(self, token: str, permission: str) -> None:
        """What `token` may do on the library endpoints: "full" (the default), "read_only" or
        "upload_only" (library_api.py)."""
        self._state.set_permission(token, permission)

    def media(self, hashed_id: str) -> dict[str, Any]:
        """One media with its archived flag, tags, content fingerprint and captions (or, once
        deleted, with deleted_at); catalog.NotFound when there is none."""
        return control.media_details(self._state, hashed_id)

    def folders(self) -> list[dict[str, Any]]:
        return self._state.transact(lambda books: books.folder_list())

    def seed_folders(self, names: list[str]) -> list[dict[str, Any]]:
        """Create one folder per name (duplicates allowed), in order."""
        return folders_api.seed(self._state, names)

    def finish_jobs(self) -> int:
        """Finish every background job now (swaps, archives, restores take effect)."""
        return self._state.finish_jobs()

    def configure_lifecycle(self, **fields: Any) -> dict[str, Any]:
        """Media processing (lifecycle.py): enabled, queued_seconds, processing_seconds, fail_match,
        fail_times. Applies to medias created from now on."""
        return self._state.lifecycle.configure(fields)

    def configure_webhooks(self, **fields: Any) -> dict[str, Any]:
        """Signed webhook deliveries (webhooks.py): url, secret, events, duplicate_rate, late_rate,
        late_seconds, reorder_rate, seed."""
        return self._state.webhooks.configure(fields)

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return self._state.webhooks.deliveries()

    def reset(self) -> None:
        """Forget medias, requests, rate-limit windows and faults; tokens and settings stay."""
        self._state.reset()

    # -- request handling (called by the server's threads) ------------------------------------

    def _delay(self) -> bool:
        """Sleep the configured latency; False when the emulator stopped meanwhile."""
        seconds = self._state.latency_seconds()
        return seconds <= 0 or not self._stopping.wait(seconds)
