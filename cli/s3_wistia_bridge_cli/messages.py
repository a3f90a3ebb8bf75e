"""One failure-queue message by its id: find it (show), or save a copy and delete it (discard)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s3_wistia_bridge.models import JsonDict

from .queue import FailedMessage, FailureQueue, classify_sqs_message
from .resources import ErrorKind, OperatorError

# Long enough to save the copy and delete; a message not deleted is released at once anyway.
FIND_VISIBILITY_SECONDS = 30


@dataclass(frozen=True)
class Found:
    raw: dict[str, Any]  # the SQS ReceiveMessage entry, as received
    message: FailedMessage

    def document(self) -> JsonDict:
        """What show prints and discard saves: the classification, the event, the SQS entry."""
        return {
            "message": self.message.summary(),
            "event": self.message.event,
            "sqs": {
                "MessageId": self.raw.get("MessageId"),
                "Body": self.raw.get("Body"),
                "Attributes": self.raw.get("Attributes", {}),
                "MessageAttributes": self.raw.get("MessageAttributes", {}),
            },
        }


def find(queue: FailureQueue, message_id: str, limit: int) -> Found:
    """Receive until `message_id` shows up (at most `limit` messages looked at). Every other
    message is made visible again; the one found stays hidden for FIND_VISIBILITY_SECONDS."""
    others: list[str] = []
    seen: set[str] = set()
    try:
        while len(seen) < limit:
            batch = [m for m in queue.receive(FIND_VISIBILITY_SECONDS) if m.get("MessageId") not in seen]
            if not batch:
                break
            for index, raw in enumerate(batch):
                if raw.get("MessageId") == message_id:
                    others.extend(str(m["ReceiptHandle"]) for m in batch[index + 1 :])
                    return Found(raw, classify_sqs_message(raw, int(time.time() * 1000)))
                seen.add(str(raw.get("MessageId")))
                others.append(str(raw["ReceiptHandle"]))
    finally:
        if others:
            queue.release(others)
    raise OperatorError(
        f"no message {message_id} on the failure queue (looked at {len(seen)}; raise --scan-limit?)",
        ErrorKind.NOT_FOUND,
    )


def save(found: Found, path: Path) -> Path:
    """Write the copy; never over an existing file (a second discard must not erase the first)."""
    try:
        with path.open("x", encoding="utf-8") as file:
            json.dump(found.document(), file, indent=2, default=str)
            file.write("\n")
    except FileExistsError:
        raise OperatorError(f"{path} exists: pass another --to") from None
    except OSError as error:
        raise OperatorError(f"cannot write {path}: {error.strerror}") from None
    return path


def default_path(message_id: str) -> Path:
    return Path(f"discarded-{message_id}.json")
