"""The bridge's own S3 calls: presigned GETs (URL import), HeadObject (metadata), the write-back tag.

Only used when COPY_MODE=url_import, OBJECT_METADATA=true or WRITE_BACK_TAG_KEY is set; in plain
s3_copy mode the bridge never touches the object (Wistia reads it). One boto3 client per region,
created on first use, with short timeouts so an S3 call cannot eat the invocation.

The pure helpers (presign_lifetime_warning, merge_tag, classify_error) hold the decisions and are
unit-tested; S3Objects is the thin adapter around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients
from .errors import PermanentFailure, TransientFailure
from .models import S3Object
from .reasons import FailureReason

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import TagTypeDef

MAX_TAGS = 10  # S3's limit of tags per object
# Lambda's role credentials carry no expiry the SDK can see; assume they may die within the hour.
UNKNOWN_EXPIRY_SAFE_SECONDS = 3600


@dataclass(frozen=True)
class CredentialFacts:
    """What matters about the signing credentials for a URL's real lifetime (never the secrets)."""

    temporary: bool  # a session token: they expire
    seconds_left: float | None  # until they expire, when the SDK knows it


def presign_lifetime_warning(requested_seconds: int, credentials: CredentialFacts | None) -> str | None:
    """Why a presigned URL may die before `requested_seconds`, or None when it will not.

    A URL signed with temporary credentials stops working when they expire, whatever its
    ExpiresIn says. Long-term keys (no session token) are fine; so are temporary credentials
    known to outlive the URL. Unknown expiry (Lambda's role credentials come from the
    environment without one) is only trusted for an hour.
    """
    if credentials is None or not credentials.temporary:
        return None
    hours = requested_seconds / 3600
    if credentials.seconds_left is not None:
        if credentials.seconds_left >= requested_seconds:
            return None
        return (
            f"presigned URLs are asked to live {hours:g} h (PRESIGNED_URL_HOURS) but the temporary "
            f"credentials that sign them expire in {credentials.seconds_left / 60:.0f} min: a URL stops "
            "working then, so Wistia must fetch it before; failed fetches land on the failure queue "
            "and a replay signs a new URL"
        )
    if requested_seconds <= UNKNOWN_EXPIRY_SAFE_SECONDS:
        return None
    return (
        f"presigned URLs are asked to live {hours:g} h (PRESIGNED_URL_HOURS) but are signed with "
        "temporary credentials of unknown expiry (a Lambda role session): a URL stops working when "
        "they expire, possibly well before; keep PRESIGNED_URL_HOURS small (1 silences this), failed "
        "fetches land on the failure queue and a replay signs a new URL"
    )


class TagWrite(StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"  # the tag already had this value: nothing sent
    NO_ROOM = "no_room"  # 10 tags already, ours not among them: skipped


def merge_tag(tags: Sequence[TagTypeDef], key: str, value: str) -> tuple[list[TagTypeDef], TagWrite]:
    """The tag set with `key` set to `value`, every other tag kept, and what that means."""
    merged: list[TagTypeDef] = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in tags]
    for tag in merged:
        if tag["Key"] == key:
            if tag["Value"] == value:
                return merged, TagWrite.UNCHANGED
            tag["Value"] = value
            return merged, TagWrite.WRITTEN
    if len(merged) >= MAX_TAGS:
        return merged, TagWrite.NO_ROOM
    return [*merged, {"Key": key, "Value": value}], TagWrite.WRITTEN


class ErrorKind(StrEnum):
    MISSING = "missing"
    DENIED = "denied"
    OTHER = "other"


_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchBucket"})
_DENIED_CODES = frozenset({"403", "AccessDenied", "Forbidden"})


def classify_error(code: str | None, status: int | None) -> ErrorKind:
    """An S3 error by its code and HTTP status (a HEAD answer has no body, so only '404')."""
    # 405: HeadObject of a version that is a delete marker.
    if code in _MISSING_CODES or status in {404, 405}:
        return ErrorKind.MISSING
    if code in _DENIED_CODES or status == 403:
        return ErrorKind.DENIED
    return ErrorKind.OTHER


def error_code(error: BaseException) -> str:
    """The S3 error code of a ClientError, else the exception's class name (never its text)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


class ObjectHead(NamedTuple):
    """What HeadObject says of an object: enough to tell it is the one an event announced."""

    size: int | None
    etag: str | None
    metadata: dict[str, str]

    def matches(self, obj: S3Object) -> bool:
        """The event's size and ETag (when it gave them) are this object's."""
        return (obj.size is None or obj.size == self.size) and (
            obj.etag is None or obj.etag.strip('"') == self.etag
        )


def raise_unless_missing(error: ClientError, obj: S3Object, operation: str = "HeadObject") -> None:
    """An S3 read error as the bridge's failure; returns only when the object is missing."""
    code = error_code(error)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    kind = classify_error(code, status)
    if kind is ErrorKind.MISSING:
        return
    http_status = status if isinstance(status, int) else None
    if kind is ErrorKind.DENIED:
        raise PermanentFailure(
            FailureReason.S3_ACCESS_DENIED,
            f"S3 denied {operation} on {obj.uri} ({code}): grant the function s3:GetObject"
            " (and s3:GetObjectVersion) on this key; note that without s3:ListBucket S3 also"
            " answers 403 for an object that no longer exists",
            http_status=http_status,
        ) from None
    raise TransientFailure(
        FailureReason.S3_UNAVAILABLE, f"{operation} on {obj.uri} failed ({code})", http_status=http_status
    ) from None


class S3Objects:
    """The bridge's own S3 calls, on the container's clients; one instance per container."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    def _client(self, region: str) -> S3Client:
        return self._clients.s3(region)

    @staticmethod
    def _params(obj: S3Object) -> dict[str, Any]:
        params = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            params["VersionId"] = obj.version_id  # exactly the version the event announced
        return params

    def presigned_get(self, obj: S3Object, expires_seconds: int) -> str:
        """A GET URL of exactly this object version, signed locally (no request is made)."""
        try:
            url = self._client(obj.region).generate_presigned_url(
                "get_object", Params=self._params(obj), ExpiresIn=expires_seconds
            )
        except BotoCoreError as error:  # no credentials: nothing to sign with
            raise TransientFailure(
                FailureReason.S3_UNAVAILABLE,
                f"could not sign a GET URL for {obj.uri} ({type(error).__name__})",
            ) from None
        return str(url)

    def credential_facts(self) -> CredentialFacts | None:
        """Whether the signing credentials are temporary and when they expire; None: none found."""
        try:
            credentials = self._clients.session.get_credentials()
        except Exception:  # the warning is advice: never fail a copy over it
            return None
        if credentials is None:
            return None
        # RefreshableCredentials (assumed roles, SSO, IMDS) know their expiry; botocore keeps it in
        # a private attribute. Static credentials (Lambda's environment) do not.
        expiry = getattr(credentials, "_expiry_time", None)
        seconds_left = (
            (expiry - datetime.now(UTC)).total_seconds()
            if isinstance(expiry, datetime) and expiry.tzinfo is not None
            else None
        )
        return CredentialFacts(temporary=bool(credentials.token), seconds_left=seconds_left)

    def head(self, obj: S3Object) -> ObjectHead | None:
        """HeadObject of exactly this object version; None when it does not exist (any more)."""
        try:
            head = self._client(obj.region).head_object(**self._params(obj))
        except ClientError as error:
            raise_unless_missing(error, obj)
            return None
        except BotoCoreError as error:
            raise TransientFailure(
                FailureReason.S3_UNAVAILABLE, f"HeadObject on {obj.uri} failed ({type(error).__name__})"
            ) from None
        metadata = head.get("Metadata") or {}
        return ObjectHead(
            size=head.get("ContentLength"),
            etag=str(head.get("ETag", "")).strip('"') or None,
            metadata={str(key).lower(): str(value) for key, value in metadata.items()},
        )

    def head_metadata(self, obj: S3Object) -> dict[str, str] | None:
        """The object's user metadata (keys lower-cased, no x-amz-meta-); None when it is gone."""
        head = self.head(obj)
        return None if head is None else head.metadata

    def first_bytes(self, obj: S3Object, count: int) -> bytes | None:
        """The first `count` bytes of exactly this object version (fewer when it is smaller; b""
        when it is empty); None when it does not exist (any more). One ranged GET."""
        try:
            response = self._client(obj.region).get_object(**self._params(obj), Range=f"bytes=0-{count - 1}")
        except ClientError as error:
            if error_code(error) == "InvalidRange":  # a range starting past the end: an empty object
                return b""
            raise_unless_missing(error, obj, "GetObject")
            return None
        except BotoCoreError as error:
            raise TransientFailure(
                FailureReason.S3_UNAVAILABLE, f"GetObject on {obj.uri} failed ({type(error).__name__})"
            ) from None
        with response["Body"] as body:
            return bytes(body.read(count))

    def tag_all(self, obj: S3Object, tags: dict[str, str]) -> TagWrite:
        """Set several tags on exactly this object version in one write, keeping the others; NO_ROOM
        (nothing written) when they do not all fit in S3's 10. Raises boto3's errors."""
        client = self._client(obj.region)
        params = self._params(obj)
        merged: list[TagTypeDef] = list(client.get_object_tagging(**params).get("TagSet", []))
        result = TagWrite.UNCHANGED
        for key, value in tags.items():
            merged, written = merge_tag(merged, key, value)
            if written is TagWrite.NO_ROOM:
                return written
            result = TagWrite.WRITTEN if written is TagWrite.WRITTEN else result
        if result is TagWrite.WRITTEN:
            client.put_object_tagging(**params, Tagging={"TagSet": merged})
        return result

    def tag(self, obj: S3Object, key: str, value: str) -> TagWrite:
        """Set one tag on exactly this object version, keeping the others. Raises boto3's errors."""
        client = self._client(obj.region)
        params = self._params(obj)
        tags = client.get_object_tagging(**params).get("TagSet", [])
        merged, result = merge_tag(tags, key, value)
        if result is TagWrite.WRITTEN:
            client.put_object_tagging(**params, Tagging={"TagSet": merged})
        return result
