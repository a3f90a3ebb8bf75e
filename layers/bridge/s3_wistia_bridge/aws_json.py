"""Secrets Manager and DynamoDB on the cold path without botocore's client machinery.

The first botocore client a process creates costs ~50 ms (its loader lists ~400 service
directories and parses the 1.2 MB endpoints file) and each further one ~10-25 ms: more than all
the rest of a cold start. The first event needs exactly two services, through two small
AWS JSON-protocol calls each (GetSecretValue; DynamoDB item calls for idempotency), so these are
signed with botocore's own SigV4 signer and sent over a keep-alive requests.Session instead.

The clients answer like boto3's: the same method names and keyword arguments, the same response
dictionaries, and service errors raised as botocore ClientError with the same `response` shape,
so Powertools Parameters and Idempotency run on them unchanged. Retries follow botocore's
standard mode (throttling and transient errors, at most AWS_MAX_ATTEMPTS, default 3).

`lean_endpoint` says when these clients apply; anything else (credentials not in the
environment, a partition other than aws / aws-cn / aws-us-gov, FIPS or dual-stack endpoints, or
LEAN_AWS_CLIENTS=false) gets a regular boto3 client from runtime.AwsClients.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import requests

# Connect fast, and never let one AWS call eat a Lambda invocation (botocore's default is 60 s).
CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_ATTEMPTS = 3  # botocore's standard retry mode
MAX_BACKOFF_SECONDS = 2.0

# botocore's standard retry mode retries exactly these (botocore/retries/standard.py).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})

# The partitions whose endpoints are https://{service}.{region}.{suffix} for both services
# (botocore/data/partitions.json); other partitions go through botocore's resolver.
_PARTITIONS = (
    (re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$"), "amazonaws.com"),
    (re.compile(r"^cn-\w+-\d+$"), "amazonaws.com.cn"),
    (re.compile(r"^us-gov-\w+-\d+$"), "amazonaws.com"),
)


class Service(NamedTuple):
    """What addressing and signing one AWS JSON-protocol service takes."""

    name: str  # signing name and endpoint prefix
    endpoint_variable: str  # AWS_ENDPOINT_URL_<this>, as botocore reads it
    target_prefix: str  # X-Amz-Target: <this>.<Operation>
    content_type: str


SECRETS_MANAGER = Service("secretsmanager", "SECRETS_MANAGER", "secretsmanager", "application/x-amz-json-1.1")
DYNAMODB = Service("dynamodb", "DYNAMODB", "DynamoDB_20120810", "application/x-amz-json-1.0")


def lean_endpoint(service: Service, region: str, env: Mapping[str, str]) -> str | None:
    """The endpoint URL as botocore would resolve it, or None when only botocore can resolve it."""
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() != "true":
        configured = (
            env.get(f"AWS_ENDPOINT_URL_{service.endpoint_variable}", "").strip()
            or env.get("AWS_ENDPOINT_URL", "").strip()
        )
        if configured:
            return configured.rstrip("/")
    variants = ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")
    if any(env.get(name, "").strip().lower() == "true" for name in variants):
        return None
    for pattern, suffix in _PARTITIONS:
        if pattern.match(region):
            return f"https://{service.name}.{region}.{suffix}"
    return None


def max_attempts(env: Mapping[str, str]) -> int:
    raw = env.get("AWS_MAX_ATTEMPTS", "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) >= 1 else DEFAULT_MAX_ATTEMPTS


def error_code(body: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The error code as botocore's JSON parser reads it: `__type` after any '#', else the
    x-amzn-ErrorType header before any ':'."""
    code = body.get("__type") or body.get("code") or headers.get("x-amzn-ErrorType", "") or ""
    return str(code).rsplit("#", 1)[-1].split(":", 1)[0] or "Unknown"


def is_retryable(code: str, status: int) -> bool:
    return code in THROTTLING_CODES or code in TRANSIENT_CODES or status in TRANSIENT_STATUSES


def _blob_as_base64(value: object) -> str:
    """JSON protocols carry blobs base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class AwsJsonClient:
    """One service, one endpoint, one keep-alive session; `call` signs, sends and retries."""

    def __init__(
        self,
        service: Service,
        region: str,
        endpoint: str,
        credentials: Any,  # botocore Credentials (refreshable or not)
        *,
        attempts: int = DEFAULT_MAX_ATTEMPTS,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        self.region = region
        self.endpoint = endpoint
        self._credentials = credentials
        self._attempts = attempts
        self._http = http or new_http_session()
        self._sleep = sleep

    def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError, EndpointConnectionError  # noqa: PLC0415

        body = json.dumps(params, default=_blob_as_base64).encode("utf-8")
        for attempt in range(1, self._attempts + 1):
            try:
                return self._send(operation, body)
            except ClientError as error:
                status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                if attempt == self._attempts or not is_retryable(error.response["Error"]["Code"], status):
                    raise
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt == self._attempts:
                    raise EndpointConnectionError(endpoint_url=self.endpoint, error=error) from None
            # Full jitter, as botocore's standard mode, but capped for a function's short life.
            self._sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.1 * 2 ** (attempt - 1))))  # noqa: S311
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        from botocore.auth import SigV4Auth  # noqa: PLC0415 - botocore is loaded with Powertools
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415
        from botocore.exceptions import ClientError  # noqa: PLC0415

        request = AWSRequest(
            method="POST",
            url=self.endpoint + "/",
            data=body,
            headers={
                "Content-Type": self.service.content_type,
                "X-Amz-Target": f"{self.service.target_prefix}.{operation}",
            },
        )
        signer = SigV4Auth(self._credentials.get_frozen_credentials(), self.service.name, self.region)
        signer.add_auth(request)
        response = self._http.post(
            request.url,
            data=body,
            headers=dict(request.headers.items()),
            timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
        document = _json_object(response)
        if response.status_code == 200:
            return document
        code = error_code(document, response.headers)
        error = {
            "Code": code,
            "Message": str(document.get("message") or document.get("Message") or response.reason or ""),
        }
        metadata = {
            "HTTPStatusCode": response.status_code,
            "RequestId": response.headers.get("x-amzn-RequestId", ""),
        }
        # Modelled error fields (DynamoDB's "Item" on a failed condition) sit beside "Error",
        # where botocore puts them and Powertools Idempotency reads them.
        extra = {k: v for k, v in document.items() if k not in {"__type", "code", "message", "Message"}}
        raise ClientError({**extra, "Error": error, "ResponseMetadata": metadata}, operation)


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        # The JSON protocols answer UTF-8; Response.json() would run charset detection on
        # bodies under four bytes, such as UpdateItem's `{}`.
        document = json.loads(response.content) if response.content else {}
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def new_http_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy or netrc lookups per request: endpoints are explicit
    return session


class SecretsManagerClient:
    """The boto3 Secrets Manager calls Powertools Parameters makes."""

    def __init__(self, client: AwsJsonClient) -> None:
        self._client = client

    def get_secret_value(self, **params: Any) -> dict[str, Any]:
        response = self._client.call("GetSecretValue", params)
        if isinstance(response.get("SecretBinary"), str):
            response["SecretBinary"] = base64.b64decode(response["SecretBinary"])  # as botocore does
        return response


class DynamoDBClient:
    """The boto3 DynamoDB calls Powertools' DynamoDBPersistenceLayer makes."""

    def __init__(self, client: AwsJsonClient) -> None:
        self._client = client

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._client.call("GetItem", params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._client.call("PutItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._client.call("UpdateItem", params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self._client.call("DeleteItem", params)
