"""BridgeConfig.from_environ: every variable's parsing, and every error names its variable."""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from s3_wistia_bridge import config as config_module
from s3_wistia_bridge.config import (
    BATCH_FUNCTION_ENVIRONMENT,
    DEFAULT_EXTENSIONS,
    DEFAULT_UPLOAD_URL,
    FUNCTION_ENVIRONMENT,
    VARIABLES,
    BatchConfig,
    BridgeConfig,
    ConfigError,
    CopyMode,
    Route,
    configuration_table,
)

from tests.unit.conftest import BASE_ENV, build_config


def config_error(**overrides: str | None) -> str:
    with pytest.raises(ConfigError) as info:
        build_config(**overrides)
    return str(info.value)


def routes(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- the minimal configuration and its defaults ---------------------------------------------


def test_minimal_environment_gives_documented_defaults(make_config):
    config = make_config()

    assert config.secret_id == BASE_ENV["WISTIA_SECRET_ID"]
    assert config.failure_queue_url == BASE_ENV["FAILURE_QUEUE_URL"]
    assert config.allowed_buckets == frozenset({"media-uploads-example"})
    assert config.allowed_regions == frozenset({"us-east-1"})
    assert config.upload_url == DEFAULT_UPLOAD_URL == "https://upload.wistia.com"
    assert config.allowed_prefixes == ()
    assert config.allowed_extensions == frozenset(f".{e}" for e in DEFAULT_EXTENSIONS.split(","))
    assert config.max_object_bytes is None
    assert config.default_project_id is None
    assert config.routes == ()
    assert config.description is None
    assert config.token_cache_seconds == 300
    assert config.connect_timeout_seconds == 3.05
    assert config.read_timeout_seconds == 20.0
    assert config.max_attempts == 4
    assert config.idempotency_table is None
    assert config.idempotency_ttl_seconds == 7 * 24 * 3600
    assert config.copy_mode is CopyMode.S3_COPY
    assert config.presigned_url_hours == 6
    assert config.object_metadata is False
    assert config.write_back_tag_key is None


def test_default_extensions_cover_wistia_documented_formats():
    config = build_config()
    documented = ["mov", "mpg", "avi", "flv", "f4v", "mp4", "m4v", "asf", "wmv", "vob", "mod", "3gp"]
    documented += ["mkv", "divx", "xvid"]
    assert {f".{ext}" for ext in documented} <= config.allowed_extensions
    assert ".txt" not in config.allowed_extensions


def test_config_is_immutable():
    config = build_config()
    with pytest.raises(AttributeError):
        config.max_attempts = 9  # type: ignore[misc]


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_blank_optional_values_count_as_unset(blank):
    config = build_config(
        WISTIA_PROJECT_ID=blank,
        WISTIA_ROUTES=blank,
        WISTIA_DESCRIPTION=blank,
        MAX_OBJECT_BYTES=blank,
        ALLOWED_PREFIXES=blank,
        ALLOWED_EXTENSIONS=blank,
        WISTIA_UPLOAD_URL=blank,
        TOKEN_CACHE_SECONDS=blank,
    )
    assert config.default_project_id is None
    assert config.routes == ()
    assert config.description is None
    assert config.max_object_bytes is None
    assert config.allowed_prefixes == ()
    assert config.upload_url == DEFAULT_UPLOAD_URL
    assert config.token_cache_seconds == 300
    assert ".mp4" in config.allowed_extensions


# --- required variables -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["WISTIA_SECRET_ID", "FAILURE_QUEUE_URL", "ALLOWED_BUCKETS"])
@pytest.mark.parametrize("how", ["missing", "blank"])
def test_required_variable_missing_is_an_error_naming_it(name, how):
    message = config_error(**{name: None if how == "missing" else "  "})
    assert message.startswith(f"{name}:")
    assert "required" in message


def test_values_are_stripped():
    config = build_config(WISTIA_SECRET_ID="  my-secret \n", FAILURE_QUEUE_URL=" https://q.example/x ")
    assert config.secret_id == "my-secret"
    assert config.failure_queue_url == "https://q.example/x"


# --- buckets ----------------------------------------------------------------------------------


def test_allowed_buckets_are_comma_separated_and_trimmed():
    config = build_config(ALLOWED_BUCKETS=" media-uploads-example , second.bucket-01,, ")
    assert config.allowed_buckets == frozenset({"media-uploads-example", "second.bucket-01"})


@pytest.mark.parametrize(
    "bucket",
    [
        "Media-Uploads",  # upper case
        "arn:aws:s3:::media-uploads-example",  # an ARN, not a name
        "s3://media-uploads-example",
        "ab",  # too short
        "a" * 64,  # too long
        "-starts-with-dash",
        "ends-with-dash-",
        "under_score",
        "*",  # no wildcard
    ],
)
def test_bad_bucket_name_is_an_error_naming_the_variable_and_value(bucket):
    message = config_error(ALLOWED_BUCKETS=f"media-uploads-example,{bucket}")
    assert message.startswith("ALLOWED_BUCKETS:")
    assert repr(bucket) in message


@pytest.mark.parametrize("bucket", ["abc", "a" * 63, "my.dotted.bucket", "123-numeric-4"])
def test_valid_bucket_names_of_every_shape_are_accepted(bucket):
    assert build_config(ALLOWED_BUCKETS=bucket).allowed_buckets == frozenset({bucket})


# --- regions ----------------------------------------------------------------------------------


def test_allowed_regions_default_to_the_function_region():
    assert build_config(AWS_REGION="eu-west-3").allowed_regions == frozenset({"eu-west-3"})


def test_allowed_regions_override_the_function_region():
    config = build_config(ALLOWED_REGIONS="eu-west-1, us-gov-west-1,ap-southeast-2")
    assert config.allowed_regions == frozenset({"eu-west-1", "us-gov-west-1", "ap-southeast-2"})


def test_no_regions_at_all_is_an_error_naming_allowed_regions():
    message = config_error(AWS_REGION=None, ALLOWED_REGIONS=None)
    assert message.startswith("ALLOWED_REGIONS:")
    assert "AWS_REGION" in message


@pytest.mark.parametrize("region", ["US-EAST-1", "useast1", "us-east", "moon-base-1a", "eu_west_1"])
def test_bad_region_is_an_error_naming_the_variable(region):
    message = config_error(ALLOWED_REGIONS=f"us-east-1,{region}")
    assert message.startswith("ALLOWED_REGIONS:")
    assert repr(region) in message


def test_bad_function_region_used_as_default_is_reported():
    message = config_error(AWS_REGION="nowhere", ALLOWED_REGIONS=None)
    assert message.startswith("ALLOWED_REGIONS:")
    assert "'nowhere'" in message


# --- upload URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://upload.wistia.com", "https://upload.wistia.com"),
        ("https://upload.wistia.com/", "https://upload.wistia.com"),
        (
            "https://wistia-proxy.internal.example:8443/base/",
            "https://wistia-proxy.internal.example:8443/base",
        ),
        ("http://127.0.0.1:54321", "http://127.0.0.1:54321"),
        ("http://127.0.0.1", "http://127.0.0.1"),
        ("http://localhost", "http://localhost"),
        ("http://LOCALHOST:8080/", "http://LOCALHOST:8080"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_upload_url_https_or_loopback_http_is_accepted_without_trailing_slash(raw, expected):
    assert build_config(WISTIA_UPLOAD_URL=raw).upload_url == expected


@pytest.mark.parametrize(
    "raw",
    [
        "http://upload.wistia.com",
        "http://10.0.0.5:8080",
        "http://localhost.attacker.example",
        "http://0.0.0.0:8080",
        "http://192.168.1.10",
    ],
)
def test_plain_http_to_a_non_loopback_host_is_rejected(raw):
    message = config_error(WISTIA_UPLOAD_URL=raw)
    assert message.startswith("WISTIA_UPLOAD_URL:")
    assert "https" in message


@pytest.mark.parametrize("raw", ["ftp://upload.wistia.com", "upload.wistia.com", "https://", "https:///s3"])
def test_upload_url_that_is_not_an_http_url_is_rejected(raw):
    message = config_error(WISTIA_UPLOAD_URL=raw)
    assert message.startswith("WISTIA_UPLOAD_URL:")
    assert "not an http(s) URL" in message


@pytest.mark.parametrize("raw", ["https://upload.wistia.com/?x=1", "https://upload.wistia.com/#frag"])
def test_upload_url_with_query_or_fragment_is_rejected(raw):
    message = config_error(WISTIA_UPLOAD_URL=raw)
    assert message.startswith("WISTIA_UPLOAD_URL:")
    assert "query or fragment" in message


@pytest.mark.parametrize("raw", ["http://127.0.0.1:99999", "https://upload.wistia.com:notaport"])
def test_upload_url_with_an_invalid_port_is_rejected_at_cold_start(raw):
    message = config_error(WISTIA_UPLOAD_URL=raw)
    assert message.startswith("WISTIA_UPLOAD_URL:")


# --- prefixes and extensions -----------------------------------------------------------------


def test_prefixes_are_kept_in_order_and_trimmed():
    config = build_config(ALLOWED_PREFIXES="videos/, marketing/webinars/ ,raw")
    assert config.allowed_prefixes == ("videos/", "marketing/webinars/", "raw")


def test_prefix_with_leading_slash_is_an_error_naming_the_variable():
    message = config_error(ALLOWED_PREFIXES="videos/,/uploads/")
    assert message.startswith("ALLOWED_PREFIXES:")
    assert "'/uploads/'" in message


def test_extensions_are_normalised_case_insensitively_with_optional_dot():
    config = build_config(ALLOWED_EXTENSIONS="MP4, .mov,.M4V ,webm")
    assert config.allowed_extensions == frozenset({".mp4", ".mov", ".m4v", ".webm"})


def test_explicit_extensions_replace_the_default_list():
    config = build_config(ALLOWED_EXTENSIONS="mp4")
    assert config.allowed_extensions == frozenset({".mp4"})


@pytest.mark.parametrize("ext", ["m p4", "mp4/x", "*", ".", "a" * 17, "mp-4"])
def test_bad_extension_is_an_error_naming_the_variable(ext):
    message = config_error(ALLOWED_EXTENSIONS=f"mp4,{ext}")
    assert message.startswith("ALLOWED_EXTENSIONS:")
    assert repr(ext) in message


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("5368709120", 5368709120), (" 1024 ", 1024)])
def test_max_object_bytes_is_a_whole_number(raw, expected):
    assert build_config(MAX_OBJECT_BYTES=raw).max_object_bytes == expected


@pytest.mark.parametrize("raw", ["0", "-1", "1e9", "10GB", "1.5", "+5", "0x10", "ten"])
def test_bad_max_object_bytes_is_an_error_naming_the_variable(raw):
    message = config_error(MAX_OBJECT_BYTES=raw)
    assert message.startswith("MAX_OBJECT_BYTES:")
    assert repr(raw) in message


def test_superscript_digit_in_max_object_bytes_gives_a_config_error():
    message = config_error(MAX_OBJECT_BYTES="²")
    assert message.startswith("MAX_OBJECT_BYTES:")


@pytest.mark.parametrize(
    ("name", "attribute", "minimum"),
    [
        ("TOKEN_CACHE_SECONDS", "token_cache_seconds", 0),
        ("WISTIA_MAX_ATTEMPTS", "max_attempts", 1),
        ("IDEMPOTENCY_TTL_SECONDS", "idempotency_ttl_seconds", 3600),
    ],
)
def test_integer_variables_accept_their_minimum_and_reject_below_it(name, attribute, minimum):
    assert getattr(build_config(**{name: str(minimum)}), attribute) == minimum
    assert getattr(build_config(**{name: str(minimum + 7)}), attribute) == minimum + 7
    if minimum > 0:
        message = config_error(**{name: str(minimum - 1)})
        assert message.startswith(f"{name}:")
        assert f">= {minimum}" in message
    message = config_error(**{name: "soon"})
    assert message.startswith(f"{name}:")


@pytest.mark.parametrize(
    ("name", "attribute", "maximum"),
    [
        ("TOKEN_CACHE_SECONDS", "token_cache_seconds", 86400),
        ("WISTIA_MAX_ATTEMPTS", "max_attempts", 10),
        ("IDEMPOTENCY_TTL_SECONDS", "idempotency_ttl_seconds", 365 * 24 * 3600),
    ],
)
def test_integer_variables_accept_their_maximum_and_reject_above_it(name, attribute, maximum):
    assert getattr(build_config(**{name: str(maximum)}), attribute) == maximum
    message = config_error(**{name: str(maximum + 1)})
    assert message.startswith(f"{name}:")
    assert f"maximum of {maximum}" in message


TIMEOUTS = [
    ("WISTIA_CONNECT_TIMEOUT_SECONDS", "connect_timeout_seconds", 30),
    ("WISTIA_READ_TIMEOUT_SECONDS", "read_timeout_seconds", 900),
]


@pytest.mark.parametrize(("name", "attribute", "maximum"), TIMEOUTS)
@pytest.mark.parametrize(("raw", "expected"), [("0.5", 0.5), ("2", 2.0), ("MAX", None), ("1e1", 10.0)])
def test_timeouts_accept_seconds_in_range(name, attribute, maximum, raw, expected):
    raw = raw.replace("MAX", str(maximum))
    assert getattr(build_config(**{name: raw}), attribute) == (expected or float(maximum))


@pytest.mark.parametrize(("name", "attribute", "maximum"), TIMEOUTS)
@pytest.mark.parametrize("raw", ["0", "-1", "MAX.01", "1000", "nan", "inf", "fast", "5s"])
def test_timeouts_out_of_range_are_errors_naming_the_variable(name, attribute, maximum, raw):
    message = config_error(**{name: raw.replace("MAX", str(maximum))})
    assert message.startswith(f"{name}:")
    assert f"(0, {maximum}]" in message


# --- project, description, table ----------------------------------------------------------


def test_project_description_and_idempotency_table_are_read():
    config = build_config(
        WISTIA_PROJECT_ID="abc123XYZ", WISTIA_DESCRIPTION="From S3", IDEMPOTENCY_TABLE="bridge-idem"
    )
    assert config.default_project_id == "abc123XYZ"
    assert config.description == "From S3"
    assert config.idempotency_table == "bridge-idem"


@pytest.mark.parametrize("project", ["abc-123", "has space", "a" * 65, "ünï"])
def test_bad_default_project_id_is_an_error_naming_the_variable(project):
    message = config_error(WISTIA_PROJECT_ID=project)
    assert message.startswith("WISTIA_PROJECT_ID:")
    assert repr(project) in message


# --- routes -----------------------------------------------------------------------------------


def test_routes_are_parsed_in_order_with_optional_fields():
    config = build_config(
        WISTIA_ROUTES=routes(
            [
                {"prefix": "marketing/", "project_id": "mktproj", "contact_id": 7},
                {"prefix": "marketing/webinars/", "project_id": "webinarproj", "description": "Webinar"},
                {"prefix": "", "project_id": "catchall"},
            ]
        )
    )
    assert config.routes == (
        Route("marketing/", "mktproj", 7, None),
        Route("marketing/webinars/", "webinarproj", None, "Webinar"),
        Route("", "catchall", None, None),
    )


def test_empty_route_list_is_no_routes():
    assert build_config(WISTIA_ROUTES="[]").routes == ()


@pytest.mark.parametrize(
    ("value", "where", "fragment"),
    [
        ("{not json", "WISTIA_ROUTES:", "not valid JSON"),
        ("[{'prefix': 'a/'}]", "WISTIA_ROUTES:", "not valid JSON"),
        ({"prefix": "a/", "project_id": "p1"}, "WISTIA_ROUTES:", "JSON list"),
        ("null", "WISTIA_ROUTES:", "JSON list"),
        (["videos/"], "WISTIA_ROUTES[0]:", "must be an object"),
        ([{"prefix": "a/", "project_id": "p1", "projectId": "p1"}], "WISTIA_ROUTES[0]:", "'projectId'"),
        ([{"project_id": "p1"}], "WISTIA_ROUTES[0].prefix:", "string"),
        ([{"prefix": 3, "project_id": "p1"}], "WISTIA_ROUTES[0].prefix:", "string"),
        ([{"prefix": "/abs/", "project_id": "p1"}], "WISTIA_ROUTES[0].prefix:", "leading '/'"),
        (
            [{"prefix": "a/", "project_id": "p1"}, {"prefix": "a/", "project_id": "p2"}],
            "WISTIA_ROUTES[1].prefix:",
            "'a/' appears twice",
        ),
        ([{"prefix": "a/"}], "WISTIA_ROUTES[0].project_id:", "required"),
        ([{"prefix": "a/", "project_id": 12345}], "WISTIA_ROUTES[0].project_id:", "required"),
        ([{"prefix": "a/", "project_id": "no-dashes"}], "WISTIA_ROUTES[0].project_id:", "'no-dashes'"),
        (
            [{"prefix": "a/", "project_id": "p1", "contact_id": True}],
            "WISTIA_ROUTES[0].contact_id:",
            "positive",
        ),
        (
            [{"prefix": "a/", "project_id": "p1", "contact_id": -4}],
            "WISTIA_ROUTES[0].contact_id:",
            "positive",
        ),
        ([{"prefix": "a/", "project_id": "p1", "contact_id": 0}], "WISTIA_ROUTES[0].contact_id:", "positive"),
        (
            [{"prefix": "a/", "project_id": "p1", "contact_id": "42"}],
            "WISTIA_ROUTES[0].contact_id:",
            "positive",
        ),
        (
            [{"prefix": "a/", "project_id": "p1", "contact_id": 4.0}],
            "WISTIA_ROUTES[0].contact_id:",
            "positive",
        ),
        ([{"prefix": "a/", "project_id": "p1", "description": 5}], "WISTIA_ROUTES[0].description:", "string"),
    ],
)
def test_bad_routes_are_errors_naming_the_variable_and_entry(value, where, fragment):
    message = config_error(WISTIA_ROUTES=routes(value))
    assert message.startswith(where)
    assert fragment in message


def test_route_error_points_at_the_offending_entry_index():
    good = {"prefix": "a/", "project_id": "p1"}
    message = config_error(
        WISTIA_ROUTES=routes([good, {"prefix": "b/", "project_id": "p2"}, {"prefix": "c/"}])
    )
    assert message.startswith("WISTIA_ROUTES[2].project_id:")


# --- the environment contract --------------------------------------------------------------


class RecordingEnv(Mapping[str, str]):
    """A mapping that remembers every name the configuration asks for."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self._values[name]

    def get(self, name: str, default: Any = None) -> Any:
        self.asked.add(name)
        return self._values.get(name, default)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.asked.add(name)
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("from_environ must ask for variables by name, not scan the environment")

    def __len__(self) -> int:
        return len(self._values)


# Set by the Lambda runtime itself; a template cannot (and must not) set them.
LAMBDA_RESERVED = {"AWS_REGION"}


def names_read_in_config_source() -> set[str]:
    """Upper-case string literals passed as the first argument of a call in config.py."""
    tree = ast.parse(inspect.getsource(config_module))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.isupper()
                and first.value.replace("_", "").isalpha()
            ):
                names.add(first.value)
    return names


def test_function_environment_lists_every_variable_from_environ_reads():
    env = RecordingEnv(dict(BASE_ENV))
    BridgeConfig.from_environ(env)

    assert env.asked - LAMBDA_RESERVED <= set(FUNCTION_ENVIRONMENT)
    # config.py also declares the batch function's own variables (a superset of the ingest's).
    assert names_read_in_config_source() - LAMBDA_RESERVED <= set(BATCH_FUNCTION_ENVIRONMENT)


def test_the_batch_function_reads_its_own_variables_and_every_ingest_one():
    env = RecordingEnv({})
    assert BatchConfig.from_environ(env) == BatchConfig(rate_per_minute=200, burst=5, max_wait_seconds=2)
    assert env.asked == {"BACKFILL_RATE_PER_MINUTE", "BACKFILL_RATE_BURST", "BACKFILL_MAX_WAIT_SECONDS"}
    assert set(BATCH_FUNCTION_ENVIRONMENT) == set(FUNCTION_ENVIRONMENT) | env.asked
    with pytest.raises(ConfigError, match="BACKFILL_RATE_PER_MINUTE: '601' is over the maximum of 600"):
        BatchConfig.from_environ({"BACKFILL_RATE_PER_MINUTE": "601"})


def test_function_environment_has_no_stale_bridge_variables():
    env = RecordingEnv(dict(BASE_ENV))
    BridgeConfig.from_environ(env)
    powertools = {name for name in FUNCTION_ENVIRONMENT if name.startswith("POWERTOOLS_")}

    assert set(FUNCTION_ENVIRONMENT) - powertools == env.asked - LAMBDA_RESERVED
    assert len(FUNCTION_ENVIRONMENT) == len(set(FUNCTION_ENVIRONMENT))


def test_source_scan_finds_the_variables_the_reader_is_asked_for():
    # Guards the scanner above: if it found nothing, the containment check would be vacuous.
    env = RecordingEnv(dict(BASE_ENV))
    BridgeConfig.from_environ(env)
    assert env.asked - LAMBDA_RESERVED <= names_read_in_config_source()


def test_each_field_of_the_configuration_is_declared_by_exactly_one_variable():
    fields = [variable.field for variable in VARIABLES if variable.field]
    assert sorted(fields) == sorted(BridgeConfig._fields)


@pytest.mark.parametrize("variable", [v for v in VARIABLES if v.missing], ids=lambda v: v.name)
def test_a_required_variable_left_out_says_how_to_set_it(variable):
    message = config_error(
        **{variable.name: None}, **({variable.fallback: None} if variable.fallback else {})
    )
    assert message.startswith(f"{variable.name}:")
    assert f"set {variable.name if variable.fallback else 'it'} to" in message


def test_configuration_table_has_one_row_per_variable_in_declaration_order():
    rows = configuration_table().splitlines()[2:]
    listed = [row.split(" | ")[1] for row in rows]
    assert listed == [f"`{name}`" for name in FUNCTION_ENVIRONMENT]
    assert "| `WistiaSecretArn` | `WISTIA_SECRET_ID` | required |" in configuration_table()
    assert "| `WistiaMaxAttempts` | `WISTIA_MAX_ATTEMPTS` | `4` | 1..10 |" in configuration_table()


# --- copy mode, presigned URL lifetime, object metadata, write-back ----------------------------


@pytest.mark.parametrize(
    ("raw", "mode"), [("s3_copy", CopyMode.S3_COPY), (" url_import ", CopyMode.URL_IMPORT)]
)
def test_copy_mode_is_read(raw, mode):
    assert build_config(COPY_MODE=raw).copy_mode is mode


@pytest.mark.parametrize("raw", ["url", "S3_COPY", "s3-copy", "both"])
def test_unknown_copy_mode_is_an_error_naming_the_variable_and_the_choices(raw):
    message = config_error(COPY_MODE=raw)
    assert message.startswith("COPY_MODE:")
    assert "s3_copy" in message
    assert "url_import" in message


@pytest.mark.parametrize(("raw", "hours"), [("1", 1), ("24", 24), ("168", 168)])
def test_presigned_url_hours_accept_1_to_168(raw, hours):
    assert build_config(PRESIGNED_URL_HOURS=raw).presigned_url_hours == hours


@pytest.mark.parametrize("raw", ["0", "169", "-1", "1.5", "6h"])
def test_presigned_url_hours_outside_1_to_168_are_errors_naming_the_variable(raw):
    assert config_error(PRESIGNED_URL_HOURS=raw).startswith("PRESIGNED_URL_HOURS:")


def test_presigned_url_hours_over_7_days_say_the_maximum():
    assert "maximum of 168" in config_error(PRESIGNED_URL_HOURS="200")


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("TRUE", True), ("false", False), ("False", False)]
)
def test_object_metadata_is_a_boolean(raw, value):
    assert build_config(OBJECT_METADATA=raw).object_metadata is value


@pytest.mark.parametrize("raw", ["yes", "1", "on", "maybe"])
def test_object_metadata_other_values_are_errors_naming_the_variable(raw):
    assert config_error(OBJECT_METADATA=raw).startswith("OBJECT_METADATA:")


@pytest.mark.parametrize(
    "key", ["wistia-hashed-id", "wistia:id", "Wistia media", "a" * 128, "clé_vidéo", "x+y=z@/."]
)
def test_write_back_tag_key_accepts_s3_tag_keys(key):
    assert build_config(WRITE_BACK_TAG_KEY=key).write_back_tag_key == key


@pytest.mark.parametrize("key", ["a" * 129, "tag#1", "a,b", 'quote"', "tab\there"])
def test_write_back_tag_key_that_is_no_s3_tag_key_is_an_error_naming_the_variable(key):
    assert config_error(WRITE_BACK_TAG_KEY=key).startswith("WRITE_BACK_TAG_KEY:")


@pytest.mark.parametrize("key", ["aws:wistia", "AWS:id"])
def test_write_back_tag_key_in_the_reserved_aws_namespace_is_an_error(key):
    assert "reserves" in config_error(WRITE_BACK_TAG_KEY=key)
