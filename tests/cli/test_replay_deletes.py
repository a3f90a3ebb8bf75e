"""Deletes are batched per round, and a delete SQS refuses never passes for a replay."""

from __future__ import annotations

import json
from typing import Any

from s3_wistia_bridge.events import s3_notification
from s3_wistia_bridge_cli.queue import FailureQueue
from s3_wistia_bridge_cli.replay import InvokeResult, ReplayOptions, ReplayStatus, replay


class ScriptedSqs:
    """The few SQS calls replay makes, over an in-memory queue; refuses to delete `refuse`."""

    def __init__(self, bodies: list[dict[str, Any]], refuse: set[str]) -> None:
        self.messages = [
            {
                "MessageId": f"m{i}",
                "ReceiptHandle": f"r{i}",
                "Body": json.dumps(body),
                "Attributes": {"SentTimestamp": "0"},
            }
            for i, body in enumerate(bodies)
        ]
        self.refuse = refuse
        self.delivered = False
        self.batch_deletes: list[list[str]] = []
        self.released: list[str] = []

    def receive_message(self, **_: Any) -> dict[str, Any]:
        if self.delivered:
            return {"Messages": []}
        self.delivered = True
        return {"Messages": self.messages[:10]}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.batch_deletes.append([entry["ReceiptHandle"] for entry in Entries])
        failed = [
            {"Id": e["Id"], "Code": "ReceiptHandleIsInvalid", "Message": "stale handle"}
            for e in Entries
            if e["ReceiptHandle"] in self.refuse
        ]
        return {"Successful": [], "Failed": failed}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.released.extend(entry["ReceiptHandle"] for entry in Entries)
        return {}


class Succeeds:
    def invoke(self, event: Any) -> InvokeResult:
        return InvokeResult(200, None, {"objects": [{"outcome": "copied"}]})


def test_successful_replays_are_deleted_in_batches_and_a_refused_delete_is_a_failure() -> None:
    bodies = [s3_notification("b", "us-east-1", f"videos/{i}.mp4", size=1, etag="e") for i in range(5)]
    sqs = ScriptedSqs(bodies, refuse={"r3"})

    report = replay(FailureQueue(sqs, "q"), Succeeds(), ReplayOptions(concurrency=2), clock=lambda: 1.0)

    assert sqs.batch_deletes == [["r0", "r1", "r2", "r3", "r4"]]  # one call, not five
    statuses = {r.message.message_id: (r.status, r.error) for r in report.results}
    assert statuses["m3"] == (ReplayStatus.FAILED, "invoked, but not deleted: stale handle")
    assert all(statuses[f"m{i}"] == (ReplayStatus.REPLAYED, None) for i in (0, 1, 2, 4))
    assert sqs.released == ["r3"]  # held, so visible again for the next run
    assert report.failed
