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
from s3_wistia_bridge.config import FUNCTION_ENVIRONMENT, VARIABLES, BridgeConfig, ConfigError, Variable
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wistia/token-AbCdEf"
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
GENERATED_BUCKET = "s3-wistia-bridge-123456789012-0affd1c3e2b5"
NEW_BUCKET = {"TriggerMode": "NewBucket", "WistiaSecretArn": SECRET_ARN}
EXISTING_BUCKET = {
    "TriggerMode": "ExistingBucket",
    "ExistingBucketName": "media",
    "WistiaSecretArn": SECRET_ARN,
}
BRIDGE_METRICS = {
    "ObjectCopied",
    "ObjectRejected",
    "ObjectSkipped",
    "PermanentFailure",
    "TransientFailure",
    "WistiaRetry",
    "DuplicateSuppressed",
    "WriteBackFailed",
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
            assert resource in self.resources, f"GetAtt of unknown resource {resource}"
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
        assert name in self.resources, f"Ref to unknown name {name}"
        return f"<{name}>"

    def _sub_variable(self, name: str, bound: Mapping[str, Any]) -> str:
        if name in bound:
            return str(bound[name])
        if "." in name and name.split(".", 1)[0] in self.resources:
            return f"<{name}>"
        return str(self._ref(name))

    def environment(self) -> dict[str, str]:
        variables = self.properties("IngestFunction")["Environment"]["Variables"]
        return {name: str(value) for name, value in variables.items()}

    def role_statements(self) -> list[dict[str, Any]]:
        return [
            statement
            for policy in self.properties("IngestRole")["Policies"]
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
    template["Resources"]["IngestFunction"]["Properties"]["CodeUri"] = "s3://artifacts/ingest.zip"
    template["Resources"]["BridgeLayer"]["Properties"]["ContentUri"] = "s3://artifacts/layer.zip"
    session = boto3.session.Session(region_name=PSEUDO["AWS::Region"])
    translator = Translator(None, Parser(), boto_session=session)
    result = translator.translate(template, parameter_values=dict(params), get_managed_policy_map=dict)
    assert isinstance(result, dict)
    return result


# Declared by the function (r2-ledger) but wired by the template's own branch, which owns
# template.yaml: drop each name from here when template.yaml sets it.
AWAITING_TEMPLATE = frozenset({"CONTENT_CHECK", "LEDGER_TABLE", "EVENT_BUS_NAME"})
WIRED_VARIABLES = tuple(variable for variable in VARIABLES if variable.name not in AWAITING_TEMPLATE)


def function_environment_contract() -> set[str]:
    return set(FUNCTION_ENVIRONMENT) - AWAITING_TEMPLATE


def java_full_match(pattern: str, value: str) -> bool:
    """CloudFormation's AllowedPattern must match the whole value (Java regex semantics)."""
    return re.fullmatch(pattern, value) is not None


# ---------------------------------------------------------------- asynchronous invocation


def test_lambda_retries_an_event_twice_then_sends_it_to_the_failure_queue():
    invoke = load()["Resources"]["IngestFunction"]["Properties"]["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["MaximumEventAgeInSeconds"] == {"Ref": "MaxEventAgeSeconds"}
    assert invoke["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]},
    }
    age = load()["Parameters"]["MaxEventAgeSeconds"]
    assert (age["MinValue"], age["MaxValue"]) == (60, 21600)  # Lambda's own bounds


def test_translated_event_invoke_config_targets_the_failure_queue_on_latest():
    resources = translate(NEW_BUCKET)["Resources"]
    configs = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert len(configs) == 1
    properties = configs[0]["Properties"]
    assert properties["FunctionName"] == {"Ref": "IngestFunction"}
    assert properties["MaximumRetryAttempts"] == 2
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailureQueue", "Arn"]
    }
    assert not any(r["Type"] == "AWS::SQS::Queue" and name != "FailureQueue" for name, r in resources.items())


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
}


@pytest.mark.parametrize(
    "variable", [v for v in WIRED_VARIABLES if len(v.parameters) == 1], ids=lambda variable: variable.name
)
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


@pytest.mark.parametrize(
    ("params", "bucket"),
    [
        (NEW_BUCKET, GENERATED_BUCKET),
        ({**NEW_BUCKET, "BucketName": "my-videos"}, "my-videos"),
        (EXISTING_BUCKET, "media"),
    ],
    ids=["generated-name", "named-bucket", "existing-bucket"],
)
def test_the_function_allows_exactly_the_bucket_that_triggers_it(params, bucket):
    template = Template(load(), params)
    assert template.environment()["ALLOWED_BUCKETS"] == bucket
    assert template.environment()["ALLOWED_REGIONS"] == PSEUDO["AWS::Region"]
    if params["TriggerMode"] == "NewBucket":
        assert template.properties("MediaBucket")["BucketName"] == bucket
        assert template.properties("S3InvokePermission")["SourceArn"] == f"arn:aws:s3:::{bucket}"
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
    declared = {name for variable in WIRED_VARIABLES for name in variable.parameters}
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
            ["", "videos/", "a/,b/,c/,d/,e/", "raw_2024/(final)/"],
            ["/videos/", "a/, b/", "a/,b/,c/,d/,e/,f/", "my videos/", 'a"b/', "a/,"],
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


def test_the_role_may_read_the_one_secret_send_to_the_one_queue_use_the_one_table_and_nothing_else():
    statements = Template(load(), NEW_BUCKET).role_statements()
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
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    }


OBJECT_SIDS = {"ReadObjects", "WriteBackTag"}
READ_ACTIONS = {"s3:GetObject", "s3:GetObjectVersion"}
TAG_ACTIONS = {
    "s3:GetObjectTagging",
    "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (NEW_BUCKET, {}),
        ({**NEW_BUCKET, "CopyMode": "url_import"}, {"ReadObjects": READ_ACTIONS}),
        ({**EXISTING_BUCKET, "ObjectMetadata": "true"}, {"ReadObjects": READ_ACTIONS}),
        ({**NEW_BUCKET, "WriteBackTagKey": "wistia-hashed-id"}, {"WriteBackTag": TAG_ACTIONS}),
        (
            {**EXISTING_BUCKET, "CopyMode": "url_import", "ObjectMetadata": "true", "WriteBackTagKey": "k"},
            {"ReadObjects": READ_ACTIONS, "WriteBackTag": TAG_ACTIONS},
        ),
    ],
    ids=["s3-copy", "url-import", "metadata", "write-back", "everything"],
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
    statements = [s for s in template.role_statements() if s.get("Sid") in OBJECT_SIDS]
    assert len(statements) == (2 if write_back else 1)
    # The same bucket the function is allowed to copy from, and nothing wider.
    assert template.environment()["ALLOWED_BUCKETS"] == bucket
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
        NEW_BUCKET,
        EXISTING_BUCKET,
        {**NEW_BUCKET, "CopyMode": "url_import", "ObjectMetadata": "true", "WriteBackTagKey": "k"},
    ],
    ids=["new-bucket", "existing-bucket", "every-object-permission"],
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

NEW_BUCKET_ONLY = {"MediaBucket", "MediaBucketPolicy", "S3InvokePermission"}
EXISTING_BUCKET_ONLY = {"ExistingBucketRule", "EventBridgeInvokePermission"}


@pytest.mark.parametrize(
    ("params", "present", "absent"),
    [
        (NEW_BUCKET, NEW_BUCKET_ONLY, EXISTING_BUCKET_ONLY),
        (EXISTING_BUCKET, EXISTING_BUCKET_ONLY, NEW_BUCKET_ONLY),
    ],
    ids=["new-bucket", "existing-bucket"],
)
def test_each_trigger_mode_translates_to_a_consistent_template(params, present, absent):
    translated = translate(params)
    template = Template(translated, params)
    active = {name for name in translated["Resources"] if template.active(name)}
    assert present <= active
    assert not (absent & active)
    for always in ("IngestFunction", "FailureQueue", "IdempotencyTable", "AlarmTopic", "IngestLogGroup"):
        assert always in active
    # Nothing that is created may point at something that is not (the deployment would fail).
    for name in active:
        resource = translated["Resources"][name]
        targets = set(references(resource.get("Properties", {}), template))
        targets |= set(as_list(resource.get("DependsOn", [])))
        dangling = {t for t in targets if t in translated["Resources"] and t not in active}
        assert not dangling, f"{name} refers to resources that are not created: {dangling}"
    for output in translated["Outputs"].values():
        assert not {
            t for t in references(output, template) if t in translated["Resources"] and t not in active
        }


def test_new_bucket_is_encrypted_versioned_private_and_notifies_the_function():
    template = Template(load(), NEW_BUCKET)
    bucket = template.properties("MediaBucket")
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    # SSE-S3: Wistia's cross-account GetObject cannot use the AWS-managed aws/s3 KMS key.
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (notification,) = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Function"] == "<IngestFunction.Arn>"
    assert "Filter" not in notification  # no prefix configured: every key reaches the function
    assert load()["Resources"]["MediaBucket"]["DependsOn"] == "S3InvokePermission"
    assert load()["Resources"]["MediaBucket"]["DeletionPolicy"] == "Retain"
    permission = template.properties("S3InvokePermission")
    assert (permission["Principal"], permission["SourceAccount"]) == ("s3.amazonaws.com", "123456789012")


def test_the_s3_notification_sends_every_key_because_the_function_filters():
    # S3 allows one prefix rule per notification and matches suffixes case-sensitively, so the
    # function is the one place where prefixes and extensions are checked.
    bucket = Template(load(), {**NEW_BUCKET, "AllowedPrefixes": "videos/,raw/"}).properties("MediaBucket")
    (notification,) = bucket["NotificationConfiguration"]["LambdaConfigurations"]
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
    template = Template(load(), {**EXISTING_BUCKET, "AllowedPrefixes": prefixes})
    rule = template.properties("ExistingBucketRule")
    pattern = json.loads(rule["EventPattern"])
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"] == {"name": ["media"]}
    assert pattern["detail"].get("object", {}).get("key") == key_filter
    assert rule["Targets"] == [{"Id": "ingest", "Arn": "<IngestFunction.Arn>"}]
    permission = template.properties("EventBridgeInvokePermission")
    assert (permission["Principal"], permission["SourceArn"]) == (
        "events.amazonaws.com",
        "<ExistingBucketRule.Arn>",
    )


# ---------------------------------------------------------------- operations


def test_reserved_concurrency_is_a_parameter_small_by_default_and_zero_is_allowed():
    parameter = load()["Parameters"]["ReservedConcurrency"]
    assert 1 <= parameter["Default"] <= 10
    assert parameter["MinValue"] <= 0  # 0 pauses the bridge
    assert Template(load(), NEW_BUCKET).properties("IngestFunction")["ReservedConcurrentExecutions"] == "5"
    paused = Template(load(), {**NEW_BUCKET, "ReservedConcurrency": "0"}).properties("IngestFunction")
    assert paused["ReservedConcurrentExecutions"] == "0"
    unreserved = Template(load(), {**NEW_BUCKET, "ReservedConcurrency": "-1"}).properties("IngestFunction")
    assert "ReservedConcurrentExecutions" not in unreserved


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
    properties = Template(load(), NEW_BUCKET).properties(alarm)
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


def test_dashboard_is_valid_json_and_shows_every_bridge_metric():
    body = json.loads(Template(load(), NEW_BUCKET).properties("Dashboard")["DashboardBody"])
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


def test_outputs_name_the_bucket_queue_function_table_and_topic():
    outputs = Template(load(), EXISTING_BUCKET).value(load()["Outputs"])
    assert outputs["BucketName"]["Value"] == "media"
    assert outputs["FailureQueueUrl"]["Value"] == "<FailureQueue>"
    assert outputs["FailureQueueArn"]["Value"] == "<FailureQueue.Arn>"
    assert outputs["IngestFunctionName"]["Value"] == "<IngestFunction>"
    assert outputs["IngestFunctionArn"]["Value"] == "<IngestFunction.Arn>"
    assert outputs["IdempotencyTableName"]["Value"] == "<IdempotencyTable>"
    assert outputs["AlarmTopicArn"]["Value"] == "<AlarmTopic>"
