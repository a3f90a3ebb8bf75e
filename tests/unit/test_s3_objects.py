"""The decisions behind the bridge's own S3 calls, and why a write-back cannot re-trigger it. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.credentials import Credentials, RefreshableCredentials
from botocore.exceptions import ClientError, EndpointConnectionError
from s3_wistia_bridge.aws import AwsClients
from s3_wistia_bridge.events import parse_event
from s3_wistia_bridge.models import SkippedEvent
from s3_wistia_bridge.s3_objects import (
    MAX_TAGS,
    CredentialFacts,
    ErrorKind,
    S3Objects,
    TagWrite,
    classify_error,
    error_code,
    merge_tag,
    presign_lifetime_warning,
)

from tests.unit.conftest import read_event, s3_record

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import TagTypeDef

HOUR = 3600

# --- presign_lifetime_warning ---------------------------------------------------------------


@pytest.mark.parametrize("hours", [1, 6, 168])
def test_long_term_keys_never_warn(hours):
    assert presign_lifetime_warning(hours * HOUR, CredentialFacts(temporary=False, seconds_left=None)) is None


def test_no_credentials_found_does_not_warn():
    assert presign_lifetime_warning(6 * HOUR, None) is None


def test_temporary_credentials_outliving_the_url_do_not_warn():
    facts = CredentialFacts(temporary=True, seconds_left=6 * HOUR)
    assert presign_lifetime_warning(6 * HOUR, facts) is None


def test_temporary_credentials_expiring_before_the_url_warn_with_both_numbers():
    facts = CredentialFacts(temporary=True, seconds_left=45 * 60)
    warning = presign_lifetime_warning(6 * HOUR, facts)
    assert warning is not None
    assert "6 h" in warning
    assert "45 min" in warning
    assert "PRESIGNED_URL_HOURS" in warning


def test_known_expiry_warns_even_for_a_one_hour_url():
    assert presign_lifetime_warning(HOUR, CredentialFacts(temporary=True, seconds_left=600)) is not None


def test_unknown_expiry_is_trusted_for_one_hour_only():
    unknown = CredentialFacts(temporary=True, seconds_left=None)
    assert presign_lifetime_warning(HOUR, unknown) is None
    warning = presign_lifetime_warning(HOUR + 1, unknown)
    assert warning is not None
    assert "unknown expiry" in warning
    assert "1 silences this" in warning


def test_fractional_hours_are_shown_as_they_are():
    warning = presign_lifetime_warning(5400, CredentialFacts(temporary=True, seconds_left=None))
    assert warning is not None
    assert "1.5 h" in warning


# --- credential_facts (through a stand-in boto3 session) --------------------------------------


class FakeSession:
    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    def get_credentials(self) -> Any:
        if isinstance(self.credentials, Exception):
            raise self.credentials
        return self.credentials


def test_static_credentials_with_a_session_token_are_temporary_of_unknown_expiry():
    facts = S3Objects(
        AwsClients(FakeSession(Credentials("AKIA", "secret", "session-token")))
    ).credential_facts()
    assert facts == CredentialFacts(temporary=True, seconds_left=None)


def test_static_credentials_without_a_token_are_long_term():
    facts = S3Objects(AwsClients(FakeSession(Credentials("AKIA", "secret")))).credential_facts()
    assert facts == CredentialFacts(temporary=False, seconds_left=None)


def test_refreshable_credentials_report_their_expiry():
    expiry = datetime.now(UTC) + timedelta(minutes=50)
    credentials = RefreshableCredentials(
        "ASIA", "secret", "token", expiry, refresh_using=lambda: {}, method="assume-role"
    )
    facts = S3Objects(AwsClients(FakeSession(credentials))).credential_facts()
    assert facts is not None
    assert facts.temporary
    assert facts.seconds_left is not None
    assert 49 * 60 < facts.seconds_left <= 50 * 60


def test_missing_or_failing_credentials_give_no_facts():
    assert S3Objects(AwsClients(FakeSession(None))).credential_facts() is None
    assert S3Objects(AwsClients(FakeSession(RuntimeError("no provider")))).credential_facts() is None


def test_credential_facts_never_carry_the_secrets():
    facts = S3Objects(
        AwsClients(FakeSession(Credentials("AKIA-ID", "SECRET-KEY", "SESSION-TOKEN")))
    ).credential_facts()
    assert not {"AKIA-ID", "SECRET-KEY", "SESSION-TOKEN"} & set(map(str, vars(facts).values()))


# --- merge_tag --------------------------------------------------------------------------------


def tags(**pairs: str) -> list[TagTypeDef]:
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


def test_the_tag_is_added_and_every_other_tag_kept_in_order():
    merged, result = merge_tag(tags(owner="ops", team="video"), "wistia-hashed-id", "abc123")
    assert result is TagWrite.WRITTEN
    assert merged == [*tags(owner="ops", team="video"), {"Key": "wistia-hashed-id", "Value": "abc123"}]


def test_only_our_key_is_replaced():
    merged, result = merge_tag(tags(owner="ops", wistia="old", team="video"), "wistia", "new")
    assert result is TagWrite.WRITTEN
    assert merged == tags(owner="ops", wistia="new", team="video")


def test_the_same_value_needs_no_write():
    merged, result = merge_tag(tags(wistia="abc"), "wistia", "abc")
    assert result is TagWrite.UNCHANGED
    assert merged == tags(wistia="abc")


def test_ten_tags_without_ours_leave_no_room():
    full: list[TagTypeDef] = [{"Key": f"k{i}", "Value": "v"} for i in range(MAX_TAGS)]
    merged, result = merge_tag(full, "wistia", "abc")
    assert result is TagWrite.NO_ROOM
    assert merged == full


def test_ten_tags_with_ours_among_them_can_still_be_updated():
    full: list[TagTypeDef] = [{"Key": f"k{i}", "Value": "v"} for i in range(MAX_TAGS - 1)]
    full.append({"Key": "wistia", "Value": "old"})
    merged, result = merge_tag(full, "wistia", "new")
    assert result is TagWrite.WRITTEN
    assert len(merged) == MAX_TAGS
    assert merged[-1] == {"Key": "wistia", "Value": "new"}


def test_the_input_tag_set_is_not_mutated():
    original = tags(wistia="old")
    merge_tag(original, "wistia", "new")
    assert original == tags(wistia="old")


# --- classify_error / error_code -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("404", 404, ErrorKind.MISSING),  # HeadObject: no body, the code is the status
        ("NoSuchKey", 404, ErrorKind.MISSING),
        ("NoSuchVersion", 404, ErrorKind.MISSING),
        ("MethodNotAllowed", 405, ErrorKind.MISSING),  # the version is a delete marker
        ("403", 403, ErrorKind.DENIED),
        ("AccessDenied", 403, ErrorKind.DENIED),
        ("SlowDown", 503, ErrorKind.OTHER),
        ("InternalError", 500, ErrorKind.OTHER),
        ("400", 400, ErrorKind.OTHER),
        (None, None, ErrorKind.OTHER),
    ],
)
def test_s3_errors_are_classified_by_code_and_status(code, status, kind):
    assert classify_error(code, status) is kind


def test_error_code_is_the_s3_code_or_the_class_name_never_the_text():
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "secret detail"}}, "PutObjectTagging")
    assert error_code(denied) == "AccessDenied"
    assert error_code(EndpointConnectionError(endpoint_url="https://s3.example")) == "EndpointConnectionError"


# --- write-back cannot re-trigger the bridge ---------------------------------------------------


def test_the_s3_tagging_notification_is_skipped():
    (item,) = parse_event({"Records": [s3_record("videos/a.mp4", event_name="ObjectTagging:Put")]})
    assert item == SkippedEvent("not_object_created", "event ObjectTagging:Put")


def test_the_eventbridge_object_tags_added_event_is_skipped():
    event = read_event("eventbridge-object-created.json")
    event["detail-type"] = "Object Tags Added"
    event["detail"].pop("reason", None)
    (item,) = parse_event(event)
    assert isinstance(item, SkippedEvent)
    assert item.reason == "not_object_created"
    assert "Object Tags Added" in item.detail
