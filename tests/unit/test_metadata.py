"""object_settings: the x-amz-meta-wistia-* values an editor sets, validated. Pure."""

from __future__ import annotations

import pytest
from s3_wistia_bridge.metadata import MAX_DESCRIPTION_CHARS, ObjectSettings, object_settings
from s3_wistia_bridge.routing import MAX_NAME_CHARS
from s3_wistia_bridge.validation import Reason, Rejection


def rejected(metadata: dict[str, str]) -> str:
    result = object_settings(metadata)
    assert isinstance(result, Rejection), result
    assert result.reason is Reason.METADATA_INVALID
    return result.message


def test_no_wistia_metadata_overrides_nothing():
    assert object_settings({}) == ObjectSettings()
    assert object_settings({"owner": "marketing", "wistia": "x"}) == ObjectSettings()


def test_every_field_is_read_and_stripped():
    settings = object_settings(
        {
            "wistia-name": "  Keynote 2026  ",
            "wistia-description": " <b>Hi</b> ",
            "wistia-project-id": " ab12 ",
        }
    )
    assert settings == ObjectSettings(name="Keynote 2026", description="<b>Hi</b>", project_id="ab12")


def test_keys_are_matched_case_insensitively():
    assert object_settings({"Wistia-Name": "A", "WISTIA-PROJECT-ID": "p1"}) == ObjectSettings(
        name="A", project_id="p1"
    )


def test_rfc_2047_encoded_values_are_decoded():
    # What S3 returns for non-ASCII metadata: "Café crème" in UTF-8, base64 and quoted-printable.
    assert object_settings({"wistia-name": "=?UTF-8?B?Q2Fmw6kgY3LDqG1l?="}) == ObjectSettings(
        name="Café crème"
    )
    assert object_settings({"wistia-name": "=?utf-8?q?Caf=C3=A9?="}) == ObjectSettings(name="Café")


def test_an_encoded_value_that_does_not_decode_is_rejected_naming_the_field():
    message = rejected({"wistia-description": "=?x-no-such-charset?B?Q2Fmw6k=?="})
    assert "x-amz-meta-wistia-description" in message
    assert "does not decode" in message


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_a_blank_name_is_rejected(name):
    assert rejected({"wistia-name": name}) == "x-amz-meta-wistia-name is blank"


def test_the_name_may_have_255_characters_but_not_256():
    assert object_settings({"wistia-name": "é" * MAX_NAME_CHARS}) == ObjectSettings(name="é" * 255)
    message = rejected({"wistia-name": "é" * (MAX_NAME_CHARS + 1)})
    assert "x-amz-meta-wistia-name" in message
    assert "256 characters" in message


def test_the_name_length_counts_after_stripping():
    assert object_settings({"wistia-name": " " + "a" * 255 + " "}) == ObjectSettings(name="a" * 255)


@pytest.mark.parametrize(
    ("char", "code"), [("\x00", "U+0000"), ("\x07", "U+0007"), ("\n", "U+000A"), ("\x7f", "U+007F")]
)
def test_control_characters_in_the_name_are_rejected(char, code):
    message = rejected({"wistia-name": f"bad{char}name"})
    assert message == f"x-amz-meta-wistia-name contains control character {code}"


def test_the_description_may_have_5000_characters_but_not_more():
    text = "x" * MAX_DESCRIPTION_CHARS
    assert object_settings({"wistia-description": text}) == ObjectSettings(description=text)
    message = rejected({"wistia-description": text + "y"})
    assert "x-amz-meta-wistia-description" in message
    assert "5001 characters" in message


def test_a_blank_description_is_kept_blank_so_it_clears_the_routes():
    assert object_settings({"wistia-description": "  "}) == ObjectSettings(description="")


@pytest.mark.parametrize("project", ["abc123", "A", "a" * 64])
def test_project_ids_of_letters_and_digits_are_accepted(project):
    assert object_settings({"wistia-project-id": project}) == ObjectSettings(project_id=project)


@pytest.mark.parametrize("project", ["", "abc-123", "a b", "a" * 65, "ünï", "abc;drop"])
def test_other_project_ids_are_rejected_naming_the_field(project):
    assert "x-amz-meta-wistia-project-id" in rejected({"wistia-project-id": project})


def test_one_invalid_field_rejects_the_object_even_when_the_others_are_valid():
    message = rejected({"wistia-name": "Fine", "wistia-project-id": "not valid"})
    assert "wistia-project-id" in message
