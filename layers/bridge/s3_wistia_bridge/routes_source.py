"""The routes table read from an SSM parameter or an S3 object (ROUTES_SOURCE), once, at cold start.

A template parameter holds at most 4 KB and changing it means a stack update; a table in Parameter
Store or S3 is edited on its own and read by each new container. It is the same JSON list as
WISTIA_ROUTES, parsed by the same parser (config.py), so both accept and refuse the same tables.
Every problem is a ConfigError naming the source and what is wrong, never the value: a SecureString
may hold something its owner considers secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from .config import BridgeConfig, ConfigError, Route, _routes

if TYPE_CHECKING:
    from .aws import AwsClients

# Far above a real table (an advanced SSM parameter holds 8 KB) and small enough that parsing a
# hostile one costs nothing worth measuring in the cold start.
MAX_TABLE_BYTES = 256 * 1024
_ERROR_TEXT = {
    "ParameterNotFound": "the parameter does not exist",
    "ParameterVersionNotFound": "the parameter version does not exist",
    "NoSuchKey": "the object does not exist",
    "NoSuchBucket": "the bucket does not exist",
    "AccessDenied": "access denied (the function's role may not read it)",
    "AccessDeniedException": "access denied (the function's role may not read it)",
    "KMSAccessDeniedException": "the parameter's KMS key refused to decrypt it",
}


class RoutesSource(NamedTuple):
    """`ssm:<name>` (bucket None) or `s3://bucket/key`."""

    text: str
    name: str  # the parameter name, or the object key
    bucket: str | None = None

    @classmethod
    def parse(cls, text: str) -> RoutesSource:
        """From a value config.py has already checked the form of."""
        if text.startswith("ssm:"):
            return cls(text, text.removeprefix("ssm:"))
        bucket, _, key = text.removeprefix("s3://").partition("/")
        return cls(text, key, bucket)


def with_routes_from_source(config: BridgeConfig, aws: AwsClients) -> BridgeConfig:
    """The configuration with the table of ROUTES_SOURCE as its routes (unchanged without one).

    Both WISTIA_ROUTES and ROUTES_SOURCE set is an error: a merge would leave the operator
    guessing which of two tables a prefix came from."""
    if config.routes_source is None:
        return config
    if config.routes:
        raise ConfigError(
            f"ROUTES_SOURCE and WISTIA_ROUTES are both set: keep the table in one place "
            f"(unset WISTIA_ROUTES to use {config.routes_source})"
        )
    return config._replace(routes=load_routes(RoutesSource.parse(config.routes_source), aws))


def load_routes(source: RoutesSource, aws: AwsClients) -> tuple[Route, ...]:
    """The validated routes of `source`; ConfigError naming the source for any problem."""
    raw = _read(source, aws)
    if len(raw) > MAX_TABLE_BYTES:
        raise ConfigError(f"ROUTES_SOURCE {source.text}: larger than {MAX_TABLE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")  # a byte order mark from a Windows editor is not JSON's concern
    except UnicodeDecodeError:
        raise ConfigError(f"ROUTES_SOURCE {source.text}: not UTF-8 text") from None
    if not text.strip():
        raise ConfigError(f"ROUTES_SOURCE {source.text}: empty; it must hold a JSON list of routes")
    # The parser's messages name the place (`ROUTES_SOURCE s3://b/k[2].prefix`) and the rule, and
    # quote only prefixes, never whole values.
    return _routes(f"ROUTES_SOURCE {source.text}", text)


def _read(source: RoutesSource, aws: AwsClients) -> bytes:
    try:
        return _read_ssm(source, aws) if source.bucket is None else _read_s3(source, aws)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "error"))
        problem = _ERROR_TEXT.get(code, f"AWS answered {code}")
        raise ConfigError(f"ROUTES_SOURCE {source.text}: {problem}") from None
    except BotoCoreError as error:
        raise ConfigError(f"ROUTES_SOURCE {source.text}: unreachable ({type(error).__name__})") from None


def _read_ssm(source: RoutesSource, aws: AwsClients) -> bytes:
    # WithDecryption: a SecureString comes back in clear; a String ignores it.
    answer = aws.ssm.get_parameter(Name=source.name, WithDecryption=True)
    value = answer.get("Parameter", {}).get("Value", "")
    if answer.get("Parameter", {}).get("Type") == "StringList":
        raise ConfigError(f"ROUTES_SOURCE {source.text}: a StringList; store the table as a String")
    return str(value).encode("utf-8")


def _read_s3(source: RoutesSource, aws: AwsClients) -> bytes:
    region = aws.session.region_name or "us-east-1"
    answer = aws.s3(region).get_object(Bucket=str(source.bucket), Key=source.name)
    body = answer["Body"]
    try:
        return bytes(body.read(MAX_TABLE_BYTES + 1))  # never more than the limit into memory
    finally:
        body.close()
