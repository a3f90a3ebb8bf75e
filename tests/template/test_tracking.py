"""The template's wiring of the ledger, the webhook and sweeper functions, the source disposition
and the batch function (S3 Batch Operations): every declared variable wired and nothing else,
least privilege as the module docs list it, and what ministack cannot show (schedules, alarms)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from s3_wistia_bridge.config import BATCH_FUNCTION_ENVIRONMENT, BATCH_VARIABLES, Variable
from s3_wistia_bridge.tracking_config import (
    TRACKING_ENVIRONMENT,
    TRACKING_VARIABLES,
    StatusTracking,
    TrackingConfig,
)

from .test_template import (
    DEFAULT_BUS_ARN,
    EXISTING_BUCKET,
    GENERATED_BUCKET,
    KEY_ARN,
    NEW_BUCKET,
    SECRET_ARN,
    STACK_SET,
    WEBHOOK_SECRET_ARN,
    Template,
    as_list,
    load,
    references,
    translate,
)

LEDGER = "<LedgerTable.Arn>"
TRACKING_FUNCTIONS = ("WebhookFunction", "SweeperFunction")


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (action, resource)
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def objects(bucket: str = GENERATED_BUCKET) -> str:
    return f"arn:aws:s3:::{bucket}/*"


# ---------------------------------------------------------------- configuration contract


@pytest.mark.parametrize("function", TRACKING_FUNCTIONS)
def test_the_tracking_functions_get_every_tracking_variable_and_nothing_else(function):
    variables = Template(load(), NEW_BUCKET).properties(function)["Environment"]["Variables"]
    assert set(variables) == set(TRACKING_ENVIRONMENT)


def test_the_batch_function_gets_every_batch_variable_and_nothing_else():
    variables = load()["Resources"]["BatchFunction"]["Properties"]["Environment"]["Variables"]
    assert set(variables) == set(BATCH_FUNCTION_ENVIRONMENT)
    # The same values as the ingest function's: a backfill and a live upload are the same object.
    ingest = load()["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"]
    assert {name: variables[name] for name in ingest} == ingest


TRACKING_STACK_SET = {**STACK_SET, "FAILURE_QUEUE_URL": {"Ref": "FailureQueue"}}


@pytest.mark.parametrize(
    ("function", "variable"),
    [(f, v) for f in TRACKING_FUNCTIONS for v in TRACKING_VARIABLES]
    + [("BatchFunction", v) for v in BATCH_VARIABLES],
    ids=lambda item: item if isinstance(item, str) else item.name,
)
def test_each_variable_comes_from_the_parameters_it_declares(function: str, variable: Variable):
    template = Template(load(), NEW_BUCKET)
    value = template.template["Resources"][function]["Properties"]["Environment"]["Variables"][variable.name]
    assert set(variable.parameters) <= set(template.template["Parameters"]), "declared parameters exist"
    assert set(references(value)) & set(template.template["Parameters"]) == set(variable.parameters)
    if len(variable.parameters) == 1:
        assert value == {"Ref": variable.parameters[0]}
    elif not variable.parameters:
        assert value == TRACKING_STACK_SET.get(variable.name, variable.default)


@pytest.mark.parametrize("tracking", ["webhooks", "poll", "off"])
def test_the_wired_tracking_environment_passes_the_functions_own_check(tracking):
    template = Template(load(), {**NEW_BUCKET, "StatusTracking": tracking, "SourceDisposition": "tag"})
    config = TrackingConfig.from_environ(template.environment("SweeperFunction"))
    assert config.status_tracking is StatusTracking(tracking)
    assert (config.ledger_table, config.failure_queue_url) == ("<LedgerTable>", "<FailureQueue>")
    assert (config.secret_id, config.webhook_secret_id) == (SECRET_ARN, WEBHOOK_SECRET_ARN)
    assert config.event_bus_name == "default"
    assert config.source_disposition.value == "tag"


def test_the_ingest_function_checks_content_writes_the_ledger_and_publishes_on_the_default_bus():
    environment = Template(load(), NEW_BUCKET).environment()
    assert environment["CONTENT_CHECK"] == "true"
    assert environment["LEDGER_TABLE"] == "<LedgerTable>"
    assert environment["EVENT_BUS_NAME"] == "default"
    off = Template(load(), {**NEW_BUCKET, "ContentCheck": "false"}).environment()
    assert off["CONTENT_CHECK"] == "false"


# ---------------------------------------------------------------- the ledger


def test_the_ledger_has_the_keys_and_indexes_ledger_py_documents_and_is_kept():
    resource = load()["Resources"]["LedgerTable"]
    assert resource["DeletionPolicy"] in {"Retain", "RetainExceptOnCreate"}
    assert resource["UpdateReplacePolicy"] == "Retain"
    table = Template(load(), NEW_BUCKET).properties("LedgerTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert indexes["by-hashed-id"]["KeySchema"] == [{"AttributeName": "hashed_id", "KeyType": "HASH"}]
    assert indexes["open-by-age"]["KeySchema"] == [
        {"AttributeName": "open_status", "KeyType": "HASH"},
        {"AttributeName": "accepted_at", "KeyType": "RANGE"},
    ]
    assert indexes["pending-deletes"]["KeySchema"] == [
        {"AttributeName": "delete_pending", "KeyType": "HASH"},
        {"AttributeName": "delete_due_at", "KeyType": "RANGE"},
    ]
    assert all(index["Projection"] == {"ProjectionType": "ALL"} for index in indexes.values())
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == dict.fromkeys(
        ("pk", "sk", "hashed_id", "open_status", "accepted_at", "delete_pending", "delete_due_at"), "S"
    )
    assert "TimeToLiveSpecification" not in table  # the ledger does not expire


def test_the_index_names_are_the_ones_the_code_queries():
    from s3_wistia_bridge.ledger import BY_HASHED_ID, OPEN_BY_AGE, PENDING_DELETES

    table = load()["Resources"]["LedgerTable"]["Properties"]
    indexes = {index["IndexName"] for index in table["GlobalSecondaryIndexes"]}
    assert indexes == {BY_HASHED_ID, OPEN_BY_AGE, PENDING_DELETES}


# ---------------------------------------------------------------- the webhook function


def test_the_webhook_function_sits_behind_an_unauthenticated_url_and_exists_only_with_webhooks():
    resource = load()["Resources"]["WebhookFunction"]
    assert resource["Condition"] == "TrackWebhooks"
    function = Template(load(), NEW_BUCKET).properties("WebhookFunction")
    assert function["FunctionUrlConfig"] == {"AuthType": "NONE"}  # the HMAC signature authenticates
    assert function["Timeout"] <= 10
    assert function["Layers"] == ["<BridgeLayer>"]
    assert resource["Metadata"]["BuildMethod"] == "makefile"
    assert "ReservedConcurrentExecutions" not in function
    reserved = Template(load(), {**NEW_BUCKET, "WebhookReservedConcurrency": "20"}).properties(
        "WebhookFunction"
    )
    assert reserved["ReservedConcurrentExecutions"] == "20"
    for tracking in ("poll", "off"):
        assert not Template(load(), {**NEW_BUCKET, "StatusTracking": tracking}).active("WebhookFunction")


def test_the_translated_webhook_url_is_public_and_only_for_the_function():
    translated = translate(NEW_BUCKET)["Resources"]
    url = translated["WebhookFunctionUrl"]
    assert url["Type"] == "AWS::Lambda::Url"
    assert url["Properties"]["AuthType"] == "NONE"
    assert url["Condition"] == "TrackWebhooks"
    [permission] = [
        r
        for r in translated.values()
        if r["Type"] == "AWS::Lambda::Permission" and "FunctionUrlAuthType" in r["Properties"]
    ]
    assert permission["Properties"]["FunctionName"] == {"Ref": "WebhookFunction"}
    assert permission["Properties"]["Action"] == "lambda:InvokeFunctionUrl"


@pytest.mark.parametrize("disposition", ["keep", "tag"])
def test_the_webhook_role_is_exactly_what_webhook_receiver_and_tracker_use(disposition):
    template = Template(load(), {**NEW_BUCKET, "SourceDisposition": disposition})
    expected = {
        ("logs:CreateLogStream", "<WebhookLogGroup.Arn>"),
        ("logs:PutLogEvents", "<WebhookLogGroup.Arn>"),
        ("secretsmanager:GetSecretValue", WEBHOOK_SECRET_ARN),
        ("dynamodb:Query", f"{LEDGER}/index/by-hashed-id"),
        ("dynamodb:GetItem", LEDGER),
        ("dynamodb:UpdateItem", LEDGER),
        ("sqs:SendMessage", "<FailureQueue.Arn>"),
        ("events:PutEvents", DEFAULT_BUS_ARN),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    }
    assert grants(template.role_statements("WebhookRole")) == expected | tag_grants(disposition)


def tag_grants(disposition: str, bucket: str = GENERATED_BUCKET) -> set[tuple[str, str]]:
    if disposition == "keep":
        return set()
    actions = ("GetObjectTagging", "GetObjectVersionTagging", "PutObjectTagging", "PutObjectVersionTagging")
    return {(f"s3:{action}", objects(bucket)) for action in actions}


# ---------------------------------------------------------------- the sweeper


def test_the_sweeper_runs_every_5_minutes_without_retries_and_ends_before_the_next_run():
    function = Template(load(), NEW_BUCKET).properties("SweeperFunction")
    assert function["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    assert function["Timeout"] < 300  # under the period: runs do not overlap
    assert "ReservedConcurrentExecutions" not in function  # small accounts cannot reserve
    (event,) = function["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(5 minutes)"
    assert event["Properties"]["State"] == "ENABLED"
    off = Template(load(), {**NEW_BUCKET, "StatusTracking": "off"}).properties("SweeperFunction")
    assert next(iter(off["Events"].values()))["Properties"]["State"] == "DISABLED"


def test_the_default_pace_is_a_small_share_of_wistias_rate_limit():
    parameters = load()["Parameters"]
    per_minute = parameters["SweepMaxRequests"]["Default"] / 5
    assert per_minute <= 0.05 * 600  # Wistia's 600 requests a minute per account


@pytest.mark.parametrize("disposition", ["keep", "archive_after_days"])
@pytest.mark.parametrize("key", ["", KEY_ARN], ids=["aws-managed-secret-key", "customer-key"])
def test_the_sweeper_role_is_exactly_what_sweeper_and_tracker_use(disposition, key):
    params = {**NEW_BUCKET, "SourceDisposition": disposition, "WistiaSecretKmsKeyArn": key}
    statements = Template(load(), params).role_statements("SweeperRole")
    expected = {
        ("logs:CreateLogStream", "<SweeperLogGroup.Arn>"),
        ("logs:PutLogEvents", "<SweeperLogGroup.Arn>"),
        ("secretsmanager:GetSecretValue", SECRET_ARN),
        ("dynamodb:Query", f"{LEDGER}/index/open-by-age"),
        ("dynamodb:UpdateItem", LEDGER),
        ("sqs:SendMessage", "<FailureQueue.Arn>"),
        ("events:PutEvents", DEFAULT_BUS_ARN),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    } | ({("kms:Decrypt", KEY_ARN)} if key else set())
    assert grants(statements) == expected | tag_grants(disposition)
    for statement in statements:
        if statement.get("Sid") == "WistiaTokenKey":
            assert statement["Condition"]["StringEquals"]["kms:ViaService"].startswith("secretsmanager.")


def test_no_tracking_role_uses_a_wildcard_or_a_managed_policy():
    template = Template(load(), {**NEW_BUCKET, "SourceDisposition": "tag"})
    for role in ("WebhookRole", "SweeperRole", "BatchRole"):
        assert "ManagedPolicyArns" not in template.properties(role)
        for action, resource in grants(template.role_statements(role)):
            assert resource != "*" or action.startswith("xray:"), (role, action)


# ---------------------------------------------------------------- source disposition


@pytest.mark.parametrize(
    ("disposition", "rule_id"),
    [
        ("keep", None),
        ("tag", None),
        ("archive_after_days", "archive-ready-sources"),
        ("expire_after_days", "expire-ready-sources"),
    ],
)
def test_only_videos_tagged_ready_are_archived_or_expired_after_the_days(disposition, rule_id):
    params = {**NEW_BUCKET, "SourceDisposition": disposition, "SourceDispositionDays": "45"}
    rules = Template(load(), params).properties("MediaBucket")["LifecycleConfiguration"]["Rules"]
    tagged = [rule for rule in rules if "TagFilters" in rule]
    if rule_id is None:
        assert tagged == []
        return
    (rule,) = tagged
    assert rule["Id"] == rule_id
    assert rule["TagFilters"] == [{"Key": "wistia-status", "Value": "ready"}]  # never a failed media
    if disposition == "archive_after_days":
        assert rule["Transitions"] == [{"StorageClass": "GLACIER", "TransitionInDays": "45"}]
    else:
        assert rule["ExpirationInDays"] == "45"


def test_the_tag_the_rules_filter_on_is_the_one_the_tracker_writes():
    from s3_wistia_bridge import tracker

    source = tracker.__doc__ or ""
    assert "wistia-status=ready" in source


# ---------------------------------------------------------------- the batch function


def test_the_batch_function_is_published_behind_an_alias_and_outputs_its_arn():
    function = Template(load(), NEW_BUCKET).properties("BatchFunction")
    assert function["AutoPublishAlias"] == "live"
    assert function["Layers"] == ["<BridgeLayer>"]
    assert load()["Resources"]["BatchFunction"]["Metadata"]["BuildMethod"] == "makefile"
    translated = translate(NEW_BUCKET)["Resources"]
    assert translated["BatchFunctionAliaslive"]["Type"] == "AWS::Lambda::Alias"
    assert load()["Outputs"]["BatchFunctionAliasArn"]["Value"] == {"Ref": "BatchFunction.Alias"}


@pytest.mark.parametrize("params", [NEW_BUCKET, EXISTING_BUCKET], ids=["new-bucket", "existing-bucket"])
def test_the_batch_role_is_the_ingest_roles_reads_without_the_ingest_queue(params):
    template = Template(load(), {**params, "Delivery": "buffered"})
    batch = grants(template.role_statements("BatchRole"))
    ingest = grants(template.role_statements("IngestRole"))
    logs = {g for g in ingest if g[0].startswith("logs:")}
    queue = {g for g in ingest if g[1] == "<IngestQueue.Arn>"}
    assert batch == (ingest - logs - queue) | {
        ("logs:CreateLogStream", "<BatchLogGroup.Arn>"),
        ("logs:PutLogEvents", "<BatchLogGroup.Arn>"),
    }
    bucket = params.get("ExistingBucketName", GENERATED_BUCKET)
    assert {("s3:GetObject", objects(bucket)), ("s3:GetObjectVersion", objects(bucket))} <= batch
    assert ("dynamodb:UpdateItem", "<IdempotencyTable.Arn>") in batch  # the rate share's item


def test_the_batch_operations_role_is_optional_and_may_only_invoke_the_alias_read_manifests_write_reports():
    assert not Template(load(), NEW_BUCKET).active("BatchOperationsJobRole")
    template = Template(load(), {**NEW_BUCKET, "BatchOperationsRole": "true"})
    role = template.properties("BatchOperationsJobRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "batchoperations.s3.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert grants(template.role_statements("BatchOperationsJobRole")) == {
        ("lambda:InvokeFunction", "<BatchFunction.Alias>"),
        ("s3:GetObject", f"arn:aws:s3:::{GENERATED_BUCKET}/batch-operations/manifests/*"),
        ("s3:GetObjectVersion", f"arn:aws:s3:::{GENERATED_BUCKET}/batch-operations/manifests/*"),
        ("s3:PutObject", f"arn:aws:s3:::{GENERATED_BUCKET}/batch-operations/reports/*"),
    }


def test_the_batch_operations_role_translates_to_the_alias_arn():
    params = {**NEW_BUCKET, "BatchOperationsRole": "true"}
    role = translate(params)["Resources"]["BatchOperationsJobRole"]["Properties"]
    (statement, *_) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Ref": "BatchFunctionAliaslive"}


# ---------------------------------------------------------------- alarms and dashboard


def test_media_failed_and_a_failing_sweeper_alarm_on_the_first_occurrence():
    template = Template(load(), NEW_BUCKET)
    failed = template.properties("MediaFailedAlarm")
    assert (failed["Namespace"], failed["MetricName"]) == ("S3WistiaBridge", "MediaFailed")
    assert failed["Dimensions"] == [{"Name": "service", "Value": "s3-wistia-bridge"}]
    sweeper = template.properties("SweeperErrorsAlarm")
    assert sweeper["Dimensions"] == [{"Name": "FunctionName", "Value": "<SweeperFunction>"}]
    for alarm in (failed, sweeper):
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["AlarmActions"] == ["<AlarmTopic>"]


def test_the_dashboard_shows_time_to_ready_p50_and_p95():
    body = json.loads(Template(load(), NEW_BUCKET).properties("Dashboard")["DashboardBody"])
    lines = [line for widget in body["widgets"] for line in widget["properties"]["metrics"]]
    stats = {line[-1]["stat"] for line in lines if "TimeToReady" in line}
    assert stats == {"p50", "p95"}
    assert any("MediaReady" in line for line in lines)
    assert any("MediaFailed" in line for line in lines)
