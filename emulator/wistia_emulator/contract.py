"""What upload.wistia.com accepts and answers: parameter rules, request bodies, the media object.

Sources: Wistia's public docs for the Upload API and the S3 Copy endpoint; anything they leave open
(error codes, check order) is this emulator's choice, kept strict so client bugs surface.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

VIDEO_LIMIT_MESSAGE = "This account has exceeded its video limit. Please upgrade to upload more videos."
NAME_MAX_CHARS = 255
KEY_MAX_BYTES = 1024  # S3's object key limit
DEFAULT_REGION = "us-east-1"

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
# Names S3 reserves for access points, directory/table buckets and its own docs.
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_CONTACT_ID = re.compile(r"[0-9]{1,18}")
_FILE_WITH_EXTENSION = re.compile(r"[^/]+\.[A-Za-z0-9]{1,5}")


class ApiError(Exception):
    """An error answer in the nested shape {"error": {"code": ..., "detail": ...}}."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Upload:
    """The `file` part of a multipart upload (its bytes are counted and hashed, not kept)."""

    filename: str | None
    content_type: str
    size: int
    sha256: str = ""


@dataclass(frozen=True)
class Options:
    """The optional fields both endpoints accept."""

    project_id: str | None
    name: str | None
    description: str


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, str], Upload | None]:
    """Form fields (the last value wins for a repeated name) and the uploaded file, if any."""
    if not body:
        return {}, None
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return parse_query(body.decode("latin-1")), None
    if media_type == "multipart/form-data":
        return _parse_multipart(content_type, body)
    raise ApiError(
        400,
        "unsupported_content_type",
        "send parameters as application/x-www-form-urlencoded or multipart/form-data",
    )


def parse_query(text: str) -> dict[str, str]:
    """The fields of a query string or form body; the last value wins for a repeated name."""
    return dict(parse_pairs(text))


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """Every (name, value) of a query string or form body, in order."""
    try:
        # latin-1 above keeps every byte; the percent-decoding and the body are then UTF-8.
        raw = text.encode("latin-1").decode("utf-8")
        return parse_qsl(raw, keep_blank_values=True, errors="strict", max_num_fields=1000)
    except (UnicodeError, ValueError):
        raise ApiError(400, "invalid_request", "the form body is not valid UTF-8 form encoding") from None


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], Upload | None]:
    # The stdlib email parser reads multipart/form-data (cgi is gone in 3.13): give it the header.
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not isinstance(message, EmailMessage) or not message.is_multipart() or message.defects:
        raise ApiError(400, "invalid_request", "the multipart body could not be parsed")
    fields: dict[str, str] = {}
    upload: Upload | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise ApiError(400, "invalid_request", "a multipart part has no name")
        if name == "file":
            digest = hashlib.sha256(payload).hexdigest()
            upload = Upload(part.get_filename(), part.get_content_type(), len(payload), digest)
        else:
            try:
                fields[name] = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, "invalid_request", f"field {name} is not UTF-8") from None
    return fields, upload


def bucket_problem(bucket: str) -> str | None:
    """Why `bucket` is not a bucket name (S3's naming rules), or None."""
    if bucket.startswith("arn:"):
        return "bucket must be the bucket name, not its ARN"
    if "/" in bucket:
        return "bucket must be the bucket name only, without a path or slashes"
    if (
        not _BUCKET.fullmatch(bucket)
        or ".." in bucket
        or _IPV4.fullmatch(bucket)
        or bucket.startswith(_RESERVED_PREFIXES)
        or bucket.endswith(_RESERVED_SUFFIXES)
    ):
        return "bucket is not a valid S3 bucket name"
    return None


def s3_copy_params(params: dict[str, str]) -> tuple[str, str, str]:
    """(bucket, source_file, region) of an s3_copy request, validated."""
    bucket = params.get("bucket", "")
    if not bucket:
        raise ApiError(400, "missing_parameter", "bucket is required")
    problem = bucket_problem(bucket)
    if problem:
        raise ApiError(400, "invalid_parameter", problem)
    source_file = params.get("source_file", "")
    if not source_file:
        raise ApiError(400, "missing_parameter", "source_file is required")
    if source_file.startswith("/"):
        raise ApiError(400, "invalid_parameter", "source_file must not start with /")
    if len(source_file.encode("utf-8")) > KEY_MAX_BYTES:
        raise ApiError(400, "invalid_parameter", f"source_file is longer than {KEY_MAX_BYTES} bytes")
    region = params.get("region") or DEFAULT_REGION
    if not _REGION.fullmatch(region):
        raise ApiError(400, "invalid_parameter", "region is not an AWS region name")
    return bucket, source_file, region


def url_param(params: dict[str, str]) -> tuple[str, str]:
    """(url, its file name) of a URL import, validated: http(s) with a file extension in the path."""
    url = params["url"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "invalid_parameter", "url must be an absolute http or https URL")
    file_name = unquote(parts.path).rsplit("/", 1)[-1]
    if not _FILE_WITH_EXTENSION.fullmatch(file_name):
        raise ApiError(400, "invalid_parameter", "url must end with the file's extension, e.g. .mp4")
    return url, file_name


def options(params: dict[str, str]) -> Options:
    """The optional fields; an empty value counts as absent. contact_id is only validated."""
    name = params.get("name") or None
    if name is not None and len(name) > NAME_MAX_CHARS:
        raise ApiError(400, "invalid_parameter", f"name is longer than {NAME_MAX_CHARS} characters")
    contact_id = params.get("contact_id") or None
    if contact_id is not None and not _CONTACT_ID.fullmatch(contact_id):
        raise ApiError(400, "invalid_parameter", "contact_id must be an integer")
    return Options(
        project_id=params.get("project_id") or None,
        name=name,
        description=params.get("description", ""),
    )


def media(
    *,
    media_id: int,
    hashed_id: str,
    name: str,
    created: str,
    description: str,
    project: dict[str, str],
    source: dict[str, Any],
) -> dict[str, Any]:
    """The Upload API's media object (the fields of its documented example, plus a few)."""
    return {
        "id": media_id,
        "hashed_id": hashed_id,
        "name": name,
        "type": "Video",
        "created": created,
        "updated": created,
        "duration": 0.0,
        "progress": 0.0,
        "thumbnail": {
            "url": f"https://embed-ssl.wistia.com/deliveries/{hashed_id}.jpg?image_crop_resized=100x60",
            "width": 100,
            "height": 60,
        },
        "description": description,
        "project": project,
        "source": source,
    }
