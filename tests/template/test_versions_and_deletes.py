"""The template's wiring of OverwritePolicy and DeletePolicy: removal events only when deletes are on,
the sweeper's extra grants only then, and the policies' variables from their parameters."""

from __future__ import annotations

import json

import pytest

from tests.template.test_template import (
    BUFFERED_EXISTING,
    BUFFERED_NEW,
    DIRECT_EXISTING,
    DIRECT_NEW,
    GENERATED_BUCKET,
    Template,
    load,
)
from tests.template.test_tracking import LEDGER, grants

DELETES = {"DeletePolicy": "delete"}


@pytest.mark.parametrize(
    ("params", "kind"),
    [(BUFFERED_NEW, "QueueConfigurations"), (DIRECT_NEW, "LambdaConfigurations")],
    ids=["buffered", "direct"],
)
def test_the_new_bucket_notifies_removals_only_under_a_delete_policy(params, kind):
    ignored = Template(load(), params).properties("MediaBucket")["NotificationConfiguration"][kind]
    assert [item["Event"] for item in ignored] == ["s3:ObjectCreated:*"]
    deleting = Template(load(), params | DELETES).properties("MediaBucket")["NotificationConfiguration"][kind]
    assert [item["Event"] for item in deleting] == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    assert deleting[0] | {"Event": "s3:ObjectRemoved:*"} == deleting[1]  # the same destination


@pytest.mark.parametrize("params", [BUFFERED_EXISTING, DIRECT_EXISTING], ids=["buffered", "direct"])
def test_the_existing_bucket_rule_adds_object_deleted_only_under_a_delete_policy(params):
    def detail_types(extra: dict[str, str]) -> list[str]:
        rule = Template(load(), params | extra).properties("ExistingBucketRule")
        return list(json.loads(rule["EventPattern"])["detail-type"])

    assert detail_types({}) == ["Object Created"]
    assert detail_types({"DeletePolicy": "archive"}) == ["Object Created", "Object Deleted"]


def test_the_sweeper_may_read_due_deletes_and_head_the_keys_only_under_a_delete_policy():
    plain = grants(Template(load(), BUFFERED_NEW).role_statements("SweeperRole"))
    deleting = grants(Template(load(), BUFFERED_NEW | DELETES).role_statements("SweeperRole"))
    assert deleting - plain == {
        ("dynamodb:Query", LEDGER),
        ("dynamodb:GetItem", LEDGER),
        ("dynamodb:Query", f"{LEDGER}/index/pending-deletes"),
        ("dynamodb:GetItem", f"{LEDGER}/index/pending-deletes"),
        ("s3:GetObject", f"arn:aws:s3:::{GENERATED_BUCKET}/*"),
        ("s3:ListBucket", f"arn:aws:s3:::{GENERATED_BUCKET}"),
    }


def test_the_policies_reach_both_functions_from_their_parameters():
    params = BUFFERED_NEW | {
        "OverwritePolicy": "replace",
        "DeletePolicy": "archive",
        "DeleteGraceSeconds": "0",
        "DeleteDryRun": "true",
    }
    template = Template(load(), params)
    ingest = template.environment("IngestFunction")
    assert (ingest["OVERWRITE_POLICY"], ingest["DELETE_POLICY"]) == ("replace", "archive")
    assert (ingest["DELETE_GRACE_SECONDS"], ingest["DELETE_DRY_RUN"]) == ("0", "true")
    sweeper = template.environment("SweeperFunction")
    assert (sweeper["DELETE_POLICY"], sweeper["DELETE_DRY_RUN"]) == ("archive", "true")


def test_the_grace_period_is_bounded_like_the_variable():
    from s3_wistia_bridge.config import MAX_DELETE_GRACE_SECONDS

    parameter = load()["Parameters"]["DeleteGraceSeconds"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (0, MAX_DELETE_GRACE_SECONDS)
