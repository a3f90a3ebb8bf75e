"""The ledger: one DynamoDB item per object version and media, from the copy until Wistia says ready.

The idempotency records (idempotency.py) expire; the ledger does not. It says what became of every
object version the bridge saw: rejected, copy_failed, or the media it became and that media's
status (lifecycle.MediaStatus), and it links a media that failed in Wistia to the one a replay made.

Keys (the table is `LEDGER_TABLE`; docs/lifecycle.md has its CloudFormation):

- partition key `pk` (S): `{bucket}/{key}` (bucket names have no `/`: unambiguous);
- sort key `sk` (S): `{version}#{generation:03d}`, version = the version id, else the ETag, else the
  sequencer, else `-`; generation 1, then one more per replay of a media that failed in Wistia, so
  the newest generation of a version is the last item of `begins_with(sk, "{version}#")`;
- GSI `by-hashed-id`, partition `hashed_id` (S): the Wistia media that webhooks and Show Media
  name (sparse: only items that became a media);
- GSI `open-by-age`, partition `open_status` (S), sort `accepted_at` (S): set while the media is
  `accepted`, `queued` or `processing`, removed once it is final, so the sweeper reads only what
  is still open, oldest first, one query per open status;
- GSI `pending-deletes`, partition `delete_pending` (S, always `pending`), sort `delete_due_at` (S):
  set while a delete (DeletePolicy) waits for its grace period, removed once it is done or
  cancelled, so the sweeper reads only what is due (versions_and_deletes.py).

Other attributes: bucket, key, region, version, version_id, etag, size, sequencer, generation,
status, status_rank, status_at, `<status>_at` for each status reached, attempts, reason, message,
project, name, media_url, replaces / replaced_by (hashed ids), event_at (time of the last Wistia
observation applied), name_at, seen (the webhook event uuids handled, a string set); a sidecar's
custom_fields, and the follow-ups done (companions.py: tags_sent, sidecar_applied, caption_<lang>).
Re-uploads and deletes (docs/versions-and-deletes.md): kept_media (skipped: the media the key
keeps), swap_target, swap_lease_until, swapped_into, swap_job_id, swapped_at, replace_fell_back_at,
replace_fell_back_from, delete_pending, delete_due_at, delete_requested_at, delete_cancelled_at,
delete_dry_run_at, archived_at, deleted_by, delete_failed_reason, delete_failed_at.

Writes are conditional, so the table itself keeps the rules: an outcome is written only over an
item that holds no media (a duplicate never clobbers a status); an observation is applied only when
it moves the status up, is not older than the last one applied, and its event uuid is new.

Errors: every DynamoDB error is a LedgerError; the ingest path logs and counts it and never lets it
block or repeat a copy (bridge.py), the webhook answers 500 so Wistia delivers again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from .events import s3_notification
from .lifecycle import OPEN, Current, MediaStatus, Observation, media_status
from .models import JsonDict, S3Object, utc_timestamp
from .s3_objects import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_HASHED_ID = "by-hashed-id"
OPEN_BY_AGE = "open-by-age"
PENDING_DELETES = "pending-deletes"
# The partition value of every pending delete (the index's only partition: a sparse queue by due time).
DELETE_PENDING = "pending"
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_NO_MEDIA = "attribute_not_exists(pk) OR status_rank < :zero"


class LedgerError(Exception):
    """The ledger could not be read or written (the DynamoDB error code, never a value)."""


class Entry(NamedTuple):
    """One ledger item, as read back."""

    pk: str
    sk: str
    status: MediaStatus
    generation: int
    item: JsonDict  # every attribute, deserialized

    @property
    def hashed_id(self) -> str | None:
        value = self.item.get("hashed_id")
        return str(value) if value else None

    def get(self, name: str) -> Any:
        return self.item.get(name)

    @property
    def version(self) -> str:
        """The object version this entry is about (ledger_version)."""
        return str(self.item.get("version") or self.sk.rsplit("#", 1)[0])

    @property
    def embed_hashed_id(self) -> str | None:
        """The media embeds show for this version: the existing media it was swapped into
        (OverwritePolicy=replace), else its own."""
        value = self.item.get("swapped_into")
        return str(value) if value else self.hashed_id

    def current(self) -> Current:
        return Current(
            self.status,
            self.item.get("event_at"),
            frozenset(self.item.get("seen") or ()),
            self.item.get("name_at"),
        )

    def s3_object(self) -> S3Object:
        """The object version this entry is about, with a replayable S3 notification for it."""
        size = self.item.get("size")
        event = s3_notification(
            str(self.item["bucket"]),
            str(self.item.get("region") or "us-east-1"),
            str(self.item["key"]),
            size=int(size) if size is not None else 0,
            etag=self.item.get("etag"),
            version_id=self.item.get("version_id"),
            sequencer=self.item.get("sequencer"),
        )
        return S3Object(
            bucket=str(self.item["bucket"]),
            key=str(self.item["key"]),
            region=str(self.item.get("region") or "us-east-1"),
            size=int(size) if size is not None else None,
            etag=self.item.get("etag"),
            version_id=self.item.get("version_id"),
            sequencer=self.item.get("sequencer"),
            source_event=event,
        )


class Outcome(NamedTuple):
    """What the ingest function learned about an object version (one ledger write)."""

    status: MediaStatus
    generation: int = 1
    hashed_id: str | None = None
    project: str | None = None
    name: str | None = None
    reason: str | None = None
    message: str | None = None
    replaces: str | None = None
    attempts: int = 1
    custom_fields: dict[str, str] | None = None  # a sidecar's: Wistia has no documented field for them


def newest_media(entries: Iterable[Entry], *, besides_version: str | None = None) -> Entry | None:
    """The newest (latest `accepted_at`) of the entries that became a media, whatever its status,
    leaving out those of `besides_version`; None when there is none. Pure."""
    medias = [
        entry
        for entry in entries
        if entry.hashed_id is not None and entry.status.holds_media and entry.version != besides_version
    ]
    return max(medias, key=lambda entry: str(entry.get("accepted_at") or ""), default=None)


def ledger_version(obj: S3Object) -> str:
    return obj.version or obj.sequencer or "-"


def ledger_key(obj: S3Object, generation: int) -> dict[str, str]:
    return {"pk": f"{obj.bucket}/{obj.key}", "sk": f"{ledger_version(obj)}#{generation:03d}"}


class Ledger:
    """The ledger table, on the container's DynamoDB client."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    # -- reads ----------------------------------------------------------------------------------

    def latest(self, obj: S3Object) -> Entry | None:
        """The newest generation of this object version, None when the ledger has none."""
        key = ledger_key(obj, 0)
        items = self._call(
            "query",
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :version)",
            ExpressionAttributeValues={":pk": {"S": key["pk"]}, ":version": {"S": f"{ledger_version(obj)}#"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        ).get("Items", [])
        return _entry(items[0]) if items else None

    def media_of_key(self, bucket: str, key: str) -> Entry | None:
        """The newest entry of any version of `bucket/key` that became a media (the one a
        re-upload, a sidecar or a caption file is about), whatever its status; None when no
        version of the key became a media."""
        return newest_media(self.versions_of_key(bucket, key))

    def versions_of_key(self, bucket: str, key: str) -> Iterator[Entry]:
        """Every entry of every version of `bucket/key` (one partition), in sort-key order."""
        start: dict[str, Any] | None = None
        while True:
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"{bucket}/{key}"}},
                "ConsistentRead": True,
            }
            if start:
                query["ExclusiveStartKey"] = start
            page = self._call("query", **query)
            yield from (_entry(item) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def by_hashed_id(self, hashed_id: str) -> Entry | None:
        """The entry of the media Wistia calls `hashed_id`; None: not a media the bridge made."""
        items = self._call(
            "query",
            TableName=self._table,
            IndexName=BY_HASHED_ID,
            KeyConditionExpression="hashed_id = :id",
            ExpressionAttributeValues={":id": {"S": hashed_id}},
            Limit=1,
        ).get("Items", [])
        if not items:
            return None
        # A GSI read is eventually consistent: read the item itself for its current state.
        found = _entry(items[0])
        item = self._call(
            "get_item",
            TableName=self._table,
            Key={"pk": {"S": found.pk}, "sk": {"S": found.sk}},
            ConsistentRead=True,
        ).get("Item")
        return _entry(item) if item else None

    def open_before(self, cutoff: str, limit: int) -> Iterator[Entry]:
        """Open medias accepted before `cutoff` (a ledger time), oldest first, at most `limit`."""
        left = limit
        for status in OPEN:
            start: dict[str, Any] | None = None
            while left > 0:
                page = self._call("query", **self._open_query(status, cutoff, left, start))
                for item in page.get("Items", []):
                    left -= 1
                    yield _entry(item)
                start = page.get("LastEvaluatedKey")
                if not start:
                    break

    def _open_query(self, status: MediaStatus, cutoff: str, limit: int, start: Any) -> dict[str, Any]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OPEN_BY_AGE,
            "KeyConditionExpression": "open_status = :status AND accepted_at < :cutoff",
            "ExpressionAttributeValues": {":status": {"S": status.value}, ":cutoff": {"S": cutoff}},
            "Limit": limit,
        }
        if start:
            query["ExclusiveStartKey"] = start
        return query

    # -- re-uploads and deletes (versions_and_deletes.py) ---------------------------------------

    def record_skipped(self, obj: S3Object, kept: str, message: str, now: str | None = None) -> bool:
        """OverwritePolicy=skip: this version is recorded, not sent; `kept` is the key's media."""
        outcome = Outcome(MediaStatus.SKIPPED, reason="already_in_wistia", message=message)
        if not self.record(obj, outcome, now):
            return False
        return self._update(ledger_key(obj, 1), {"kept_media": kept}, "attribute_exists(pk)")

    def claim_swap(self, entry: Entry, target: str, now: str, lease_until: str) -> bool:
        """Take the swap of this version into `target`; False when it is done, fell back, or another
        invocation holds an unexpired claim (a crash releases it when the lease ends)."""
        return self._update(
            {"pk": entry.pk, "sk": entry.sk},
            {"swap_target": target, "swap_lease_until": lease_until},
            "attribute_exists(pk) AND attribute_not_exists(swapped_at) "
            "AND attribute_not_exists(replace_fell_back_at) "
            "AND (attribute_not_exists(swap_lease_until) OR swap_lease_until < :now)",
            values={":now": now},
        )

    def swapped(self, entry: Entry, target: str, job_id: str | None, now: str) -> bool:
        fields = {"swapped_into": target, "swap_job_id": job_id, "swapped_at": now}
        return self._update(
            {"pk": entry.pk, "sk": entry.sk},
            fields,
            "attribute_exists(pk) AND attribute_not_exists(swapped_at)",
            remove=("swap_lease_until",),
        )

    def release_swap(self, entry: Entry, now: str) -> bool:
        """A swap that failed: the next try need not wait for the lease."""
        return self._update(
            {"pk": entry.pk, "sk": entry.sk},
            {"swap_failed_at": now},
            "attribute_exists(pk)",
            remove=("swap_lease_until",),
        )

    def replace_fell_back(self, entry: Entry, target: str, now: str) -> bool:
        """The media to swap into is gone: this version's own media stands on its own."""
        return self._update(
            {"pk": entry.pk, "sk": entry.sk},
            {"replace_fell_back_at": now, "replace_fell_back_from": target},
            "attribute_exists(pk) AND attribute_not_exists(swapped_at) "
            "AND attribute_not_exists(replace_fell_back_at)",
            remove=("swap_lease_until",),
        )

    def mark_delete(self, entry: Entry, due: str, now: str) -> bool:
        """A pending delete of this entry's media, due at `due`; False when one is pending already
        or the media is deleted."""
        return self._update(
            {"pk": entry.pk, "sk": entry.sk},
            {"delete_pending": DELETE_PENDING, "delete_due_at": due, "delete_requested_at": now},
            "attribute_exists(pk) AND attribute_not_exists(delete_pending) AND status_rank < :deleted",
            values={":deleted": MediaStatus.DELETED.rank},
        )

    def end_delete(self, entry: Entry, fields: dict[str, Any], status: MediaStatus | None = None) -> bool:
        """End a pending delete (done, cancelled, dry run, refused) with `fields` noting how; with
        `status` (deleted) the media's status too. False when it was no longer pending."""
        sets = dict(fields)
        remove: tuple[str, ...] = ("delete_pending", "delete_due_at")
        if status is not None:
            sets |= _status_fields(status, str(fields.get("deleted_at") or utc_timestamp()))
            remove += ("open_status",)
        return self._update(
            {"pk": entry.pk, "sk": entry.sk}, sets, "attribute_exists(delete_pending)", remove=remove
        )

    def pending_deletes(self, due_by: str, limit: int) -> Iterator[Entry]:
        """Pending deletes due by `due_by`, the earliest first, at most `limit`."""
        start: dict[str, Any] | None = None
        left = limit
        while left > 0:
            query: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": PENDING_DELETES,
                "KeyConditionExpression": "delete_pending = :pending AND delete_due_at <= :due",
                "ExpressionAttributeValues": {":pending": {"S": DELETE_PENDING}, ":due": {"S": due_by}},
                "Limit": left,
            }
            if start:
                query["ExclusiveStartKey"] = start
            page = self._call("query", **query)
            for item in page.get("Items", []):
                left -= 1
                yield _entry(item)
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def entry(self, pk: str, sk: str) -> Entry | None:
        """One item as it is now (a GSI read is eventually consistent)."""
        item = self._call(
            "get_item", TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        ).get("Item")
        return _entry(item) if item else None

    # -- writes ---------------------------------------------------------------------------------

    def record(self, obj: S3Object, outcome: Outcome, now: str | None = None) -> bool:
        """Write what the ingest function did with an object version; False when the item already
        holds a media (a duplicate: nothing is overwritten)."""
        at = now or utc_timestamp()
        fields: dict[str, Any] = {
            "bucket": obj.bucket,
            "key": obj.key,
            "region": obj.region,
            "version": ledger_version(obj),
            "version_id": obj.version_id,
            "etag": obj.etag,
            "size": obj.size,
            "sequencer": obj.sequencer,
            "generation": outcome.generation,
            "hashed_id": outcome.hashed_id,
            "project": outcome.project,
            "name": outcome.name,
            "reason": outcome.reason,
            "message": outcome.message,
            "replaces": outcome.replaces,
            "custom_fields": outcome.custom_fields,
            **_status_fields(outcome.status, at),
        }
        return self._update(
            ledger_key(obj, outcome.generation),
            fields,
            condition=_NO_MEDIA,
            values={":zero": 0},
            add={"attempts": outcome.attempts},
            # A media now: the reason a rejection or refusal before it left goes with it.
            remove=("reason", "message") if outcome.status.is_open else ("open_status",),
        )

    def link(self, replaced: Entry, hashed_id: str) -> bool:
        """Note on a failed media's entry which media replaced it."""
        key = {"pk": replaced.pk, "sk": replaced.sk}
        return self._update(key, {"replaced_by": hashed_id}, condition="attribute_exists(pk)")

    def observe(self, entry: Entry, observation: Observation, reason: str | None = None) -> bool:
        """Apply what Wistia said, unless the table says it is a duplicate or out of order."""
        key = {"pk": entry.pk, "sk": entry.sk}
        fields: dict[str, Any] = {"name": observation.name, "media_url": observation.url}
        values: dict[str, Any] = {}
        conditions = ["attribute_exists(pk)"]
        if observation.event_id is not None:
            conditions.append("NOT contains(seen, :event_id)")
            values[":event_id"] = observation.event_id
        status = observation.status
        if status is None:  # a rename
            fields["name_at"] = observation.at
            conditions.append("(attribute_not_exists(name_at) OR name_at < :at)")
            values[":at"] = observation.at
        else:
            fields |= _status_fields(status, observation.at) | {"event_at": observation.at, "reason": reason}
            conditions += ["status_rank < :rank", "(attribute_not_exists(event_at) OR event_at <= :at)"]
            values |= {":rank": status.rank, ":at": observation.at}
        return self._update(
            key,
            fields,
            condition=" AND ".join(conditions),
            values=values,
            add_set={"seen": observation.event_id} if observation.event_id else {},
            remove=("open_status",) if status is not None and not status.is_open else (),
        )

    def annotate(self, entry: Entry, fields: dict[str, Any]) -> bool:
        """Set attributes on an existing item (the follow-ups a media has had: its tags, captions,
        late sidecar; companions.py); False when the item is gone."""
        return self._update({"pk": entry.pk, "sk": entry.sk}, fields, "attribute_exists(pk)")

    def note_seen(self, entry: Entry, event_id: str) -> None:
        """Remember an event uuid that changed nothing, so its redeliveries are known duplicates."""
        self._update({"pk": entry.pk, "sk": entry.sk}, {}, "attribute_exists(pk)", add_set={"seen": event_id})

    def _update(
        self,
        key: dict[str, str],
        fields: dict[str, Any],
        condition: str,
        *,
        values: dict[str, Any] | None = None,
        add: dict[str, int] | None = None,
        add_set: dict[str, str] | None = None,
        remove: tuple[str, ...] = (),
    ) -> bool:
        expression = _Expression(values or {})
        adds: dict[str, Any] = {**(add or {}), **{field: {item} for field, item in (add_set or {}).items()}}
        update = expression.update(fields, adds, remove)
        try:
            self._call(
                "update_item",
                TableName=self._table,
                Key={name: {"S": value} for name, value in key.items()},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=expression.names,
                ExpressionAttributeValues=expression.serialized(),
            )
        except _ConditionFailed:
            return False
        return True

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise _ConditionFailed from None
            raise LedgerError(f"{operation} on LEDGER_TABLE failed ({error_code(error)})") from None
        except BotoCoreError as error:
            raise LedgerError(f"{operation} on LEDGER_TABLE failed ({type(error).__name__})") from None


class _ConditionFailed(Exception):
    """A conditional write the table refused: a duplicate or an out-of-order observation."""


class _Expression:
    """Placeholders for an update: #n0 for names (some are reserved words: status, name, size)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = dict(values)

    def update(self, sets: dict[str, Any], adds: dict[str, Any], remove: tuple[str, ...]) -> str:
        """SET the fields that have a value, ADD numbers and set members, REMOVE attributes."""
        assigned = [
            f"{self.name(field)} = {self.value(value)}" for field, value in sets.items() if value is not None
        ]
        added = [f"{self.name(field)} {self.value(value)}" for field, value in adds.items()]
        removed = [self.name(field) for field in remove]
        clauses = (("SET", assigned, ", "), ("ADD", added, ", "), ("REMOVE", removed, ", "))
        return " ".join(f"{verb} {joint.join(parts)}" for verb, parts, joint in clauses if parts)

    def name(self, field: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = field
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def serialized(self) -> dict[str, Any]:
        return {name: _SERIALIZER.serialize(value) for name, value in self.values.items()}


def _status_fields(status: MediaStatus, at: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "status": status.value,
        "status_rank": status.rank,
        "status_at": at,
        f"{status.value}_at": at,
    }
    if status.is_open:
        fields["open_status"] = status.value
    return fields


def _entry(item: dict[str, Any]) -> Entry:
    data = {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}
    for name, value in data.items():  # DynamoDB numbers come back as Decimal
        if name in {"generation", "status_rank", "attempts", "size"} and value is not None:
            data[name] = int(value)
    return Entry(
        str(data["pk"]),
        str(data["sk"]),
        media_status(str(data["status"])),
        int(data.get("generation", 1)),
        data,
    )
