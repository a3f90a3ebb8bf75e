"""PROJECT_ROUTING=folders and ROUTES_SOURCE through the real handler: the emulator's /modern/folders
over HTTP, moto for S3, SQS, Secrets Manager and SSM."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from s3_wistia_bridge.config import ConfigError
from s3_wistia_bridge.errors import TransientFailure

from tests.conftest import LambdaContextStub

from .conftest import BUCKET, REGION, TOKEN, Stack
from .faults import fail_requests

pytestmark = pytest.mark.integration

FOLDERS = {"PROJECT_ROUTING": "folders", "FOLDER_CACHE_SECONDS": "60"}


def invoke(app: ModuleType, event: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.lambda_handler(event, LambdaContextStub(remaining_seconds=30))
    return result


def folder_calls(stack: Stack) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in stack.emulator.requests() if "/folders" in r["path"]]


def projects(stack: Stack) -> dict[str, str]:
    """Media name -> the hashed id of the folder it went to."""
    return {media["name"]: media["project"]["hashed_id"] for media in stack.emulator.medias()}


def test_two_keys_of_one_s3_folder_land_in_the_one_folder_created_for_them(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
):
    app = load_app({**stack.env, **FOLDERS, "CREATE_MISSING_FOLDERS": "true"})
    invoke(app, stack.put("Launch 2026/teaser.mp4"))
    invoke(app, stack.put("Launch 2026/full cut.mp4"))
    [folder] = stack.emulator.folders()
    assert folder["name"] == "Launch 2026"
    assert projects(stack) == {"teaser.mp4": folder["hashed_id"], "full cut.mp4": folder["hashed_id"]}
    # One list on the first need, one create, one list after it (duplicates), then the cache.
    assert folder_calls(stack) == ["GET /modern/folders", "POST /modern/folders", "GET /modern/folders"]


def test_a_seeded_folder_is_used_not_created_and_the_oldest_of_duplicates_wins(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
):
    oldest, _newer = stack.emulator.seed_folders(["marketing", "marketing"])
    app = load_app({**stack.env, **FOLDERS, "CREATE_MISSING_FOLDERS": "true"})
    invoke(app, stack.put("marketing/a.mp4"))
    invoke(app, stack.put("marketing/b.mp4"))
    assert projects(stack) == {"a.mp4": oldest["hashed_id"], "b.mp4": oldest["hashed_id"]}
    assert len(stack.emulator.folders()) == 2
    assert folder_calls(stack) == ["GET /modern/folders"]


def test_a_folder_beyond_the_first_page_and_a_key_without_a_folder(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
):
    seeded = stack.emulator.seed_folders([f"team {number}" for number in range(1, 151)])
    app = load_app({**stack.env, **FOLDERS, "FOLDER_DEPTH": "2"})
    invoke(app, stack.put("team 140/2026/x.mp4"))  # depth 2: "team 140/2026" does not exist...
    invoke(app, stack.put("root.mp4"))
    records = stack.failure_records()
    assert [record["reason"] for record in records] == ["folder_missing"]
    assert projects(stack) == {"root.mp4": "defaultproj1"}
    # The whole list was read: two pages of 100.
    assert folder_calls(stack) == ["GET /modern/folders"] * 2
    app = load_app({**stack.env, **FOLDERS, "FOLDER_DEPTH": "1"})
    invoke(app, stack.put("team 140/2026/y.mp4"))
    assert projects(stack)["y.mp4"] == seeded[139]["hashed_id"]


def test_a_missing_folder_is_a_replayable_failure_record_when_creation_is_off(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
):
    # No cache: the replay in this same container sees the folder created meanwhile.
    app = load_app({**stack.env, **FOLDERS, "FOLDER_CACHE_SECONDS": "0"})
    event = stack.put("sales/pitch.mp4")
    assert invoke(app, event)["objects"][0]["reason"] == "folder_missing"
    [record] = stack.failure_records()
    assert record["reason"] == "folder_missing"
    assert "'sales'" in json.dumps(record)
    assert stack.emulator.medias() == []
    assert not any(call.startswith("POST") for call in folder_calls(stack))
    # The operator creates the folder and replays: the same event now lands in it.
    [sales] = stack.emulator.seed_folders(["sales"])
    assert invoke(app, event)["objects"][0]["outcome"] == "copied"
    assert projects(stack) == {"pitch.mp4": sales["hashed_id"]}


def test_a_rate_limited_list_is_transient_and_sends_nothing(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
):
    stack.emulator.seed_folders(["promo"])
    app = load_app({**stack.env, **FOLDERS})
    fail_requests(stack.emulator, 429, times=1, retry_after=4)
    event = stack.put("promo/a.mp4")
    with pytest.raises(TransientFailure) as failure:
        invoke(app, event)
    assert failure.value.reason.value == "wistia_rate_limited"
    assert stack.emulator.medias() == []
    assert stack.failure_records() == []
    assert invoke(app, event)["objects"][0]["outcome"] == "copied"  # Lambda's retry


def test_routes_win_over_folders_and_the_token_stays_out_of_the_output(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType], function_output
):
    stack.emulator.seed_folders(["marketing"])
    routes = json.dumps([{"prefix": "marketing/webinars/", "project_id": "webinars1"}])
    app = load_app({**stack.env, **FOLDERS, "WISTIA_ROUTES": routes, "CREATE_MISSING_FOLDERS": "true"})
    invoke(app, stack.put("marketing/webinars/q1.mp4"))
    assert folder_calls(stack) == []  # a route matched: no folder looked up
    invoke(app, stack.put("marketing/q2.mp4"))
    assert projects(stack)["q1.mp4"] == "webinars1"
    assert projects(stack)["q2.mp4"] != "webinars1"
    assert TOKEN not in json.dumps(function_output())


# ---------------------------------------------------------------- ROUTES_SOURCE


@pytest.mark.parametrize("kind", ["ssm", "s3"])
def test_the_routes_table_is_read_from_ssm_or_s3_at_cold_start(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType], kind: str
):
    table = json.dumps([{"prefix": "promo/", "project_id": "promo1"}])
    if kind == "ssm":
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name="/bridge/routes", Value=table, Type="SecureString"
        )
        source = "ssm:/bridge/routes"
    else:
        stack.s3.put_object(Bucket=BUCKET, Key="config/routes.json", Body=table.encode())
        source = f"s3://{BUCKET}/config/routes.json"
    app = load_app({**stack.env, "ROUTES_SOURCE": source})
    invoke(app, stack.put("promo/a.mp4"))
    invoke(app, stack.put("other/b.mp4"))
    assert projects(stack) == {"a.mp4": "promo1", "b.mp4": "defaultproj1"}


def test_a_bad_routes_table_fails_the_cold_start_before_anything_is_sent(
    stack: Stack, load_app: Callable[[dict[str, str]], ModuleType]
):
    stack.s3.put_object(Bucket=BUCKET, Key="config/routes.json", Body=b'[{"prefix": "a/"}]')
    with pytest.raises(ConfigError, match=r"ROUTES_SOURCE s3://.*/config/routes.json\[0\].project_id"):
        load_app({**stack.env, "ROUTES_SOURCE": f"s3://{BUCKET}/config/routes.json"})
    with pytest.raises(ConfigError, match="the parameter does not exist"):
        load_app({**stack.env, "ROUTES_SOURCE": "ssm:/bridge/none"})
    assert stack.emulator.requests() == []
