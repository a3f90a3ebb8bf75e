"""Events for everyone downstream: what became of each object, on EventBridge (docs/events.md).

Source `s3-wistia-bridge`, detail types `Media Accepted`, `Media Ready`, `Media Failed`,
`Object Rejected`, `Copy Failed`; the detail names the object (bucket, key, version), the media
(hashed_id, project, name, url where known) and the reason. Best effort: a PutEvents that fails is
logged and counted (`EventPublishFailed`), never raised, so an event can be missing but a copy is
never failed or repeated for one.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .models import JsonDict
from .observability import count, logger
from .s3_objects import error_code

if TYPE_CHECKING:
    from .aws import AwsClients

SOURCE = "s3-wistia-bridge"


class DetailType(StrEnum):
    MEDIA_ACCEPTED = "Media Accepted"
    MEDIA_READY = "Media Ready"
    MEDIA_FAILED = "Media Failed"
    OBJECT_REJECTED = "Object Rejected"
    COPY_FAILED = "Copy Failed"
    # Re-uploads and deletes (versions_and_deletes.py, docs/versions-and-deletes.md).
    VERSION_SKIPPED = "Version Skipped"
    MEDIA_SWAPPED = "Media Swapped"
    REPLACE_FELL_BACK = "Replace Fell Back"
    DELETE_SCHEDULED = "Delete Scheduled"
    DELETE_CANCELLED = "Delete Cancelled"
    DELETE_SKIPPED = "Delete Skipped"  # DeleteDryRun: what would have been deleted or archived
    DELETE_FAILED = "Delete Failed"
    MEDIA_DELETED = "Media Deleted"
    MEDIA_ARCHIVED = "Media Archived"


def event_detail(**fields: Any) -> JsonDict:
    """The detail of one event: the fields that have a value, in a stable order."""
    return {name: value for name, value in fields.items() if value is not None}


class EventPublisher:
    """PutEvents on the container's EventBridge client (made on the first event)."""

    def __init__(self, bus_name: str, clients: AwsClients) -> None:
        self._bus_name = bus_name
        self._clients = clients

    def publish(self, detail_type: DetailType, detail: JsonDict) -> bool:
        """Put one event; False (logged, counted) when EventBridge did not take it."""
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type.value,
            "Detail": json.dumps(detail, ensure_ascii=False, default=str),
            "EventBusName": self._bus_name,
        }
        try:
            response = self._clients.events.put_events(Entries=[entry])
        except Exception as error:  # best effort: an event never fails a copy
            return _failed(detail_type, error_code(error))
        if response.get("FailedEntryCount"):
            failed = (response.get("Entries") or [{}])[0]
            return _failed(detail_type, str(failed.get("ErrorCode") or "FailedEntry"))
        return True


class NoEvents:
    """EVENT_BUS_NAME not set: nothing is published."""

    def publish(self, detail_type: DetailType, detail: JsonDict) -> bool:
        return False


def _failed(detail_type: DetailType, code: str) -> bool:
    logger.warning("event not published", detail_type=detail_type.value, error=code)
    count("EventPublishFailed")
    return False
