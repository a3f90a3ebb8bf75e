"""S3 folders as Wistia folders (PROJECT_ROUTING=folders): a key's folder names the Wistia folder.

Wistia's current Data API calls projects "folders" (https://docs.wistia.com/reference); the Upload
API still takes the folder's hashed id as `project_id`. The list (`GET /modern/folders`) has no
name filter, so the directory reads every page once per container, matches names itself and,
because names are not documented as unique, picks among duplicates deterministically: the lowest
numeric `id` (the oldest folder), so every container and every replay picks the same one.

Matching: the exact name first; then, as a fallback, the name compared after Unicode NFC
normalization and case folding ("Café" typed on macOS arrives decomposed, "marketing" and
"Marketing" are one folder to an editor). A folder the bridge creates gets the name as the key
spells it. docs/folders.md has the rules and the examples.

Imported only when PROJECT_ROUTING=folders (runtime.py), so the default cold start does not pay.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .config import PROJECT_ID
from .errors import PermanentFailure, TransientFailure
from .observability import count, logger
from .reasons import FailureReason
from .wistia_media import Answer, WistiaMedia

if TYPE_CHECKING:
    from .config import BridgeConfig
    from .wistia_token import TokenSource

# The folder names the bridge derives: at most this many characters (Wistia documents no limit; a
# longer name is not one an editor typed, and truncating could merge two folders).
MAX_FOLDER_NAME_CHARS = 255
# The list's page size: the most Wistia's paging allows.
FOLDERS_PER_PAGE = 100
# Pages read at most (10,000 folders): a server that ignores `page` cannot keep the bridge listing.
MAX_FOLDER_PAGES = 100
# A page of at most 100 folders answers fast; a slow one should not hold the invocation long.
FOLDER_READ_TIMEOUT_SECONDS = 10.0


class Folder(NamedTuple):
    id: int  # Wistia's numeric id: the lower, the older
    hashed_id: str  # what the Upload API takes as project_id
    name: str


class FolderApi(Protocol):
    """The Data API calls the directory needs (wistia_media.WistiaMedia)."""

    def folder_pages(self, per_page: int = FOLDERS_PER_PAGE) -> Iterator[Answer]: ...

    def create_folder(self, name: str) -> Answer: ...


class FolderLookup(Protocol):
    """What the sidecar's `project` (a folder name) and the key's folder both resolve through."""

    def folder_id(self, name: str) -> str: ...


# ---------------------------------------------------------------- names (pure)


def folder_name(key: str, depth: int) -> str | None:
    """The Wistia folder name of `key`: its first `depth` folders joined with "/", each stripped of
    surrounding spaces, empty ones (`a//b`, a leading `/`) left out; None when the key has fewer
    folders than `depth`, or the name is longer than MAX_FOLDER_NAME_CHARS or holds control
    characters (the object then goes to the default project)."""
    segments = [segment.strip() for segment in key.split("/")[:-1]]  # the last one is the file
    folders = [segment for segment in segments if segment]
    if len(folders) < depth:
        return None
    name = "/".join(folders[:depth])
    if len(name) > MAX_FOLDER_NAME_CHARS or any(unicodedata.category(char) == "Cc" for char in name):
        return None
    return name


def loose(name: str) -> str:
    """The name as the fallback match compares it: NFC, case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def choose(name: str, folders: Iterable[Folder]) -> tuple[Folder | None, int]:
    """The folder for `name` and how many had the name: exact matches first, else the loose ones;
    among several, the lowest id."""
    folders = list(folders)
    matches = [folder for folder in folders if folder.name == name]
    if not matches:
        wanted = loose(name)
        matches = [folder for folder in folders if loose(folder.name) == wanted]
    if not matches:
        return None, 0
    return min(matches, key=lambda folder: (folder.id, folder.hashed_id)), len(matches)


def folder_from(item: Any) -> Folder | None:
    """One folder of a list or create answer; None for anything not shaped like one."""
    if not isinstance(item, dict):
        return None
    hashed_id = item.get("hashed_id", item.get("hashedId"))
    name, number = item.get("name"), item.get("id")
    if not (isinstance(hashed_id, str) and PROJECT_ID.match(hashed_id) and isinstance(name, str)):
        return None
    if isinstance(number, bool) or not isinstance(number, int):
        number = 2**63  # no numeric id: after every folder that has one, then by hashed id
    return Folder(number, hashed_id, name)


def page_items(body: Any) -> list[Any] | None:
    """The folders of one page: the list itself, or under `data`; None for another shape."""
    if isinstance(body, dict):
        body = body.get("data")
    return body if isinstance(body, list) else None


# ---------------------------------------------------------------- the directory (one per container)


class FolderDirectory:
    """Folder names to hashed ids, for one container: the list read lazily on first need and
    kept; a name not in it re-reads the list at most once per `relist_seconds`, then the folder
    is created (`create_missing`) or the object fails with `folder_missing`."""

    def __init__(
        self,
        api: FolderApi,
        *,
        create_missing: bool,
        relist_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._create_missing = create_missing
        self._relist_seconds = relist_seconds
        self._clock = clock
        self._lock = threading.Lock()  # the operator's local replay may share one across threads
        self._folders: list[Folder] | None = None
        self._listed_at = 0.0
        self._complete = True  # False when the listing stopped at MAX_FOLDER_PAGES
        self._warned: set[str] = set()

    def folder_id(self, name: str) -> str:
        """The hashed id of the folder named `name`. Raises TransientFailure (429/5xx while
        listing or creating) or PermanentFailure (`folder_missing`, `wistia_edit_forbidden`)."""
        with self._lock:
            if self._folders is None:
                self._relist()
            found = self._lookup(name)
            if found is None and self._clock() - self._listed_at >= self._relist_seconds:
                self._relist()
                found = self._lookup(name)
            if found is None:
                found = self._create(name)
            return found.hashed_id

    def _lookup(self, name: str) -> Folder | None:
        found, matches = choose(name, self._folders or ())
        if matches > 1 and name not in self._warned:
            self._warned.add(name)  # once per container and name: the choice does not change
            logger.warning(
                "several Wistia folders have this name: using the oldest (lowest id)",
                folder_name=name,
                folders_with_the_name=matches,
                folder_hashed_id=found.hashed_id if found else None,
            )
            count("FolderNameDuplicated")
        return found

    def _relist(self) -> None:
        folders: list[Folder] = []
        pages = 0
        malformed = 0
        for answer in self._api.folder_pages(FOLDERS_PER_PAGE):
            if not answer.ok:
                raise answer.failure("list Wistia folders")
            items = page_items(answer.body)
            if items is None:  # an unknown shape: creating folders on it could duplicate them all
                raise PermanentFailure(
                    FailureReason.WISTIA_HTTP_ERROR,
                    f"list Wistia folders: page {pages + 1} is not a list of folders",
                    http_status=answer.http_status,
                )
            parsed = [folder_from(item) for item in items]
            folders.extend(folder for folder in parsed if folder is not None)
            malformed += sum(folder is None for folder in parsed)
            pages += 1
            if pages >= MAX_FOLDER_PAGES:
                break
        self._complete = pages < MAX_FOLDER_PAGES
        if malformed:
            logger.warning("Wistia folders without a name or hashed id were ignored", ignored=malformed)
        self._folders, self._listed_at = folders, self._clock()
        logger.info("Wistia folders listed", folders=len(folders), pages=pages, complete=self._complete)
        count("FolderListRead")

    def _create(self, name: str) -> Folder:
        if not self._create_missing or not self._complete:
            why = "" if self._complete else f" (the list stopped after {MAX_FOLDER_PAGES} pages)"
            raise PermanentFailure(FailureReason.FOLDER_MISSING, f"no Wistia folder is named {name!r}{why}")
        answer = self._api.create_folder(name)
        if not answer.ok:
            raise answer.failure("create the Wistia folder", refused=FailureReason.WISTIA_HTTP_ERROR)
        created = folder_from(answer.body)
        logger.info("Wistia folder created", folder_name=name, folder_hashed_id=created and created.hashed_id)
        count("FolderCreated")
        # Another container may have created one at the same moment: list again and take the
        # deterministic choice, so both send their objects to the same folder.
        self._relist()
        chosen = self._lookup(name)
        if chosen is not None:
            return chosen
        if created is None:  # neither the answer nor the list shows it: try again later
            raise TransientFailure(
                FailureReason.WISTIA_SERVER_ERROR,
                f"the Wistia folder {name!r} was created but neither the answer nor the list shows it",
            )
        self._folders = [*(self._folders or ()), created]  # the list lags behind the create
        return created


def build_directory(config: BridgeConfig, tokens: TokenSource) -> FolderDirectory:
    """The container's directory, on its own Data API session, with the configured creation rule
    and cache (also for a sidecar's `project` given as a folder name)."""
    api = WistiaMedia(
        config.api_url,
        tokens,
        connect_timeout=config.connect_timeout_seconds,
        read_timeout=min(config.read_timeout_seconds, FOLDER_READ_TIMEOUT_SECONDS),
    )
    return FolderDirectory(
        api, create_missing=config.create_missing_folders, relist_seconds=config.folder_cache_seconds
    )


class FolderRouter:
    """Keys to folder hashed ids: `project_for(key)` is None when the key has no folder of the
    configured depth (the default project then applies)."""

    def __init__(self, directory: FolderLookup, depth: int) -> None:
        self.directory = directory
        self._depth = depth

    def project_for(self, key: str) -> str | None:
        name = folder_name(key, self._depth)
        if name is None:
            logger.info("the key has no folder of the configured depth: default project", depth=self._depth)
            return None
        return self.directory.folder_id(name)
