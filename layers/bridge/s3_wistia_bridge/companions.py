"""Companion files of a video: its sidecar, its captions and its tags, in either arrival order.

The bridge calls three hooks (bridge.py):

- `arrived(obj)` for a sidecar or caption key: a sidecar whose video already became a media updates
  it (`PUT /modern/medias/{id}`: name, description, tags); one whose video exists without a media
  answers that video, which the bridge then copies (the pair is complete); one without a video is
  skipped (its video reads it when it comes). A caption is sent to its video's media (PUT, POST on
  404); before that media exists it is retried (`media_not_yet_copied`).
- `paired(obj, request)` before a video's copy: one ListObjectsV2 (prefix `<stem>.`) finds the
  sidecar and the captions beside it; the sidecar's fields go into the request; no sidecar yet and
  a video younger than SIDECAR_WAIT_SECONDS: `sidecar_pending`, retried until the wait is over.
- `follow_ups(obj, hashed_id)` after the ledger recorded the media (also for a duplicate): tags and
  captions not done yet. Each one done is noted on the video's ledger item (`tags_sent`,
  `sidecar_applied`, `caption_<lang>`), so a retry after a transient failure repeats neither the
  copy nor what already went through; a permanent failure is a failure record for that follow-up.

Every decision is in the pure functions at the top; the classes are thin adapters.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from .captions import MAX_CAPTION_BYTES, CaptionError, caption_file, is_caption_key, srt_text
from .config import BridgeConfig
from .errors import PermanentFailure, TransientFailure
from .events import s3_notification
from .ledger import newest_media
from .models import CopyRequest, ObjectReport, Outcome, S3Object
from .observability import count, logger
from .reasons import FailureReason
from .s3_objects import ObjectHead, S3Objects, error_code, raise_unless_missing
from .sidecar import (
    MAX_SIDECAR_BYTES,
    Sidecar,
    SidecarError,
    is_sidecar_key,
    parse_sidecar,
    sidecar_keys,
    sidecar_target,
    video_stem,
)
from .validation import Reason, Rejection, file_extension, validate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from .aws import AwsClients
    from .folders import FolderLookup  # folders.FolderDirectory: a folder's hashed id by its name
    from .ledger import Entry, Ledger
    from .wistia_media import Answer, WistiaMedia

LIFECYCLE_TAG_KEY = "wistia-status"  # the lifecycle's own object tag: never a Wistia tag
MAX_LISTED_PAGES = 5  # 5000 keys share a stem: more is not a video's companions


# ---------------------------------------------------------------------------------- pure


class Listed(NamedTuple):
    """One key of a ListObjectsV2 page (its current version)."""

    key: str
    etag: str
    size: int
    last_modified: datetime | None = None


class Beside(NamedTuple):
    """What lies beside one video: its preferred sidecar and its caption per language."""

    video: Listed | None
    sidecar: Listed | None
    captions: dict[str, Listed]


def beside(video_key: str, listing: Iterable[Listed], allowed: frozenset[str]) -> Beside:
    """The video's own entry, its sidecar (`<video>.json` before `<stem>.json`) and its captions
    (per language: `<video>.<lang>.*` before `<stem>.<lang>.*`, `.srt` before `.vtt`)."""
    by_key = {item.key: item for item in listing}
    sidecar = next((by_key[key] for key in sidecar_keys(video_key) if key in by_key), None)
    ranked: dict[str, tuple[tuple[int, int], Listed]] = {}
    for item in by_key.values():
        ranking = _caption_rank(item.key, video_key, allowed)
        if ranking is None:
            continue
        language, rank = ranking
        if language not in ranked or rank < ranked[language][0]:
            ranked[language] = (rank, item)
    return Beside(by_key.get(video_key), sidecar, {lang: item for lang, (_, item) in sorted(ranked.items())})


def _caption_rank(key: str, video_key: str, allowed: frozenset[str]) -> tuple[str, tuple[int, int]] | None:
    """The language of a caption key of this video and its rank (lower wins: the video's full
    name before its stem, SRT before WebVTT); None: not a caption of this video."""
    if not is_caption_key(key):
        return None
    caption = caption_file(key, allowed)
    if isinstance(caption, CaptionError) or caption.stem != video_stem(video_key):
        return None
    if caption.video_key not in (None, video_key):
        return None
    return caption.language, (0 if caption.video_key else 1, 0 if caption.extension == ".srt" else 1)


def videos_of(
    stem: str, exact: str | None, listing: Iterable[Listed], allowed: frozenset[str]
) -> list[Listed]:
    """The videos a companion named by `stem` (or exactly `exact`) belongs to, by key."""
    return sorted(
        (
            item
            for item in listing
            if (item.key == exact if exact else video_stem(item.key) == stem)
            and file_extension(item.key) in allowed
        ),
        key=lambda item: item.key,
    )


def tag_union(
    sidecar_tags: Iterable[str], object_tags: dict[str, str], excluded: frozenset[str]
) -> list[str]:
    """The Wistia tags: the sidecar's in its order, then each S3 tag as `key=value` (`key` when its
    value is empty) by key, never `aws:` keys or the bridge's own tags; each once."""
    tags = list(dict.fromkeys(sidecar_tags))
    for key in sorted(object_tags):
        if key.lower().startswith("aws:") or key in excluded:
            continue
        tag = f"{key}={object_tags[key]}" if object_tags[key] else key
        if tag not in tags:
            tags.append(tag)
    return tags


def fingerprint(values: Iterable[str]) -> str:
    """A short stable digest of a list (what was sent last, to send nothing twice)."""
    return hashlib.sha256(json.dumps(list(values)).encode("utf-8")).hexdigest()[:20]


def wait_left(last_modified: datetime | None, now: float, wait_seconds: int) -> float:
    """Seconds the video still waits for its sidecar (0: go now)."""
    if last_modified is None or wait_seconds <= 0:
        return 0.0
    return max(0.0, last_modified.timestamp() + wait_seconds - now)


def caption_attribute(language: str) -> str:
    return f"caption_{language}"


class Pairing(NamedTuple):
    """A video's companions as its copy found them."""

    sidecar: Sidecar | None
    sidecar_etag: str | None
    captions: dict[str, Listed]


# ---------------------------------------------------------------------------------- S3


class CompanionObjects:
    """The S3 calls companions need, on the container's clients; errors as the bridge's failures."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._objects = S3Objects(clients)

    def _client(self, region: str) -> S3Client:
        return self._clients.s3(region)

    def listing(self, bucket: str, region: str, prefix: str) -> list[Listed]:
        """The current keys under `prefix` (at most MAX_LISTED_PAGES pages)."""
        items: list[Listed] = []
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        for _ in range(MAX_LISTED_PAGES):
            page = self._s3_call(
                "ListObjectsV2", f"s3://{bucket}/{prefix}", self._client(region).list_objects_v2, params
            )
            items.extend(
                Listed(
                    str(item["Key"]),
                    str(item.get("ETag", "")).strip('"'),
                    int(item.get("Size", 0)),
                    item.get("LastModified"),
                )
                for item in page.get("Contents", [])
            )
            if not page.get("IsTruncated"):
                break
            params["ContinuationToken"] = page["NextContinuationToken"]
        return items

    def announced(self, obj: S3Object) -> S3Object:
        """The object under the key S3 has, when an EventBridge key may be meant encoded or
        decoded (HeadObject of the raw key first, as bridge._existing does)."""
        candidates = obj.key_candidates()
        if len(candidates) == 1:
            return obj
        return next(
            (found for found in candidates if _matches(self._objects.head(found), found)), candidates[-1]
        )

    def read(self, obj: S3Object, limit: int) -> bytes | None:
        """At most `limit` + 1 bytes of the object (one more tells it is too big); None: gone."""
        return self._objects.first_bytes(obj, limit + 1)

    def video(self, bucket: str, region: str, key: str) -> S3Object | None:
        """The current version of a video key (HeadObject), with a replayable event; None: gone."""
        probe = S3Object(bucket, key, region, None)
        try:
            head = self._client(region).head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            raise_unless_missing(error, probe)
            return None
        except BotoCoreError as error:
            raise _unavailable("HeadObject", probe.uri, error) from None
        size = int(head.get("ContentLength", 0))
        etag = str(head.get("ETag", "")).strip('"') or None
        version_id = head.get("VersionId") if head.get("VersionId") not in (None, "null") else None
        event = s3_notification(bucket, region, key, size=size, etag=etag, version_id=version_id)
        return S3Object(bucket, key, region, size, etag, version_id, source_event=event)

    def tags(self, obj: S3Object) -> dict[str, str]:
        """The object version's S3 tags."""
        answer = self._s3_call(
            "GetObjectTagging", obj.uri, self._client(obj.region).get_object_tagging, _params(obj)
        )
        return {str(tag["Key"]): str(tag["Value"]) for tag in answer.get("TagSet", [])}

    @staticmethod
    def _s3_call(operation: str, where: str, call: Callable[..., Any], params: dict[str, Any]) -> Any:
        try:
            return call(**params)
        except ClientError as error:
            code = error_code(error)
            if code in {"AccessDenied", "403"}:
                raise PermanentFailure(
                    FailureReason.S3_ACCESS_DENIED,
                    f"S3 denied {operation} on {where} ({code}): the role needs it for sidecars, "
                    "captions and tags (template.yaml grants it when the feature is on)",
                ) from None
            raise TransientFailure(
                FailureReason.S3_UNAVAILABLE, f"{operation} on {where} failed ({code})"
            ) from None
        except BotoCoreError as error:
            raise _unavailable(operation, where, error) from None


def _matches(head: ObjectHead | None, obj: S3Object) -> bool:
    return head is not None and head.matches(obj)


def _params(obj: S3Object) -> dict[str, Any]:
    params: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
    if obj.version_id:
        params["VersionId"] = obj.version_id
    return params


def _unavailable(operation: str, where: str, error: Exception) -> TransientFailure:
    return TransientFailure(
        FailureReason.S3_UNAVAILABLE, f"{operation} on {where} failed ({type(error).__name__})"
    )


# ---------------------------------------------------------------------------------- orchestration


class CopyVideos(NamedTuple):
    """A sidecar completed the pair of videos with no media yet: copy them now."""

    videos: tuple[S3Object, ...]


Arrival = ObjectReport | Rejection | CopyVideos


class Companions:
    def __init__(
        self,
        config: BridgeConfig,
        objects: CompanionObjects,
        ledger: Ledger,
        media: WistiaMedia,
        *,
        folders: FolderLookup | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._objects = objects
        self._ledger = ledger
        self._media = media
        self._folders = folders
        self._clock = clock
        self._allowed = config.allowed_extensions
        excluded = {LIFECYCLE_TAG_KEY} | ({config.write_back_tag_key} if config.write_back_tag_key else set())
        self._excluded_tags = frozenset(excluded)
        # The pairing of the video being copied, for its follow-ups (one bridge: one object at a time).
        self._last: tuple[str, Pairing] | None = None

    # -- which keys are companions --------------------------------------------------------------

    def is_companion(self, obj: S3Object) -> bool:
        return (self.config.sidecars and is_sidecar_key(obj.key)) or (
            self.config.captions and is_caption_key(obj.key)
        )

    def arrived(self, obj: S3Object) -> Arrival:
        """A sidecar's or caption's own event."""
        relaxed = self.config._replace(
            allowed_extensions=self._allowed | {file_extension(obj.key)}, max_object_bytes=None
        )
        rejection = validate(obj, relaxed)  # bucket, region, key safety, prefix: as for any object
        if rejection is not None:
            return rejection
        obj = self._objects.announced(obj)
        if is_sidecar_key(obj.key) and self.config.sidecars:
            return self._sidecar_arrived(obj)
        return self._caption_arrived(obj)

    # -- a sidecar's event ---------------------------------------------------------------------

    def _sidecar_arrived(self, obj: S3Object) -> Arrival:
        data = self._objects.read(obj, MAX_SIDECAR_BYTES)
        if data is None:
            return _skipped(obj, "sidecar_gone", "the sidecar no longer exists: nothing to apply")
        parsed = parse_sidecar(data)
        if isinstance(parsed, SidecarError):
            return Rejection(Reason.SIDECAR_INVALID, parsed.text())
        stem, exact = sidecar_target(obj.key, self._allowed)
        listing = self._objects.listing(obj.bucket, obj.region, f"{stem}.")
        videos = [
            video
            for video in videos_of(stem, exact, listing, self._allowed)
            if _key_of(beside(video.key, listing, self._allowed).sidecar) == obj.key
        ]
        if not videos:
            return _skipped(obj, "sidecar_stored", "no video beside it yet: its video will read it")
        return self._complete(obj, parsed, videos)

    def _complete(self, obj: S3Object, sidecar: Sidecar, videos: list[Listed]) -> Arrival:
        """Each video's media updated, or the videos without one copied now (the pair is complete)."""
        waiting: list[S3Object] = []
        updated: str | None = None
        for video in videos:
            entry = self._ledger.media_of_key(obj.bucket, video.key)
            if entry is not None:
                updated = self._late_sidecar(obj, entry, sidecar)
                continue
            found = self._objects.video(obj.bucket, obj.region, video.key)
            waiting.extend([found] if found is not None else [])
        if waiting:
            return CopyVideos(tuple(waiting))
        return ObjectReport(Outcome.UPDATED, obj.uri, "sidecar_applied", hashed_id=updated)

    def _late_sidecar(self, obj: S3Object, entry: Entry, sidecar: Sidecar) -> str | None:
        """The media exists: its name, description and tags from the sidecar (its folder stays)."""
        hashed_id = entry.embed_hashed_id or ""
        if obj.etag and entry.get("sidecar_applied") == obj.etag:
            logger.info("sidecar already applied: nothing sent", hashed_id=hashed_id)
            count("DuplicateSuppressed")
            return hashed_id
        tags = self._tags(entry.s3_object(), sidecar.tags)
        answer = self._media.update(
            hashed_id, name=sidecar.name, description=sidecar.description, tags=tags if tags else None
        )
        _raise_unless_ok(answer, f"late sidecar: PUT /modern/medias/{hashed_id}")
        if sidecar.project is not None:
            logger.info(
                "a late sidecar's project is not applied: the media stays in its folder", hashed_id=hashed_id
            )
        self._annotate(
            entry,
            {
                "sidecar_applied": obj.etag or "-",
                "tags_sent": fingerprint(tags) if tags else None,
                "name": sidecar.name,
                "custom_fields": dict(sidecar.custom_fields) or None,
            },
        )
        logger.info("late sidecar applied to the media", hashed_id=hashed_id, tags=len(tags))
        count("SidecarApplied")
        return hashed_id

    # -- a caption's event ---------------------------------------------------------------------

    def _caption_arrived(self, obj: S3Object) -> Arrival:
        caption = caption_file(obj.key, self._allowed)
        if isinstance(caption, CaptionError):
            raise PermanentFailure(FailureReason.CAPTION_INVALID, caption.message)
        srt = self._srt(obj, caption.extension)
        if srt is None:
            return _skipped(obj, "caption_gone", "the caption file no longer exists: nothing to send")
        listing = self._objects.listing(obj.bucket, obj.region, f"{caption.stem}.")
        videos = [
            video
            for video in videos_of(caption.stem, caption.video_key, listing, self._allowed)
            if _key_of(beside(video.key, listing, self._allowed).captions.get(caption.language)) == obj.key
        ]
        if not videos:
            return _skipped(
                obj, "caption_stored", "no video beside it yet: its video will send it after its copy"
            )
        return self._caption_to(obj, caption.language, srt, videos)

    def _caption_to(self, obj: S3Object, language: str, srt: str, videos: list[Listed]) -> Arrival:
        """The caption sent to each video's media (PUT, POST on 404)."""
        sent: str | None = None
        for video in videos:
            entry = self._media_entry(obj.bucket, video.key)
            if entry is not None:
                sent = self._send_caption(entry, entry.embed_hashed_id or "", language, obj.etag or "-", srt)
        if sent is None:
            return _skipped(
                obj, "caption_stored", "its video was not copied (rejected or failed): its copy will send it"
            )
        return ObjectReport(Outcome.UPDATED, obj.uri, "caption_sent", hashed_id=sent)

    def _media_entry(self, bucket: str, video_key: str) -> Entry | None:
        """The media of a video key; None when the ledger says it became none (rejected, failed: a
        later copy sends the captions beside it); media_not_yet_copied while it has no outcome."""
        history = list(self._ledger.versions_of_key(bucket, video_key))  # one query for both answers
        entry = newest_media(history)
        if entry is not None or history:
            return entry
        raise TransientFailure(
            FailureReason.MEDIA_NOT_YET_COPIED,
            f"{video_key!r} has no Wistia media yet: the caption is sent once it has",
        )

    def _srt(self, obj: S3Object, extension: str) -> str | None:
        """The SRT to send for a caption object; None: it is gone; invalid: caption_invalid."""
        if obj.size is not None and obj.size > MAX_CAPTION_BYTES:
            raise PermanentFailure(
                FailureReason.CAPTION_INVALID, f"{obj.size} bytes, over the limit of {MAX_CAPTION_BYTES}"
            )
        data = self._objects.read(obj, MAX_CAPTION_BYTES)
        if data is None:
            return None
        srt = srt_text(data, extension)
        if isinstance(srt, CaptionError):
            raise PermanentFailure(
                FailureReason.CAPTION_INVALID, f"{obj.key.rsplit('/', 1)[-1]!r}: {srt.message}"
            )
        return srt

    def _send_caption(
        self, entry: Entry | None, hashed_id: str, language: str, version: str, srt: str
    ) -> str:
        attribute = caption_attribute(language)
        if entry is not None and version != "-" and entry.get(attribute) == version:
            logger.info("caption already sent: nothing sent", hashed_id=hashed_id, language=language)
            count("DuplicateSuppressed")
            return hashed_id
        answer = self._media.put_caption(hashed_id, language, srt)
        _raise_unless_ok(
            answer,
            f"caption {language}: PUT /modern/medias/{hashed_id}/captions",
            FailureReason.CAPTION_INVALID,
        )
        if entry is not None:
            self._annotate(entry, {attribute: version})
        logger.info("caption sent", hashed_id=hashed_id, language=language)
        count("CaptionSent")
        return hashed_id

    # -- a video's copy ------------------------------------------------------------------------

    def paired(self, obj: S3Object, request: CopyRequest) -> CopyRequest | Rejection:
        """The video's request with its sidecar's fields; raises sidecar_pending while it waits."""
        self._last = None
        if not (self.config.sidecars or self.config.captions):
            return request
        listing = self._objects.listing(obj.bucket, obj.region, f"{video_stem(obj.key)}.")
        found = beside(obj.key, listing, self._allowed)
        sidecar: Sidecar | None = None
        if self.config.sidecars and found.sidecar is not None:
            parsed = self._read_sidecar(obj, found.sidecar)
            if isinstance(parsed, Rejection):
                return parsed
            sidecar = parsed
        elif self.config.sidecars:
            self._wait_for_sidecar(found.video)
        self._last = (
            _identity(obj),
            Pairing(
                sidecar, found.sidecar.etag if sidecar and found.sidecar else None, self._captions(found)
            ),
        )
        return request if sidecar is None else self._apply(request, sidecar)

    def _read_sidecar(self, obj: S3Object, listed: Listed) -> Sidecar | Rejection:
        data = self._objects.read(
            S3Object(obj.bucket, listed.key, obj.region, listed.size), MAX_SIDECAR_BYTES
        )
        parsed = parse_sidecar(data if data is not None else b"")
        if isinstance(parsed, SidecarError):
            return Rejection(
                Reason.SIDECAR_INVALID, f"sidecar {listed.key.rsplit('/', 1)[-1]!r}: {parsed.text()}"
            )
        return parsed

    def _wait_for_sidecar(self, video: Listed | None) -> None:
        left = wait_left(
            video.last_modified if video else None, self._clock(), self.config.sidecar_wait_seconds
        )
        if left > 0:
            raise TransientFailure(
                FailureReason.SIDECAR_PENDING,
                f"no sidecar yet: the video waits {math.ceil(left)} s more (SIDECAR_WAIT_SECONDS) for it",
                retry_after=math.ceil(left) + 1,
            )

    def _apply(self, request: CopyRequest, sidecar: Sidecar) -> CopyRequest | Rejection:
        """Sidecar fields before object metadata and routing (docs/sidecars-and-captions.md)."""
        project_id = request.project_id
        if sidecar.project is not None and sidecar.project.hashed_id:
            project_id = sidecar.project.hashed_id
        elif sidecar.project is not None and sidecar.project.name:
            if self._folders is None:
                return Rejection(
                    Reason.SIDECAR_INVALID,
                    "project.name: no folder lookup is configured; give the folder's hashed id instead",
                )
            project_id = self._folders.folder_id(sidecar.project.name)
        return replace(
            request,
            name=sidecar.name or request.name,
            description=sidecar.description or request.description,
            project_id=project_id,
            custom_fields=sidecar.custom_fields,
        )

    # -- after the copy ------------------------------------------------------------------------

    def follow_ups(self, obj: S3Object, hashed_id: str) -> list[tuple[PermanentFailure, S3Object]]:
        """Tags and captions the media has not had yet; transient failures raised (the retry
        repeats only what is not done), permanent ones returned with the object they are about."""
        pairing = self._pairing(obj)
        entry = self._entry(obj)
        failures: list[tuple[PermanentFailure, S3Object]] = []
        sidecar_tags = pairing.sidecar.tags if pairing.sidecar else ()
        try:
            self._send_tags(obj, entry, hashed_id, sidecar_tags, pairing.sidecar_etag)
        except PermanentFailure as failure:
            failures.append((failure, obj))
        for language, listed in pairing.captions.items():
            caption = S3Object(obj.bucket, listed.key, obj.region, listed.size, listed.etag)
            caption = _with_event(caption)
            try:
                srt = self._srt(caption, file_extension(listed.key))
                if srt is not None:
                    self._send_caption(entry, hashed_id, language, listed.etag or "-", srt)
            except PermanentFailure as failure:
                failures.append((failure, caption))
        return failures

    def _pairing(self, obj: S3Object) -> Pairing:
        if self._last is not None and self._last[0] == _identity(obj):
            return self._last[1]
        if not (self.config.sidecars or self.config.captions):
            return Pairing(None, None, {})
        listing = self._objects.listing(obj.bucket, obj.region, f"{video_stem(obj.key)}.")
        found = beside(obj.key, listing, self._allowed)
        sidecar = None
        if self.config.sidecars and found.sidecar is not None:
            parsed = self._read_sidecar(obj, found.sidecar)
            sidecar = parsed if isinstance(parsed, Sidecar) else None
        return Pairing(
            sidecar, found.sidecar.etag if sidecar and found.sidecar else None, self._captions(found)
        )

    def _captions(self, found: Beside) -> dict[str, Listed]:
        return found.captions if self.config.captions else {}

    def _entry(self, obj: S3Object) -> Entry | None:
        try:
            return self._ledger.latest(obj)
        except Exception as error:  # unknown: the follow-ups run (a PUT replaces, so a repeat is harmless)
            logger.warning("could not read the ledger for the follow-ups", error=type(error).__name__)
            return None

    def _send_tags(
        self,
        obj: S3Object,
        entry: Entry | None,
        hashed_id: str,
        sidecar_tags: tuple[str, ...],
        sidecar_etag: str | None,
    ) -> None:
        tags = self._tags(obj, sidecar_tags)
        done = fingerprint(tags)
        if not tags or (entry is not None and entry.get("tags_sent") == done):
            if entry is not None and sidecar_etag and entry.get("sidecar_applied") != sidecar_etag:
                self._annotate(entry, {"sidecar_applied": sidecar_etag})
            return
        answer = self._media.update(hashed_id, tags=tags)
        _raise_unless_ok(answer, f"tags: PUT /modern/medias/{hashed_id}")
        if entry is not None:
            self._annotate(entry, {"tags_sent": done, "sidecar_applied": sidecar_etag})
        logger.info("tags sent", hashed_id=hashed_id, tags=len(tags))
        count("TagsSent")

    def _tags(self, video: S3Object, sidecar_tags: Iterable[str]) -> list[str]:
        object_tags = self._objects.tags(video) if self.config.copy_object_tags else {}
        return tag_union(sidecar_tags, object_tags, self._excluded_tags)

    def _annotate(self, entry: Entry, fields: dict[str, Any]) -> None:
        try:
            self._ledger.annotate(entry, fields)
        except Exception as error:  # the follow-up is done; a repeat later is harmless (PUT replaces)
            logger.warning("could not note a follow-up in the ledger", error=type(error).__name__)
            count("LedgerWriteFailed")


def _key_of(listed: Listed | None) -> str | None:
    return listed.key if listed is not None else None


def _identity(obj: S3Object) -> str:
    return f"{obj.bucket}/{obj.key}@{obj.version}"


def _with_event(obj: S3Object) -> S3Object:
    """The object with a replayable S3 event (a failure record about it can be replayed)."""
    event = s3_notification(obj.bucket, obj.region, obj.key, size=obj.size or 0, etag=obj.etag)
    return S3Object(obj.bucket, obj.key, obj.region, obj.size, obj.etag, source_event=event)


def _skipped(obj: S3Object, reason: str, detail: str) -> ObjectReport:
    logger.info("skipped", reason=reason, detail=detail)
    count("ObjectSkipped")
    return ObjectReport(Outcome.SKIPPED, obj.uri, reason, detail)


def _raise_unless_ok(
    answer: Answer, what: str, refused: FailureReason = FailureReason.WISTIA_HTTP_ERROR
) -> None:
    if not answer.ok:
        raise answer.failure(what, refused=refused)
