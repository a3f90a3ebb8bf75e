"""moto's server in its own process, its SQS on a simulated clock: `python -m local_stack.clocked_moto
--port P --rate R --start T` (T: the Clock's start, Unix time).

Its own process: moto's request handling (DynamoDB expressions, SQS scans) then runs on another
core than the bridge under test, instead of competing with it for one interpreter lock. The
clock is the deliveries.Clock of the parent, rebuilt from its rate and start (wall time is shared).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import requests

from .deliveries import Clock, sqs_on
from .harness import free_port


@contextlib.contextmanager
def moto_process(clock: Clock) -> Iterator[str]:
    """A fresh moto server on a free 127.0.0.1 port with SQS on `clock`; its URL. Stopped by pid."""
    port = free_port()
    command = [sys.executable, "-m", "local_stack.clocked_moto", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - this interpreter and this module
        [*command, "--rate", repr(clock.rate), "--start", repr(clock.start)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the moto server did not start")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        requests.get(f"{url}/moto-api/", timeout=1)
    except requests.ConnectionError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--start", type=float, required=True)
    args = parser.parse_args()
    from moto.server import main as moto_main  # noqa: PLC0415 - after the arguments are checked
    from werkzeug.serving import WSGIRequestHandler  # noqa: PLC0415

    # Werkzeug writes a response's headers and body apart; with Nagle's algorithm on, the body
    # then waits for the client's delayed ACK (~40 ms a call on loopback).
    WSGIRequestHandler.disable_nagle_algorithm = True
    with sqs_on(Clock(args.rate, start=args.start)):
        moto_main(["-H", "127.0.0.1", "-p", str(args.port)])


if __name__ == "__main__":
    main()
