"""ROUTES_SOURCE: the routes table from an SSM parameter or an S3 object, read at cold start, and
every malformed or hostile table a ConfigError that names the source and the problem."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws
from s3_wistia_bridge.aws import AwsClients
from s3_wistia_bridge.config import ConfigError, Route
from s3_wistia_bridge.routes_source import MAX_TABLE_BYTES, RoutesSource, load_routes, with_routes_from_source

from tests.unit.conftest import REGION, build_config

TABLE = [
    {"prefix": "marketing/", "project_id": "mkt1", "contact_id": 7},
    {"prefix": "marketing/webinars/", "project_id": "web1", "description": "Webinars"},
]
ROUTES = (Route("marketing/", "mkt1", 7, None), Route("marketing/webinars/", "web1", None, "Webinars"))
CONFIG_BUCKET = "bridge-config-example"


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsClients]:
    """One moto account for the module (its start costs ~2 s); each test uses its own names."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(name, "testing")
        session = boto3.session.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=CONFIG_BUCKET)
        yield AwsClients(session)


def put_parameter(aws: AwsClients, name: str, value: str, kind: str = "String") -> None:
    aws.session.client("ssm").put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)


def put_object(aws: AwsClients, key: str, body: bytes) -> None:
    aws.session.client("s3").put_object(Bucket=CONFIG_BUCKET, Key=key, Body=body)


# ---------------------------------------------------------------- the forms of the variable


@pytest.mark.parametrize(
    "value", ["ssm:/s3-wistia-bridge/routes", "ssm:routes", f"s3://{CONFIG_BUCKET}/a/routes.json"]
)
def test_accepted_forms(value: str):
    assert build_config(ROUTES_SOURCE=value).routes_source == value


@pytest.mark.parametrize(
    "value",
    [
        "ssm:",
        "ssm:/has space",
        "ssm:/a*b",
        "s3://",
        f"s3://{CONFIG_BUCKET}",
        f"s3://{CONFIG_BUCKET}/",
        "s3://UPPER/key",
        "https://example.com/routes.json",
        "/s3-wistia-bridge/routes",
        "ssm:/" + "a" * 1011,
    ],
)
def test_refused_forms_name_the_variable(value: str):
    with pytest.raises(ConfigError, match=r"^ROUTES_SOURCE: .* is neither ssm:"):
        build_config(ROUTES_SOURCE=value)


def test_parsed_source():
    assert RoutesSource.parse("ssm:/a/b") == RoutesSource("ssm:/a/b", "/a/b", None)
    assert RoutesSource.parse("s3://bkt/a/b.json") == RoutesSource("s3://bkt/a/b.json", "a/b.json", "bkt")


# ---------------------------------------------------------------- reading the table


@pytest.mark.parametrize("kind", ["String", "SecureString"])
def test_a_table_in_an_ssm_parameter(aws: AwsClients, kind: str):
    put_parameter(aws, "/bridge/routes", json.dumps(TABLE), kind)
    config = with_routes_from_source(build_config(ROUTES_SOURCE="ssm:/bridge/routes"), aws)
    assert config.routes == ROUTES


def test_a_table_in_an_s3_object_with_a_byte_order_mark(aws: AwsClients):
    put_object(aws, "routes.json", b"\xef\xbb\xbf" + json.dumps(TABLE).encode())
    config = with_routes_from_source(build_config(ROUTES_SOURCE=f"s3://{CONFIG_BUCKET}/routes.json"), aws)
    assert config.routes == ROUTES


def test_without_a_source_nothing_is_read():
    class NoAws:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"read {name}")

    config = build_config(WISTIA_ROUTES=json.dumps(TABLE))
    assert with_routes_from_source(config, NoAws()) is config  # type: ignore[arg-type]


def test_both_tables_set_is_an_error(aws: AwsClients):
    config = build_config(WISTIA_ROUTES=json.dumps(TABLE), ROUTES_SOURCE="ssm:/bridge/routes")
    with pytest.raises(ConfigError, match="ROUTES_SOURCE and WISTIA_ROUTES are both set"):
        with_routes_from_source(config, aws)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("ssm:/bridge/none", "the parameter does not exist"),
        (f"s3://{CONFIG_BUCKET}/none.json", "the object does not exist"),
        ("s3://no-such-bucket-here/routes.json", "the bucket does not exist"),
    ],
)
def test_a_missing_source(aws: AwsClients, source: str, problem: str):
    with pytest.raises(ConfigError, match=f"^ROUTES_SOURCE {source}: {problem}$"):
        load_routes(RoutesSource.parse(source), aws)


class Refusing:
    """AwsClients whose calls fail as given."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.session = boto3.session.Session(region_name=REGION)

    @property
    def ssm(self) -> Any:
        return self

    def s3(self, region: str) -> Any:
        return self

    def get_parameter(self, **kwargs: Any) -> Any:
        raise self.error

    def get_object(self, **kwargs: Any) -> Any:
        raise self.error


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "secret-ish detail"}}, "GetParameter")


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (_client_error("AccessDeniedException"), "access denied"),
        (_client_error("AccessDenied"), "access denied"),
        (_client_error("KMSAccessDeniedException"), "KMS key refused"),
        (_client_error("ThrottlingException"), "AWS answered ThrottlingException"),
        (EndpointConnectionError(endpoint_url="https://ssm"), "unreachable"),
    ],
)
@pytest.mark.parametrize("source", ["ssm:/bridge/routes", f"s3://{CONFIG_BUCKET}/routes.json"])
def test_a_refused_read(error: Exception, problem: str, source: str):
    with pytest.raises(ConfigError, match=f"^ROUTES_SOURCE {source}: .*{problem}") as raised:
        load_routes(RoutesSource.parse(source), Refusing(error))  # type: ignore[arg-type]
    assert "secret-ish" not in str(raised.value)


def test_a_string_list_parameter_is_refused(aws: AwsClients):
    put_parameter(aws, "/bridge/list", "a,b", "StringList")
    with pytest.raises(ConfigError, match="StringList"):
        load_routes(RoutesSource.parse("ssm:/bridge/list"), aws)


# ---------------------------------------------------------------- malformed and hostile tables

SECRET = "s3cr3t-value-never-echoed"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\xff\xfe{}", "not UTF-8"),
        (f'{{"token": "{SECRET}"'.encode(), "not valid JSON"),
        (f'"{SECRET}"'.encode(), "must be a JSON list"),
        (b"{}", "must be a JSON list"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"[" + b" " * MAX_TABLE_BYTES + b"]", "larger than"),
        (b'[{"prefix": "a/", "project_id": 5}]', r"\[0\].project_id: required string"),
        (b'[{"prefix": "/a/", "project_id": "p1"}]', r"\[0\].prefix: must be a string without a leading"),
        (b'[{"prefix": "a/", "project_id": "p1"}, {"prefix": "a/", "project_id": "p2"}]', "appears twice"),
        (b'[{"prefix": "a/", "project_id": "p-1"}]', "not a Wistia project hashed id"),
        (b'[{"prefix": "a/", "project_id": "p1", "contact_id": true}]', "contact_id: must be a positive"),
        (b'[{"prefix": "a/", "project_id": "p1", "extra": 1}]', "unknown field"),
        (b'[{"prefix": "a/", "project_id": "p1", "description": ["x"]}]', "description: must be a string"),
        (b"[[]]", r"\[0\]: must be an object"),
    ],
)
def test_a_bad_table_in_s3_names_the_source_and_the_problem(aws: AwsClients, body: bytes, problem: str):
    key = f"bad-{abs(hash(body))}.json"
    put_object(aws, key, body)
    source = f"s3://{CONFIG_BUCKET}/{key}"
    with pytest.raises(ConfigError, match=f"^ROUTES_SOURCE {source}.*{problem}") as raised:
        load_routes(RoutesSource.parse(source), aws)
    assert SECRET not in str(raised.value)


def test_a_bad_table_in_a_secure_string_never_shows_its_value(aws: AwsClients):
    put_parameter(aws, "/bridge/secret", f"not json {SECRET}", "SecureString")
    with pytest.raises(ConfigError, match="not valid JSON") as raised:
        load_routes(RoutesSource.parse("ssm:/bridge/secret"), aws)
    assert SECRET not in str(raised.value)


def test_overlapping_prefixes_are_a_valid_table_the_longest_wins(aws: AwsClients):
    table = [{"prefix": "", "project_id": "all1"}, {"prefix": "a/", "project_id": "a1"}]
    put_object(aws, "overlap.json", json.dumps(table).encode())
    routes = load_routes(RoutesSource.parse(f"s3://{CONFIG_BUCKET}/overlap.json"), aws)
    assert [route.project_id for route in routes] == ["all1", "a1"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
route_like = st.fixed_dictionaries(
    {},
    optional={
        "prefix": st.text(max_size=12) | json_values,
        "project_id": st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True) | json_values,
        "contact_id": st.integers(-3, 3) | json_values,
        "description": st.text(max_size=12) | json_values,
    },
)


class Stored:
    """AwsClients whose S3 object holds `raw` (the hypothesis tests: moto costs ~0.2 s a put)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.session = SimpleNamespace(region_name=REGION)

    def s3(self, region: str) -> Any:
        return self

    def get_object(self, **kwargs: Any) -> Any:
        return {"Body": io.BytesIO(self.raw)}


SOURCE = RoutesSource.parse(f"s3://{CONFIG_BUCKET}/fuzz.json")


def _outcome(raw: bytes) -> tuple[Route, ...] | ConfigError:
    try:
        return load_routes(SOURCE, Stored(raw))  # type: ignore[arg-type]
    except ConfigError as error:
        return error


@given(table=json_values | st.lists(route_like | json_values, max_size=5))
@settings(max_examples=150)
def test_any_json_table_is_routes_or_a_config_error_naming_the_source(table: Any):
    outcome = _outcome(json.dumps(table).encode())
    if isinstance(outcome, ConfigError):
        assert str(outcome).startswith(f"ROUTES_SOURCE {SOURCE.text}")
        return
    assert isinstance(table, list)
    assert all(isinstance(route, Route) for route in outcome)
    assert len({route.prefix for route in outcome}) == len(outcome)


@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
@settings(max_examples=200)
def test_any_bytes_are_routes_or_a_config_error(raw: bytes):
    assert isinstance(_outcome(raw), (tuple, ConfigError))
