"""PROJECT_ROUTING=folders: folder names from keys, the choice among duplicates, paging, the cache,
creation, and the Data API calls behind them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from hypothesis import example, given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.errors import PermanentFailure, TransientFailure
from s3_wistia_bridge.folders import (
    FOLDERS_PER_PAGE,
    MAX_FOLDER_NAME_CHARS,
    MAX_FOLDER_PAGES,
    Folder,
    FolderDirectory,
    FolderRouter,
    choose,
    folder_from,
    folder_name,
)
from s3_wistia_bridge.metadata import ObjectSettings
from s3_wistia_bridge.observability import logger
from s3_wistia_bridge.reasons import FailureReason
from s3_wistia_bridge.routing import copy_request
from s3_wistia_bridge.wistia_media import Answer, Reply, WistiaMedia

from tests.unit.conftest import build_config, s3_object

API = "https://api.wistia.test"


@pytest.fixture
def caplog_json() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The bridge's JSON log lines so far (the Powertools logger pointed at a buffer)."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    handler.setStream(previous)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- names from keys


@pytest.mark.parametrize(
    ("key", "depth", "name"),
    [
        ("marketing/launch.mp4", 1, "marketing"),
        ("marketing/2025/launch.mp4", 1, "marketing"),
        ("marketing/2025/launch.mp4", 2, "marketing/2025"),
        ("launch.mp4", 1, None),  # no folder: the default project
        ("marketing/launch.mp4", 2, None),  # fewer folders than the depth
        ("Café uploads/a.mp4", 1, "Café uploads"),
        ("  spaced  /a.mp4", 1, "spaced"),
        ("a+b%20c/x.mp4", 1, "a+b%20c"),  # the decoded key's characters, not decoded again
        ("v1.2/x.mp4", 1, "v1.2"),
        ("a//b/x.mp4", 2, "a/b"),  # empty segments are no folder
        ("/lead/x.mp4", 1, "lead"),
        ("   /x.mp4", 1, None),
        ("tab\tin/x.mp4", 1, None),  # a control character: not a name an editor typed
        ("x" * (MAX_FOLDER_NAME_CHARS + 1) + "/a.mp4", 1, None),
        ("x" * MAX_FOLDER_NAME_CHARS + "/a.mp4", 1, "x" * MAX_FOLDER_NAME_CHARS),
    ],
)
def test_folder_name_of_a_key(key: str, depth: int, name: str | None):
    assert folder_name(key, depth) == name


# Keys made of segments, so that "/" and the characters editors use are frequent, not rare.
SEGMENT_CHARS = st.sampled_from(list(" +%.-_~aZ9éÉ\u0301\u00a0\t\n\x00漢🎬")) | st.characters()
keys = st.text(max_size=300) | st.lists(st.text(SEGMENT_CHARS, max_size=8), max_size=8).map("/".join)


@given(key=keys, depth=st.integers(1, 10))
@example(key="a/b/c/d.mp4", depth=3)
@settings(max_examples=400)
def test_any_key_gives_a_usable_name_or_the_default_project(key: str, depth: int):
    name = folder_name(key, depth)
    assert name == folder_name(key, depth)  # deterministic
    if name is not None:
        assert 0 < len(name) <= MAX_FOLDER_NAME_CHARS
        assert name.count("/") == depth - 1
        assert all(part and part == part.strip() for part in name.split("/"))
        assert not any(unicodedata.category(char) == "Cc" for char in name)
        assert key.count("/") >= depth


# ---------------------------------------------------------------- choosing among folders


def test_the_exact_name_wins_and_among_duplicates_the_oldest():
    folders = [
        Folder(30, "newer", "Marketing"),
        Folder(12, "older", "Marketing"),
        Folder(5, "loose", "marketing"),
    ]
    assert choose("Marketing", folders) == (Folder(12, "older", "Marketing"), 2)
    assert choose("marketing", folders) == (Folder(5, "loose", "marketing"), 1)
    # In any order of the list.
    assert choose("Marketing", list(reversed(folders)))[0] == Folder(12, "older", "Marketing")


def test_case_and_unicode_normalization_are_a_fallback_only():
    decomposed = unicodedata.normalize("NFD", "Café")
    folders = [Folder(9, "cafe1", "CAFÉ"), Folder(4, "other", "Cafe")]
    assert choose(decomposed, folders) == (Folder(9, "cafe1", "CAFÉ"), 1)
    assert choose("Menu", folders) == (None, 0)


@pytest.mark.parametrize(
    ("item", "folder"),
    [
        ({"id": 3, "hashed_id": "abc123", "name": "A"}, Folder(3, "abc123", "A")),
        ({"id": 3, "hashedId": "abc123", "name": "A"}, Folder(3, "abc123", "A")),  # v1 spelling
        ({"hashed_id": "abc123", "name": "A"}, Folder(2**63, "abc123", "A")),  # no id: last
        ({"id": True, "hashed_id": "abc123", "name": "A"}, Folder(2**63, "abc123", "A")),
        ({"id": 3, "hashed_id": "../x", "name": "A"}, None),  # never a path of its own
        ({"id": 3, "hashed_id": "abc123"}, None),
        ({"id": 3, "hashed_id": "abc123", "name": None}, None),
        ([], None),
        ("abc", None),
    ],
)
def test_folder_from_an_answer_item(item: Any, folder: Folder | None):
    assert folder_from(item) == folder


# ---------------------------------------------------------------- the directory, over a fake API


class FakeFolders:
    """Wistia's folder list and create, in memory, with what each call was."""

    def __init__(self, folders: list[Any] | None = None) -> None:
        self.folders: list[Any] = list(folders or [])
        self.calls: list[str] = []
        self.list_answers: list[Answer] = []  # answered first, one per page read
        self.create_answer: Answer | None = None
        self.on_create: list[dict[str, Any]] = []  # what a concurrent container creates meanwhile

    def folder_pages(self, per_page: int = FOLDERS_PER_PAGE) -> Iterator[Answer]:
        self.calls.append("list")
        page = 0
        while True:
            page += 1
            if self.list_answers:
                answer = self.list_answers.pop(0)
                yield answer
                if not answer.ok:
                    return
                continue
            items = self.folders[(page - 1) * per_page : page * per_page]
            yield Answer(Reply.OK, items, 200)
            if len(items) < per_page:
                return

    def create_folder(self, name: str) -> Answer:
        self.calls.append(f"create {name}")
        if self.create_answer is not None:
            return self.create_answer
        self.folders.extend(self.on_create)
        folder = {"id": 1000 + len(self.folders), "hashed_id": f"new{len(self.folders)}", "name": name}
        self.folders.append(folder)
        return Answer(Reply.OK, folder, 201)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def directory(api: FakeFolders, *, create: bool = False, relist: float = 60, clock: Clock | None = None):
    return FolderDirectory(api, create_missing=create, relist_seconds=relist, clock=clock or Clock())


def test_nothing_is_listed_before_a_folder_is_needed_and_then_once_for_many_objects():
    api = FakeFolders([{"id": 1, "hashed_id": "mkt", "name": "marketing"}])
    folders = directory(api)
    assert api.calls == []
    assert [folders.folder_id("marketing") for _ in range(50)] == ["mkt"] * 50
    assert api.calls == ["list"]


def test_more_than_one_page_of_folders_is_read_to_the_end():
    api = FakeFolders(
        [{"id": number, "hashed_id": f"h{number}", "name": f"folder {number}"} for number in range(1, 251)]
    )
    folders = directory(api)
    assert folders.folder_id("folder 250") == "h250"  # on the third page
    assert folders.folder_id("folder 1") == "h1"
    assert api.calls == ["list"]


def test_duplicates_across_pages_resolve_to_the_lowest_id_and_are_logged(caplog_json):
    listed = [{"id": number, "hashed_id": f"h{number}", "name": f"f{number}"} for number in range(1, 150)]
    listed.insert(10, {"id": 500, "hashed_id": "late", "name": "Shared"})
    listed.append({"id": 40, "hashed_id": "early", "name": "Shared"})
    folders = directory(FakeFolders(listed))
    assert folders.folder_id("Shared") == "early"
    assert folders.folder_id("Shared") == "early"
    warnings = [line for line in caplog_json() if "several Wistia folders" in line.get("message", "")]
    assert len(warnings) == 1  # once per name and container
    assert warnings[0]["folders_with_the_name"] == 2


def test_a_miss_relists_at_most_once_per_cache_period_before_failing():
    clock = Clock()
    api = FakeFolders([{"id": 1, "hashed_id": "mkt", "name": "marketing"}])
    folders = directory(api, relist=60, clock=clock)
    for _ in range(5):
        with pytest.raises(PermanentFailure) as failure:
            folders.folder_id("sales")
        assert failure.value.reason is FailureReason.FOLDER_MISSING
        assert "'sales'" in failure.value.message
    assert api.calls == ["list"]  # the first list is fresh: no second one at once
    clock.now += 61
    api.folders.append({"id": 2, "hashed_id": "sls", "name": "sales"})
    assert folders.folder_id("sales") == "sls"
    assert api.calls == ["list", "list"]


def test_a_missing_folder_is_created_when_allowed_and_then_kept():
    api = FakeFolders([])
    folders = directory(api, create=True)
    created = folders.folder_id("launch")
    assert api.calls == ["list", "create launch", "list"]
    assert folders.folder_id("launch") == created
    assert api.calls == ["list", "create launch", "list"]  # no second create, no second list


def test_a_folder_created_meanwhile_by_another_container_wins_if_older():
    api = FakeFolders([])
    api.on_create = [{"id": 7, "hashed_id": "theirs", "name": "launch"}]
    folders = directory(api, create=True)
    assert folders.folder_id("launch") == "theirs"


def test_a_created_folder_the_list_does_not_show_yet_is_used_from_the_answer():
    api = FakeFolders([])
    api.create_answer = Answer(Reply.OK, {"id": 9, "hashed_id": "fresh", "name": "launch"}, 201)
    assert directory(api, create=True).folder_id("launch") == "fresh"


def test_a_create_answer_without_an_id_the_list_does_not_show_is_retried_later():
    api = FakeFolders([])
    api.create_answer = Answer(Reply.OK, None, 201)
    with pytest.raises(TransientFailure):
        directory(api, create=True).folder_id("launch")


@pytest.mark.parametrize(
    ("answer", "kind", "reason"),
    [
        (Answer(Reply.RATE_LIMITED, None, 429, "", 7.0), TransientFailure, FailureReason.WISTIA_RATE_LIMITED),
        (Answer(Reply.UNAVAILABLE, None, 502), TransientFailure, FailureReason.WISTIA_SERVER_ERROR),
        (
            Answer(Reply.UNAVAILABLE, detail="ConnectTimeout"),
            TransientFailure,
            FailureReason.WISTIA_CONNECTION_ERROR,
        ),
        (Answer(Reply.FORBIDDEN, None, 403), PermanentFailure, FailureReason.WISTIA_EDIT_FORBIDDEN),
    ],
)
def test_a_failed_list_is_the_failure_of_its_answer_and_nothing_is_cached(answer, kind, reason):
    api = FakeFolders([{"id": 1, "hashed_id": "mkt", "name": "marketing"}])
    api.list_answers = [Answer(Reply.OK, [{"id": 5, "hashed_id": "p1", "name": "x"}] * 100, 200), answer]
    folders = directory(api)
    with pytest.raises(kind) as failure:
        folders.folder_id("marketing")
    assert failure.value.reason is reason
    if answer.retry_after:
        assert failure.value.retry_after == answer.retry_after
    assert folders.folder_id("marketing") == "mkt"  # the next try lists again, in full


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (Answer(Reply.RATE_LIMITED, None, 429), TransientFailure),
        (Answer(Reply.REFUSED, None, 422), PermanentFailure),
    ],
)
def test_a_refused_or_limited_create_fails_the_object(answer, kind):
    api = FakeFolders([])
    api.create_answer = answer
    with pytest.raises(kind):
        directory(api, create=True).folder_id("launch")


def test_a_list_without_end_stops_and_never_creates_a_folder_it_may_not_have_seen():
    api = FakeFolders([])
    page = [{"id": 1, "hashed_id": "same", "name": "same"}] * FOLDERS_PER_PAGE
    api.list_answers = [Answer(Reply.OK, page, 200)] * (MAX_FOLDER_PAGES + 5)
    with pytest.raises(PermanentFailure, match="stopped after"):
        directory(api, create=True).folder_id("launch")
    assert not any(call.startswith("create") for call in api.calls)


@pytest.mark.parametrize("body", [None, {"folders": []}, "text", 5])
def test_a_list_answer_of_an_unknown_shape_fails_and_creates_nothing(body: Any):
    api = FakeFolders([])
    api.list_answers = [Answer(Reply.OK, body, 200)]
    with pytest.raises(PermanentFailure, match="not a list of folders") as failure:
        directory(api, create=True).folder_id("launch")
    assert failure.value.reason is FailureReason.WISTIA_HTTP_ERROR
    assert api.calls == ["list"]


def test_malformed_items_are_ignored_not_matched():
    api = FakeFolders([{"name": "marketing"}, 7, {"id": 2, "hashed_id": "ok", "name": "marketing"}])
    assert directory(api).folder_id("marketing") == "ok"


# ---------------------------------------------------------------- routing precedence


def _router(api: FakeFolders, depth: int = 1) -> FolderRouter:
    return FolderRouter(directory(api), depth)


def test_precedence_metadata_then_routes_then_folders_then_default():
    api = FakeFolders([{"id": 1, "hashed_id": "fold1", "name": "marketing"}])
    lookup = _router(api).project_for
    routes = json.dumps([{"prefix": "marketing/webinars/", "project_id": "route1"}])
    config = build_config(WISTIA_ROUTES=routes, WISTIA_PROJECT_ID="default1", PROJECT_ROUTING="folders")

    def project(key: str, settings: ObjectSettings | None = None) -> str | None:
        return copy_request(s3_object(key), config, settings, folder_project=lookup).project_id

    assert project("marketing/a.mp4", ObjectSettings(project_id="meta1")) == "meta1"
    assert project("marketing/webinars/a.mp4") == "route1"
    assert project("marketing/a.mp4") == "fold1"
    assert project("a.mp4") == "default1"
    assert api.calls == ["list"]  # asked only for the key that needed it


def test_without_the_folder_lookup_routing_is_unchanged():
    config = build_config(WISTIA_PROJECT_ID="default1")
    assert copy_request(s3_object("marketing/a.mp4"), config).project_id == "default1"


# ---------------------------------------------------------------- the Data API calls


class StaticToken:
    def token(self, *, refresh: bool = False) -> str:
        return "tok-secret"


@responses.activate
def test_folder_pages_read_sorted_pages_of_100_until_a_short_one():
    pages = {
        "1": [{"id": n, "hashed_id": f"h{n}", "name": f"n{n}"} for n in range(100)],
        "2": [{"id": 100, "hashed_id": "h100", "name": "n100"}],
    }

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = request.params
        assert (query["per_page"], query["sort_by"], query["sort_direction"]) == ("100", "id", "1")
        assert request.headers["Authorization"] == "Bearer tok-secret"
        return 200, {}, json.dumps(pages[query["page"]])

    responses.add_callback(responses.GET, f"{API}/modern/folders", callback=answer)
    media = WistiaMedia(API, StaticToken())
    got = list(media.folder_pages())
    assert [len(page.body) for page in got] == [100, 1]


@responses.activate
def test_folder_pages_stop_at_the_first_failed_page():
    responses.add(responses.GET, f"{API}/modern/folders", status=429, headers={"Retry-After": "3"})
    got = list(WistiaMedia(API, StaticToken()).folder_pages())
    assert [(page.reply, page.retry_after) for page in got] == [(Reply.RATE_LIMITED, 3.0)]


@responses.activate
def test_create_folder_posts_the_name_and_returns_the_created_folder():
    responses.add(
        responses.POST,
        f"{API}/modern/folders",
        status=201,
        json={"id": 5, "hashed_id": "abc", "name": "Café"},
        headers={"Location": f"{API}/modern/folders/abc"},
        match=[responses.matchers.json_params_matcher({"name": "Café"})],
    )
    answer = WistiaMedia(API, StaticToken()).create_folder("Café")
    assert answer.ok
    assert folder_from(answer.body) == Folder(5, "abc", "Café")


def test_the_default_routing_does_not_import_the_folder_module():
    """PROJECT_ROUTING=routes pays nothing for folders or ROUTES_SOURCE at cold start (runtime
    imports them lazily)."""
    code = (
        "import sys, s3_wistia_bridge.runtime; "
        "print([name for name in ('folders', 'routes_source') if 's3_wistia_bridge.' + name in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "[]"
