"""CLI: run the emulator until SIGTERM or SIGINT.

Prints one JSON line {"url": ..., "pid": ...} when it is ready (and writes it to --ready-file).
Tokens are never printed; prefer --token-file to keep them out of the process list.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path

from .faults import Faults
from .server import WistiaEmulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m wistia_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", action="append", default=[], help="a valid token (repeatable)")
    parser.add_argument("--token-file", type=Path, help="valid tokens, one per line")
    parser.add_argument("--video-limit", type=int)
    parser.add_argument("--rate-limit-per-minute", type=int)
    parser.add_argument("--rate-limit-window-seconds", type=float, default=60.0)
    parser.add_argument("--rate-limit-status", type=int, choices=(429, 503), default=429)
    parser.add_argument("--s3-endpoint-url", help="check s3_copy sources against this S3 (e.g. moto)")
    parser.add_argument("--no-fetch-urls", action="store_true", help="accept URL imports without a GET")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API request")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ready-file", type=Path, help="also write the ready line to this file")
    return parser


def main() -> None:
    args = _parser().parse_args()
    tokens = list(args.token)
    if args.token_file is not None:
        tokens += [line.strip() for line in args.token_file.read_text(encoding="utf-8").splitlines()]
    emulator = WistiaEmulator(
        [token for token in tokens if token],
        host=args.host,
        port=args.port,
        video_limit=args.video_limit,
        rate_limit_per_minute=args.rate_limit_per_minute,
        rate_limit_window_seconds=args.rate_limit_window_seconds,
        rate_limit_status=args.rate_limit_status,
        s3_endpoint_url=args.s3_endpoint_url,
        seed=args.seed,
        fetch_urls=not args.no_fetch_urls,
        faults=Faults(latency_seconds=args.latency),
    )
    # Block the signals before any thread starts (threads inherit the mask), then wait for them
    # synchronously: no handler runs at an arbitrary point of the main thread.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    emulator.start()
    ready = json.dumps({"url": emulator.url, "pid": os.getpid()})
    if args.ready_file is not None:
        partial = args.ready_file.with_name(args.ready_file.name + ".partial")
        partial.write_text(ready + "\n", encoding="utf-8")
        partial.replace(args.ready_file)  # atomic: a poller never reads half a line
    print(ready, flush=True)
    signal.sigwait(stop_signals)
    emulator.stop()


if __name__ == "__main__":
    main()
