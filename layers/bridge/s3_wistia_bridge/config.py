"""The bridge's configuration: one declaration per environment variable, read once, validated, immutable.

VARIABLES declares each variable once: its name, the template parameter that sets it, its parser
(which carries the bounds or choices), its default and its meaning. Parsing, FUNCTION_ENVIRONMENT
and the table of docs/configuration.md (`make docs`) all come from that one list. Every problem
raises ConfigError naming the variable, the bad value and what is expected, so a bad deployment
fails at cold start with an actionable message instead of misbehaving on the first event.
Standard library only: importing pydantic would add about 90 ms to every cold start.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import urlsplit

# Wistia's documented upload formats (Upload API, https://docs.wistia.com/docs/upload-api),
# plus mpeg and webm.
DEFAULT_EXTENSIONS = "mp4,mov,m4v,mpg,mpeg,avi,flv,f4v,asf,wmv,vob,mod,3gp,mkv,divx,xvid,webm"
DEFAULT_UPLOAD_URL = "https://upload.wistia.com"
DEFAULT_API_URL = "https://api.wistia.com"
# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGNED_URL_HOURS = 7 * 24
# A Wistia project's hashed id, as the routes, the default project and object metadata give it.
PROJECT_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,16}$")
_LOOPBACK_NAMES = frozenset({"localhost"})
# An S3 tag key: 1..128 letters, digits, spaces and _ . : / = + - @; the aws: prefix is reserved.
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")
# An SSM parameter name (Systems Manager User Guide, "Parameter name requirements"): at most 1011
# characters of a-zA-Z0-9_.-/ (2048 with the ARN's prefix counted for advanced parameters).
_SSM_PARAMETER = re.compile(r"^[A-Za-z0-9_.\-/]{1,1011}$")
_ROUTE_FIELDS = frozenset({"prefix", "project_id", "contact_id", "description"})


class CopyMode(StrEnum):
    """How Wistia gets the object: its s3_copy (Premium) or a URL import of a presigned GET."""

    S3_COPY = "s3_copy"
    URL_IMPORT = "url_import"


class ProjectRouting(StrEnum):
    """Where an object without an explicit project or route goes (docs/folders.md)."""

    ROUTES = "routes"  # the default project
    FOLDERS = "folders"  # the Wistia folder named after the key's folder


class OverwritePolicy(StrEnum):
    """What a new version of a key that already has a media becomes (docs/versions-and-deletes.md)."""

    NEW_MEDIA = "new_media"  # a media of its own, as every version always was
    REPLACE = "replace"  # copied, then swapped into the key's media: its hashed_id and embeds stay
    SKIP = "skip"  # recorded in the ledger, not sent


class DeletePolicy(StrEnum):
    """What Wistia does when the object's last version is removed from S3."""

    IGNORE = "ignore"
    ARCHIVE = "archive"
    DELETE = "delete"


# The longest DELETE_GRACE_SECONDS: 30 days (a re-upload within it cancels the delete).
MAX_DELETE_GRACE_SECONDS = 30 * 24 * 3600


class ConfigError(ValueError):
    """A configuration variable is missing or invalid; the message names it and the fix."""


class Route(NamedTuple):
    """Objects under `prefix` go to this Wistia project (longest matching prefix wins)."""

    prefix: str
    project_id: str
    contact_id: int | None = None
    description: str | None = None


# ---------------------------------------------------------------- parsers


class Parser(NamedTuple):
    """Turns a variable's text (stripped, never empty) into its value, or raises ConfigError."""

    check: Callable[[str, str], Any]  # (variable name, text) -> value
    bounds: str = ""  # the values it accepts, for the docs
    unset: Any = None  # the value of a variable that is not set and has no default
    choices: tuple[str, ...] = ()  # the only values it accepts, when it has a closed list


def _text(name: str, raw: str) -> str:
    return raw


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str, str], str]:
    def check(name: str, value: str) -> str:
        if not pattern.match(value):
            raise ConfigError(f"{name}: {value!r} is not {what}")
        return value

    return check


def _listed(item: Callable[[str, str], str], into: Callable[[Iterable[str]], Any], bounds: str) -> Parser:
    """Comma-separated items, each checked; blanks between commas are dropped (none at all: unset)."""

    def check(name: str, raw: str) -> Any:
        return into(item(name, part.strip()) for part in raw.split(",") if part.strip())

    return Parser(check, f"{bounds}, comma-separated", unset=into(()))


def _integer(minimum: int, maximum: int | None = None) -> Parser:
    def check(name: str, raw: str) -> int:
        # isascii: str.isdigit() also accepts '²' and other digits int() refuses.
        if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
            raise ConfigError(f"{name}: {raw!r} is not a whole number >= {minimum}")
        if maximum is not None and int(raw) > maximum:
            raise ConfigError(f"{name}: {raw!r} is over the maximum of {maximum}")
        return int(raw)

    return Parser(check, f">= {minimum}" if maximum is None else f"{minimum}..{maximum}")


def _positive(maximum: float, what: str, unit: str) -> Parser:
    """A number in (0, maximum], e.g. seconds or a rate; `what` names it in the error."""
    bounds = f"(0, {maximum:g}]"

    def check(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 < value <= maximum:  # also refuses nan and inf
            raise ConfigError(f"{name}: {raw!r} is not {what} in {bounds}")
        return value

    return Parser(check, f"{bounds} {unit}")


def _seconds(maximum: float) -> Parser:
    return _positive(maximum, "a number of seconds", "seconds")


def _choice(choices: tuple[str, ...], into: Callable[[str], Any] = str) -> Parser:
    def check(name: str, value: str) -> Any:
        if value not in choices:
            raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")
        return into(value)

    return Parser(check, ", ".join(f"`{choice}`" for choice in choices), choices=choices)


def _boolean(name: str, value: str) -> bool:
    if value.lower() not in {"true", "false"}:
        raise ConfigError(f"{name}: {value!r} is not true or false")
    return value.lower() == "true"


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


def _prefix(name: str, prefix: str) -> str:
    if prefix.startswith("/"):
        raise ConfigError(f"{name}: {prefix!r} starts with '/'; S3 keys have no leading slash")
    return prefix


def _extension(name: str, value: str) -> str:
    ext = value.lower().lstrip(".")
    if not _EXTENSION.match(ext):
        raise ConfigError(f"{name}: {value!r} is not a file extension like mp4")
    return f".{ext}"


def _tag_key(name: str, value: str) -> str:
    if not _TAG_KEY.match(value):
        raise ConfigError(
            f"{name}: {value!r} is not an S3 tag key (1..128 letters, digits, spaces and _ . : / = + - @)"
        )
    if value.lower().startswith("aws:"):
        raise ConfigError(f"{name}: {value!r} starts with 'aws:', which AWS reserves")
    return value


_project_id = _matching(PROJECT_ID, "a Wistia project hashed id (letters and digits)")


def _routes(name: str, raw: str) -> tuple[Route, ...]:
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{name}: not valid JSON ({error.msg} at char {error.pos})") from None
    except RecursionError:  # hostile nesting ([[[[...]]]]) exhausts the parser's stack
        raise ConfigError(f"{name}: nested too deeply to be a list of routes") from None
    if not isinstance(items, list):
        raise ConfigError(f"{name}: must be a JSON list of {{prefix, project_id, contact_id}}")
    seen: set[str] = set()
    return tuple(_route(f"{name}[{index}]", item, seen) for index, item in enumerate(items))


def _route(where: str, item: Any, seen: set[str]) -> Route:
    """One entry of WISTIA_ROUTES; `seen` holds the prefixes of the entries before it."""
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be an object with prefix and project_id")
    unknown = set(item) - _ROUTE_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    prefix = _route_prefix(f"{where}.prefix", item.get("prefix"), seen)
    project_id = item.get("project_id")
    if not isinstance(project_id, str):
        raise ConfigError(f"{where}.project_id: required string")
    _project_id(f"{where}.project_id", project_id)
    contact_id = item.get("contact_id")
    if contact_id is not None and (
        isinstance(contact_id, bool) or not isinstance(contact_id, int) or contact_id < 1
    ):
        raise ConfigError(f"{where}.contact_id: must be a positive integer")
    description = item.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError(f"{where}.description: must be a string")
    return Route(prefix, project_id, contact_id, description)


def _route_prefix(where: str, prefix: Any, seen: set[str]) -> str:
    if not isinstance(prefix, str) or prefix.startswith("/"):
        raise ConfigError(f"{where}: must be a string without a leading '/'")
    if prefix in seen:
        raise ConfigError(f"{where}: {prefix!r} appears twice")
    seen.add(prefix)
    return prefix


def _routes_source(name: str, raw: str) -> str:
    """`ssm:<parameter name>` or `s3://bucket/key`; the table itself is read at cold start
    (routes_source.py), this only checks the form."""
    ssm_name = raw.removeprefix("ssm:")
    if raw.startswith("ssm:") and _SSM_PARAMETER.match(ssm_name):
        return raw
    bucket, _, key = raw.removeprefix("s3://").partition("/")
    if raw.startswith("s3://") and _BUCKET_NAME.match(bucket) and key:
        return raw
    raise ConfigError(
        f"{name}: {raw!r} is neither ssm:<parameter name> (letters, digits and _ . - /) "
        "nor s3://<bucket>/<key>"
    )


# ---------------------------------------------------------------- the declarations


class Variable(NamedTuple):
    """One environment variable of the ingest function."""

    name: str
    field: str | None  # the BridgeConfig field it sets; None: read by Powertools, not the bridge
    parse: Parser
    meaning: str  # one line, for docs/configuration.md
    parameters: tuple[str, ...] = ()  # the template parameters it comes from; none: the stack sets it
    default: str | None = None  # as text, parsed like a set value; None: `parse.unset`
    missing: str | None = None  # set for a required variable: what is wrong and the fix
    fallback: str | None = None  # the variable read when this one is not set

    def read(self, env: Mapping[str, str]) -> Any:
        """Its value: as set, else from `fallback`, else the default; a value equal to `parse.unset`
        (a list of nothing but commas, `[]` routes) counts as not set."""
        value = self._parsed(self.name, env)
        if value == self.parse.unset and self.fallback:
            value = self._parsed(self.fallback, env)
        if value != self.parse.unset:
            return value
        if self.missing:
            raise ConfigError(f"{self.name}: {self.missing}")
        return self.parse.unset if self.default is None else self.parse.check(self.name, self.default)

    def _parsed(self, source: str, env: Mapping[str, str]) -> Any:
        """The value of `source` (blank counts as unset), errors named after this variable."""
        raw = env.get(source, "").strip()
        return self.parse.check(self.name, raw) if raw else self.parse.unset


_URL = Parser(_base_url, "an https URL; http only for a loopback host")

# In the order they are checked: a configuration with several errors reports the first of these.
VARIABLES = (
    Variable(
        "ALLOWED_REGIONS",
        "allowed_regions",
        _listed(_matching(_REGION, "an AWS region name"), frozenset, "AWS region names"),
        "Regions an event may come from (the stack sets its own); sent to Wistia as the bucket's region.",
        fallback="AWS_REGION",
        missing="empty and AWS_REGION is not set; set ALLOWED_REGIONS to the bucket's region, e.g. us-east-1",
    ),
    Variable(
        "ALLOWED_BUCKETS",
        "allowed_buckets",
        _listed(_matching(_BUCKET_NAME, "a valid S3 bucket name"), frozenset, "S3 bucket names"),
        "The buckets to copy from: the one the stack creates (`BucketName`, or a generated name) "
        "or watches (`ExistingBucketName`).",
        parameters=("BucketName", "ExistingBucketName"),
        missing="required; set it to the comma-separated bucket names "
        "the bridge may copy from (there is no wildcard)",
    ),
    Variable(
        "WISTIA_PROJECT_ID",
        "default_project_id",
        Parser(_project_id, "1..64 letters and digits"),
        "Default Wistia project (hashed id); not set: Wistia creates a project named `Uploads_YYYY-MM-DD`.",
        parameters=("WistiaProjectId",),
    ),
    Variable(
        "WISTIA_SECRET_ID",
        "secret_id",
        Parser(_text),
        'The Secrets Manager secret (full ARN) holding the Wistia token, `{"access_token": "..."}` '
        "or the bare token.",
        parameters=("WistiaSecretArn",),
        missing="required but not set; set it to the ARN of the secret that holds the Wistia token",
    ),
    Variable(
        "FAILURE_QUEUE_URL",
        "failure_queue_url",
        Parser(_text),
        "The SQS queue (URL) of the failure records; the stack creates it.",
        missing="required but not set; set it to the URL of the SQS failure queue",
    ),
    Variable(
        "WISTIA_UPLOAD_URL",
        "upload_url",
        _URL,
        "Wistia's upload host; plain http only for a local emulator.",
        parameters=("WistiaUploadUrl",),
        default=DEFAULT_UPLOAD_URL,
    ),
    Variable(
        "WISTIA_API_URL",
        "api_url",
        _URL,
        "Wistia's Data API host, asked for a media by name after an unanswered copy request, so a "
        "retry never creates a second media; plain http only for a local emulator.",
        parameters=("WistiaApiUrl",),
        default=DEFAULT_API_URL,
    ),
    Variable(
        "ALLOWED_PREFIXES",
        "allowed_prefixes",
        _listed(_prefix, tuple, "key prefixes without a leading `/`"),
        "Key prefixes to copy, as S3 stores the keys, e.g. `videos/,Café uploads/`; not set: any key. The "
        'template allows at most 5, without `* ? $ " \\` or a leading `/` (they also become IAM '
        "resources and EventBridge prefix matchers).",
        parameters=("AllowedPrefixes",),
    ),
    Variable(
        "ALLOWED_EXTENSIONS",
        "allowed_extensions",
        _listed(_extension, frozenset, "file extensions, case-insensitive, leading dot optional"),
        "File extensions to copy (Wistia's documented formats by default).",
        parameters=("AllowedExtensions",),
        default=DEFAULT_EXTENSIONS,
    ),
    Variable(
        "MAX_OBJECT_BYTES",
        "max_object_bytes",
        _integer(1),
        "Largest object to copy, in bytes (Wistia documents 8 GB as its limit); not set: no limit.",
        parameters=("MaxObjectBytes",),
    ),
    Variable(
        "WISTIA_ROUTES",
        "routes",
        Parser(_routes, 'a JSON list of `{"prefix", "project_id", "contact_id"?, "description"?}`', ()),
        "Where objects go in Wistia by key prefix; the longest matching prefix wins.",
        parameters=("WistiaRoutes",),
    ),
    Variable(
        "ROUTES_SOURCE",
        "routes_source",
        Parser(_routes_source, "`ssm:<parameter name>` or `s3://<bucket>/<key>`"),
        "Where the routes table lives instead of `WISTIA_ROUTES` (the same JSON), read once at cold "
        "start: an SSM parameter (String or SecureString) or an S3 object; setting both is a "
        "configuration error (docs/folders.md).",
        parameters=("RoutesParameterName", "RoutesObject"),
    ),
    Variable(
        "PROJECT_ROUTING",
        "project_routing",
        _choice(tuple(ProjectRouting), ProjectRouting),
        "`routes`: an object no route matches goes to the default project. `folders`: it goes to the "
        "Wistia folder named after its S3 folder (docs/folders.md).",
        parameters=("ProjectRouting",),
        default=ProjectRouting.ROUTES.value,
    ),
    Variable(
        "FOLDER_DEPTH",
        "folder_depth",
        _integer(1, 10),
        "`folders`: how many leading folders of the key name the Wistia folder, joined with `/`; a "
        "key with fewer goes to the default project.",
        parameters=("FolderDepth",),
        default="1",
    ),
    Variable(
        "CREATE_MISSING_FOLDERS",
        "create_missing_folders",
        Parser(_boolean, "`true`, `false` (any case)", choices=("true", "false")),
        "`folders`: `true` creates a Wistia folder that does not exist; `false` fails the object "
        "(`folder_missing`, replayable).",
        parameters=("CreateMissingFolders",),
        default="false",
    ),
    Variable(
        "FOLDER_CACHE_SECONDS",
        "folder_cache_seconds",
        _integer(0, 3600),
        "`folders`: the folder list is read once per container; a name not in it re-reads the list at "
        "most once per this many seconds before creating or failing.",
        parameters=("FolderCacheSeconds",),
        default="60",
    ),
    Variable(
        "WISTIA_DESCRIPTION",
        "description",
        Parser(_text),
        "Default description of the created medias (basic HTML).",
        parameters=("WistiaDescription",),
    ),
    Variable(
        "TOKEN_CACHE_SECONDS",
        "token_cache_seconds",
        _integer(0, 86400),
        "How long the function caches the Wistia token, in seconds (a 401 re-reads it at once).",
        parameters=("TokenCacheSeconds",),
        default="300",
    ),
    Variable(
        "WISTIA_CONNECT_TIMEOUT_SECONDS",
        "connect_timeout_seconds",
        _seconds(30),
        "HTTP connect timeout per Wistia attempt.",
        parameters=("WistiaConnectTimeoutSeconds",),
        default="3.05",
    ),
    Variable(
        "WISTIA_READ_TIMEOUT_SECONDS",
        "read_timeout_seconds",
        _seconds(900),
        "HTTP read timeout per Wistia attempt, also cut to the time the invocation has left.",
        parameters=("WistiaReadTimeoutSeconds",),
        default="20",
    ),
    Variable(
        "WISTIA_MAX_ATTEMPTS",
        "max_attempts",
        _integer(1, 10),
        "Attempts per invocation for 408, 429, 5xx and timeouts, before Lambda's own retries.",
        parameters=("WistiaMaxAttempts",),
        default="4",
    ),
    Variable(
        "IDEMPOTENCY_TABLE",
        "idempotency_table",
        Parser(_text),
        "The DynamoDB table of idempotency records (the stack creates it); not set: no idempotency.",
    ),
    Variable(
        "IDEMPOTENCY_TTL_SECONDS",
        "idempotency_ttl_seconds",
        _integer(3600, 31536000),
        "How long a successful copy is remembered (7 days by default): a replay within it is a no-op.",
        parameters=("IdempotencyTtlSeconds",),
        default="604800",
    ),
    Variable(
        "COPY_MODE",
        "copy_mode",
        _choice(tuple(CopyMode), CopyMode),
        "`s3_copy`: Wistia reads the object from the bucket (Premium). `url_import`: Wistia imports a "
        "presigned GET URL of it (any plan); the role then gets `s3:GetObject` on the allowed prefixes "
        "(objects under a customer-managed KMS key also need `kms:Decrypt`, which the stack does not grant).",
        parameters=("CopyMode",),
        default=CopyMode.S3_COPY.value,
    ),
    Variable(
        "PRESIGNED_URL_HOURS",
        "presigned_url_hours",
        _integer(1, MAX_PRESIGNED_URL_HOURS),
        "`url_import`: hours a presigned URL is valid. A URL signed by the function's role dies with the "
        "role's session whatever this says (the function warns at its first URL): keep it small; a failed "
        "fetch lands on the failure queue and a replay signs a new URL.",
        parameters=("PresignedUrlHours",),
        default="6",
    ),
    Variable(
        "OBJECT_METADATA",
        "object_metadata",
        Parser(_boolean, "`true`, `false` (any case)", choices=("true", "false")),
        "`true`: each object's `x-amz-meta-wistia-name`, `-description` and `-project-id` override the "
        "routes (one HeadObject per object); invalid values reject it (`metadata_invalid`).",
        parameters=("ObjectMetadata",),
        default="false",
    ),
    Variable(
        "WRITE_BACK_TAG_KEY",
        "write_back_tag_key",
        Parser(_tag_key, "an S3 tag key: 1..128 letters, digits, spaces and `_ . : / = + - @`, not `aws:`"),
        "After a copy, tag the object version with the Wistia media's `hashed_id` under this key, other "
        "tags kept (the role gets `s3:Get/PutObject(Version)Tagging` on the allowed prefixes); not set: "
        "no write-back. A failed write-back never fails the copy (metric `WriteBackFailed`).",
        parameters=("WriteBackTagKey",),
    ),
    Variable(
        "CONTENT_CHECK",
        "content_check",
        Parser(_boolean, "`true`, `false` (any case)", choices=("true", "false")),
        "`true`: before any Wistia request, one ranged GET of the object's first 64 bytes checks that "
        "they are the video container its extension promises (`ftyp`, EBML, `RIFF....AVI `, ...); a "
        "text file renamed `.mp4` is rejected (`not_a_video`). The role needs `s3:GetObject` "
        "(and `s3:GetObjectVersion`) on the allowed prefixes.",
        parameters=("ContentCheck",),
        default="true",
    ),
    Variable(
        "LEDGER_TABLE",
        "ledger_table",
        Parser(_text),
        "The DynamoDB ledger (one item per object version and media: its status until Wistia says "
        "ready, see docs/lifecycle.md); the stack creates it; not set: no ledger. A ledger outage never "
        "blocks or repeats a copy (metric `LedgerWriteFailed`).",
    ),
    Variable(
        "EVENT_BUS_NAME",
        "event_bus_name",
        Parser(_text),
        "The EventBridge bus for the bridge's events (`Media Accepted`, `Object Rejected`, `Copy Failed`; "
        "docs/events.md), best effort; the stack sets `default`; not set: no events.",
    ),
    # -- re-uploads and deletes (versions_and_deletes.py, docs/versions-and-deletes.md) ----------
    Variable(
        "OVERWRITE_POLICY",
        "overwrite_policy",
        _choice(tuple(OverwritePolicy), OverwritePolicy),
        "A new version of a key that has a media: `new_media` (a media of its own), `replace` (copied, "
        "then swapped into the key's media, which keeps its hashed_id and embeds) or `skip` (recorded, "
        "not sent). Other than `new_media` needs LEDGER_TABLE.",
        parameters=("OverwritePolicy",),
        default=OverwritePolicy.NEW_MEDIA.value,
    ),
    Variable(
        "DELETE_POLICY",
        "delete_policy",
        _choice(tuple(DeletePolicy), DeletePolicy),
        "When an object's last version is removed: `ignore`, or `archive` / `delete` the medias the "
        "bridge made of it, after DELETE_GRACE_SECONDS (the sweeper does it). Other than `ignore` "
        "needs LEDGER_TABLE.",
        parameters=("DeletePolicy",),
        default=DeletePolicy.IGNORE.value,
    ),
    Variable(
        "DELETE_GRACE_SECONDS",
        "delete_grace_seconds",
        _integer(0, MAX_DELETE_GRACE_SECONDS),
        "How long a removal waits before its media is archived or deleted; a new version of the key "
        "within it cancels the delete.",
        parameters=("DeleteGraceSeconds",),
        default="3600",
    ),
    Variable(
        "DELETE_DRY_RUN",
        "delete_dry_run",
        Parser(_boolean, "`true`, `false` (any case)", choices=("true", "false")),
        "Log and publish (`Delete Skipped`) what DELETE_POLICY would archive or delete; nothing is "
        "sent to Wistia.",
        parameters=("DeleteDryRun",),
        default="false",
    ),
    # Sidecars, captions and tags (issue 16; docs/sidecars-and-captions.md).
    Variable(
        "SIDECARS",
        "sidecars",
        _choice(("off", "on"), lambda value: value == "on"),
        "`on`: a video's sidecar `<video>.json` (or `<stem>.json`) sets its name, description, folder "
        "and tags, in either arrival order (one ListObjectsV2 per video); `off`: `.json` keys are "
        "rejected as today and nothing extra is read.",
        parameters=("Sidecars",),
        default="off",
    ),
    Variable(
        "SIDECAR_WAIT_SECONDS",
        "sidecar_wait_seconds",
        _integer(0, 900),
        "`Sidecars=on`: how long after its upload a video waits for its sidecar (retried, "
        "`sidecar_pending`) before it goes with what is known; 0: never waits.",
        parameters=("SidecarWaitSeconds",),
        default="60",
    ),
    Variable(
        "CAPTIONS",
        "captions",
        _choice(("off", "on"), lambda value: value == "on"),
        "`on`: `<video>.<lang>.srt` / `.vtt` beside a video become its Wistia captions in that "
        "language (VTT converted to SRT), replaced when the file changes; `off`: rejected as today.",
        parameters=("Captions",),
        default="off",
    ),
    Variable(
        "COPY_OBJECT_TAGS",
        "copy_object_tags",
        Parser(_boolean, "`true`, `false` (any case)", choices=("true", "false")),
        "`true`: the video's S3 object tags (`key=value`, or `key` for an empty value; not `aws:`, "
        "the write-back tag or `wistia-status`) become Wistia tags after the copy, with the sidecar's "
        "(the role gets `s3:GetObjectTagging`); Wistia's tags are then replaced by that union.",
        parameters=("CopyObjectTags",),
        default="false",
    ),
    Variable(
        "POWERTOOLS_SERVICE_NAME",
        None,
        Parser(_text),
        "Powertools' service name, in every log line and metric.",
        default="s3-wistia-bridge",
    ),
    Variable(
        "POWERTOOLS_METRICS_NAMESPACE",
        None,
        Parser(_text),
        "Powertools' CloudWatch namespace of the bridge's metrics.",
        default="S3WistiaBridge",
    ),
    Variable(
        "POWERTOOLS_LOG_LEVEL",
        None,
        _choice(("DEBUG", "INFO", "WARNING", "ERROR")),
        "The function's log level.",
        parameters=("LogLevel",),
        default="INFO",
    ),
)

# Every variable the ingest function reads; the template wires exactly these (tests/template).
FUNCTION_ENVIRONMENT = tuple(variable.name for variable in VARIABLES)


# ---------------------------------------------------------------- the batch function (backfill)

# The batch function (S3 Batch Operations) reads every variable above and these. Wistia's budget
# (600 requests a minute per account, WISTIA-API §8) is shared: the backfill takes at most this
# share, so live uploads keep the rest.
BATCH_VARIABLES = (
    Variable(
        "BACKFILL_RATE_PER_MINUTE",
        "rate_per_minute",
        _integer(1, 600),
        "Copy requests a backfill may send to Wistia per minute, across all its invocations (a token "
        "bucket in IDEMPOTENCY_TABLE); live uploads are not limited by it and keep the rest of "
        "Wistia's 600/min.",
        parameters=("BackfillRatePerMinute",),
        default="200",
    ),
    Variable(
        "BACKFILL_RATE_BURST",
        "burst",
        _integer(1, 100),
        "Requests a backfill may send at once after a pause, before the rate applies.",
        parameters=("BackfillRateBurst",),
        default="5",
    ),
    Variable(
        "BACKFILL_MAX_WAIT_SECONDS",
        "max_wait_seconds",
        _integer(0, 10),
        "Longest a task waits for its turn inside the invocation (billed); a longer wait answers "
        "`TemporaryFailure` and S3 Batch Operations retries the task.",
        parameters=("BackfillMaxWaitSeconds",),
        default="2",
    ),
)

# Every variable the batch function reads.
BATCH_FUNCTION_ENVIRONMENT = FUNCTION_ENVIRONMENT + tuple(variable.name for variable in BATCH_VARIABLES)


class BatchConfig(NamedTuple):
    """The batch function's own settings (its BridgeConfig comes from the same environment)."""

    rate_per_minute: int
    burst: int
    max_wait_seconds: int

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> BatchConfig:
        return cls(**{variable.field: variable.read(env) for variable in BATCH_VARIABLES if variable.field})


# S3 Batch Operations' `job.userArguments` (CreateJob's UserArguments, invocation schema 2.0):
# strings, validated like the environment; any other key is refused.
JOB_ARGUMENTS = (
    Variable(
        "project_id",
        "project_id",
        Parser(_project_id, "1..64 letters and digits"),
        "The Wistia project of every object of the job, in place of the routed one.",
    ),
    Variable(
        "low_priority",
        "low_priority",
        Parser(_boolean, "`true`, `false` (any case)", choices=("true", "false")),
        "Ask Wistia to encode the job's uploads behind live ones (sent with URL imports only).",
        default="true",
    ),
)


class BridgeConfig(NamedTuple):
    """The validated configuration; from_environ gives each field its value or its default."""

    secret_id: str
    failure_queue_url: str
    allowed_buckets: frozenset[str]
    allowed_regions: frozenset[str]
    upload_url: str
    api_url: str
    allowed_prefixes: tuple[str, ...]
    allowed_extensions: frozenset[str]
    max_object_bytes: int | None
    default_project_id: str | None
    routes: tuple[Route, ...]
    routes_source: str | None
    project_routing: ProjectRouting
    folder_depth: int
    create_missing_folders: bool
    folder_cache_seconds: int
    description: str | None
    token_cache_seconds: int
    connect_timeout_seconds: float
    read_timeout_seconds: float
    max_attempts: int
    idempotency_table: str | None
    idempotency_ttl_seconds: int
    copy_mode: CopyMode
    presigned_url_hours: int
    object_metadata: bool
    write_back_tag_key: str | None
    content_check: bool
    ledger_table: str | None
    event_bus_name: str | None
    overwrite_policy: OverwritePolicy
    delete_policy: DeletePolicy
    delete_grace_seconds: int
    delete_dry_run: bool
    sidecars: bool = False
    sidecar_wait_seconds: int = 60
    captions: bool = False
    copy_object_tags: bool = False

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> BridgeConfig:
        """Build the configuration from the environment (docs/configuration.md lists it)."""
        config = cls(**{variable.field: variable.read(env) for variable in VARIABLES if variable.field})
        check_policies_need_ledger(config.overwrite_policy, config.delete_policy, config.ledger_table)
        return config


def check_policies_need_ledger(
    overwrite: OverwritePolicy, delete: DeletePolicy, ledger_table: str | None
) -> None:
    """Both policies decide from what the ledger knows of a key: without it they cannot work."""
    if ledger_table:
        return
    if overwrite is not OverwritePolicy.NEW_MEDIA:
        raise ConfigError(f"OVERWRITE_POLICY: {overwrite.value!r} needs LEDGER_TABLE (not set)")
    if delete is not DeletePolicy.IGNORE:
        raise ConfigError(f"DELETE_POLICY: {delete.value!r} needs LEDGER_TABLE (not set)")


def configuration_table(variables: tuple[Variable, ...] = VARIABLES) -> str:
    """The table of docs/configuration.md (or of another function's variables): one row per
    variable, in the order they are checked."""
    rows = ["| parameter | variable | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    rows.extend(
        f"| {_parameter_cell(variable)} | `{variable.name}` | {_default_cell(variable)} "
        f"| {variable.parse.bounds or 'any text'} | {variable.meaning} |"
        for variable in variables
    )
    return "\n".join(rows)


def _parameter_cell(variable: Variable) -> str:
    return " / ".join(f"`{name}`" for name in variable.parameters) or "set by the stack"


def _default_cell(variable: Variable) -> str:
    if variable.fallback:
        return f"`{variable.fallback}`"
    if variable.missing:
        return "required"
    return f"`{variable.default}`" if variable.default is not None else "not set"


def batch_configuration_table() -> str:
    """The batch function's own variables (docs/configuration.md)."""
    return configuration_table(BATCH_VARIABLES)
