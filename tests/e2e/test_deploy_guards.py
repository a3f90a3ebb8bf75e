"""What keeps a deploy from half-working, in ministack: keys under prefixes with spaces, `+` and
accents copied end to end (the EventBridge rule's prefix matchers, the role's and the bucket
policy's object ARNs), a refused parameter combination that creates nothing, a placeholder left
in a samconfig environment refused, and `sam package` of the template with its repository
metadata. One existing-bucket stack per module; the others are deployed into its ministack."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from cfnlint.decode import decode  # type: ignore[import-untyped]
from local_stack.harness import BUILT_TEMPLATE, REGION, LocalStack, LocalStackError

from .support import E2E, VIDEO, copies_of, eventually

pytestmark = E2E
SPECIAL_PREFIXES = "Café crème/,a+b/,my videos/"
SPECIAL_KEYS = ["Café crème/Été + amis.mp4", "a+b/c d.mp4", "my videos/x+y=z.mp4"]


@pytest.fixture(scope="module")
def special() -> Iterator[LocalStack]:
    parameters = {"Delivery": "direct", "CopyMode": "url_import", "AllowedPrefixes": SPECIAL_PREFIXES}
    with LocalStack("e2e-keys", parameters=parameters, existing_bucket=True) as local:
        yield local


def _role_statements(stack: LocalStack) -> list[dict[str, Any]]:
    role_arn = stack.client("lambda").get_function_configuration(FunctionName=stack.function_name)["Role"]
    iam = stack.client("iam")
    role = role_arn.rsplit("/", 1)[1]
    statements = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        statements += (json.loads(document) if isinstance(document, str) else document)["Statement"]
    return statements


def test_keys_under_prefixes_with_spaces_plus_and_accents_are_imported_once(special: LocalStack) -> None:
    wistia = special.emulator
    assert wistia is not None
    for key in SPECIAL_KEYS:
        special.upload(key, VIDEO)

    eventually(lambda: len(wistia.medias()) >= len(SPECIAL_KEYS))
    time.sleep(1)  # a duplicate would show up now
    names = sorted(media["name"] for media in wistia.medias())
    assert names == sorted(key.rsplit("/", 1)[1] for key in SPECIAL_KEYS)


def test_the_rule_drops_keys_outside_the_prefixes_before_the_function(special: LocalStack) -> None:
    wistia = special.emulator
    assert wistia is not None
    before = len(wistia.requests())
    outside = ["Cafe creme/plain.mp4", "a b/c.mp4", "my video/x.mp4"]  # near misses of each prefix
    for key in outside:
        special.upload(key, VIDEO)
    special.upload("my videos/after.mp4", VIDEO)  # then one that matches, to know events flowed

    eventually(lambda: any(m["name"] == "after.mp4" for m in wistia.medias()))
    assert len([r for r in wistia.requests()[before:] if r["path"] == "/"]) == 1
    logged = json.dumps(special.function_logs(), ensure_ascii=False)
    assert not [key for key in outside if key in logged]  # never invoked for them


def test_the_deployed_role_holds_the_raw_prefixes_in_its_object_arns(special: LocalStack) -> None:
    (read,) = [s for s in _role_statements(special) if s.get("Sid") == "ReadObjects"]
    resources = set(read["Resource"])
    assert resources == {f"arn:aws:s3:::{special.bucket}/{p}*" for p in SPECIAL_PREFIXES.split(",")}


def test_a_new_bucket_s3_copy_stack_grants_wistia_the_raw_prefixes_and_copies_the_raw_key(
    special: LocalStack,
) -> None:
    wistia = special.emulator
    assert wistia is not None
    bucket = f"s3-wistia-bridge-e2e-grant-{uuid.uuid4().hex[:8]}"
    overrides = {k: v for k, v in special.overrides.items() if k not in {"TriggerMode", "ExistingBucketName"}}
    overrides |= {"BucketName": bucket, "CopyMode": "s3_copy", "WistiaAwsAccountId": "111122223333"}
    special.sam_deploy("s3-wistia-bridge-e2e-grant", overrides)

    policy = json.loads(special.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    (grant,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert set(grant["Resource"]) == {f"arn:aws:s3:::{bucket}/{p}*" for p in SPECIAL_PREFIXES.split(",")}
    key = "Café crème/Bonjour + toi.mp4"
    special.client("s3").put_object(Bucket=bucket, Key=key, Body=VIDEO)
    eventually(lambda: any(r["status"] for r in copies_of(wistia, key)))  # answered, not only sent
    [request] = copies_of(wistia, key)
    assert (request["status"], request["form"]["bucket"]) == (200, bucket)


def test_a_refused_combination_creates_nothing_and_says_what_to_set(special: LocalStack) -> None:
    bucket = f"s3-wistia-bridge-e2e-refused-{uuid.uuid4().hex[:8]}"
    overrides = {k: v for k, v in special.overrides.items() if k not in {"TriggerMode", "ExistingBucketName"}}
    overrides |= {"BucketName": bucket, "CopyMode": "s3_copy"}  # no WistiaAwsAccountId
    with pytest.raises(LocalStackError) as refused:
        special.sam_deploy("s3-wistia-bridge-e2e-refused", overrides)

    # ministack evaluates the Rules as CloudFormation does: the rule's name and its description.
    assert "rule S3CopyNeedsWistiaGrant failed" in str(refused.value)
    assert "needs WistiaAwsAccountId" in str(refused.value)
    with pytest.raises(botocore.exceptions.ClientError):
        special.client("s3").head_bucket(Bucket=bucket)
    cloudformation = special.client("cloudformation")
    try:
        (created,) = cloudformation.describe_stacks(StackName="s3-wistia-bridge-e2e-refused")["Stacks"]
    except botocore.exceptions.ClientError:
        return  # refused before a stack record, as on AWS for a failed rule
    assert created["StackStatus"] not in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}


def test_a_samconfig_setup_with_its_placeholder_left_is_refused_by_the_dry_run(special: LocalStack) -> None:
    # SAM reads the environment's parameter_overrides list; CloudFormation refuses <...> values.
    with pytest.raises(LocalStackError) as refused:
        special.sam_deploy(
            "s3-wistia-bridge-e2e-placeholder",
            {},
            "--no-execute-changeset",
            "--region",
            REGION,
            "--no-confirm-changeset",
            config_env="urlimport-newbucket",
        )
    assert "Parameter 'WistiaSecretArn' must match pattern" in str(refused.value)


def test_sam_package_uploads_the_artifacts_licence_and_readme_for_publishing(
    special: LocalStack, tmp_path: Any
) -> None:
    bucket = f"s3-wistia-bridge-e2e-package-{uuid.uuid4().hex[:8]}"
    special.client("s3").create_bucket(Bucket=bucket)
    packaged = tmp_path / "packaged.yaml"
    special.run_sam(
        "package",
        "--template-file",
        str(BUILT_TEMPLATE),
        "--s3-bucket",
        bucket,
        "--output-template-file",
        str(packaged),
        "--region",
        REGION,
    )

    template, problems = decode(str(packaged))
    assert not problems, problems
    application = template["Metadata"]["AWS::ServerlessRepo::Application"]
    s3 = special.client("s3")
    for uri in (
        application["LicenseUrl"],
        application["ReadmeUrl"],
        template["Resources"]["IngestFunction"]["Properties"]["CodeUri"],
        template["Resources"]["BridgeLayer"]["Properties"]["ContentUri"],
    ):
        assert uri.startswith(f"s3://{bucket}/"), uri
        s3.head_object(Bucket=bucket, Key=uri.removeprefix(f"s3://{bucket}/"))
    assert application["SemanticVersion"] == "0.1.0"
