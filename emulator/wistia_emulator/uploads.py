"""upload.wistia.com's endpoints, POST /s3_copy and POST / (file or url): the real answer to a call.

Validates the parameters, checks the source the way Wistia's copy or import would reach it (the S3
object, the URL), then creates the media in the state.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import contract
from .contract import ApiError, Upload
from .messages import UNAUTHORIZED, Response, error, json_response
from .state import EmulatorState

S3_COPY_PATH = "/s3_copy"
UPLOAD_PATH = "/"
# Options, default name, where the file came from (the record's `source`), and what the file is
# (its `content`: origin, bytes, sha256 when the emulator read the bytes, else the S3 object or
# URL it names). A swap moves the content from one media to another.
Source = tuple[contract.Options, str, dict[str, Any], dict[str, Any]]


class Uploads:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._s3_clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def process(
        self,
        path: str,
        params: dict[str, str],
        upload: Upload | None,
        token: str | None,
        problem: ApiError | None,
    ) -> tuple[Response, str | None]:
        """The real answer to an upload call, and the hashed_id of the media it created."""
        if token is None:
            return UNAUTHORIZED, None
        try:
            if problem is not None:
                raise problem
            options, default_name, source, content = (
                self._s3_copy_source(params) if path == S3_COPY_PATH else self._upload_source(params, upload)
            )
        except ApiError as exc:
            return error(exc.status, exc.code, exc.detail), None
        media = self._state.create_media(options, default_name, source, content)
        if media is None:
            return json_response(400, {"error": contract.VIDEO_LIMIT_MESSAGE}), None
        # The Upload API's 200 body has no status (Wistia's OpenAPI, "Upload or Import Media").
        media.pop("status")
        return json_response(200, media), media["hashed_id"]

    def rate_limited(self, token: str | None) -> Response | None:
        """The account's rate limit, checked first: Wistia refuses an over-limit call at once,
        without doing its work (a call without a valid token is answered 401 later)."""
        retry_after = None if token is None else self._state.retry_after(token)
        if retry_after is None:
            return None
        settings = self._state.settings
        return error(
            settings.rate_limit_status,
            "rate_limited",
            f"more than {settings.rate_limit_per_minute} requests in "
            f"{settings.rate_limit_window_seconds:g} seconds",
            (("Retry-After", str(retry_after)),),
        )

    def _s3_copy_source(self, params: dict[str, str]) -> Source:
        bucket, source_file, region = contract.s3_copy_params(params)
        options = contract.options(params)
        endpoint_url = self._state.settings.s3_endpoint_url
        content: dict[str, Any] = {"origin": "s3", "bucket": bucket, "key": source_file, "region": region}
        content |= {"version_id": None, "etag": None, "bytes": None, "sha256": None}
        if endpoint_url is not None:
            content |= self._check_s3_source(endpoint_url, bucket, source_file, region)
        default_name = source_file.rsplit("/", 1)[-1] or source_file
        source = {"bucket": bucket, "source_file": source_file, "region": region}
        return options, default_name, source, content

    def _upload_source(self, params: dict[str, str], upload: Upload | None) -> Source:
        if upload is not None and params.get("url"):
            raise ApiError(400, "invalid_parameter", "send either file or url, not both")
        if upload is not None:
            options = contract.options(params)
            source = {"filename": upload.filename, "content_type": upload.content_type, "bytes": upload.size}
            content = {"origin": "file", "bytes": upload.size, "sha256": upload.sha256}
            return options, upload.filename or "Untitled", source, content
        if not params.get("url"):
            raise ApiError(400, "missing_parameter", "file or url is required")
        url, file_name = contract.url_param(params)
        options = contract.options(params)
        size, digest = self._fetch(url) if self._state.settings.fetch_urls else (None, None)
        content = {"origin": "url", "url": url, "bytes": size, "sha256": digest}
        return options, file_name, {"url": url, "bytes": size}, content

    def _fetch(self, url: str) -> tuple[int, str]:
        """GET the URL like Wistia's importer would; the number of bytes it served, and their sha256."""
        timeout = self._state.settings.fetch_timeout_seconds
        try:
            with requests.Session() as session:
                session.trust_env = False  # an environment proxy must not intercept loopback fetches
                with session.get(url, timeout=timeout, stream=True) as response:
                    if not 200 <= response.status_code < 300:
                        raise ApiError(
                            400, "url_fetch_failed", f"fetching the url answered HTTP {response.status_code}"
                        )
                    digest, size = hashlib.sha256(), 0
                    for chunk in response.iter_content(65536):
                        digest.update(chunk)
                        size += len(chunk)
                    return size, digest.hexdigest()
        except requests.RequestException as exc:
            raise ApiError(
                400, "url_fetch_failed", f"could not fetch the url: {type(exc).__name__}"
            ) from None

    def _s3_client(self, endpoint_url: str, region: str) -> Any:
        key = (endpoint_url, region)
        with self._lock:
            client = self._s3_clients.get(key)
        if client is None:
            client = boto3.session.Session().client(
                "s3",
                region_name=region,
                endpoint_url=endpoint_url,
                aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or "test",
                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or "test",
                aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
                config=Config(
                    s3={"addressing_style": "path"},  # the endpoint is an IP: no virtual-host buckets
                    retries={"total_max_attempts": 2},
                    connect_timeout=2,
                    read_timeout=5,
                ),
            )
            with self._lock:
                client = self._s3_clients.setdefault(key, client)
        return client

    def _check_s3_source(self, endpoint_url: str, bucket: str, key: str, region: str) -> dict[str, Any]:
        """What Wistia's copy would hit: a missing bucket or object, or a bucket in another region.

        The object's size, ETag and version, from HeadObject (its bytes are not read)."""
        client = self._s3_client(endpoint_url, region)
        try:
            location = _bucket_region(client, bucket)
            if location != region:
                raise ApiError(400, "region_mismatch", f"bucket {bucket} is in {location}, not in {region}")
            head = client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise _s3_problem(exc, bucket, key) from None
        except BotoCoreError as exc:
            raise ApiError(500, "s3_unavailable", f"S3 could not be reached: {type(exc).__name__}") from None
        return {
            "bytes": head.get("ContentLength"),
            "etag": head.get("ETag"),
            "version_id": head.get("VersionId"),
        }


def _bucket_region(client: Any, bucket: str) -> str:
    """The bucket's region code from HeadBucket (unlike GetBucketLocation: no legacy "EU" or "").

    S3 names it in the x-amz-bucket-region header, which boto3 returns as BucketRegion; a client of
    another region gets it on a 301 (PermanentRedirect).
    """
    try:
        location = client.head_bucket(Bucket=bucket).get("BucketRegion")
    except ClientError as exc:
        metadata = exc.response.get("ResponseMetadata", {})
        location = metadata.get("HTTPHeaders", {}).get("x-amz-bucket-region")
        if metadata.get("HTTPStatusCode") != 301 or not location:
            raise
    if not location:
        raise ApiError(500, "s3_error", f"S3 did not name the region of bucket {bucket}")
    return str(location)


def _s3_problem(exc: ClientError, bucket: str, key: str) -> ApiError:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = exc.response.get("Error", {}).get("Code")
    if status == 404 or code in ("NoSuchBucket", "NoSuchKey"):
        return ApiError(404, "source_not_found", f"s3://{bucket}/{key} does not exist")
    if status == 403:
        return ApiError(403, "access_denied", f"Wistia cannot read s3://{bucket}/{key}")
    return ApiError(500, "s3_error", f"S3 answered {code}")
