"""The lean AWS clients (aws_json): what they send, how they fail, and that they answer like boto3.

A scripted loopback server sees the raw requests (signature, target, body) and injects errors;
moto checks the answers against what boto3 clients get from the same service.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError
from s3_wistia_bridge import aws_json
from s3_wistia_bridge.aws_json import DYNAMODB, SECRETS_MANAGER, AwsJsonClient, lean_endpoint
from s3_wistia_bridge.runtime import AwsClients

CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example")
TABLE = "lean-idempotency"


class Scripted:
    """A loopback HTTP server that records each request and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                scripted.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, document, headers = scripted.answers.pop(0) if scripted.answers else (200, {}, {})
                payload = json.dumps(document).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.answers.append((status, document, headers or {}))


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def client_for(url: str, service: aws_json.Service = SECRETS_MANAGER, attempts: int = 3) -> AwsJsonClient:
    return AwsJsonClient(service, "eu-west-1", url, CREDENTIALS, attempts=attempts, sleep=lambda _: None)


# ------------------------------------------------------------------------- what goes on the wire


def test_a_call_is_a_json_post_with_the_target_and_a_valid_sigv4_signature(scripted: Scripted) -> None:
    scripted.answer(200, {"Name": "x", "SecretString": "value"})

    answer = client_for(scripted.url).call("GetSecretValue", {"SecretId": "x"})

    assert answer == {"Name": "x", "SecretString": "value"}
    (sent,) = scripted.requests
    headers = {name.lower(): value for name, value in sent["headers"].items()}
    assert json.loads(sent["body"]) == {"SecretId": "x"}
    assert headers["x-amz-target"] == "secretsmanager.GetSecretValue"
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amz-security-token"] == "session-token-example"
    # Recompute the signature from what the server received: every signed header arrived intact.
    authorization = headers["authorization"]
    assert "/eu-west-1/secretsmanager/aws4_request" in authorization
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    rebuilt = AWSRequest(
        method="POST",
        url=scripted.url + sent["path"],
        data=sent["body"],
        headers={name: headers[name] for name in signed if name != "host"},
    )
    rebuilt.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(CREDENTIALS, "secretsmanager", "eu-west-1")
    expected = signer.signature(signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt)), rebuilt)
    assert authorization.endswith(f"Signature={expected}")


def test_dynamodb_speaks_json_1_0_with_its_own_target_prefix(scripted: Scripted) -> None:
    dynamodb = aws_json.DynamoDBClient(client_for(scripted.url, DYNAMODB))
    dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "a"}})

    headers = {name.lower(): value for name, value in scripted.requests[0]["headers"].items()}
    assert headers["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert "/dynamodb/aws4_request" in headers["authorization"]


# ------------------------------------------------------------------------------------ failures


def test_a_service_error_is_a_client_error_shaped_like_botocores(scripted: Scripted) -> None:
    scripted.answer(
        400,
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed",
            "Item": {"id": {"S": "a"}},
        },
        {"x-amzn-RequestId": "req-1"},
    )

    with pytest.raises(ClientError) as raised:
        client_for(scripted.url, DYNAMODB).call("PutItem", {"TableName": TABLE})

    response: Any = raised.value.response
    assert response["Error"] == {
        "Code": "ConditionalCheckFailedException",
        "Message": "The conditional request failed",
    }
    assert response["Item"] == {"id": {"S": "a"}}  # where Powertools Idempotency reads it
    assert response["ResponseMetadata"] == {"HTTPStatusCode": 400, "RequestId": "req-1"}
    assert raised.value.operation_name == "PutItem"
    assert len(scripted.requests) == 1  # a client error is not retried


def test_the_error_code_can_come_from_the_header(scripted: Scripted) -> None:
    scripted.answer(400, {}, {"x-amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/"})

    with pytest.raises(ClientError) as raised:
        client_for(scripted.url).call("GetSecretValue", {"SecretId": "x"})

    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"


@pytest.mark.parametrize(
    ("status", "document"),
    [
        (400, {"__type": "ThrottlingException", "message": "Rate exceeded"}),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}),
        (500, {"__type": "InternalServerError"}),
        (503, {}),
    ],
)
def test_throttling_and_transient_errors_are_retried_then_answered(
    scripted: Scripted, status: int, document: dict[str, Any]
) -> None:
    scripted.answer(status, document)
    scripted.answer(200, {"SecretString": "v"})

    assert client_for(scripted.url).call("GetSecretValue", {"SecretId": "x"}) == {"SecretString": "v"}
    assert len(scripted.requests) == 2


def test_retries_stop_at_the_attempt_limit_with_the_last_error(scripted: Scripted) -> None:
    for _ in range(3):
        scripted.answer(503, {"__type": "ServiceUnavailable"})

    with pytest.raises(ClientError) as raised:
        client_for(scripted.url, attempts=3).call("GetSecretValue", {"SecretId": "x"})

    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert len(scripted.requests) == 3


def test_an_unreachable_endpoint_is_an_endpoint_connection_error_after_every_attempt() -> None:
    delays: list[float] = []
    unreachable = "http://127.0.0.1:9"  # discard: nothing listens
    client = AwsJsonClient(SECRETS_MANAGER, "eu-west-1", unreachable, CREDENTIALS, sleep=delays.append)

    with pytest.raises(EndpointConnectionError):
        client.call("GetSecretValue", {"SecretId": "x"})

    assert len(delays) == 2  # three attempts, two pauses
    assert all(0 <= delay <= aws_json.MAX_BACKOFF_SECONDS for delay in delays)


# ------------------------------------------------------------------------------------ endpoints


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "https://secretsmanager.us-east-1.amazonaws.com"),
        ("il-central-1", "https://secretsmanager.il-central-1.amazonaws.com"),
        ("cn-north-1", "https://secretsmanager.cn-north-1.amazonaws.com.cn"),
        ("us-gov-west-1", "https://secretsmanager.us-gov-west-1.amazonaws.com"),
        ("us-iso-east-1", None),  # other partitions: botocore's resolver
        ("eusc-de-east-1", None),
        ("nowhere", None),
    ],
)
def test_default_endpoints_follow_the_partition(region: str, expected: str | None) -> None:
    assert lean_endpoint(SECRETS_MANAGER, region, {}) == expected


def test_configured_endpoints_win_as_in_botocore() -> None:
    env = {"AWS_ENDPOINT_URL": "http://all:1/", "AWS_ENDPOINT_URL_DYNAMODB": "http://ddb:2"}
    assert lean_endpoint(DYNAMODB, "us-east-1", env) == "http://ddb:2"
    assert lean_endpoint(SECRETS_MANAGER, "us-east-1", env) == "http://all:1"
    ignored = env | {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    assert lean_endpoint(DYNAMODB, "us-east-1", ignored) == "https://dynamodb.us-east-1.amazonaws.com"


@pytest.mark.parametrize("variable", ["AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"])
def test_fips_and_dual_stack_are_left_to_botocore(variable: str) -> None:
    assert lean_endpoint(DYNAMODB, "us-east-1", {variable: "true"}) is None


# ------------------------------------------------------------------------- same answers as boto3


@pytest.fixture
def lean_env(aws: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws,
    }


def test_secrets_answer_like_boto3_for_string_and_binary_secrets(lean_env: dict[str, str]) -> None:
    real = boto3.client("secretsmanager", region_name="us-east-1")
    text = real.create_secret(Name="lean/text", SecretString='{"access_token": "t0k3n-value"}')["ARN"]
    binary = real.create_secret(Name="lean/binary", SecretBinary=b"\x00\xffbytes")["ARN"]
    lean = AwsClients(lean_env, lean=True).secrets_manager()
    assert isinstance(lean, aws_json.SecretsManagerClient)

    for arn in (text, binary):
        expected = {k: v for k, v in real.get_secret_value(SecretId=arn).items() if k != "ResponseMetadata"}
        got = lean.get_secret_value(SecretId=arn)
        assert {k: got[k] for k in ("ARN", "Name", "VersionId")} == {
            k: expected[k] for k in ("ARN", "Name", "VersionId")
        }
        assert got.get("SecretString") == expected.get("SecretString")
        assert got.get("SecretBinary") == expected.get("SecretBinary")  # bytes, decoded as botocore does
    with pytest.raises(ClientError) as raised:
        lean.get_secret_value(SecretId="lean/missing")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_dynamodb_items_and_failed_conditions_answer_like_boto3(lean_env: dict[str, str]) -> None:
    real = boto3.client("dynamodb", region_name="us-east-1")
    real.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lean = AwsClients(lean_env, lean=True).dynamodb()
    item = {"id": {"S": "k"}, "n": {"N": "7"}, "b": {"B": b"\x01\x02"}}

    lean.put_item(TableName=TABLE, Item=item)
    assert real.get_item(TableName=TABLE, Key={"id": {"S": "k"}})["Item"] == item
    got = lean.get_item(TableName=TABLE, Key={"id": {"S": "k"}})["Item"]
    assert got["n"] == {"N": "7"}
    assert base64.b64decode(got["b"]["B"]) == b"\x01\x02"
    with pytest.raises(ClientError) as raised:
        lean.put_item(
            TableName=TABLE,
            Item=item,
            ConditionExpression="attribute_not_exists(id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert raised.value.response["Item"]["id"] == {"S": "k"}
    lean.update_item(
        TableName=TABLE,
        Key={"id": {"S": "k"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "8"}},
    )
    assert real.get_item(TableName=TABLE, Key={"id": {"S": "k"}})["Item"]["n"] == {"N": "8"}
    lean.delete_item(TableName=TABLE, Key={"id": {"S": "k"}})
    assert "Item" not in real.get_item(TableName=TABLE, Key={"id": {"S": "k"}})


# ------------------------------------------------------------------------ lean, or boto3's client


@pytest.mark.parametrize(
    ("change", "lean"),
    [
        ({}, True),
        ({"AWS_ACCESS_KEY_ID": ""}, False),  # credentials from elsewhere: botocore's chain
        ({"AWS_REGION": "us-iso-east-1"}, True),  # a configured endpoint needs no resolving
        ({"AWS_REGION": "us-iso-east-1", "AWS_ENDPOINT_URL": ""}, False),
        ({"AWS_ENDPOINT_URL": "", "AWS_USE_FIPS_ENDPOINT": "true"}, False),
    ],
)
def test_lean_clients_only_where_they_resolve_like_botocore(
    lean_env: dict[str, str], change: dict[str, str], lean: bool
) -> None:
    clients = AwsClients({**lean_env, **change}, lean=True)
    assert isinstance(clients.secrets_manager(), aws_json.SecretsManagerClient) is lean
    assert isinstance(clients.dynamodb(), aws_json.DynamoDBClient) is lean


def test_the_switch_off_gives_boto3_clients(lean_env: dict[str, str]) -> None:
    clients = AwsClients(lean_env, lean=False)
    assert clients.secrets_manager().meta.service_model.service_name == "secretsmanager"
    assert clients.dynamodb().meta.service_model.service_name == "dynamodb"
