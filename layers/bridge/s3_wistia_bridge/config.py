"""The bridge's configuration: read once from the environment, validated, immutable.

Every problem raises ConfigError naming the variable and what is wrong, so a bad deployment fails
at cold start with an actionable message instead of misbehaving on the first event.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple
from urllib.parse import urlsplit

# Wistia's documented formats (WISTIA-CONTRACT.md "Limits and formats"), plus mpeg and webm.
DEFAULT_EXTENSIONS = "mp4,mov,m4v,mpg,mpeg,avi,flv,f4v,asf,wmv,vob,mod,3gp,mkv,divx,xvid,webm"
_DEFAULT_ALLOWED_EXTENSIONS = frozenset(f".{ext}" for ext in DEFAULT_EXTENSIONS.split(","))
DEFAULT_UPLOAD_URL = "https://upload.wistia.com"
DEFAULT_API_URL = "https://api.wistia.com"

# Every variable the ingest function reads; the template must wire each one (tests/template).
FUNCTION_ENVIRONMENT = (
    "WISTIA_SECRET_ID",
    "WISTIA_UPLOAD_URL",
    "WISTIA_API_URL",
    "ALLOWED_BUCKETS",
    "ALLOWED_REGIONS",
    "ALLOWED_PREFIXES",
    "ALLOWED_EXTENSIONS",
    "MAX_OBJECT_BYTES",
    "WISTIA_PROJECT_ID",
    "WISTIA_ROUTES",
    "WISTIA_DESCRIPTION",
    "FAILURE_QUEUE_URL",
    "TOKEN_CACHE_SECONDS",
    "WISTIA_CONNECT_TIMEOUT_SECONDS",
    "WISTIA_READ_TIMEOUT_SECONDS",
    "WISTIA_MAX_ATTEMPTS",
    "LEAN_AWS_CLIENTS",
    "IDEMPOTENCY_TABLE",
    "IDEMPOTENCY_TTL_SECONDS",
    "COPY_MODE",
    "PRESIGNED_URL_HOURS",
    "OBJECT_METADATA",
    "WRITE_BACK_TAG_KEY",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
)

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_PROJECT_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,16}$")
_LOOPBACK_NAMES = frozenset({"localhost"})
# An S3 tag key: 1..128 letters, digits, spaces and _ . : / = + - @; the aws: prefix is reserved.
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")
# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGNED_URL_HOURS = 7 * 24


class CopyMode(StrEnum):
    """How Wistia gets the object: its s3_copy (Premium) or a URL import of a presigned GET."""

    S3_COPY = "s3_copy"
    URL_IMPORT = "url_import"


class ConfigError(ValueError):
    """A configuration variable is missing or invalid; the message names it and the fix."""


class Route(NamedTuple):
    """Objects under `prefix` go to this Wistia project (longest matching prefix wins)."""

    prefix: str
    project_id: str
    contact_id: int | None = None
    description: str | None = None


class BridgeConfig(NamedTuple):
    secret_id: str
    failure_queue_url: str
    allowed_buckets: frozenset[str]
    allowed_regions: frozenset[str]
    upload_url: str = DEFAULT_UPLOAD_URL
    api_url: str = DEFAULT_API_URL
    allowed_prefixes: tuple[str, ...] = ()
    allowed_extensions: frozenset[str] = _DEFAULT_ALLOWED_EXTENSIONS
    max_object_bytes: int | None = None
    default_project_id: str | None = None
    routes: tuple[Route, ...] = ()
    description: str | None = None
    token_cache_seconds: int = 300
    connect_timeout_seconds: float = 3.05
    read_timeout_seconds: float = 20.0
    max_attempts: int = 4
    idempotency_table: str | None = None
    idempotency_ttl_seconds: int = 7 * 24 * 3600
    copy_mode: CopyMode = CopyMode.S3_COPY
    presigned_url_hours: int = 6
    object_metadata: bool = False
    write_back_tag_key: str | None = None
    lean_aws_clients: bool = True

    @property
    def reads_objects(self) -> bool:
        """Whether the bridge itself calls S3 for the objects (presign, metadata, tags)."""
        return self.copy_mode is CopyMode.URL_IMPORT or self.object_metadata or bool(self.write_back_tag_key)

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> BridgeConfig:
        """Build the configuration from environment variables (see the README's table)."""
        reader = _Reader(env)
        own_region = env.get("AWS_REGION", "").strip()
        regions = reader.csv("ALLOWED_REGIONS") or ((own_region,) if own_region else ())
        if not regions:
            raise ConfigError(
                "ALLOWED_REGIONS: empty and AWS_REGION is not set; "
                "set ALLOWED_REGIONS to the bucket's region, e.g. us-east-1"
            )
        for region in regions:
            if not _REGION.match(region):
                raise ConfigError(f"ALLOWED_REGIONS: {region!r} is not an AWS region name")
        buckets = reader.csv("ALLOWED_BUCKETS")
        if not buckets:
            raise ConfigError(
                "ALLOWED_BUCKETS: required; set it to the comma-separated bucket names "
                "the bridge may copy from (there is no wildcard)"
            )
        for bucket in buckets:
            if not _BUCKET_NAME.match(bucket):
                raise ConfigError(f"ALLOWED_BUCKETS: {bucket!r} is not a valid S3 bucket name")
        extensions = reader.csv("ALLOWED_EXTENSIONS")
        default_project = reader.text("WISTIA_PROJECT_ID")
        if default_project is not None:
            _check_project_id("WISTIA_PROJECT_ID", default_project)
        return cls(
            secret_id=reader.required("WISTIA_SECRET_ID"),
            failure_queue_url=reader.required("FAILURE_QUEUE_URL"),
            allowed_buckets=frozenset(buckets),
            allowed_regions=frozenset(regions),
            upload_url=_base_url("WISTIA_UPLOAD_URL", reader.text("WISTIA_UPLOAD_URL") or DEFAULT_UPLOAD_URL),
            api_url=_base_url("WISTIA_API_URL", reader.text("WISTIA_API_URL") or DEFAULT_API_URL),
            allowed_prefixes=_prefixes(reader.csv("ALLOWED_PREFIXES")),
            allowed_extensions=_extensions(extensions) if extensions else _DEFAULT_ALLOWED_EXTENSIONS,
            max_object_bytes=reader.optional_integer("MAX_OBJECT_BYTES", minimum=1),
            default_project_id=default_project,
            routes=_routes(reader.text("WISTIA_ROUTES")),
            description=reader.text("WISTIA_DESCRIPTION"),
            token_cache_seconds=reader.integer("TOKEN_CACHE_SECONDS", minimum=0, default=300),
            connect_timeout_seconds=reader.number("WISTIA_CONNECT_TIMEOUT_SECONDS", default=3.05),
            read_timeout_seconds=reader.number("WISTIA_READ_TIMEOUT_SECONDS", default=20.0),
            max_attempts=reader.integer("WISTIA_MAX_ATTEMPTS", minimum=1, default=4),
            idempotency_table=reader.text("IDEMPOTENCY_TABLE"),
            idempotency_ttl_seconds=reader.integer(
                "IDEMPOTENCY_TTL_SECONDS", minimum=3600, default=7 * 24 * 3600
            ),
            copy_mode=CopyMode(reader.choice("COPY_MODE", tuple(CopyMode), default=CopyMode.S3_COPY)),
            presigned_url_hours=reader.integer(
                "PRESIGNED_URL_HOURS", minimum=1, maximum=MAX_PRESIGNED_URL_HOURS, default=6
            ),
            object_metadata=reader.boolean("OBJECT_METADATA", default=False),
            write_back_tag_key=_tag_key(reader.text("WRITE_BACK_TAG_KEY")),
            lean_aws_clients=reader.boolean("LEAN_AWS_CLIENTS", default=True),
        )


class _Reader:
    """Typed access to the environment; empty values count as unset."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise ConfigError(f"{name}: required but not set")
        return value

    def csv(self, name: str) -> tuple[str, ...]:
        raw = self.text(name) or ""
        return tuple(part.strip() for part in raw.split(",") if part.strip())

    def optional_integer(self, name: str, *, minimum: int, maximum: int | None = None) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        # isascii: str.isdigit() also accepts '²' and other digits int() refuses.
        if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
            raise ConfigError(f"{name}: {raw!r} is not a whole number >= {minimum}")
        if maximum is not None and int(raw) > maximum:
            raise ConfigError(f"{name}: {raw!r} is over the maximum of {maximum}")
        return int(raw)

    def integer(self, name: str, *, minimum: int, default: int, maximum: int | None = None) -> int:
        value = self.optional_integer(name, minimum=minimum, maximum=maximum)
        return default if value is None else value

    def choice(self, name: str, allowed: tuple[str, ...], *, default: str) -> str:
        value = self.text(name)
        if value is None:
            return default
        if value not in allowed:
            raise ConfigError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        return value

    def boolean(self, name: str, *, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in {"true", "false"}:
            raise ConfigError(f"{name}: {value!r} is not true or false")
        return value.lower() == "true"

    def number(self, name: str, *, default: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 < value <= 900:
            raise ConfigError(f"{name}: {raw!r} is not a number of seconds in (0, 900]")
        return value


def _base_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} has an invalid port") from None
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ConfigError(f"{name}: {raw!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"{name}: {raw!r} must use https; plain http is only allowed "
            "for loopback hosts (the local Wistia emulator)"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{name}: {raw!r} must not carry a query or fragment")
    return raw.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _prefixes(values: tuple[str, ...]) -> tuple[str, ...]:
    for prefix in values:
        if prefix.startswith("/"):
            raise ConfigError(f"ALLOWED_PREFIXES: {prefix!r} starts with '/'; S3 keys have no leading slash")
    return values


def _extensions(values: tuple[str, ...]) -> frozenset[str]:
    normalised = set()
    for value in values:
        ext = value.lower().lstrip(".")
        if not _EXTENSION.match(ext):
            raise ConfigError(f"ALLOWED_EXTENSIONS: {value!r} is not a file extension like mp4")
        normalised.add(f".{ext}")
    return frozenset(normalised)


def _tag_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not _TAG_KEY.match(value):
        raise ConfigError(
            f"WRITE_BACK_TAG_KEY: {value!r} is not an S3 tag key "
            "(1..128 letters, digits, spaces and _ . : / = + - @)"
        )
    if value.lower().startswith("aws:"):
        raise ConfigError(f"WRITE_BACK_TAG_KEY: {value!r} starts with 'aws:', which AWS reserves")
    return value


def _check_project_id(name: str, value: str) -> None:
    if not _PROJECT_ID.match(value):
        raise ConfigError(f"{name}: {value!r} is not a Wistia project hashed id (letters and digits)")


def _routes(raw: str | None) -> tuple[Route, ...]:
    if raw is None:
        return ()
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"WISTIA_ROUTES: not valid JSON ({error.msg} at char {error.pos})") from None
    if not isinstance(items, list):
        raise ConfigError("WISTIA_ROUTES: must be a JSON list of {prefix, project_id, contact_id}")
    routes = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"WISTIA_ROUTES[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be an object with prefix and project_id")
        unknown = set(item) - {"prefix", "project_id", "contact_id", "description"}
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
        prefix, project_id = item.get("prefix"), item.get("project_id")
        if not isinstance(prefix, str) or prefix.startswith("/"):
            raise ConfigError(f"{where}.prefix: must be a string without a leading '/'")
        if prefix in seen:
            raise ConfigError(f"{where}.prefix: {prefix!r} appears twice")
        seen.add(prefix)
        if not isinstance(project_id, str):
            raise ConfigError(f"{where}.project_id: required string")
        _check_project_id(f"{where}.project_id", project_id)
        contact_id = item.get("contact_id")
        if contact_id is not None and (
            isinstance(contact_id, bool) or not isinstance(contact_id, int) or contact_id < 1
        ):
            raise ConfigError(f"{where}.contact_id: must be a positive integer")
        description = item.get("description")
        if description is not None and not isinstance(description, str):
            raise ConfigError(f"{where}.description: must be a string")
        routes.append(Route(prefix, project_id, contact_id, description))
    return tuple(routes)
