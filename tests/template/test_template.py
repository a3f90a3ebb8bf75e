"""The SAM template's load-bearing properties, checked offline.

The template is read with cfn-lint's decoder (it understands the short-form tags), its intrinsic
functions are evaluated for concrete parameter sets by a small evaluator below, and the whole
template is translated by aws-sam-translator for both trigger modes. cfn-lint, checkov and
`sam validate` run separately (`make template-check`); these tests pin the behaviour they cannot
know about: retries, the failure destination, least privilege, every variable wired.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import decode  # type: ignore[import-untyped]
from s3_wistia_bridge.config import (
    BATCH_VARIABLES,
    FUNCTION_ENVIRONMENT,
    VARIABLES,
    BridgeConfig,
    ConfigError,
    Variable,
)
from s3_wistia_bridge.tracking_config import TRACKING_VARIABLES
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wistia/token-AbCdEf"
WEBHOOK_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wistia/webhook-GhIjKl"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PSEUDO = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "s3-wistia-bridge",
    "AWS::StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/s3-wistia-bridge/"
    "0b6c1d20-6a8e-11ef-9f1f-0affd1c3e2b5",
    "AWS::URLSuffix": "amazonaws.com",
}
# Names SAM generates from a function's properties (FunctionUrlConfig, AutoPublishAlias).
SAM_GENERATED = frozenset({"WebhookFunctionUrl", "BatchFunction.Alias"})
GENERATED_BUCKET = "s3-wistia-bridge-123456789012-0affd1c3e2b5"
# StatusTracking=webhooks is the default, which needs the webhook's secret (the rule WebhooksNeedSecret).
NEW_BUCKET = {
    "TriggerMode": "NewBucket",
    "WistiaSecretArn": SECRET_ARN,
    "WistiaWebhookSecretArn": WEBHOOK_SECRET_ARN,
}
EXISTING_BUCKET = {
    "TriggerMode": "ExistingBucket",
    "ExistingBucketName": "media",
    "WistiaSecretArn": SECRET_ARN,
    "WistiaWebhookSecretArn": WEBHOOK_SECRET_ARN,
}
# Delivery=buffered is the default; these name the four combinations explicitly.
BUFFERED_NEW = {**NEW_BUCKET, "Delivery": "buffered"}
BUFFERED_EXISTING = {**EXISTING_BUCKET, "Delivery": "buffered"}
DIRECT_NEW = {**NEW_BUCKET, "Delivery": "direct"}
DIRECT_EXISTING = {**EXISTING_BUCKET, "Delivery": "direct"}
EVERY_MODE = pytest.mark.parametrize(
    "params",
    [BUFFERED_NEW, BUFFERED_EXISTING, DIRECT_NEW, DIRECT_EXISTING],
    ids=["buffered-new-bucket", "buffered-existing-bucket", "direct-new-bucket", "direct-existing-bucket"],
)
BRIDGE_METRICS = {
    "ObjectCopied",
    "ObjectRejected",
    "ObjectSkipped",
    "PermanentFailure",
    "TransientFailure",
    "WistiaRetry",
    "DuplicateSuppressed",
    "WriteBackFailed",
    "MediaReady",
    "MediaFailed",
    "TimeToReady",
}


# ---------------------------------------------------------------- loading and evaluating


@cache
def _loaded() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE_PATH))
    assert not matches, matches
    plain: dict[str, Any] = json.loads(json.dumps(template))  # no cfn-lint node types
    return plain


def load() -> dict[str, Any]:
    return copy.deepcopy(_loaded())


class NoValue:
    """AWS::NoValue: removes the property or list element it stands in."""


class Template:
    """Evaluates the template's intrinsic functions for one set of parameter values."""

    def __init__(self, template: dict[str, Any], params: Mapping[str, str]) -> None:
        self.template = template
        self.params: dict[str, str] = {}
        for name, spec in template["Parameters"].items():
            value = params.get(name, spec.get("Default"))
            assert value is not None, f"parameter {name} needs a value"
            self.params[name] = str(value)
        unknown = set(params) - set(self.params)
        assert not unknown, f"not parameters of the template: {unknown}"
        self.resources: dict[str, Any] = template["Resources"]
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self._conditions[name]

    def active(self, name: str) -> bool:
        condition = self.resources[name].get("Condition")
        return condition is None or self.condition(condition)

    def properties(self, name: str) -> dict[str, Any]:
        assert self.active(name), f"{name} is not created with these parameters"
        result = self.value(self.resources[name].get("Properties", {}))
        assert isinstance(result, dict)
        return result

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            elements = [self.value(item) for item in node]
            return [item for item in elements if not isinstance(item, NoValue)]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, arg)
        members = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in members.items() if not isinstance(item, NoValue)}

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self._ref(arg)
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::GetAtt":
            resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            assert resource in self.resources or resource in SAM_GENERATED, (
                f"GetAtt of unknown resource {resource}"
            )
            return f"<{resource}.{attribute}>"
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self.value(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = (str(self.value(side)) for side in arg)
            return left == right
        if key == "Fn::Not":
            return not self.value(arg[0])
        if key == "Fn::And":
            return all(self.value(item) for item in arg)
        if key == "Fn::Or":
            return any(self.value(item) for item in arg)
        if key == "Fn::Join":
            delimiter, items = arg
            assert isinstance(delimiter, str), "Fn::Join's delimiter must be a literal"
            return delimiter.join(str(item) for item in self.value(items))
        if key == "Fn::Split":
            delimiter, source = arg
            return str(self.value(source)).split(delimiter)
        if key == "Fn::Select":
            index, items = arg
            values = self.value(items)
            position = int(self.value(index))
            assert position < len(values), f"Fn::Select {position} out of range of {values}"
            return values[position]
        if key == "Fn::FindInMap":
            name, top, second = (str(self.value(item)) for item in arg)
            return self.template["Mappings"][name][top][second]
        if key == "Fn::Sub":
            text, variables = _sub_arguments(arg)
            bound = {name: self.value(item) for name, item in variables.items()}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub_variable(m.group(1), bound), text)
        raise AssertionError(f"intrinsic {key} not handled by the test evaluator")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NoValue()
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.params:
            return self.params[name]
        assert name in self.resources or name in SAM_GENERATED, f"Ref to unknown name {name}"
        return f"<{name}>"

    def _sub_variable(self, name: str, bound: Mapping[str, Any]) -> str:
        if name in bound:
            return str(bound[name])
        if "." in name and name.split(".", 1)[0] in self.resources:
            return f"<{name}>"
        return str(self._ref(name))

    def environment(self, function: str = "IngestFunction") -> dict[str, str]:
        variables = self.properties(function)["Environment"]["Variables"]
        return {name: str(value) for name, value in variables.items()}

    def role_statements(self, role: str = "IngestRole") -> list[dict[str, Any]]:
        return [
            statement
            for policy in self.properties(role)["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
        ]


def _sub_arguments(arg: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(arg, str):
        return arg, {}
    text, variables = arg
    return text, variables


def references(node: Any, template: Template | None = None) -> Iterator[str]:
    """Logical ids that `node` refers to (only the taken branch of Fn::If when `template` is given)."""
    if isinstance(node, list):
        for item in node:
            yield from references(item, template)
    elif isinstance(node, dict):
        for key, arg in node.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::GetAtt":
                yield arg[0] if isinstance(arg, list) else arg.split(".", 1)[0]
            elif key == "Fn::Sub":
                text, variables = _sub_arguments(arg)
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    if name not in variables:
                        yield name.split(".", 1)[0]
                yield from references(variables, template)
            elif key == "Fn::If" and template is not None:
                name, when_true, when_false = arg
                yield from references(when_true if template.condition(name) else when_false, template)
            else:
                yield from references(arg, template)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def translate(params: Mapping[str, str]) -> dict[str, Any]:
    """The CloudFormation that `sam deploy` would submit for these parameters."""
    template = load()
    # Local paths become S3 URIs when sam packages them; the translator only accepts the latter.
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{name}.zip"
    template["Resources"]["BridgeLayer"]["Properties"]["ContentUri"] = "s3://artifacts/layer.zip"
    session = boto3.session.Session(region_name=PSEUDO["AWS::Region"])
    translator = Translator(None, Parser(), boto_session=session)
    result = translator.translate(template, parameter_values=dict(params), get_managed_policy_map=dict)
    assert isinstance(result, dict)
    return result


WIRED_VARIABLES = VARIABLES


def function_environment_contract() -> set[str]:
    return set(FUNCTION_ENVIRONMENT)


def java_full_match(pattern: str, value: str) -> bool:
    """CloudFormation's AllowedPattern must match the whole value (Java regex semantics)."""
    return re.fullmatch(pattern, value) is not None


# ---------------------------------------------------------------- asynchronous invocation


def test_direct_lambda_retries_an_event_twice_then_sends_it_to_the_failure_queue():
    resource = load()["Resources"]["IngestFunctionEventInvokeConfig"]
    assert resource["Condition"] == "Direct"
    invoke = resource["Properties"]
    assert invoke["Qualifier"] == "$LATEST"
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["MaximumEventAgeInSeconds"] == {"Ref": "MaxEventAgeSeconds"}
    assert invoke["DestinationConfig"]["OnFailure"] == {
        "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    }
    age = load()["Parameters"]["MaxEventAgeSeconds"]
    assert (age["MinValue"], age["MaxValue"]) == (60, 21600)  # Lambda's own bounds
    # Not SAM's EventInvokeConfig property, which cannot be conditional.
    assert "EventInvokeConfig" not in load()["Resources"]["IngestFunction"]["Properties"]


@EVERY_MODE
def test_translated_invocation_wiring_is_the_one_of_the_delivery_mode(params):
    translated = translate(params)
    template = Template(translated, params)
    active = {name: r for name, r in translated["Resources"].items() if template.active(name)}
    configs = [
        r
        for r in active.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and r["Properties"]["FunctionName"] == {"Ref": "IngestFunction"}
    ]
    mappings = [r for r in active.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    queues = {name for name, r in active.items() if r["Type"] == "AWS::SQS::Queue"}
    if params["Delivery"] == "direct":
        (config,) = configs
        assert config["Properties"]["FunctionName"] == {"Ref": "IngestFunction"}
        assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailureQueue", "Arn"]
        }
        assert mappings == []
        assert queues == {"FailureQueue"}
    else:
        assert configs == []
        (mapping,) = mappings
        assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
        assert queues == {"FailureQueue", "IngestQueue"}


def test_failure_queue_is_encrypted_keeps_failures_14_days_and_refuses_plain_http():
    template = Template(load(), NEW_BUCKET)
    queue = template.properties("FailureQueue")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    (statement,) = template.properties("FailureQueuePolicy")["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert template.properties("FailureQueuePolicy")["Queues"] == ["<FailureQueue>"]


# ---------------------------------------------------------------- configuration contract


def test_every_variable_the_function_reads_is_wired_and_nothing_else():
    """The delivery mode is not among them: the function reads it from each event's shape."""
    variables = load()["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"]
    assert set(variables) == function_environment_contract()


@pytest.mark.parametrize("variable", WIRED_VARIABLES, ids=lambda variable: variable.name)
def test_each_variable_comes_from_the_parameters_it_declares(variable: Variable):
    template = load()
    value = template["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"][variable.name]
    assert set(variable.parameters) <= set(template["Parameters"]), "declared parameters exist"
    assert set(references(value)) & set(template["Parameters"]) == set(variable.parameters)
    if len(variable.parameters) == 1:
        assert value == {"Ref": variable.parameters[0]}
    elif not variable.parameters:
        assert value == STACK_SET.get(variable.name, variable.default)


# What the stack itself puts into the variables that no parameter sets (the others: their default).
STACK_SET = {
    "ALLOWED_REGIONS": {"Ref": "AWS::Region"},
    "FAILURE_QUEUE_URL": {"Ref": "FailureQueue"},
    "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    "LEDGER_TABLE": {"Ref": "LedgerTable"},
    "EVENT_BUS_NAME": "default",
}


# One declaration per parameter: the tracking functions' copies of the ingest function's come last.
PARAMETER_VARIABLES = {
    v.parameters[0]: v
    for v in reversed((*WIRED_VARIABLES, *TRACKING_VARIABLES, *BATCH_VARIABLES))
    if len(v.parameters) == 1
}


@pytest.mark.parametrize("variable", PARAMETER_VARIABLES.values(), ids=lambda variable: variable.name)
def test_each_parameter_has_its_variables_default_and_bounds(variable: Variable):
    spec = load()["Parameters"][variable.parameters[0]]
    if "Default" not in spec:
        assert variable.missing, f"{variable.name}: a parameter without a default sets a required variable"
        return
    assert str(spec["Default"]) == (variable.default or ""), "one default, as the function parses it"
    if "AllowedValues" in spec:
        assert [str(value) for value in spec["AllowedValues"]] == list(variable.parse.choices)
    if "MinValue" in spec:
        # The template's range is the function's: both ends accepted, one step beyond refused.
        for accepted in (spec["MinValue"], spec["MaxValue"]):
            variable.parse.check(variable.name, str(accepted))
        for refused in (spec["MinValue"] - 1, spec["MaxValue"] + 1):
            with pytest.raises(ConfigError, match=f"^{variable.name}:"):
                variable.parse.check(variable.name, str(refused))


@pytest.mark.parametrize("delivery", ["buffered", "direct"])
@pytest.mark.parametrize(
    ("params", "bucket"),
    [
        (NEW_BUCKET, GENERATED_BUCKET),
        ({**NEW_BUCKET, "BucketName": "my-videos"}, "my-videos"),
        (EXISTING_BUCKET, "media"),
    ],
    ids=["generated-name", "named-bucket", "existing-bucket"],
)
def test_the_function_allows_exactly_the_bucket_that_triggers_it(params, bucket, delivery):
    template = Template(load(), {**params, "Delivery": delivery})
    assert template.environment()["ALLOWED_BUCKETS"] == bucket
    assert template.environment()["ALLOWED_REGIONS"] == PSEUDO["AWS::Region"]
    if params["TriggerMode"] == "NewBucket":
        assert template.properties("MediaBucket")["BucketName"] == bucket
        if delivery == "direct":
            source_arn = template.properties("S3InvokePermission")["SourceArn"]
        else:
            statements = template.properties("IngestQueuePolicy")["PolicyDocument"]["Statement"]
            (allow,) = [s for s in statements if s["Effect"] == "Allow"]
            source_arn = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
        assert source_arn == f"arn:aws:s3:::{bucket}"
    else:
        pattern = json.loads(template.properties("ExistingBucketRule")["EventPattern"])
        assert pattern["detail"]["bucket"]["name"] == [bucket]


def test_the_generated_bucket_name_is_a_valid_lowercase_bucket_name():
    name = Template(load(), NEW_BUCKET).properties("MediaBucket")["BucketName"]
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name


@pytest.mark.parametrize(
    "params",
    [
        NEW_BUCKET,
        EXISTING_BUCKET,
        {
            **NEW_BUCKET,
            "AllowedPrefixes": "videos/,uploads/",
            "MaxObjectBytes": "8000000000",
            "WistiaProjectId": "abc123xyz",
            "WistiaRoutes": '[{"prefix":"videos/","project_id":"def456","contact_id":7}]',
            "WistiaDescription": "From <b>S3</b>",
            "WistiaUploadUrl": "http://127.0.0.1:8089",
            "LogLevel": "DEBUG",
            "CopyMode": "url_import",
            "PresignedUrlHours": "168",
            "ObjectMetadata": "true",
            "WriteBackTagKey": "wistia:hashed-id",
        },
    ],
    ids=["defaults-new-bucket", "defaults-existing-bucket", "everything-set"],
)
def test_the_wired_environment_passes_the_functions_own_configuration_check(params):
    environment = Template(load(), params).environment()
    parsed = BridgeConfig.from_environ(environment)
    assert parsed.secret_id == SECRET_ARN
    assert parsed.failure_queue_url == "<FailureQueue>"
    assert parsed.idempotency_table == "<IdempotencyTable>"
    assert parsed.copy_mode.value == params.get("CopyMode", "s3_copy")
    assert parsed.presigned_url_hours == int(params.get("PresignedUrlHours", "6"))
    assert parsed.object_metadata is (params.get("ObjectMetadata") == "true")
    assert parsed.write_back_tag_key == (params.get("WriteBackTagKey") or None)


def test_every_parameter_is_documented_with_its_variable_or_in_the_deployment_guide():
    declared = {
        name
        for variable in (*WIRED_VARIABLES, *TRACKING_VARIABLES, *BATCH_VARIABLES)
        for name in variable.parameters
    }
    guide = (ROOT / "docs/deployment.md").read_text(encoding="utf-8")
    for name in load()["Parameters"]:
        assert name in declared or f"| `{name}` |" in guide, f"{name} is documented nowhere"


def test_every_parameter_is_described_used_and_its_default_is_allowed():
    template = load()
    parameters = template["Parameters"]
    used = set(references({k: v for k, v in template.items() if k != "Parameters"}))
    for name, spec in parameters.items():
        assert spec.get("Description"), f"{name} has no description"
        assert name in used, f"{name} is never used"
        if "Default" not in spec:
            continue
        default = spec["Default"]
        if "AllowedPattern" in spec:
            assert java_full_match(spec["AllowedPattern"], str(default)), name
        if "AllowedValues" in spec:
            assert default in spec["AllowedValues"], name
        if "MinValue" in spec:
            assert spec["MinValue"] <= default <= spec["MaxValue"], name


@pytest.mark.parametrize(
    ("parameter", "accepted", "rejected"),
    [
        (
            "WistiaSecretArn",
            [SECRET_ARN, "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:t-AbCdEf"],
            ["wistia/token", "arn:aws:secretsmanager:eu-west-1:123:secret:t", ""],
        ),
        (
            "WistiaUploadUrl",
            ["https://upload.wistia.com", "http://127.0.0.1:8089", "http://localhost:9000/"],
            ["http://upload.wistia.com", "https://upload.wistia.com/s3_copy?x=1", "ftp://x"],
        ),
        (
            "AllowedPrefixes",
            ["", "videos/", "a/,b/,c/,d/,e/", "raw_2024/(final)/", "my videos/", "Café+crème/"],
            ["/videos/", "a/, b/", "a/,b/,c/,d/,e/,f/", "videos/*", 'a"b/', "a/,"],
        ),
        ("AllowedExtensions", ["mp4", "mp4,MOV,3gp"], ["", ".mp4", "mp4,", "mp4 mov"]),
        ("MaxObjectBytes", ["", "1", "8589934592"], ["0", "-1", "1e9", "10 GB"]),
        ("WistiaProjectId", ["", "abc123xyz"], ["abc-123", "a b"]),
        ("WistiaAwsAccountId", ["", "123456789012"], ["12345", "1234567890123"]),
        ("WistiaSecretKmsKeyArn", ["", KEY_ARN], ["alias/aws/secretsmanager"]),
        ("BucketName", ["", "my-videos"], ["My-Videos", "a", "videos_2024"]),
        ("ExistingBucketName", ["", "media", "media.example.com"], ["Media", "-media"]),
        ("WistiaRoutes", ["", '[{"prefix":"a/","project_id":"x"}]'], ['{"prefix":"a/"}']),
        ("AlarmEmail", ["", "ops@example.com"], ["ops", "ops@", "a b@example.com"]),
        (
            "WriteBackTagKey",
            ["", "wistia-hashed-id", "wistia:media/id", "Wistia id", "a" * 128, "x+y=z@_.-"],
            ["aws:wistia", "AWS:id", "a" * 129, "tag#1", "a,b", 'quote"'],
        ),
    ],
)
def test_parameter_patterns_accept_good_values_and_reject_bad_ones(parameter, accepted, rejected):
    pattern = load()["Parameters"][parameter]["AllowedPattern"]
    for value in accepted:
        assert java_full_match(pattern, value), f"{parameter} should accept {value!r}"
    for value in rejected:
        assert not java_full_match(pattern, value), f"{parameter} should reject {value!r}"


# ---------------------------------------------------------------- least privilege


INGEST_QUEUE_GRANTS = {
    (action, "<IngestQueue.Arn>")
    for action in (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ChangeMessageVisibility",
    )
}


@EVERY_MODE
def test_the_role_may_read_the_one_secret_send_to_the_one_queue_use_the_one_table_and_nothing_else(params):
    statements = Template(load(), params).role_statements()
    granted = {
        (action, resource)
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    assert granted == {
        ("logs:CreateLogStream", "<IngestLogGroup.Arn>"),
        ("logs:PutLogEvents", "<IngestLogGroup.Arn>"),
        ("secretsmanager:GetSecretValue", SECRET_ARN),
        ("sqs:SendMessage", "<FailureQueue.Arn>"),
        ("dynamodb:GetItem", "<IdempotencyTable.Arn>"),
        ("dynamodb:PutItem", "<IdempotencyTable.Arn>"),
        ("dynamodb:UpdateItem", "<IdempotencyTable.Arn>"),
        ("dynamodb:DeleteItem", "<IdempotencyTable.Arn>"),
        ("dynamodb:Query", "<LedgerTable.Arn>"),
        ("dynamodb:UpdateItem", "<LedgerTable.Arn>"),
        ("events:PutEvents", DEFAULT_BUS_ARN),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    } | (INGEST_QUEUE_GRANTS if params["Delivery"] == "buffered" else set()) | object_read_grants(params)


DEFAULT_BUS_ARN = "arn:aws:events:eu-west-1:123456789012:event-bus/default"


def object_read_grants(params: Mapping[str, str]) -> set[tuple[str, str]]:
    """The content check's ranged GET (every mode), and s3:ListBucket so a missing key says 404."""
    bucket = params.get("ExistingBucketName") or params.get("BucketName") or GENERATED_BUCKET
    return {
        ("s3:GetObject", f"arn:aws:s3:::{bucket}/*"),
        ("s3:GetObjectVersion", f"arn:aws:s3:::{bucket}/*"),
        ("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
    }


OBJECT_SIDS = {"ReadObjects", "TellMissingObjects", "WriteBackTag"}
READ = {"ReadObjects": {"s3:GetObject", "s3:GetObjectVersion"}, "TellMissingObjects": {"s3:ListBucket"}}
TAG_ACTIONS = {
    "s3:GetObjectTagging",
    "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (NEW_BUCKET, READ),  # the content check reads every object's first bytes
        ({**NEW_BUCKET, "CopyMode": "url_import"}, READ),
        ({**NEW_BUCKET, "ObjectMetadata": "true"}, READ),
        (EXISTING_BUCKET, READ),
        ({**NEW_BUCKET, "WriteBackTagKey": "wistia-hashed-id"}, READ | {"WriteBackTag": TAG_ACTIONS}),
        (
            {**EXISTING_BUCKET, "CopyMode": "url_import", "ObjectMetadata": "true", "WriteBackTagKey": "k"},
            READ | {"WriteBackTag": TAG_ACTIONS},
        ),
    ],
    ids=["s3-copy", "url-import", "metadata", "eventbridge-keys", "write-back", "everything"],
)
def test_object_permissions_exist_only_in_the_modes_that_need_them(params, expected):
    statements = Template(translate(params), params).role_statements()
    granted = {
        statement["Sid"]: set(as_list(statement["Action"]))
        for statement in statements
        if statement.get("Sid") in OBJECT_SIDS
    }
    assert granted == expected
    # No other statement may touch S3 at all.
    others = [s for s in statements if s.get("Sid") not in OBJECT_SIDS]
    assert not any(str(action).startswith("s3:") for s in others for action in as_list(s["Action"]))


@pytest.mark.parametrize(
    ("params", "bucket", "prefixes"),
    [
        ({**NEW_BUCKET, "CopyMode": "url_import"}, GENERATED_BUCKET, {""}),
        ({**NEW_BUCKET, "BucketName": "my-videos", "CopyMode": "url_import"}, "my-videos", {""}),
        ({**EXISTING_BUCKET, "ObjectMetadata": "true", "AllowedPrefixes": "videos/"}, "media", {"videos/"}),
        (
            {**EXISTING_BUCKET, "CopyMode": "url_import", "AllowedPrefixes": "a/,b/,c/,d/,e/"},
            "media",
            {"a/", "b/", "c/", "d/", "e/"},
        ),
    ],
    ids=["generated-bucket", "named-bucket", "existing-one-prefix", "five-prefixes"],
)
@pytest.mark.parametrize("write_back", ["", "wistia-hashed-id"], ids=["read", "read-and-tag"])
def test_object_permissions_cover_only_the_allowed_prefixes_of_the_one_bucket(
    params, bucket, prefixes, write_back
):
    params = {**params, "WriteBackTagKey": write_back}
    template = Template(load(), params)
    statements = [
        s for s in template.role_statements() if s.get("Sid") in OBJECT_SIDS - {"TellMissingObjects"}
    ]
    assert len(statements) == (2 if write_back else 1)
    # The same bucket the function is allowed to copy from, and nothing wider; listing its keys only.
    assert template.environment()["ALLOWED_BUCKETS"] == bucket
    [listing] = [s for s in template.role_statements() if s.get("Sid") == "TellMissingObjects"]
    assert (listing["Action"], listing["Resource"]) == ("s3:ListBucket", f"arn:aws:s3:::{bucket}")
    for statement in statements:
        assert statement["Effect"] == "Allow"
        resources = as_list(statement["Resource"])
        assert len(resources) == 5  # the five prefix slots, repeated when fewer prefixes
        assert {resource.removeprefix(f"arn:aws:s3:::{bucket}/") for resource in resources} == {
            f"{prefix}*" for prefix in prefixes
        }
        assert all(
            resource != "*" and resource.startswith(f"arn:aws:s3:::{bucket}/") for resource in resources
        )


def test_object_statements_do_not_use_the_bucket_resource_which_would_be_a_cycle():
    # MediaBucket depends on the function (its notification), which depends on the role.
    role = load()["Resources"]["IngestRole"]
    assert "MediaBucket" not in set(references(role))


def test_the_function_uses_only_the_explicit_role_and_no_managed_policies():
    function = load()["Resources"]["IngestFunction"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["IngestRole", "Arn"]}
    assert "Policies" not in function
    role = load()["Resources"]["IngestRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_kms_decrypt_is_granted_only_for_the_given_key_and_only_through_secrets_manager():
    without_key = Template(load(), NEW_BUCKET).role_statements()
    assert not any("kms:" in str(statement["Action"]) for statement in without_key)
    with_key = Template(load(), {**NEW_BUCKET, "WistiaSecretKmsKeyArn": KEY_ARN}).role_statements()
    (kms,) = [statement for statement in with_key if "kms:" in str(statement["Action"])]
    assert kms["Action"] == "kms:Decrypt"
    assert kms["Resource"] == KEY_ARN
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}


def _policy_documents(resources: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        for policy in properties.get("Policies", []):
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                yield name, policy["PolicyDocument"]
        if "PolicyDocument" in properties:
            yield name, properties["PolicyDocument"]


def _statements(document: Any) -> Iterator[dict[str, Any]]:
    """Policy statements, including both branches of a conditional statement."""
    for statement in as_list(document["Statement"]):
        if set(statement) == {"Fn::If"}:
            yield from (
                branch
                for branch in statement["Fn::If"][1:]
                if isinstance(branch, dict) and "Effect" in branch
            )
        else:
            yield statement


@pytest.mark.parametrize(
    "params",
    [
        BUFFERED_NEW,
        BUFFERED_EXISTING,
        DIRECT_NEW,
        DIRECT_EXISTING,
        {**NEW_BUCKET, "CopyMode": "url_import", "ObjectMetadata": "true", "WriteBackTagKey": "k"},
    ],
    ids=[
        "buffered-new-bucket",
        "buffered-existing-bucket",
        "direct-new-bucket",
        "direct-existing-bucket",
        "every-object-permission",
    ],
)
def test_no_allow_statement_has_a_wildcard_resource_except_xray(params):
    documents = list(_policy_documents(translate(params)["Resources"]))
    assert {name for name, _ in documents} >= {"IngestRole", "FailureQueuePolicy", "AlarmTopicPolicy"}
    for name, document in documents:
        for statement in _statements(document):
            if statement["Effect"] != "Allow":
                continue
            actions = as_list(statement["Action"])
            assert all(action != "*" and not action.endswith(":*") for action in actions), (name, actions)
            if "*" in as_list(statement.get("Resource")):
                # X-Ray's write actions have no resource-level permissions: AWS requires "*".
                assert set(actions) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, (name, actions)


# ---------------------------------------------------------------- trigger modes

NEW_BUCKET_ONLY = {"MediaBucket", "MediaBucketPolicy", "MediaBucketNotificationAccess"}
EXISTING_BUCKET_ONLY = {"ExistingBucketRule"}
BUFFERED_ONLY = {"IngestQueue", "IngestQueuePolicy", "IngestEventSourceMapping", "IngestBacklogAgeAlarm"}
DIRECT_ONLY = {
    "IngestFunctionEventInvokeConfig",
    "AsyncEventsDroppedAlarm",
    "DestinationDeliveryFailuresAlarm",
}
DIRECT_NEW_BUCKET_ONLY = {"S3InvokePermission"}
DIRECT_EXISTING_BUCKET_ONLY = {"EventBridgeInvokePermission"}
MODE_RESOURCES = (
    (NEW_BUCKET_ONLY | EXISTING_BUCKET_ONLY | BUFFERED_ONLY | DIRECT_ONLY)
    | DIRECT_NEW_BUCKET_ONLY
    | DIRECT_EXISTING_BUCKET_ONLY
)


@pytest.mark.parametrize(
    ("params", "present"),
    [
        (BUFFERED_NEW, NEW_BUCKET_ONLY | BUFFERED_ONLY),
        (BUFFERED_EXISTING, EXISTING_BUCKET_ONLY | BUFFERED_ONLY),
        (DIRECT_NEW, NEW_BUCKET_ONLY | DIRECT_ONLY | DIRECT_NEW_BUCKET_ONLY),
        (DIRECT_EXISTING, EXISTING_BUCKET_ONLY | DIRECT_ONLY | DIRECT_EXISTING_BUCKET_ONLY),
    ],
    ids=["buffered-new-bucket", "buffered-existing-bucket", "direct-new-bucket", "direct-existing-bucket"],
)
def test_each_delivery_and_trigger_mode_translates_to_a_consistent_template(params, present):
    translated = translate(params)
    template = Template(translated, params)
    active = {name for name in translated["Resources"] if template.active(name)}
    assert present <= active
    assert not ((MODE_RESOURCES - present) & active)
    for always in ("IngestFunction", "FailureQueue", "IdempotencyTable", "AlarmTopic", "IngestLogGroup"):
        assert always in active
    # Nothing that is created may point at something that is not (the deployment would fail).
    for name in active:
        resource = translated["Resources"][name]
        targets = set(references(resource.get("Properties", {}), template))
        targets |= set(references(resource.get("Metadata", {}), template))
        targets |= set(as_list(resource.get("DependsOn", [])))
        dangling = {t for t in targets if t in translated["Resources"] and t not in active}
        assert not dangling, f"{name} refers to resources that are not created: {dangling}"
    for output in translated["Outputs"].values():
        if "Condition" in output and not template.condition(output["Condition"]):
            continue  # not created either
        assert not {
            t for t in references(output, template) if t in translated["Resources"] and t not in active
        }


@pytest.mark.parametrize(
    ("params", "kind", "destination", "access"),
    [
        (BUFFERED_NEW, "QueueConfigurations", ("Queue", "<IngestQueue.Arn>"), "<IngestQueuePolicy>"),
        (DIRECT_NEW, "LambdaConfigurations", ("Function", "<IngestFunction.Arn>"), "<S3InvokePermission>"),
    ],
    ids=["buffered", "direct"],
)
def test_the_new_bucket_notifies_the_mode_destination_after_s3_may_deliver_to_it(
    params, kind, destination, access
):
    template = Template(load(), params)
    notifications = template.properties("MediaBucket")["NotificationConfiguration"]
    assert set(notifications) == {kind}
    (notification,) = notifications[kind]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification[destination[0]] == destination[1]
    assert "Filter" not in notification  # no prefix configured: every key reaches the function
    # S3 checks its access to the destination when the notification is saved: the bucket waits
    # for the queue policy or the permission, through a handle (DependsOn takes no Fn::If).
    assert load()["Resources"]["MediaBucket"]["DependsOn"] == "MediaBucketNotificationAccess"
    gate = load()["Resources"]["MediaBucketNotificationAccess"]
    assert gate["Type"] == "AWS::CloudFormation::WaitConditionHandle"
    assert template.value(gate["Metadata"]) == {"Access": access}


def test_new_bucket_is_encrypted_versioned_private_and_retained():
    template = Template(load(), DIRECT_NEW)
    bucket = template.properties("MediaBucket")
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    # SSE-S3: Wistia's cross-account GetObject cannot use the AWS-managed aws/s3 KMS key.
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert load()["Resources"]["MediaBucket"]["DeletionPolicy"] == "RetainExceptOnCreate"
    permission = template.properties("S3InvokePermission")
    assert (permission["Principal"], permission["SourceAccount"]) == ("s3.amazonaws.com", "123456789012")


@pytest.mark.parametrize("delivery", ["buffered", "direct"])
def test_the_s3_notification_sends_every_key_because_the_function_filters(delivery):
    # S3 allows one prefix rule per notification and matches suffixes case-sensitively, so the
    # function is the one place where prefixes and extensions are checked.
    params = {**NEW_BUCKET, "AllowedPrefixes": "videos/,raw/", "Delivery": delivery}
    bucket = Template(load(), params).properties("MediaBucket")
    (configurations,) = bucket["NotificationConfiguration"].values()
    (notification,) = configurations
    assert "Filter" not in notification


def test_conditions_use_only_functions_the_local_emulator_evaluates():
    allowed = {"Ref", "Condition", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"}

    def functions(node: Any) -> Iterator[str]:
        if isinstance(node, list):
            for item in node:
                yield from functions(item)
        elif isinstance(node, dict):
            for key, arg in node.items():
                yield key
                yield from functions(arg)

    used = {name for definition in load()["Conditions"].values() for name in functions(definition)}
    assert used <= allowed, used - allowed


def test_new_bucket_policy_denies_plain_http():
    statements = Template(load(), NEW_BUCKET).properties("MediaBucketPolicy")["PolicyDocument"]["Statement"]
    (deny,) = statements  # no Wistia account given: no grant
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == ["<MediaBucket.Arn>", "<MediaBucket.Arn>/*"]


@pytest.mark.parametrize(
    ("prefixes", "resources"),
    [
        ("", {"<MediaBucket.Arn>/*"}),
        ("videos/", {"<MediaBucket.Arn>/videos/*"}),
        ("a/,b/", {"<MediaBucket.Arn>/a/*", "<MediaBucket.Arn>/b/*"}),
        ("a/,b/,c/,d/,e/", {f"<MediaBucket.Arn>/{p}/*" for p in "abcde"}),
    ],
    ids=["any-key", "one-prefix", "two-prefixes", "five-prefixes"],
)
def test_wistia_may_read_objects_only_under_the_allowed_prefixes(prefixes, resources):
    params = {**NEW_BUCKET, "WistiaAwsAccountId": "210987654321", "AllowedPrefixes": prefixes}
    statements = Template(load(), params).properties("MediaBucketPolicy")["PolicyDocument"]["Statement"]
    (grant,) = [statement for statement in statements if statement["Effect"] == "Allow"]
    assert grant["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
    assert grant["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert set(grant["Resource"]) == resources


@pytest.mark.parametrize(
    ("prefixes", "key_filter"),
    [("", None), ("videos/", [{"prefix": "videos/"}]), ("a/,b/", [{"prefix": "a/"}, {"prefix": "b/"}])],
    ids=["any-key", "one-prefix", "two-prefixes"],
)
def test_existing_bucket_rule_matches_object_created_in_that_bucket_under_the_prefixes(prefixes, key_filter):
    template = Template(load(), {**DIRECT_EXISTING, "AllowedPrefixes": prefixes})
    rule = template.properties("ExistingBucketRule")
    pattern = json.loads(rule["EventPattern"])
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"] == {"name": ["media"]}
    assert pattern["detail"].get("object", {}).get("key") == key_filter
    assert rule["Targets"] == [{"Id": "ingest", "Arn": "<IngestFunction.Arn>"}]
    buffered = Template(load(), {**BUFFERED_EXISTING, "AllowedPrefixes": prefixes})
    assert buffered.properties("ExistingBucketRule")["Targets"] == [
        {"Id": "ingest", "Arn": "<IngestQueue.Arn>"}
    ]
    assert buffered.properties("ExistingBucketRule")["EventPattern"] == rule["EventPattern"]
    permission = template.properties("EventBridgeInvokePermission")
    assert (permission["Principal"], permission["SourceArn"]) == (
        "events.amazonaws.com",
        "<ExistingBucketRule.Arn>",
    )


# ---------------------------------------------------------------- operations


@EVERY_MODE
def test_no_concurrency_is_reserved_by_default_so_a_quota_of_10_deploys(params):
    # Lambda keeps 100 unreserved: an account whose quota is 10 cannot reserve any, and the
    # stack would fail to create (Lambda Developer Guide, "Configuring reserved concurrency").
    assert load()["Parameters"]["ReservedConcurrency"]["Default"] == -1
    assert "ReservedConcurrentExecutions" not in Template(load(), params).properties("IngestFunction")


def test_reserved_concurrency_stays_an_option_and_zero_is_allowed():
    parameter = load()["Parameters"]["ReservedConcurrency"]
    assert parameter["MinValue"] == -1
    reserved = Template(load(), {**DIRECT_NEW, "ReservedConcurrency": "5"}).properties("IngestFunction")
    assert reserved["ReservedConcurrentExecutions"] == "5"
    paused = Template(load(), {**DIRECT_NEW, "ReservedConcurrency": "0"}).properties("IngestFunction")
    assert paused["ReservedConcurrentExecutions"] == "0"


def test_function_runs_python313_on_arm64_with_the_layer_timeout_and_memory_from_parameters():
    function = Template(load(), NEW_BUCKET).properties("IngestFunction")
    assert (function["Runtime"], function["Architectures"]) == ("python3.13", ["arm64"])
    assert (function["CodeUri"], function["Handler"]) == ("functions/ingest/", "app.lambda_handler")
    assert function["Layers"] == ["<BridgeLayer>"]
    assert (function["Timeout"], function["MemorySize"]) == ("60", "256")
    assert function["LoggingConfig"] == {"LogGroup": "<IngestLogGroup>"}
    layer = load()["Resources"]["BridgeLayer"]
    # makefile builds: exact --no-deps pins (no botocore in the layer) and precompiled bytecode.
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/bridge/"
    function_metadata = load()["Resources"]["IngestFunction"]["Metadata"]
    assert (function_metadata["BuildMethod"], function_metadata["BuildArchitecture"]) == ("makefile", "arm64")


def test_the_layer_requirements_are_complete_exact_pins_without_the_runtime_sdk():
    lines = (ROOT / "layers/bridge/requirements.txt").read_text().splitlines()
    pins = [
        line.split("==")[0].split("[")[0].lower().replace("_", "-")
        for line in lines
        if line and not line.startswith("#")
    ]
    assert all("==" in line for line in lines if line and not line.startswith("#"))
    assert {"aws-lambda-powertools", "requests", "urllib3", "aws-xray-sdk", "wrapt"} <= set(pins)
    assert not {"boto3", "botocore", "s3transfer"} & set(pins)
    build = (ROOT / "layers/bridge/Makefile").read_text()
    assert "--no-deps" in build
    assert "compileall" in build


def test_the_http_budget_fits_inside_the_default_function_timeout():
    parameters = load()["Parameters"]
    # One attempt at the longest read timeout must fit, or the idempotency lock can expire mid-copy.
    one_attempt = (
        parameters["WistiaConnectTimeoutSeconds"]["Default"]
        + parameters["WistiaReadTimeoutSeconds"]["Default"]
    )
    assert one_attempt < parameters["FunctionTimeoutSeconds"]["Default"]


def test_log_group_retention_is_a_parameter():
    template = Template(load(), {**NEW_BUCKET, "LogRetentionDays": "30"})
    assert template.properties("IngestLogGroup")["RetentionInDays"] == "30"


def test_idempotency_table_has_id_key_ttl_on_expiration_encryption_and_pitr():
    table = Template(load(), NEW_BUCKET).properties("IdempotencyTable")
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize(
    ("alarm", "namespace", "metric"),
    [
        ("FailureQueueNotEmptyAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("FunctionErrorsAlarm", "AWS/Lambda", "Errors"),
        ("FunctionThrottlesAlarm", "AWS/Lambda", "Throttles"),
        ("AsyncEventsDroppedAlarm", "AWS/Lambda", "AsyncEventsDropped"),
        ("DestinationDeliveryFailuresAlarm", "AWS/Lambda", "DestinationDeliveryFailures"),
    ],
)
def test_alarms_fire_on_the_first_occurrence_and_notify_the_topic(alarm, namespace, metric):
    properties = Template(load(), DIRECT_NEW).properties(alarm)
    assert (properties["Namespace"], properties["MetricName"]) == (namespace, metric)
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)
    assert properties["AlarmActions"] == ["<AlarmTopic>"]
    assert properties["TreatMissingData"] == "notBreaching"
    (dimension,) = properties["Dimensions"]
    expected = "<FailureQueue.QueueName>" if namespace == "AWS/SQS" else "<IngestFunction>"
    assert dimension["Value"] == expected


def test_alarm_email_subscription_exists_only_when_an_address_is_given():
    assert not Template(load(), NEW_BUCKET).active("AlarmEmailSubscription")
    template = Template(load(), {**NEW_BUCKET, "AlarmEmail": "ops@example.com"})
    subscription = template.properties("AlarmEmailSubscription")
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")


@pytest.mark.parametrize("params", [BUFFERED_NEW, DIRECT_NEW], ids=["buffered", "direct"])
def test_dashboard_is_valid_json_and_shows_every_bridge_metric(params):
    body = json.loads(Template(load(), params).properties("Dashboard")["DashboardBody"])
    queues = {
        metric[3]
        for widget in body["widgets"]
        for metric in widget["properties"]["metrics"]
        if metric[0] == "AWS/SQS"
    }
    expected = {"<FailureQueue.QueueName>", "<IngestQueue.QueueName>"}
    assert queues == (expected if params["Delivery"] == "buffered" else {"<FailureQueue.QueueName>"})
    shown = {
        metric[1]
        for widget in body["widgets"]
        for metric in widget["properties"]["metrics"]
        if isinstance(metric[0], str) and metric[0] == "S3WistiaBridge"
    }
    assert shown == BRIDGE_METRICS
    for widget in body["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if metric[0] == "S3WistiaBridge":
                assert metric[2:4] == ["service", "s3-wistia-bridge"]


def test_outputs_name_the_delivery_mode_and_in_buffered_mode_the_ingest_queue():
    outputs = load()["Outputs"]
    for name in ("IngestQueueUrl", "IngestQueueArn", "IngestEventSourceMappingId"):
        assert outputs[name]["Condition"] == "Buffered"
    values = Template(load(), BUFFERED_NEW).value(outputs)
    assert values["Delivery"]["Value"] == "buffered"
    assert values["IngestQueueUrl"]["Value"] == "<IngestQueue>"
    assert values["IngestQueueArn"]["Value"] == "<IngestQueue.Arn>"
    assert values["IngestEventSourceMappingId"]["Value"] == "<IngestEventSourceMapping>"
    assert Template(load(), DIRECT_NEW).value(outputs)["Delivery"]["Value"] == "direct"


def test_outputs_name_the_bucket_queue_function_table_and_topic():
    outputs = Template(load(), EXISTING_BUCKET).value(load()["Outputs"])
    assert outputs["BucketName"]["Value"] == "media"
    assert outputs["FailureQueueUrl"]["Value"] == "<FailureQueue>"
    assert outputs["FailureQueueArn"]["Value"] == "<FailureQueue.Arn>"
    assert outputs["IngestFunctionName"]["Value"] == "<IngestFunction>"
    assert outputs["IngestFunctionArn"]["Value"] == "<IngestFunction.Arn>"
    assert outputs["IdempotencyTableName"]["Value"] == "<IdempotencyTable>"
    assert outputs["AlarmTopicArn"]["Value"] == "<AlarmTopic>"
    assert outputs["LedgerTableName"]["Value"] == "<LedgerTable>"
    assert outputs["WebhookUrl"] == {
        "Condition": "TrackWebhooks",
        "Description": outputs["WebhookUrl"]["Description"],
        "Value": "<WebhookFunctionUrl.FunctionUrl>",
    }
    assert outputs["BatchFunctionAliasArn"]["Value"] == "<BatchFunction.Alias>"
    assert outputs["BatchOperationsRoleArn"]["Condition"] == "CreateBatchOperationsRole"


# ---------------------------------------------------------------- buffered delivery


def test_delivery_is_buffered_by_default_or_direct():
    parameter = load()["Parameters"]["Delivery"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("buffered", ["buffered", "direct"])


@pytest.mark.parametrize(
    ("parameter", "default", "bounds"),
    [
        ("MaxConcurrency", 5, (2, 1000)),  # ScalingConfig.MaximumConcurrency's own bounds
        ("BatchSize", 1, (1, 10)),
        ("MaxBatchingWindowSeconds", 0, (0, 300)),
        ("MaxReceiveCount", 8, (1, 1000)),
        ("BacklogAgeAlarmSeconds", 900, (60, 345600)),
    ],
)
def test_buffered_parameters_have_their_defaults_and_bounds(parameter, default, bounds):
    spec = load()["Parameters"][parameter]
    assert spec["Default"] == default
    assert (spec["MinValue"], spec["MaxValue"]) == bounds


def test_the_event_source_mapping_throttles_and_reports_partial_batch_failures():
    template = Template(load(), BUFFERED_NEW)
    mapping = template.properties("IngestEventSourceMapping")
    assert mapping["FunctionName"] == "<IngestFunction>"
    assert mapping["EventSourceArn"] == "<IngestQueue.Arn>"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": "5"}
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == ("1", "0")
    params = {**BUFFERED_NEW, "MaxConcurrency": "20", "BatchSize": "10", "MaxBatchingWindowSeconds": "5"}
    tuned = Template(load(), params).properties("IngestEventSourceMapping")
    assert tuned["ScalingConfig"] == {"MaximumConcurrency": "20"}
    assert (tuned["BatchSize"], tuned["MaximumBatchingWindowInSeconds"]) == ("10", "5")


def test_the_ingest_queue_is_encrypted_and_redrives_to_the_failure_queue():
    template = Template(load(), {**BUFFERED_NEW, "MaxReceiveCount": "3"})
    queue = template.properties("IngestQueue")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": "<FailureQueue.Arn>", "maxReceiveCount": "3"}
    assert Template(load(), BUFFERED_NEW).properties("IngestQueue")["RedrivePolicy"]["maxReceiveCount"] == "8"


def test_the_failure_queue_keeps_messages_longer_than_the_ingest_queue():
    # A standard queue's message keeps its original enqueue timestamp when it is moved to the
    # dead-letter queue: the dead-letter queue's retention must be the longer one.
    template = Template(load(), BUFFERED_NEW)
    ingest = int(template.properties("IngestQueue")["MessageRetentionPeriod"])
    failure = int(template.properties("FailureQueue")["MessageRetentionPeriod"])
    assert ingest == 4 * 24 * 3600
    assert failure == 14 * 24 * 3600  # SQS's maximum
    assert failure > ingest


@pytest.mark.parametrize("timeout", load()["Parameters"]["FunctionTimeoutSeconds"]["AllowedValues"])
def test_the_visibility_timeout_is_at_least_six_function_timeouts(timeout):
    # Lambda Developer Guide, "Using Lambda with Amazon SQS": at least six times the timeout.
    template = Template(load(), {**BUFFERED_NEW, "FunctionTimeoutSeconds": str(timeout)})
    visibility = int(template.properties("IngestQueue")["VisibilityTimeout"])
    assert visibility >= 6 * timeout
    assert visibility <= 43200  # SQS's maximum visibility timeout (12 hours)
    assert template.properties("IngestFunction")["Timeout"] == str(timeout)


def test_every_allowed_function_timeout_has_a_visibility_timeout_and_no_other():
    parameter = load()["Parameters"]["FunctionTimeoutSeconds"]
    assert set(load()["Mappings"]["FunctionTimeouts"]) == {str(v) for v in parameter["AllowedValues"]}
    assert parameter["Default"] in parameter["AllowedValues"]
    assert max(parameter["AllowedValues"]) == 900  # Lambda's maximum


@pytest.mark.parametrize(
    ("params", "principal", "condition"),
    [
        (
            BUFFERED_NEW,
            "s3.amazonaws.com",
            {
                "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{GENERATED_BUCKET}"},
                "StringEquals": {"aws:SourceAccount": "123456789012"},
            },
        ),
        (
            {**BUFFERED_NEW, "BucketName": "my-videos"},
            "s3.amazonaws.com",
            {
                "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::my-videos"},
                "StringEquals": {"aws:SourceAccount": "123456789012"},
            },
        ),
        (
            BUFFERED_EXISTING,
            "events.amazonaws.com",
            {"ArnEquals": {"aws:SourceArn": "<ExistingBucketRule.Arn>"}},
        ),
    ],
    ids=["generated-bucket", "named-bucket", "existing-bucket-rule"],
)
def test_only_the_bucket_or_the_rule_may_send_to_the_ingest_queue_and_only_over_tls(
    params, principal, condition
):
    policy = Template(load(), params).properties("IngestQueuePolicy")
    assert policy["Queues"] == ["<IngestQueue>"]
    deny, allow = policy["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Resource"]) == ("Deny", "<IngestQueue.Arn>")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"Service": principal}
    assert (allow["Action"], allow["Resource"]) == ("sqs:SendMessage", "<IngestQueue.Arn>")
    assert allow["Condition"] == condition


def test_the_queue_policy_does_not_refer_to_the_bucket_which_would_be_a_cycle():
    # MediaBucket depends on the policy (S3 checks it when the notification is saved).
    assert "MediaBucket" not in set(references(load()["Resources"]["IngestQueuePolicy"]))


@pytest.mark.parametrize("params", [BUFFERED_NEW, BUFFERED_EXISTING], ids=["new-bucket", "existing-bucket"])
def test_the_function_may_consume_only_the_ingest_queue(params):
    statements = Template(load(), params).role_statements()
    (ingest,) = [s for s in statements if s.get("Sid") == "IngestQueue"]
    assert ingest["Resource"] == "<IngestQueue.Arn>"
    assert {(a, ingest["Resource"]) for a in ingest["Action"]} == INGEST_QUEUE_GRANTS
    assert not any(s.get("Sid") == "IngestQueue" for s in Template(load(), DIRECT_NEW).role_statements())


def _alarm_metrics(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {query["Id"]: query for query in properties["Metrics"]}


@pytest.mark.parametrize("params", [BUFFERED_NEW, DIRECT_NEW], ids=["buffered", "direct"])
def test_new_failures_alarm_fires_on_each_increase_of_the_failure_queue_and_clears(params):
    # Moves by a redrive policy are not counted in the dead-letter queue's NumberOfMessagesSent
    # (SQS Developer Guide, "Available CloudWatch metrics"): the alarm watches what the queue
    # holds, visible plus in flight (inspecting messages does not change it), and fires when it
    # grew since the minute before; the next minute without growth turns it OK again.
    properties = Template(load(), params).properties("FailureQueueNewFailuresAlarm")
    queries = _alarm_metrics(properties)
    assert queries["increase"]["Expression"] == "DIFF(visible + inflight)"
    assert queries["increase"]["ReturnData"] is True
    for query_id, metric in (
        ("visible", "ApproximateNumberOfMessagesVisible"),
        ("inflight", "ApproximateNumberOfMessagesNotVisible"),
    ):
        stat = queries[query_id]["MetricStat"]
        assert queries[query_id]["ReturnData"] is False
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == ("AWS/SQS", metric)
        assert stat["Metric"]["Dimensions"] == [{"Name": "QueueName", "Value": "<FailureQueue.QueueName>"}]
        assert (stat["Period"], stat["Stat"]) == (60, "Maximum")
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (1, 1)
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == properties["OKActions"] == ["<AlarmTopic>"]
    assert "MetricName" not in properties
    assert "Namespace" not in properties


def test_the_failure_queue_alarms_before_its_messages_expire():
    properties = Template(load(), BUFFERED_NEW).properties("FailureQueueRetentionAlarm")
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert properties["Dimensions"] == [{"Name": "QueueName", "Value": "<FailureQueue.QueueName>"}]
    retention = int(Template(load(), BUFFERED_NEW).properties("FailureQueue")["MessageRetentionPeriod"])
    assert properties["Threshold"] == 10 * 24 * 3600
    assert properties["Threshold"] < retention
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["AlarmActions"] == ["<AlarmTopic>"]


def test_the_ingest_backlog_alarm_watches_the_oldest_message_against_its_parameter():
    template = Template(load(), {**BUFFERED_NEW, "BacklogAgeAlarmSeconds": "1800"})
    properties = template.properties("IngestBacklogAgeAlarm")
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert properties["Dimensions"] == [{"Name": "QueueName", "Value": "<IngestQueue.QueueName>"}]
    assert (properties["Statistic"], properties["Threshold"]) == ("Maximum", "1800")
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == properties["OKActions"] == ["<AlarmTopic>"]


@EVERY_MODE
def test_alarms_exist_only_in_the_delivery_mode_they_watch(params):
    template = Template(load(), params)
    buffered = params["Delivery"] == "buffered"
    assert template.active("IngestBacklogAgeAlarm") is buffered
    assert template.active("AsyncEventsDroppedAlarm") is not buffered
    assert template.active("DestinationDeliveryFailuresAlarm") is not buffered
    for always in ("FailureQueueNotEmptyAlarm", "FailureQueueNewFailuresAlarm", "FailureQueueRetentionAlarm"):
        assert template.active(always)
