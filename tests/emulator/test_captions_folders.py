"""Captions and folders, checked against Wistia's OpenAPI excerpt."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wistia_emulator import FaultRule, WistiaEmulator

from .library import SRT, TOKEN, call, checked, control, upload

CAPTIONS, CAPTION = "/medias/{mediaHashedId}/captions", "/medias/{mediaHashedId}/captions/{languageCode}"
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n"


@pytest.fixture
def wistia() -> Iterator[WistiaEmulator]:
    with WistiaEmulator(tokens=(TOKEN,)) as emulator:
        yield emulator


def test_captions_are_created_listed_shown_replaced_and_deleted(wistia: WistiaEmulator) -> None:
    media = upload(wistia)
    base = f"/modern/medias/{media}/captions"

    created = checked(
        call(wistia, "POST", base, json={"caption_file": SRT, "language": "fra"}), CAPTIONS, "post", 200
    )
    multipart = call(wistia, "POST", base, files={"caption_file": ("eng.srt", SRT.encode())})
    duplicate = call(wistia, "POST", base, json={"caption_file": SRT, "language": "fra"})
    listed = checked(call(wistia, "GET", base), CAPTIONS, "get", 200)
    shown = checked(call(wistia, "GET", f"{base}/fra"), CAPTION, "get", 200)
    srt = call(wistia, "GET", f"{base}/fra.srt")
    vtt = call(
        wistia, "GET", f"{base}/fra", headers={"Authorization": f"Bearer {TOKEN}", "Accept": "text/vtt"}
    )
    new_text = SRT.replace("Goodbye.", "Bye!")
    replaced = checked(
        call(wistia, "PUT", f"{base}/fra", json={"caption_file": new_text}), CAPTION, "put", 200
    )

    assert created == b""
    assert multipart.status_code == 200
    assert (duplicate.status_code, duplicate.json()) == (
        400,
        {"error": "Captions already exist for this video"},
    )
    assert sorted(c["language"] for c in listed) == ["eng", "fra"]  # no language: "eng"
    assert (shown["english_name"], shown["native_name"], shown["text"], shown["is_draft"]) == (
        "French",
        "Français",
        SRT,
        False,
    )
    assert srt.text == SRT
    assert vtt.text.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500")
    assert replaced == b""
    assert wistia.media(media)["captions"]["fra"]["text"] == new_text
    assert checked(call(wistia, "DELETE", f"{base}/fra"), CAPTION, "delete", 200) == b""
    assert call(wistia, "GET", f"{base}/fra").status_code == 404
    assert call(wistia, "DELETE", f"{base}/fra").status_code == 404
    assert call(wistia, "PUT", f"{base}/fra", json={"caption_file": SRT}).status_code == 404


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "caption_file is required"),
        ({"caption_file": VTT}, "WEBVTT"),
        ({"caption_file": "just some words"}, "not valid SRT"),
        ({"caption_file": SRT, "language": "en"}, "3-letter"),
    ],
)
def test_a_caption_file_that_is_not_srt_is_refused(
    wistia: WistiaEmulator, body: dict[str, str], problem: str
) -> None:
    media = upload(wistia)

    refused = call(wistia, "POST", f"/v1/medias/{media}/captions.json", json=body)

    assert refused.status_code == 400
    assert problem in refused.json()["error"]
    assert wistia.media(media)["captions"] == {}


def test_vtt_can_be_accepted_and_unknown_medias_are_404(wistia: WistiaEmulator) -> None:
    media = upload(wistia)
    wistia.accept_vtt_captions = True

    assert (
        call(wistia, "POST", f"/modern/medias/{media}/captions", json={"caption_file": VTT}).status_code
        == 200
    )
    assert call(wistia, "GET", "/modern/medias/nosuchmedia/captions").status_code == 404
    assert (
        call(wistia, "PUT", f"/modern/medias/{media}/captions/EN", json={"caption_file": SRT}).status_code
        == 404
    )


def test_caption_calls_are_faulted_and_counted(wistia: WistiaEmulator) -> None:
    media = upload(wistia)
    wistia.add_rule(
        FaultRule(429, method="POST", path_pattern=r"/modern/medias/[^/]+/captions", times=1, retry_after=3)
    )

    limited = call(wistia, "POST", f"/modern/medias/{media}/captions", json={"caption_file": SRT})

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert wistia.media(media)["captions"] == {}
    assert wistia.requests()[-1]["fault"] == "429"


def test_folders_are_created_with_a_location_and_duplicate_names(wistia: WistiaEmulator) -> None:
    first = call(wistia, "POST", "/modern/folders", json={"name": "Clips"})
    second = call(wistia, "POST", "/v1/projects.json", data={"name": "Clips"})

    folder = checked(first, "/folders", "post", 201)
    assert first.headers["Location"] == f"/modern/folders/{folder['hashed_id']}"
    assert second.status_code == 201
    assert second.headers["Location"].endswith(f"{second.json()['hashedId']}.json")
    assert second.json()["hashedId"] != folder["hashed_id"]
    shown = checked(
        call(wistia, "GET", f"/modern/folders/{folder['hashed_id']}"), "/folders/{id}", "get", 200
    )
    assert (shown["name"], shown["media_count"]) == ("Clips", 0)
    assert checked(call(wistia, "GET", "/modern/folders/nosuchfolder"), "/folders/{id}", "get", 404)
    assert call(wistia, "POST", "/modern/folders", json={}).status_code == 400


def test_uploads_go_to_the_named_folder_or_the_days_folder(wistia: WistiaEmulator) -> None:
    folder = wistia.seed_folders(["Talks", "Talks"])[1]["hashed_id"]
    upload(wistia, "a.mp4", project_id=folder)
    upload(wistia, "b.mp4")

    folders = checked(call(wistia, "GET", "/modern/folders"), "/folders", "get", 200)
    projects = call(wistia, "GET", "/v1/projects.json", params={"sort_by": "name"}).json()
    legacy_show = call(wistia, "GET", f"/v1/projects/{folder}.json").json()

    assert [(f["name"], f["media_count"]) for f in folders][:2] == [("Talks", 0), ("Talks", 1)]
    assert folders[2]["name"].startswith("Uploads_")
    assert folders[2]["media_count"] == 1
    assert set(projects[0]) >= {"hashedId", "mediaCount", "publicId", "anonymousCanUpload"}
    assert [m["name"] for m in legacy_show["medias"]] == ["a.mp4"]
    media = call(wistia, "GET", "/modern/medias", params={"folder_id": folder}).json()
    assert media[0]["folder"] == {"hashedId": folder, "name": "Talks"}


def test_folders_page_and_sort_and_refuse_a_name_filter(wistia: WistiaEmulator) -> None:
    control(wistia, "POST", "folders", {"names": [f"f{n:02d}" for n in range(12)]})

    page = call(wistia, "GET", "/modern/folders").json()
    second = call(wistia, "GET", "/modern/folders", params={"page": 2}).json()
    by_name = call(
        wistia, "GET", "/modern/folders", params={"sort_by": "name", "sort_direction": 0, "per_page": 2}
    ).json()
    named = call(wistia, "GET", "/modern/folders", params={"name": "f01"})

    assert len(page) == 10
    assert [f["name"] for f in second] == ["f10", "f11"]
    assert [f["name"] for f in by_name] == ["f11", "f10"]
    assert named.status_code == 400
    assert "name" in named.json()["error"]
    assert call(wistia, "GET", "/modern/folders", params={"per_page": 101}).status_code == 400
