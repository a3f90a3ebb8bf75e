"""ProjectRouting=folders with CreateMissingFolders=true and the routes table in an SSM SecureString
(RoutesParameterName), deployed into ministack: the real template, IAM statements and function.
One stack for the module; every upload goes through S3's notification to the function."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from local_stack.harness import LocalStack

from .support import E2E, VIDEO, eventually

pytestmark = E2E
ROUTES_PARAMETER = "/s3-wistia-bridge-e2e/routes"
SEEDED = "Seeded Reels"


@pytest.fixture(scope="module")
def folders_stack() -> Iterator[LocalStack]:
    parameters = {
        "ProjectRouting": "folders",
        "CreateMissingFolders": "true",
        "RoutesParameterName": ROUTES_PARAMETER,
    }
    with LocalStack("e2e-fold", parameters=parameters) as local:
        assert local.emulator is not None
        # Before the first object: the function reads both at its cold start / first need.
        local.emulator.seed_folders([SEEDED])
        local.client("ssm").put_parameter(
            Name=ROUTES_PARAMETER,
            Type="SecureString",
            Value=json.dumps([{"prefix": "promo/", "project_id": "promo1"}]),
        )
        yield local


def project_of(wistia: Any, key: str) -> str | None:
    """The hashed id of the folder the media of `key` went to; None before it exists."""
    name = key.rsplit("/", 1)[-1]
    medias = [media for media in wistia.medias() if media["name"] == name]
    return str(medias[0]["project"]["hashed_id"]) if medias else None


def folders_named(wistia: Any, name: str) -> list[dict[str, Any]]:
    return sorted((f for f in wistia.folders() if f["name"] == name), key=lambda folder: folder["id"])


def test_two_keys_of_one_s3_folder_land_in_one_created_wistia_folder(folders_stack: LocalStack):
    wistia = folders_stack.emulator
    keys = ("Launch 2026/teaser.mp4", "Launch 2026/full cut.mp4")
    for key in keys:
        folders_stack.upload(key, VIDEO)
    eventually(lambda: all(project_of(wistia, key) for key in keys), timeout=30)
    created = folders_named(wistia, "Launch 2026")
    # Two containers may each have created one at the same moment; both then take the oldest.
    assert 1 <= len(created) <= 2
    assert {project_of(wistia, key) for key in keys} == {created[0]["hashed_id"]}


def test_a_seeded_folder_is_used_rather_than_created(folders_stack: LocalStack):
    wistia = folders_stack.emulator
    [seeded] = folders_named(wistia, SEEDED)
    folders_stack.upload(f"{SEEDED}/reel.mp4", VIDEO)
    eventually(lambda: project_of(wistia, f"{SEEDED}/reel.mp4") is not None, timeout=30)
    assert project_of(wistia, f"{SEEDED}/reel.mp4") == seeded["hashed_id"]
    assert [folder["hashed_id"] for folder in folders_named(wistia, SEEDED)] == [seeded["hashed_id"]]


def test_the_routes_table_in_ssm_wins_over_folders(folders_stack: LocalStack):
    wistia = folders_stack.emulator
    folders_stack.upload("promo/spring.mp4", VIDEO)
    eventually(lambda: project_of(wistia, "promo/spring.mp4") is not None, timeout=30)
    assert project_of(wistia, "promo/spring.mp4") == "promo1"
    assert folders_named(wistia, "promo") == []
