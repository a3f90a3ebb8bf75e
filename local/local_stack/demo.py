"""`make demo`: the bridge end to end on this machine, with every outcome, in about a minute.

Deploys the real template into ministack with buffered delivery (the default: S3 -> ingest queue
-> function), uploads one sample per outcome, shows what became of each and the failure queue
(the ingest queue's dead-letter queue), clears the injected faults, replays the queue with the
operator tool (back onto the ingest queue), follows every copied video in the ledger until Wistia
(the emulator, processing each media over a second and sending signed webhooks to the deployed
webhook function's URL) says it is ready, and exits 0 only if every outcome was the expected one.
"""

from __future__ import annotations

import os
import sys
import time

from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.models import S3Object
from s3_wistia_bridge_cli.cli import main as cli
from wistia_emulator import FaultRule

from .harness import LocalStack, LocalStackError
from .observe import Observed, wait_for

STEPS = ("accepted", "queued", "processing", "ready", "failed", "deleted")

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(4096)
# key -> (expected outcome, what the sample shows)
SAMPLES = {
    "videos/welcome.mp4": ("copied", "a normal video"),
    "videos/Café crème + friends.mp4": ("copied", "spaces, '+' and accents in the key"),
    "videos/meeting-notes.txt": ("rejected", "an extension that is not a video"),
    "videos/over-limit.mp4": ("permanent_failure", "Wistia refuses it: account video limit"),
    "videos/flaky-upload.mp4": ("transient_failure", "Wistia answers 503 until the queue gives up"),
}
# A short function timeout (so a 30 s ingest visibility timeout) and two deliveries before the
# dead-letter queue: the transient sample reaches it in seconds, not the deployed default's hours.
DEMO_PARAMETERS = {
    "Delivery": "buffered",
    "FunctionTimeoutSeconds": "5",
    "WistiaConnectTimeoutSeconds": "1",
    "MaxReceiveCount": "2",
}
VIDEO_LIMIT = {"error": "This account has exceeded its video limit. Please upgrade to upload more videos."}
EXPECTED = {key: outcome for key, (outcome, _) in SAMPLES.items()}
# Once the faults are cleared, the replay copies every queued sample; the rejected one stays so.
AFTER_REPLAY = {key: ("rejected" if outcome == "rejected" else "copied") for key, outcome in EXPECTED.items()}


def main() -> int:
    started = time.monotonic()
    try:
        with LocalStack("demo", log=say, parameters=DEMO_PARAMETERS) as stack:
            return run(stack, started)
    except LocalStackError as error:
        say(f"error: {error}")
        return 2
    except KeyboardInterrupt:
        say("interrupted: everything started was stopped")
        return 130
    finally:
        say(f"wall time {time.monotonic() - started:.1f}s")


def run(stack: LocalStack, started: float) -> int:
    assert stack.emulator is not None  # noqa: S101 - started by LocalStack
    for rule in fault_rules():
        stack.emulator.add_rule(rule)
    stack.follow_medias(queued_seconds=0.3, processing_seconds=0.7)
    upload_samples(stack)
    found = wait_and_show(stack, "outcomes", EXPECTED, timeout=90)
    show_queue(stack)

    say("\nclearing the injected faults (the operator fixed the cause) and replaying the queue ...")
    stack.emulator.reset_faults()
    replay_status = replay(stack)
    final = wait_and_show(stack, "after replay", AFTER_REPLAY, timeout=30)
    copied = [key for key, outcome in AFTER_REPLAY.items() if outcome == "copied"]
    ready = show_lifecycle(stack, copied, timeout=30)
    remaining = stack.queue_messages()
    say(f"failure queue: {len(remaining)} message(s) left")
    ok = all(
        (
            matches(found, EXPECTED),
            matches(final, AFTER_REPLAY),
            replay_status == 0,
            ready,
            not remaining,
            len(stack.emulator.medias()) == list(AFTER_REPLAY.values()).count("copied"),
        )
    )
    say(
        f"\n{'OK: every outcome was the expected one' if ok else 'FAILED: see the tables above'}"
        f" ({time.monotonic() - started:.1f}s)"
    )
    return 0 if ok else 1


def fault_rules() -> tuple[FaultRule, ...]:
    """The faults behind the two failing samples; new ones per run (a rule counts its hits)."""
    return (
        FaultRule(action=400, match="over-limit", body=VIDEO_LIMIT),
        FaultRule(action=503, match="flaky-upload", retry_after=0),
    )


def upload_samples(stack: LocalStack) -> None:
    say(f"\nuploading {len(SAMPLES)} samples to s3://{stack.bucket}/ ...")
    for key in SAMPLES:
        stack.upload(key, b"just some notes" if key.endswith(".txt") else VIDEO)


def wait_and_show(
    stack: LocalStack, title: str, expected: dict[str, str], timeout: float
) -> dict[str, Observed]:
    found = wait_for(stack, expected, timeout=timeout, progress=progress)
    print()  # ends the progress line
    show_table(title, found, expected)
    return found


def matches(found: dict[str, Observed], expected: dict[str, str]) -> bool:
    return all(found[key].outcome == outcome for key, outcome in expected.items())


def replay(stack: LocalStack) -> int:
    os.environ.update(stack.aws_env())
    argv = ["replay", "--queue-url", stack.queue_url, "--ingest-queue-url", stack.ingest_queue_url, "--yes"]
    say("$ s3-wistia-bridge " + " ".join(argv))
    return cli(argv)


def show_table(title: str, found: dict[str, Observed], expected: dict[str, str]) -> None:
    width = max(len(key) for key in found)
    say(f"\n{title}:")
    say(f"  {'object'.ljust(width)}  {'expected'.ljust(17)}  {'outcome'.ljust(17)}  detail")
    for key, seen in found.items():
        mark = "ok" if seen.outcome == expected[key] else "!!"
        columns = (key.ljust(width), expected[key].ljust(17), seen.outcome.ljust(17), seen.detail, mark)
        say("  " + "  ".join(columns))


def lifecycle(stack: LocalStack, key: str) -> str:
    """The statuses the newest media of `key` went through, from the ledger."""
    items = stack.ledger(key)
    if not items:
        return "-"
    item = items[-1]
    return " -> ".join(step for step in STEPS if f"{step}_at" in item) or str(item["status"])


def show_lifecycle(stack: LocalStack, keys: list[str], timeout: float) -> bool:
    """Waits until every key's media is ready in the ledger, then shows each one's lifecycle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(stack.ledger_status(key) != "ready" for key in keys):
        time.sleep(0.25)
    width = max(len(key) for key in keys)
    say("\nin Wistia (the ledger, moved by signed webhooks):")
    say(f"  {'object'.ljust(width)}  lifecycle")
    ok = True
    for key in keys:
        ready = stack.ledger_status(key) == "ready"
        ok = ok and ready
        say(f"  {key.ljust(width)}  {lifecycle(stack, key)}  {'ok' if ready else '!!'}")
    return ok


def show_queue(stack: LocalStack) -> None:
    messages = stack.queue_messages()
    say(f"\nfailure queue ({len(messages)} message(s)):")
    for body in messages:
        if body.get("type") == "s3-wistia-bridge.failure":
            status = body["http"]["status"]
            say(f"  bridge record     {body['object']['key']}: {body['reason']} (HTTP {status})")
        elif "requestPayload" in body:
            condition = (body.get("requestContext") or {}).get("condition", "?")
            error = (body.get("responsePayload") or {}).get("errorMessage", "?")
            say(f"  on-failure record {condition}: {error[:90]}")
        else:
            [key] = [item.key for item in parse_event(body) if isinstance(item, S3Object)] or ["?"]
            say(f"  original event    {key}: moved here by the redrive policy after its deliveries")


def say(line: str) -> None:
    print(line, flush=True)


def progress(line: str) -> None:
    print(f"\r{line}", end="", flush=True)


if __name__ == "__main__":
    sys.exit(main())
