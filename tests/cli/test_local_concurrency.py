"""`replay --local --concurrency N` really runs N invocations at once: one bridge per worker
thread, each with its own HTTP connection, and the emulator sees the requests overlap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from s3_wistia_bridge_cli.replay import LocalInvoker
from wistia_emulator import WistiaEmulator

from .conftest import CliRun, Stack, permanent_record, s3_copies, send, visible_count


class InFlight:
    """Counts the emulator's requests being answered at the same moment (its latency sleep)."""

    def __init__(self, emulator: WistiaEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()
        delay = emulator._delay

        def counted_delay() -> bool:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                return delay()
            finally:
                with self._lock:
                    self.now -= 1

        monkeypatch.setattr(emulator, "_delay", counted_delay)


def test_local_replay_runs_concurrency_invocations_at_once(
    stack: Stack,
    bridge_env: dict[str, str],
    run_cli: Callable[..., CliRun],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = [f"videos/clip-{i:02d}.mp4" for i in range(16)]
    for key in keys:
        send(stack, permanent_record(stack.put(key)))  # the object exists: Wistia can copy it
    stack.emulator.set_faults(latency_seconds=0.2)  # long enough for every worker to be inside
    in_flight = InFlight(stack.emulator, monkeypatch)

    result = run_cli(
        "replay", "--queue-url", stack.queue_url, "--local", "--concurrency", "4", "--json", "--yes"
    )

    assert result.code == 0, result.err
    assert result.json()["summary"]["replayed"] == len(keys)
    assert in_flight.most == 4  # never more than asked, and really that many
    copies = s3_copies(stack)
    assert sorted(r["form"]["source_file"] for r in copies) == keys  # each object once
    assert len({r["peer"] for r in copies}) == 4  # one connection per worker's bridge
    assert visible_count(stack) == 0


def test_each_worker_thread_gets_its_own_handler_from_the_factory() -> None:
    built: list[int] = []
    barrier = threading.Barrier(3)

    def factory() -> Callable[[Any, Any], Any]:
        built.append(threading.get_ident())
        return lambda event, context: {"thread": threading.get_ident(), "request": context.aws_request_id}

    invoker = LocalInvoker(factory)
    answers: list[Any] = []

    def work() -> None:
        barrier.wait()
        answers.extend(invoker.invoke({}).payload for _ in range(3))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(built) == len(set(built)) == 3  # one handler per thread, built once
    assert {a["thread"] for a in answers} == set(built)
    assert len({a["request"] for a in answers}) == 9  # request ids stay unique across threads
