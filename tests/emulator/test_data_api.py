"""The emulator's modern Data API (List Media, Show Media), checked against Wistia's own OpenAPI.

The schemas come from the excerpt of Wistia's public spec vendored next to this file; every
answer here is validated against the response schema the spec gives for its path and status.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.readers import read_from_filename
from wistia_emulator import WistiaEmulator

TOKEN = "data-api-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPEC_FILE = Path(__file__).with_name("wistia-data-api-subset.yaml")
SPEC, _ = read_from_filename(str(SPEC_FILE))
LIST, SHOW = "/medias", "/medias/{mediaHashedId}"


def schema(path: str, status: int) -> Mapping[str, Any]:
    answer = SPEC["paths"][path]["get"]["responses"][str(status)]
    schema: Mapping[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


def checked(response: requests.Response, path: str, status: int) -> Any:
    """The JSON body, after checking the status, the content type and the spec's schema."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    OAS31Validator(schema(path, status), format_checker=oas31_format_checker).validate(body)
    return body


@pytest.fixture
def wistia() -> Iterator[WistiaEmulator]:
    with WistiaEmulator(tokens=(TOKEN,)) as emulator:
        yield emulator


def upload(wistia: WistiaEmulator, name: str, project_id: str | None = None) -> str:
    data = {"bucket": "media-uploads-example", "source_file": f"videos/{name}", "name": name}
    if project_id is not None:
        data["project_id"] = project_id
    response = requests.post(f"{wistia.url}/s3_copy", data=data, headers=AUTH, timeout=5)
    assert response.status_code == 200
    return str(response.json()["hashed_id"])


def listed(wistia: WistiaEmulator, params: Any = None, headers: Any = AUTH) -> requests.Response:
    return requests.get(f"{wistia.url}/modern/medias", params=params, headers=headers, timeout=5)


def shown(wistia: WistiaEmulator, hashed_id: str, headers: Any = AUTH) -> requests.Response:
    return requests.get(f"{wistia.url}/modern/medias/{hashed_id}", headers=headers, timeout=5)


def names(response: requests.Response) -> list[str]:
    return [media["name"] for media in checked(response, LIST, 200)]


def test_the_vendored_excerpt_is_a_valid_openapi_document() -> None:
    validate_spec(SPEC)
    assert SPEC["servers"] == [{"url": "https://api.wistia.com/modern"}]
    assert "commit:" in SPEC_FILE.read_text(encoding="utf-8").split("openapi:", 1)[0]  # cites its source


def test_the_schemas_are_strict_enough_to_catch_a_wrong_shape() -> None:
    item_without_folder = [{"id": 1, "hashed_id": "abc", "status": "ready"}]
    errors = [error.message for error in OAS31Validator(schema(LIST, 200)).iter_errors(item_without_folder)]
    assert errors == ["'folder' is a required property"]
    assert not OAS31Validator(schema(SHOW, 200)).is_valid({"folder": None, "status": "done"})


def test_list_media_answers_the_spec_shape(wistia: WistiaEmulator) -> None:
    first = upload(wistia, "intro.mp4", project_id="proja")
    upload(wistia, "outro.mp4")

    medias = checked(listed(wistia), LIST, 200)

    intro, outro = medias
    assert intro["hashed_id"] == first
    assert (intro["status"], intro["archived"], intro["type"]) == ("ready", False, "Video")
    assert intro["folder"] == {"hashedId": "proja"}  # folders are the legacy API's projects
    assert outro["folder"]["name"].startswith("Uploads_")  # the project Wistia creates per day
    assert set(intro) >= {"id", "hashed_id", "name", "created", "updated", "duration", "progress"}


def test_show_media_answers_one_media_or_a_404(wistia: WistiaEmulator) -> None:
    hashed_id = upload(wistia, "intro.mp4", project_id="proja")

    media = checked(shown(wistia, hashed_id), SHOW, 200)
    missing = checked(shown(wistia, "nosuchmedia"), SHOW, 404)

    assert media == checked(listed(wistia), LIST, 200)[0]
    assert missing == {"error": "Media with ID 'nosuchmedia' not found."}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_a_missing_or_wrong_token_is_a_json_401(wistia: WistiaEmulator, headers: dict[str, str]) -> None:
    hashed_id = upload(wistia, "intro.mp4")

    assert checked(listed(wistia, headers=headers), LIST, 401) == {"error": "Invalid credentials."}
    assert checked(shown(wistia, hashed_id, headers=headers), SHOW, 401) == {"error": "Invalid credentials."}


def test_list_media_filters_like_the_spec_says(wistia: WistiaEmulator) -> None:
    a = upload(wistia, "intro.mp4", project_id="proja")
    b = upload(wistia, "intro.mp4", project_id="projb")
    c = upload(wistia, "clip.mp4", project_id="proja")

    assert names(listed(wistia, {"name": "intro.mp4"})) == ["intro.mp4", "intro.mp4"]
    assert names(listed(wistia, {"name": "intro"})) == []  # an exact match, not a substring
    by_folder = checked(listed(wistia, {"name": "intro.mp4", "folder_id": "proja"}), LIST, 200)
    assert [m["hashed_id"] for m in by_folder] == [a]
    by_ids = checked(listed(wistia, {"hashed_ids[]": [c, b]}), LIST, 200)
    assert [m["hashed_id"] for m in by_ids] == [b, c]
    assert len(names(listed(wistia, {"type": "Video", "archived": "false"}))) == 3
    assert names(listed(wistia, {"type": "Audio"})) == []
    assert names(listed(wistia, {"archived": "true"})) == []  # nothing is archived
    assert names(listed(wistia, {"tags[]": ["promo"]})) == []  # medias have no tags


def test_list_media_sorts_and_pages(wistia: WistiaEmulator) -> None:
    for name in ("b.mp4", "c.mp4", "a.mp4"):
        upload(wistia, name)

    assert names(listed(wistia)) == ["b.mp4", "c.mp4", "a.mp4"]  # upload order by default
    assert names(listed(wistia, {"sort_by": "name"})) == ["a.mp4", "b.mp4", "c.mp4"]
    assert names(listed(wistia, {"sort_by": "name", "sort_direction": "0"})) == ["c.mp4", "b.mp4", "a.mp4"]
    assert names(listed(wistia, {"per_page": "2"})) == ["b.mp4", "c.mp4"]
    assert names(listed(wistia, {"per_page": "2", "page": "2"})) == ["a.mp4"]
    assert names(listed(wistia, {"per_page": "2", "page": "3"})) == []


def test_ten_medias_a_page_by_default(wistia: WistiaEmulator) -> None:
    for number in range(12):
        upload(wistia, f"clip-{number:02d}.mp4")

    assert len(names(listed(wistia))) == 10
    assert names(listed(wistia, {"page": "2"})) == ["clip-10.mp4", "clip-11.mp4"]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"project_id": "proja"}, "unknown parameter project_id"),  # the legacy name of folder_id
        ({"cursor[enabled]": "1"}, "cursor pagination is not emulated"),
        ({"sort_by": "id"}, "sort_by must be one of"),
        ({"sort_direction": "desc"}, "sort_direction must be one of"),
        ({"type": "video"}, "type must be one of"),
        ({"archived": "yes"}, "archived must be one of"),
        ({"page": "0"}, "page must be a whole number from 1"),
        ({"per_page": "101"}, "per_page must be a whole number from 1 and at most 100"),
        ({"per_page": "ten"}, "per_page must be a whole number"),
    ],
)
def test_a_filter_the_emulator_cannot_honour_is_refused(
    wistia: WistiaEmulator, params: dict[str, str], problem: str
) -> None:
    upload(wistia, "intro.mp4")

    body = checked(listed(wistia, params), LIST, 400)

    assert problem in body["error"]


def test_show_media_takes_only_description_format(wistia: WistiaEmulator) -> None:
    hashed_id = upload(wistia, "intro.mp4")
    url = f"{wistia.url}/modern/medias/{hashed_id}"

    markdown = requests.get(url, params={"description_format": "markdown"}, headers=AUTH, timeout=5)
    other = requests.get(url, params={"name": "intro.mp4"}, headers=AUTH, timeout=5)

    assert checked(markdown, SHOW, 200)["hashed_id"] == hashed_id
    assert other.status_code == 400


def test_status_is_in_the_state_and_the_data_api_not_in_the_upload_answer(wistia: WistiaEmulator) -> None:
    data = {"bucket": "media-uploads-example", "source_file": "videos/intro.mp4"}
    created = requests.post(f"{wistia.url}/s3_copy", data=data, headers=AUTH, timeout=5).json()
    legacy = requests.get(f"{wistia.url}/v1/medias.json", headers=AUTH, timeout=5).json()

    assert "status" not in created  # the Upload API's 200 schema has no status
    assert wistia.medias()[0] == created | {"status": "ready"}
    assert legacy[0]["status"] == "ready"  # the legacy list shows the media as the state holds it
    assert checked(shown(wistia, created["hashed_id"]), SHOW, 200)["status"] == "ready"


def test_reads_are_recorded_and_never_faulted(wistia: WistiaEmulator) -> None:
    upload(wistia, "intro.mp4")
    wistia.set_faults(drop_rate=1.0)

    checked(listed(wistia), LIST, 200)

    assert [(r["method"], r["path"], r["status"]) for r in wistia.requests()][-1] == (
        "GET",
        "/modern/medias",
        200,
    )
