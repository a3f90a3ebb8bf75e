"""Swap, update, delete, archive and background jobs, checked against Wistia's OpenAPI excerpt."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from wistia_emulator import FaultRule, WistiaEmulator

from .library import AUTH, TOKEN, call, checked, control, upload, upload_file

SHOW, SWAP, JOB = (
    "/medias/{mediaHashedId}",
    "/medias/{mediaHashedId}/swap",
    "/background_job_status/{backgroundJobStatusId}",
)
OLD, NEW = b"old file " * 100, b"the new file " * 300


@pytest.fixture
def wistia() -> Iterator[WistiaEmulator]:
    with WistiaEmulator(tokens=(TOKEN,)) as emulator:
        yield emulator


def swap(wistia: WistiaEmulator, original: str, body: object, prefix: str = "/modern") -> requests.Response:
    suffix = ".json" if prefix == "/v1" else ""
    return call(wistia, "PUT", f"{prefix}/medias/{original}/swap{suffix}", json=body)


def show(wistia: WistiaEmulator, hashed_id: str) -> dict[str, Any]:
    return dict(checked(call(wistia, "GET", f"/modern/medias/{hashed_id}"), SHOW, "get", 200))


def test_a_swap_makes_the_original_serve_the_replacement_file(wistia: WistiaEmulator) -> None:
    original, replacement = upload_file(wistia, OLD, "talk.mp4"), upload_file(wistia, NEW, "talk-v2.mp4")

    answer = checked(swap(wistia, original, {"replacement_media_id": replacement}), SWAP, "put", 200)
    job = answer["background_job_status"]
    status = checked(call(wistia, "GET", f"/modern/background_job_status/{job['id']}"), JOB, "get", 200)

    assert answer["media"]["hashed_id"] == original
    assert answer["message"] == "Media swap has been queued for processing."
    assert job["status"] == "queued"
    assert job["hashed_id"]
    assert status == {
        "background_job_status": {"id": job["id"], "hashed_id": job["hashed_id"], "status": "finished"}
    }
    content = wistia.media(original)["content"]
    assert (content["sha256"], content["bytes"]) == (hashlib.sha256(NEW).hexdigest(), len(NEW))
    assert content["swapped_from"] == replacement
    assert show(wistia, original)["assets"][0]["file_size"] == len(NEW)  # OriginalFile
    # The replacement stays as its own media by default (swap_replacement "keep").
    assert wistia.media(replacement)["content"]["sha256"] == hashlib.sha256(NEW).hexdigest()
    assert show(wistia, replacement)["hashed_id"] == replacement


def test_a_swap_can_delete_the_replacement_and_works_on_v1(wistia: WistiaEmulator) -> None:
    original, replacement = upload_file(wistia, OLD), upload_file(wistia, NEW)
    wistia.swap_replacement = "delete"

    answer = swap(wistia, original, {"replacement_media_id": replacement}, prefix="/v1")
    call(wistia, "GET", f"/v1/background_job_status/{answer.json()['background_job_status']['id']}.json")

    assert answer.status_code == 200
    assert answer.json()["media"]["project"]  # the legacy media object
    assert wistia.media(replacement)["deleted"] is True
    assert call(wistia, "GET", f"/modern/medias/{replacement}").status_code == 404


def test_the_job_is_queued_then_started_then_finished_and_the_swap_waits_for_it(
    wistia: WistiaEmulator,
) -> None:
    original, replacement = upload_file(wistia, OLD), upload_file(wistia, NEW)
    wistia.job_queued_seconds, wistia.job_started_seconds = 0.3, 0.3
    job = swap(wistia, original, {"replacement_media_id": replacement}).json()["background_job_status"]
    by_hashed_id = f"/modern/background_job_status/{job['hashed_id']}"

    statuses = [call(wistia, "GET", by_hashed_id).json()["background_job_status"]["status"]]
    before = wistia.media(original)["content"]["sha256"]
    time.sleep(0.4)
    statuses.append(call(wistia, "GET", by_hashed_id).json()["background_job_status"]["status"])
    time.sleep(0.3)
    statuses.append(call(wistia, "GET", by_hashed_id).json()["background_job_status"]["status"])

    assert statuses == ["queued", "started", "finished"]
    assert before == hashlib.sha256(OLD).hexdigest()
    assert wistia.media(original)["content"]["sha256"] == hashlib.sha256(NEW).hexdigest()


def test_jobs_held_by_the_clock_finish_through_the_control_api(wistia: WistiaEmulator) -> None:
    original, replacement = upload_file(wistia, OLD), upload_file(wistia, NEW)
    wistia.job_queued_seconds = 3600
    swap(wistia, original, {"replacement_media_id": replacement})

    assert control(wistia, "GET", "jobs").json()[0]["status"] == "queued"
    assert control(wistia, "POST", "jobs/finish").json() == {"finished": 1}
    assert wistia.media(original)["content"]["sha256"] == hashlib.sha256(NEW).hexdigest()


def test_swap_errors(wistia: WistiaEmulator) -> None:
    original, other = upload(wistia, "a.mp4"), upload(wistia, "b.mp3")
    control(wistia, "POST", f"medias/{other}", {"type": "Audio"})

    missing = checked(swap(wistia, original, {}), SWAP, "put", 400)
    mismatch = checked(swap(wistia, original, {"replacement_media_id": other}), SWAP, "put", 400)
    unknown = checked(swap(wistia, original, {"replacement_media_id": "nosuchmedia"}), SWAP, "put", 404)
    unknown_original = checked(
        swap(wistia, "nosuchmedia", {"replacement_media_id": original}), SWAP, "put", 404
    )
    call(wistia, "DELETE", f"/modern/medias/{other}")
    deleted = swap(wistia, original, {"replacement_media_id": other})

    assert missing == {"error": "replacement_media_id is required."}
    assert mismatch == {"error": "Replacement media must be the same type as the original media (Video)."}
    assert unknown == {"error": "Media with ID 'nosuchmedia' not found."}
    assert unknown_original["error"] == "Media with ID 'nosuchmedia' not found."
    assert deleted.status_code == 404
    assert control(wistia, "GET", "jobs").json() == []  # no job for a refused swap


@pytest.mark.parametrize("permission", ["read_only", "upload_only"])
def test_a_token_without_read_update_delete_gets_a_403(wistia: WistiaEmulator, permission: str) -> None:
    original, replacement = upload(wistia, "a.mp4"), upload(wistia, "b.mp4")
    assert (
        control(wistia, "POST", "permissions", {"token": TOKEN, "permission": permission}).status_code == 200
    )

    refused = checked(swap(wistia, original, {"replacement_media_id": replacement}), SWAP, "put", 403)
    deleted = call(wistia, "DELETE", f"/modern/medias/{original}")
    job_read = call(wistia, "GET", "/modern/background_job_status/1")

    assert "Read, update & delete anything" in refused["error"]
    assert deleted.status_code == 403
    assert wistia.media(original)["deleted"] is False
    assert job_read.status_code == (404 if permission == "read_only" else 403)


def test_a_missing_token_is_a_401_in_each_api_shape(wistia: WistiaEmulator) -> None:
    hashed_id = upload(wistia)

    modern = call(wistia, "DELETE", f"/modern/medias/{hashed_id}", headers={})
    legacy = call(wistia, "DELETE", f"/v1/medias/{hashed_id}.json", headers={"Authorization": "Bearer wrong"})

    assert checked(modern, SHOW, "delete", 401) == {"error": "Invalid credentials."}
    assert legacy.status_code == 401
    assert legacy.headers["Content-Type"].startswith("text/html")
    assert wistia.media(hashed_id)["deleted"] is False


def test_update_sets_name_description_and_replaces_the_tags(wistia: WistiaEmulator) -> None:
    hashed_id = upload(wistia)
    url = f"/modern/medias/{hashed_id}"

    first = checked(call(wistia, "PUT", url, json={"name": "Intro", "tags": ["a", "b"]}), SHOW, "put", 200)
    second = checked(call(wistia, "PUT", url, json={"description": "Hi", "tags": ["c"]}), SHOW, "put", 200)
    form = call(wistia, "PUT", f"/v1/medias/{hashed_id}.json", data={"tags[]": ["d", "e"]})
    bad = checked(call(wistia, "PUT", url, json={"tags": "a,b"}), SHOW, "put", 400)

    assert (first["name"], first["tags"]) == ("Intro", [{"name": "a"}, {"name": "b"}])
    assert (second["name"], second["description"], second["tags"]) == ("Intro", "Hi", [{"name": "c"}])
    assert form.status_code == 200
    assert form.json()["tags"] == [{"name": "d"}, {"name": "e"}]
    assert show(wistia, hashed_id)["tags"] == [{"name": "d"}, {"name": "e"}]
    listed = call(wistia, "GET", "/modern/medias", params={"tags[]": "e"}).json()
    assert [media["hashed_id"] for media in listed] == [hashed_id]
    assert bad == {"error": "tags must be an array of tag names."}
    assert checked(call(wistia, "PUT", "/modern/medias/nosuchmedia", json={}), SHOW, "put", 404)


def test_delete_is_a_soft_delete_listed_with_its_restore_deadline(wistia: WistiaEmulator) -> None:
    kept, gone = upload(wistia, "kept.mp4"), upload(wistia, "gone.mp4")

    deleted = checked(call(wistia, "DELETE", f"/modern/medias/{gone}"), SHOW, "delete", 200)
    again = checked(call(wistia, "DELETE", f"/modern/medias/{gone}"), SHOW, "delete", 404)
    listed = call(wistia, "GET", "/modern/deleted_media").json()

    assert deleted["hashed_id"] == gone
    assert again == {"error": f"Media with ID '{gone}' not found."}
    assert call(wistia, "GET", f"/modern/medias/{gone}").status_code == 404
    assert [m["hashed_id"] for m in call(wistia, "GET", "/modern/medias").json()] == [kept]
    assert [m["hashed_id"] for m in call(wistia, "GET", "/v1/medias.json").json()] == [kept]
    assert [m["hashed_id"] for m in listed] == [gone]
    assert listed[0]["restore_expires_at"] > listed[0]["deleted_at"]

    restored = call(wistia, "POST", "/modern/deleted_media/restore", json={"media_hashed_ids": [gone]})
    assert restored.status_code == 202
    assert show(wistia, gone)["hashed_id"] == gone


def test_legacy_delete_answers_the_legacy_media(wistia: WistiaEmulator) -> None:
    hashed_id = upload(wistia)

    deleted = call(wistia, "DELETE", f"/v1/medias/{hashed_id}.json")

    assert deleted.status_code == 200
    assert deleted.json()["project"]["hashed_id"]
    assert call(wistia, "GET", f"/v1/medias/{hashed_id}.json").status_code == 404


def test_archive_is_a_job_that_sets_archived(wistia: WistiaEmulator) -> None:
    a, b = upload(wistia, "a.mp4"), upload(wistia, "b.mp4")

    answer = checked(
        call(wistia, "PUT", "/modern/medias/archive", json={"hashed_ids": [a]}), "/medias/archive", "put", 200
    )
    archived = call(wistia, "GET", "/modern/medias", params={"archived": "true"}).json()
    live = call(wistia, "GET", "/modern/medias", params={"archived": "false"}).json()

    assert answer["background_job_status"]["status"] == "queued"
    assert [m["hashed_id"] for m in archived] == [a]
    assert archived[0]["archived"] is True
    assert [m["hashed_id"] for m in live] == [b]
    folder = wistia.seed_folders(["Back"])[0]["hashed_id"]
    restore = call(wistia, "PUT", "/modern/medias/restore", json={"hashed_ids": [a], "folder_id": folder})
    assert checked(restore, "/medias/restore", "put", 200)["container"]["hashedId"] == folder
    assert show(wistia, a)["archived"] is False
    assert show(wistia, a)["folder"]["name"] == "Back"


def test_archive_refusals(wistia: WistiaEmulator) -> None:
    a = upload(wistia)
    url = "/modern/medias/archive"

    too_many = checked(
        call(wistia, "PUT", url, json={"hashed_ids": [a] * 101}), "/medias/archive", "put", 422
    )
    no_target = checked(
        call(wistia, "PUT", "/modern/medias/restore", json={"hashed_ids": [a]}), "/medias/restore", "put", 422
    )
    wistia.archiving_enabled = False
    no_plan = checked(call(wistia, "PUT", url, json={"hashed_ids": [a]}), "/medias/archive", "put", 403)
    legacy = call(wistia, "PUT", "/v1/medias/archive.json", json={"hashed_ids": [a]})

    assert "at most 100" in too_many["error"]
    assert no_target == {"error": "Incorrect number of parameters provided. Provide one folder_id."}
    assert no_plan["error"]
    assert legacy.status_code == 403
    assert show(wistia, a)["archived"] is False


def test_the_new_calls_are_faulted_by_method_and_path_pattern(wistia: WistiaEmulator) -> None:
    hashed_id = upload(wistia)
    wistia.add_rule(
        FaultRule(503, method="DELETE", path_pattern="/modern/medias/[^/]+", times=1, retry_after=7)
    )
    wistia.add_rule(
        FaultRule("drop_after_processing", method="PUT", path_pattern=r"/modern/medias/[^/]+", times=1)
    )

    faulted = call(wistia, "DELETE", f"/modern/medias/{hashed_id}")
    still_there = wistia.media(hashed_id)["deleted"]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the connection ends without an answer
        call(wistia, "PUT", f"/modern/medias/{hashed_id}", json={"name": "Renamed"})

    assert (faulted.status_code, faulted.headers["Retry-After"]) == (503, "7")
    assert still_there is False
    assert wistia.media(hashed_id)["name"] == "Renamed"  # processed, then dropped
    log = [(r["method"], r["path"], r["fault"]) for r in wistia.requests()]
    assert log[-2:] == [
        ("DELETE", f"/modern/medias/{hashed_id}", "503"),
        ("PUT", f"/modern/medias/{hashed_id}", "drop_after_processing"),
    ]


def test_the_rate_limit_counts_the_new_calls() -> None:
    with WistiaEmulator(tokens=(TOKEN,), rate_limit_per_minute=2) as wistia:
        hashed_id = upload(wistia)
        first = call(wistia, "PUT", f"/modern/medias/{hashed_id}", json={"name": "x"})
        limited = call(wistia, "DELETE", f"/modern/medias/{hashed_id}")

        assert first.status_code == 200
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert wistia.media(hashed_id)["deleted"] is False


def test_every_call_is_in_the_request_log(wistia: WistiaEmulator) -> None:
    hashed_id = upload(wistia)
    call(wistia, "PUT", f"/modern/medias/{hashed_id}", json={"name": "x"})
    call(wistia, "GET", "/modern/folders")

    methods = [(r["method"], r["path"], r["status"]) for r in wistia.requests()]

    assert methods[1:] == [("PUT", f"/modern/medias/{hashed_id}", 200), ("GET", "/modern/folders", 200)]
    assert not [r for r in wistia.requests() if r["method"] == "DELETE"]
    assert AUTH["Authorization"] not in str(wistia.requests())
