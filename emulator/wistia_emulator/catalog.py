"""The account's library beyond the media records: folders, deletions, archiving, tags, captions,
what each media's file is, and the background jobs that change them.

Pure and not thread-safe: `EmulatorState.transact` calls these methods under its lock. Nothing here
speaks HTTP; the HTTP modules (media_edits.py, captions_api.py, folders_api.py) call in here and
shape the answers.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

Media = dict[str, Any]
QUEUED, STARTED, FINISHED = "queued", "started", "finished"
# What becomes of the replacement media after a swap. Wistia's API docs do not say; the spec's
# note says a swap creates no new media, so by default the replacement stays as its own media
# ("keep"); "delete" soft-deletes it once the swap has finished, as a client tidying up would.
SWAP_REPLACEMENT_CHOICES = ("keep", "delete")


class NotFound(Exception):
    """A media, folder, job or caption that does not exist (or was deleted)."""


@dataclass
class Extras:
    """What the emulator knows about a media beyond its Upload API record."""

    content: dict[str, Any]  # what the media's file was made from (see uploads.py)
    archived: bool = False
    tags: list[str] = field(default_factory=list)
    captions: dict[str, dict[str, Any]] = field(default_factory=dict)  # language -> caption


@dataclass
class Job:
    """A background job: queued, then started, then finished; `effect` runs when it finishes."""

    id: int
    hashed_id: str
    kind: str
    born: float
    queued_seconds: float
    started_seconds: float
    effect: Callable[[], None] = field(repr=False)
    done: bool = False

    def status(self, moment: float) -> str:
        if self.done:
            return FINISHED
        elapsed = moment - self.born
        if elapsed < self.queued_seconds:
            return QUEUED
        if elapsed < self.queued_seconds + self.started_seconds:
            return STARTED
        return FINISHED

    def public(self, moment: float) -> dict[str, Any]:
        return {"id": self.id, "hashed_id": self.hashed_id, "status": self.status(moment)}

    def queued(self) -> dict[str, Any]:
        """The job as the call that queued it answers it: queued, whatever its durations."""
        return {"id": self.id, "hashed_id": self.hashed_id, "status": QUEUED}


@dataclass
class Books:
    """The mutable library; `new_hashed_id` draws from the state's seeded, unique sequence."""

    medias: list[Media]
    new_hashed_id: Callable[[], str]
    deleted: list[Media] = field(default_factory=list)
    extras: dict[str, Extras] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    next_folder_id: int = 1
    next_job_id: int = 1

    # -- medias --------------------------------------------------------------------------------

    def media(self, hashed_id: str) -> Media:
        for media in self.medias:
            if media["hashed_id"] == hashed_id:
                return media
        raise NotFound(hashed_id)

    def extras_of(self, hashed_id: str) -> Extras:
        return self.extras.setdefault(hashed_id, Extras(content={}))

    def view(self, media: Media) -> Media:
        """A copy of the media's record with its extras: archived, tags, content."""
        extras = self.extras_of(media["hashed_id"])
        shown = copy.deepcopy(media)
        folder = self.folders.get(media["project"]["hashed_id"])
        if folder is not None:  # the folder may have been renamed since the upload
            shown["project"] = {"hashed_id": folder["hashed_id"], "name": folder["name"]}
        shown |= {"archived": extras.archived, "tags": list(extras.tags)}
        shown["content"] = copy.deepcopy(extras.content)
        return shown

    def update(self, hashed_id: str, changes: dict[str, Any], moment: str) -> Media:
        """Set name and description; `tags` replaces every tag (Update Media's contract)."""
        media = self.media(hashed_id)
        for name in ("name", "description"):
            if name in changes:
                media[name] = changes[name]
        if "tags" in changes:
            self.extras_of(hashed_id).tags = list(dict.fromkeys(changes["tags"]))
        media["updated"] = moment
        return self.view(media)

    def delete(self, hashed_id: str, deleted_at: datetime, restore_days: int) -> Media:
        """Soft delete: the media leaves every list and lookup but stays restorable."""
        media = self.media(hashed_id)
        shown = self.view(media)
        self.medias.remove(media)
        when = deleted_at.isoformat(timespec="seconds")
        until = (deleted_at + timedelta(days=restore_days)).isoformat(timespec="seconds")
        self.deleted.append({**shown, "deleted_at": when, "restore_expires_at": until})
        return shown

    def restore_deleted(self, hashed_ids: list[str]) -> list[Media]:
        found = [media for media in self.deleted if media["hashed_id"] in hashed_ids]
        if len(found) != len(set(hashed_ids)):
            raise NotFound(next(h for h in hashed_ids if h not in {m["hashed_id"] for m in found}))
        for media in found:
            self.deleted.remove(media)
            record = {k: v for k, v in media.items() if k not in _VIEW_ONLY}
            self.medias.append(record)
        self.medias.sort(key=lambda media: media["id"])
        return found

    # -- swap and archive (through jobs) -------------------------------------------------------

    def swap(self, original: str, replacement: str, fate: str, moment: datetime, restore_days: int) -> None:
        """The original's hashed id now serves the replacement's file; see SWAP_REPLACEMENT_CHOICES."""
        media = self.media(original)
        source = self.media(replacement)
        self.extras_of(original).content = {
            **copy.deepcopy(self.extras_of(replacement).content),
            "swapped_from": replacement,
        }
        media["duration"] = source["duration"]
        media["updated"] = moment.isoformat(timespec="seconds")
        if fate == "delete":
            self.delete(replacement, moment, restore_days)

    def set_archived(self, hashed_ids: list[str], archived: bool, folder: str | None = None) -> None:
        for hashed_id in hashed_ids:
            self.extras_of(hashed_id).archived = archived
            if folder is not None:
                self.media(hashed_id)["project"] = self.project_ref(folder)

    def check_medias(self, hashed_ids: list[str]) -> None:
        for hashed_id in hashed_ids:
            self.media(hashed_id)

    def add_job(
        self, kind: str, moment: float, durations: tuple[float, float], effect: Callable[[], None]
    ) -> Job:
        job = Job(self.next_job_id, self.new_hashed_id(), kind, moment, *durations, effect=effect)
        self.next_job_id += 1
        self.jobs[job.id] = job
        return job

    def job(self, key: str) -> Job:
        """A job by its numeric or its hashed id."""
        for job in self.jobs.values():
            if key in (str(job.id), job.hashed_id):
                return job
        raise NotFound(key)

    def job_list(self) -> list[dict[str, Any]]:
        moment = time.monotonic()
        return [job.public(moment) | {"kind": job.kind} for job in self.jobs.values()]

    def settle(self, moment: float, finish_all: bool = False) -> int:
        """Run the effect of every job that has finished by `moment`; how many ran."""
        ran = 0
        for job in self.jobs.values():
            if not job.done and (finish_all or job.status(moment) == FINISHED):
                job.done = True
                ran += 1
                with contextlib.suppress(NotFound):  # a media went away meanwhile: nothing to change
                    job.effect()
        return ran

    # -- folders -------------------------------------------------------------------------------

    def add_folder(self, name: str, moment: str, description: str = "") -> dict[str, Any]:
        hashed_id = self.new_hashed_id()
        folder = {
            "id": self.next_folder_id,
            "hashed_id": hashed_id,
            "name": name,
            "description": description,
            "created": moment,
            "updated": moment,
            "public": False,
            "public_id": None,
            "anonymous_can_upload": False,
            "anonymous_can_download": False,
        }
        self.next_folder_id += 1
        self.folders[hashed_id] = folder
        return dict(folder)

    def folder(self, hashed_id: str) -> dict[str, Any]:
        if hashed_id not in self.folders:
            raise NotFound(hashed_id)
        folder = dict(self.folders[hashed_id])
        folder["medias"] = [self.view(m) for m in self.medias if m["project"]["hashed_id"] == hashed_id]
        return folder

    def folder_list(self) -> list[dict[str, Any]]:
        return [self.folder(hashed_id) for hashed_id in self.folders]

    def project_ref(self, hashed_id: str) -> dict[str, str]:
        """The `project` of a media in this folder; an unknown id is kept as given (lenient)."""
        folder = self.folders.get(hashed_id)
        if folder is None:
            return {"hashed_id": hashed_id}
        return {"hashed_id": hashed_id, "name": folder["name"]}

    # -- captions ------------------------------------------------------------------------------

    def captions(self, hashed_id: str) -> dict[str, dict[str, Any]]:
        self.media(hashed_id)
        return self.extras_of(hashed_id).captions

    def add_caption(self, hashed_id: str, language: str, text: str) -> bool:
        """False when captions in that language exist already."""
        captions = self.captions(hashed_id)
        if language in captions:
            return False
        captions[language] = {
            "id": self.new_hashed_id(),
            "language": language,
            "text": text,
            "is_draft": False,
        }
        return True

    def caption(self, hashed_id: str, language: str) -> dict[str, Any]:
        captions = self.captions(hashed_id)
        if language not in captions:
            raise NotFound(language)
        return captions[language]


_VIEW_ONLY = ("archived", "tags", "content", "deleted_at", "restore_expires_at")
