"""What keeps a deploy from half-working: the Rules and parameter patterns that refuse
combinations which would deploy cleanly and then fail every object, the bucket's traps
(retention, old versions, a customer-managed key), keys with spaces, `+` and accents, the four
ready-made samconfig environments, and the Serverless Application Repository metadata.

The Rules are evaluated here by a small evaluator of the rule functions the template uses (the
same semantics ministack's CloudFormation applies, which tests/e2e deploys a refused set into).
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Mapping
from typing import Any

import pytest
from s3_wistia_bridge.config import BridgeConfig

from .test_template import (
    EXISTING_BUCKET,
    KEY_ARN,
    NEW_BUCKET,
    PSEUDO,
    ROOT,
    SECRET_ARN,
    WEBHOOK_SECRET_ARN,
    Template,
    as_list,
    java_full_match,
    load,
    translate,
)

WISTIA_ACCOUNT = "210987654321"
S3_COPY_NEW = {**NEW_BUCKET, "WistiaAwsAccountId": WISTIA_ACCOUNT}


# ---------------------------------------------------------------- evaluating Rules and parameters


def _values(params: Mapping[str, str]) -> dict[str, str]:
    parameters = load()["Parameters"]
    unknown = set(params) - set(parameters)
    assert not unknown, f"not parameters of the template: {unknown}"
    return {name: str(params.get(name, spec.get("Default", ""))) for name, spec in parameters.items()}


def _rule_value(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_rule_value(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    ((function, arg),) = node.items()
    if function == "Ref":
        return values[arg] if arg in values else PSEUDO[arg]
    if function == "Fn::Equals":
        left, right = (_rule_value(side, values) for side in arg)
        return str(left) == str(right)
    if function == "Fn::Not":
        return not _rule_value(arg[0], values)
    if function == "Fn::And":
        return all(_rule_value(item, values) for item in arg)
    if function == "Fn::Or":
        return any(_rule_value(item, values) for item in arg)
    if function == "Fn::Contains":
        members, wanted = (_rule_value(item, values) for item in arg)
        return str(wanted) in [str(member) for member in members]
    raise AssertionError(f"{function} is not a rule function this evaluator knows")


def rule_failures(params: Mapping[str, str]) -> list[str]:
    """The names of the rules whose assertions refuse `params` (CloudFormation's Rules semantics:
    a rule's assertions apply when it has no RuleCondition or the condition is true)."""
    values = _values(params)
    failed = []
    for name, rule in load().get("Rules", {}).items():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], values):
            continue
        if not all(_rule_value(assertion["Assert"], values) for assertion in rule["Assertions"]):
            failed.append(name)
    return failed


def parameter_problems(params: Mapping[str, str]) -> list[str]:
    """What CloudFormation's parameter validation would refuse in `params`."""
    problems = []
    for name, value in params.items():
        spec = load()["Parameters"][name]
        if "AllowedPattern" in spec and not java_full_match(spec["AllowedPattern"], value):
            problems.append(f"{name}={value!r} does not match AllowedPattern")
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problems.append(f"{name}={value!r} is not one of AllowedValues")
        if "MinValue" in spec and not spec["MinValue"] <= float(value) <= spec["MaxValue"]:
            problems.append(f"{name}={value!r} is out of range")
    missing = [n for n, s in load()["Parameters"].items() if "Default" not in s and n not in params]
    return problems + [f"{name} has no default and no value" for name in missing]


# ---------------------------------------------------------------- Rules


def test_the_rules_use_only_rule_functions_and_each_assertion_says_what_to_do():
    rule_functions = {"Ref", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::Contains"}

    def functions(node: Any) -> set[str]:
        if isinstance(node, list):
            return set().union(*(functions(item) for item in node)) if node else set()
        if isinstance(node, dict):
            return set(node) | functions(list(node.values()))
        return set()

    for name, rule in load()["Rules"].items():
        assert rule["Assertions"], name
        used = functions(rule.get("RuleCondition", {})) | functions([a["Assert"] for a in rule["Assertions"]])
        assert used <= rule_functions, (name, used - rule_functions)
        for assertion in rule["Assertions"]:
            assert len(assertion["AssertDescription"]) >= 40, (name, "say what to set instead")


REFUSED = [
    ({**NEW_BUCKET, "CopyMode": "s3_copy"}, "S3CopyNeedsWistiaGrant"),
    ({**EXISTING_BUCKET, "ExistingBucketName": ""}, "ExistingBucketNeedsName"),
    ({**EXISTING_BUCKET, "WistiaAwsAccountId": WISTIA_ACCOUNT}, "ExistingBucketTakesNoNewBucketSettings"),
    ({**EXISTING_BUCKET, "BucketName": "my-videos"}, "ExistingBucketTakesNoNewBucketSettings"),
    ({**S3_COPY_NEW, "ExistingBucketName": "media"}, "NewBucketIgnoresExistingName"),
    ({**S3_COPY_NEW, "Delivery": "buffered", "ReservedConcurrency": "0"}, "BufferedIsNotPausedByConcurrency"),
    ({**EXISTING_BUCKET, "ReservedConcurrency": "0"}, "BufferedIsNotPausedByConcurrency"),  # buffered default
    ({**S3_COPY_NEW, "WistiaWebhookSecretArn": ""}, "WebhooksNeedSecret"),  # webhooks: the default
    ({**EXISTING_BUCKET, "SourceDisposition": "archive_after_days"}, "SourceLifecycleNeedsNewBucket"),
    ({**EXISTING_BUCKET, "SourceDisposition": "expire_after_days"}, "SourceLifecycleNeedsNewBucket"),
]


@pytest.mark.parametrize(
    ("params", "rule"),
    REFUSED,
    ids=[
        "s3-copy-new-bucket-without-wistia-account",
        "existing-bucket-without-name",
        "existing-bucket-with-a-grant-it-would-not-write",
        "existing-bucket-with-a-new-bucket-name",
        "new-bucket-with-an-existing-bucket-name",
        "buffered-paused-by-reserved-concurrency",
        "buffered-by-default-paused-by-reserved-concurrency",
        "webhooks-without-their-secret",
        "existing-bucket-archived-by-a-rule-it-would-not-write",
        "existing-bucket-expired-by-a-rule-it-would-not-write",
    ],
)
def test_rules_refuse_combinations_that_would_fail_or_miss_every_object(params, rule):
    assert parameter_problems(params) == []  # each value is fine alone: only the rule refuses
    assert rule_failures(params) == [rule]


@pytest.mark.parametrize(
    "params",
    [
        S3_COPY_NEW,
        {**NEW_BUCKET, "CopyMode": "url_import"},
        {**NEW_BUCKET, "CopyMode": "url_import", "WistiaAwsAccountId": WISTIA_ACCOUNT},
        EXISTING_BUCKET,
        {**EXISTING_BUCKET, "CopyMode": "url_import"},
        {**S3_COPY_NEW, "BucketName": "my-videos", "AllowedPrefixes": "videos/"},
        {**S3_COPY_NEW, "Delivery": "direct", "ReservedConcurrency": "0"},  # the documented pause
        {**S3_COPY_NEW, "Delivery": "buffered", "ReservedConcurrency": "5"},
        {**S3_COPY_NEW, "StatusTracking": "poll", "WistiaWebhookSecretArn": ""},
        {**S3_COPY_NEW, "StatusTracking": "off", "WistiaWebhookSecretArn": ""},
        {**S3_COPY_NEW, "SourceDisposition": "archive_after_days"},
        {**EXISTING_BUCKET, "SourceDisposition": "tag"},
    ],
    ids=[
        "s3-copy-new-bucket",
        "url-import-new-bucket",
        "url-import-with-an-unused-account",
        "s3-copy-existing-bucket",
        "url-import-existing-bucket",
        "named-bucket-with-a-prefix",
        "direct-paused",
        "buffered-reserved",
        "poll-without-a-webhook-secret",
        "tracking-off",
        "new-bucket-archived",
        "existing-bucket-tagged",
    ],
)
def test_rules_accept_the_working_combinations(params):
    assert parameter_problems(params) == []
    assert rule_failures(params) == []


# ---------------------------------------------------------------- prefixes as S3 stores the keys

SPECIAL_PREFIXES = "Café crème/,a+b/,my videos/"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "videos/",
        "x",
        "Café crème/",
        "my videos/,a+b/",
        "raw_2024/(final)/",
        "a/,b/,c/,d/,e/",
        "100%/",
        "naïve;ÿ/",
        "it's/",
    ],
)
def test_prefixes_with_spaces_plus_and_latin1_letters_are_accepted(value):
    assert parameter_problems({**S3_COPY_NEW, "AllowedPrefixes": value}) == []


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("videos/*", "an IAM wildcard"),
        ("vid?os/", "an IAM wildcard"),
        ("${aws:username}/", "an IAM policy variable"),
        ("a$/", "an IAM policy variable"),
        ('a"b/', "breaks the EventBridge pattern's JSON"),
        ("a\\b/", "breaks the EventBridge pattern's JSON"),
        ("/videos/", "S3 keys have no leading slash"),
        (" videos/", "the function strips surrounding spaces"),
        ("videos/ ", "the function strips surrounding spaces"),
        ("a/, b/", "the function strips surrounding spaces"),
        ("a/,", "an empty prefix"),
        ("a/,b/,c/,d/,e/,f/", "more than the 5 slots"),
        ("動画/", "IAM policy documents accept U+0020..U+00FF only"),
        ("a\tb/", "a control character"),
        ("\u00a0videos/", "the function strips surrounding spaces"),
    ],
)
def test_prefixes_that_would_become_wildcards_or_break_a_policy_are_refused(value, why):
    assert parameter_problems({**S3_COPY_NEW, "AllowedPrefixes": value}), why


def test_the_function_reads_special_prefixes_exactly_as_the_template_writes_them():
    environment = Template(load(), {**NEW_BUCKET, "AllowedPrefixes": SPECIAL_PREFIXES}).environment()
    assert BridgeConfig.from_environ(environment).allowed_prefixes == tuple(SPECIAL_PREFIXES.split(","))


@pytest.mark.parametrize("write_back", ["", "wistia-hashed-id"])
def test_object_arns_and_the_wistia_grant_hold_the_raw_special_prefixes(write_back):
    expected = {f"{prefix}*" for prefix in SPECIAL_PREFIXES.split(",")}
    params = {
        **EXISTING_BUCKET,
        "AllowedPrefixes": SPECIAL_PREFIXES,
        "CopyMode": "url_import",
        "WriteBackTagKey": write_back,
    }
    for statement in Template(load(), params).role_statements():
        if statement.get("Sid") in {"ReadObjects", "WriteBackTag"}:
            resources = {r.removeprefix("arn:aws:s3:::media/") for r in as_list(statement["Resource"])}
            assert resources == expected
    grant_params = {**S3_COPY_NEW, "AllowedPrefixes": SPECIAL_PREFIXES}
    statements = Template(load(), grant_params).properties("MediaBucketPolicy")["PolicyDocument"]["Statement"]
    (grant,) = [s for s in statements if s["Effect"] == "Allow"]
    assert {r.removeprefix("<MediaBucket.Arn>/") for r in grant["Resource"]} == expected


def test_the_eventbridge_rule_matches_the_raw_special_prefixes_and_stays_valid_json():
    params = {**EXISTING_BUCKET, "AllowedPrefixes": SPECIAL_PREFIXES}
    pattern = json.loads(Template(load(), params).properties("ExistingBucketRule")["EventPattern"])
    assert pattern["detail"]["object"]["key"] == [{"prefix": p} for p in SPECIAL_PREFIXES.split(",")]


def test_the_new_bucket_notification_has_no_key_filter_so_encoding_cannot_matter():
    params = {**S3_COPY_NEW, "AllowedPrefixes": SPECIAL_PREFIXES}
    (configurations,) = (
        Template(load(), params).properties("MediaBucket")["NotificationConfiguration"].values()
    )
    assert all("Filter" not in notification for notification in configurations)


# ---------------------------------------------------------------- the bucket's traps


def test_the_bucket_is_retained_on_delete_but_not_when_its_first_creation_rolls_back():
    bucket = load()["Resources"]["MediaBucket"]
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"
    assert bucket["UpdateReplacePolicy"] == "Retain"


def _lifecycle(params: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    rules = Template(load(), params).properties("MediaBucket")["LifecycleConfiguration"]["Rules"]
    return {rule["Id"]: rule for rule in rules}


@pytest.mark.parametrize(("days", "expected"), [(None, "30"), ("1", "1"), ("400", "400")])
def test_old_versions_expire_after_the_parameters_days(days, expected):
    params = S3_COPY_NEW if days is None else {**S3_COPY_NEW, "NoncurrentVersionExpirationDays": days}
    rules = _lifecycle(params)
    expiry = rules["expire-noncurrent-versions"]
    assert expiry["Status"] == "Enabled"
    assert expiry["NoncurrentVersionExpiration"] == {"NoncurrentDays": expected}
    assert expiry["ExpiredObjectDeleteMarker"] is True
    assert "Filter" not in expiry
    assert "Prefix" not in expiry
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }


def test_zero_days_keeps_old_versions_for_ever_without_an_invalid_rule():
    rules = _lifecycle({**S3_COPY_NEW, "NoncurrentVersionExpirationDays": "0"})
    assert set(rules) == {"abort-incomplete-multipart-uploads"}
    spec = load()["Parameters"]["NoncurrentVersionExpirationDays"]
    assert (spec["Default"], spec["MinValue"]) == (30, 0)


def test_the_lifecycle_rules_translate_for_both_values():
    for days in ("0", "30"):
        params = {**S3_COPY_NEW, "NoncurrentVersionExpirationDays": days}
        bucket = Template(translate(params), params).properties("MediaBucket")
        assert len(bucket["LifecycleConfiguration"]["Rules"]) == (1 if days == "0" else 2)


@pytest.mark.parametrize(
    ("params", "granted"),
    [
        ({**S3_COPY_NEW, "BucketKmsKeyArn": KEY_ARN}, True),  # the content check reads every object
        ({**NEW_BUCKET, "CopyMode": "url_import", "BucketKmsKeyArn": KEY_ARN}, True),
        ({**S3_COPY_NEW, "ObjectMetadata": "true", "BucketKmsKeyArn": KEY_ARN}, True),
        ({**EXISTING_BUCKET, "BucketKmsKeyArn": KEY_ARN}, True),  # HeadObject decides EventBridge keys
        ({**EXISTING_BUCKET, "CopyMode": "url_import"}, False),  # no key given
    ],
    ids=["s3-copy-new", "url-import", "metadata", "existing-bucket", "no-key"],
)
def test_the_buckets_key_may_decrypt_only_through_s3_and_only_when_a_key_is_given(params, granted):
    statements = Template(load(), params).role_statements()
    keys = [s for s in statements if s.get("Sid") == "BucketObjectsKey"]
    if not granted:
        assert keys == []
        return
    (key,) = keys
    assert (key["Effect"], key["Action"], key["Resource"]) == ("Allow", "kms:Decrypt", KEY_ARN)
    assert key["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{PSEUDO['AWS::Region']}.amazonaws.com"}
    }
    # The secret's key stays a separate grant, through Secrets Manager only.
    assert not any(s.get("Sid") == "WistiaTokenKey" for s in statements)


def test_bucket_kms_key_arn_pattern():
    pattern = load()["Parameters"]["BucketKmsKeyArn"]["AllowedPattern"]
    assert java_full_match(pattern, "")
    assert java_full_match(pattern, KEY_ARN)
    for refused in ("alias/aws/s3", "arn:aws:kms:eu-west-1:123456789012:alias/videos"):
        assert not java_full_match(pattern, refused)


# ---------------------------------------------------------------- samconfig: four setups

SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
SETUPS = {
    "s3copy-newbucket": ("s3_copy", "NewBucket"),
    "s3copy-existingbucket": ("s3_copy", "ExistingBucket"),
    "urlimport-newbucket": ("url_import", "NewBucket"),
    "urlimport-existingbucket": ("url_import", "ExistingBucket"),
}
# What a user puts in place of each placeholder (examples of the right shape).
PLACEHOLDERS = {
    "<full-secret-arn>": SECRET_ARN,
    "<wistia-aws-account-id>": WISTIA_ACCOUNT,
    "<your-bucket-name>": "media",
    "<full-webhook-secret-arn>": WEBHOOK_SECRET_ARN,
}


def overrides(environment: str) -> dict[str, str]:
    raw = SAMCONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
    pairs = [item for entry in as_list(raw) for item in shlex.split(entry)]
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize("environment", SETUPS)
def test_each_setup_is_valid_for_the_template_once_its_placeholders_are_filled(environment):
    params = overrides(environment)
    filled = {name: PLACEHOLDERS.get(value, value) for name, value in params.items()}
    assert parameter_problems(filled) == []
    assert rule_failures(filled) == []
    assert (filled["CopyMode"], filled["TriggerMode"]) == SETUPS[environment]
    BridgeConfig.from_environ(Template(load(), filled).environment())
    deploy = SAMCONFIG[environment]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True


@pytest.mark.parametrize("environment", SETUPS)
def test_a_placeholder_left_in_place_is_refused_before_anything_is_created(environment):
    params = overrides(environment)
    placeholders = {name for name, value in params.items() if re.fullmatch(r"<[^>]+>", value)}
    assert placeholders, "each setup has something to fill in"
    assert set(params.values()) & set(PLACEHOLDERS) == {params[name] for name in placeholders}
    for name in placeholders:
        assert parameter_problems({**S3_COPY_NEW, name: params[name]}), f"{name}={params[name]} would deploy"


def test_the_docs_name_each_setup_and_the_dry_run():
    guide = (ROOT / "docs/deployment.md").read_text(encoding="utf-8")
    for environment in SETUPS:
        assert f"--config-env {environment}" in guide
    assert "--no-execute-changeset" in guide


# ---------------------------------------------------------------- publishable


def _intrinsics(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_intrinsics(item) for item in node)) if node else set()
    if isinstance(node, dict):
        found = {k for k in node if k == "Ref" or k.startswith("Fn::") or k == "Condition"}
        return found | _intrinsics(list(node.values()))
    return set()


def test_the_serverless_application_repository_metadata_is_complete_and_literal():
    application = load()["Metadata"]["AWS::ServerlessRepo::Application"]
    assert _intrinsics(application) == set()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert application["SemanticVersion"] == version
    assert application["SpdxLicenseId"] == "Apache-2.0"
    assert (application["LicenseUrl"], application["ReadmeUrl"]) == ("LICENSE", "README.md")
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    assert (ROOT / "README.md").is_file()
    # The repository's own limits (AWS Serverless Application Repository API, CreateApplication).
    assert re.fullmatch(r"[A-Za-z0-9-]{1,140}", application["Name"])
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", application["Author"])
    assert 1 <= len(application["Description"]) <= 256
    assert 1 <= len(application["Labels"]) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in application["Labels"])
    for url in ("HomePageUrl", "SourceCodeUrl"):
        assert application[url].startswith("https://"), url


def test_make_publish_packages_then_publishes_and_refuses_the_placeholder_urls():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile[makefile.index("\npublish:") :].split("\n\n")[0]
    assert "sam package" in target
    assert "sam publish" in target
    assert target.index("sam package") < target.index("sam publish")
    assert "PUBLISH_BUCKET" in target
    assert "YOUR-ORG" in target
