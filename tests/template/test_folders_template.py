"""The template's side of folder routing and of the routes table outside it (docs/folders.md):
the one variable ROUTES_SOURCE from two parameters, and exactly the one parameter or object
readable, only when set, by both functions that route."""

from __future__ import annotations

from typing import Any

import pytest
from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge.routes_source import RoutesSource

from tests.template.test_template import (
    NEW_BUCKET,
    Template,
    as_list,
    load,
)
from tests.template.test_template import (
    test_parameter_patterns_accept_good_values_and_reject_bad_ones as check_patterns,
)

PARAMETER = "/s3-wistia-bridge/routes"
OBJECT = "bridge-config/tables/routes.json"
ROLES = ("IngestRole", "BatchRole")
FUNCTIONS = ("IngestFunction", "BatchFunction")


def _environment(params: dict[str, str], function: str) -> dict[str, Any]:
    variables = Template(load(), params).properties(function)["Environment"]["Variables"]
    assert isinstance(variables, dict)
    return variables


def _grants(params: dict[str, str], role: str, sid: str) -> list[dict[str, Any]]:
    return [
        statement
        for statement in Template(load(), params).role_statements(role)
        if statement.get("Sid") == sid
    ]


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize(
    ("params", "source"),
    [
        ({}, ""),
        ({"RoutesParameterName": PARAMETER}, f"ssm:{PARAMETER}"),
        ({"RoutesObject": OBJECT}, f"s3://{OBJECT}"),
    ],
)
def test_routes_source_is_built_from_the_parameter_that_is_set(function, params, source):
    environment = _environment({**NEW_BUCKET, **params}, function)
    assert environment["ROUTES_SOURCE"] == source
    if source:  # the function's own check accepts what the stack builds
        assert RoutesSource.parse(source).text == source
        env = {key: str(value) for key, value in environment.items() if isinstance(value, (str, int))}
        env.update(ALLOWED_BUCKETS="media", FAILURE_QUEUE_URL="q", AWS_REGION="eu-west-1")
        assert BridgeConfig.from_environ(env).routes_source == source


@pytest.mark.parametrize("role", ROLES)
def test_nothing_is_readable_without_a_routes_source(role):
    for sid in ("RoutesParameter", "RoutesObject"):
        assert _grants(NEW_BUCKET, role, sid) == []
    statements = Template(load(), NEW_BUCKET).role_statements(role)
    assert not any("ssm:" in str(statement["Action"]) for statement in statements)


@pytest.mark.parametrize("role", ROLES)
def test_exactly_the_one_parameter_may_be_read(role):
    params = {**NEW_BUCKET, "RoutesParameterName": PARAMETER}
    (statement,) = _grants(params, role, "RoutesParameter")
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "ssm:GetParameter"
    assert statement["Resource"] == f"arn:aws:ssm:eu-west-1:123456789012:parameter{PARAMETER}"
    assert _grants(params, role, "RoutesObject") == []
    # SecureString under aws/ssm: that key's own policy lets SSM decrypt; no kms grant is added.
    assert not any("kms:" in str(s["Action"]) for s in Template(load(), params).role_statements(role))


@pytest.mark.parametrize("role", ROLES)
def test_exactly_the_one_object_may_be_read(role):
    params = {**NEW_BUCKET, "RoutesObject": OBJECT}
    (statement,) = _grants(params, role, "RoutesObject")
    assert (statement["Effect"], statement["Action"]) == ("Allow", "s3:GetObject")
    assert as_list(statement["Resource"]) == [f"arn:aws:s3:::{OBJECT}"]
    assert _grants(params, role, "RoutesParameter") == []


@pytest.mark.parametrize(
    ("parameter", "accepted", "rejected"),
    [
        (
            "RoutesParameterName",
            ["", PARAMETER, "/a", "/team_1/bridge.routes-v2"],
            ["routes", "/has space", "/a*", "/" + "a" * 1011, "ssm:/a"],
        ),
        (
            "RoutesObject",
            ["", OBJECT, "my.bucket/k", "abc/Café routes.json"],
            ["s3://b/k", "bucket", "bucket/", "Bucket/k", "b/k*", "bkt/a?b", "bkt/a$b", 'bkt/a"b'],
        ),
    ],
)
def test_routes_source_patterns(parameter, accepted, rejected):
    check_patterns(parameter, accepted, rejected)


def test_rules_refuse_two_routes_tables():
    rules = load()["Rules"]
    assert {"OneRoutesTable", "OneRoutesTableInS3"} <= set(rules)
    asserted = str(rules["OneRoutesTable"]["Assertions"])
    assert "RoutesObject" in asserted
    assert "WistiaRoutes" in asserted
    assert "WistiaRoutes" in str(rules["OneRoutesTableInS3"]["Assertions"])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_folder_routing_reaches_both_routing_functions(function):
    params = {
        **NEW_BUCKET,
        "ProjectRouting": "folders",
        "FolderDepth": "2",
        "CreateMissingFolders": "true",
        "FolderCacheSeconds": "30",
    }
    environment = _environment(params, function)
    assert (
        environment["PROJECT_ROUTING"],
        environment["FOLDER_DEPTH"],
        environment["CREATE_MISSING_FOLDERS"],
        environment["FOLDER_CACHE_SECONDS"],
    ) == ("folders", "2", "true", "30")
