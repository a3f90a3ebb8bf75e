"""Routing: which project, which name, which optional fields go to Wistia."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from s3_wistia_bridge.config import Route
from s3_wistia_bridge.metadata import ObjectSettings
from s3_wistia_bridge.models import CopyRequest
from s3_wistia_bridge.routing import MAX_NAME_CHARS, copy_request, media_name, route_for
from s3_wistia_bridge.validation import validate

from tests.unit.conftest import build_config, s3_object

ROUTES = [
    {"prefix": "marketing/", "project_id": "mktproj", "contact_id": 7},
    {
        "prefix": "marketing/webinars/",
        "project_id": "webinarproj",
        "contact_id": 42,
        "description": "Webinar",
    },
    {"prefix": "marketing/webinars/2025/", "project_id": "webinar2025"},
]


def config_with(routes=ROUTES, **overrides: str):
    return build_config(WISTIA_ROUTES=json.dumps(routes), **overrides)


# --- route_for ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "project"),
    [
        ("marketing/launch.mp4", "mktproj"),
        ("marketing/webinars/q3.mp4", "webinarproj"),
        ("marketing/webinars/2025/jan.mp4", "webinar2025"),
        ("marketing/webinars2.mp4", "mktproj"),
        ("other/clip.mp4", None),
        ("Marketing/launch.mp4", None),  # prefixes are case-sensitive, like S3 keys
    ],
)
def test_longest_matching_prefix_wins(key, project):
    route = route_for(key, config_with().routes)
    assert (route.project_id if route else None) == project


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_longest_prefix_wins_whatever_the_configured_order(order):
    routes = config_with([ROUTES[i] for i in order]).routes
    route = route_for("marketing/webinars/2025/jan.mp4", routes)
    assert route is not None
    assert route.project_id == "webinar2025"
    route = route_for("marketing/webinars/other.mp4", routes)
    assert route is not None
    assert route.project_id == "webinarproj"


def test_empty_prefix_route_is_a_catch_all_that_any_longer_prefix_beats():
    routes = (Route("", "catchall"), Route("videos/", "videoproj"))
    assert route_for("anything.mp4", routes) == Route("", "catchall")
    assert route_for("videos/a.mp4", routes) == Route("videos/", "videoproj")


def test_no_routes_means_no_route():
    assert route_for("marketing/a.mp4", ()) is None


# --- copy_request ----------------------------------------------------------------------------


def test_copy_request_without_route_uses_the_default_project_and_description():
    config = config_with(WISTIA_PROJECT_ID="defaultproj1", WISTIA_DESCRIPTION="From S3")
    request = copy_request(s3_object("other/My Clip.mp4", region="us-east-1"), config)
    assert request == CopyRequest(
        bucket="media-uploads-example",
        source_file="other/My Clip.mp4",
        region="us-east-1",
        name="My Clip.mp4",
        project_id="defaultproj1",
        description="From S3",
        contact_id=None,
    )


def test_copy_request_with_a_route_uses_its_project_and_contact():
    config = config_with(WISTIA_PROJECT_ID="defaultproj1", WISTIA_DESCRIPTION="From S3")
    request = copy_request(s3_object("marketing/launch.mov"), config)
    assert (request.project_id, request.contact_id, request.description) == ("mktproj", 7, "From S3")


def test_route_description_wins_over_the_default_description():
    config = config_with(WISTIA_DESCRIPTION="From S3")
    request = copy_request(s3_object("marketing/webinars/q3.mp4"), config)
    assert (request.project_id, request.contact_id, request.description) == ("webinarproj", 42, "Webinar")


def test_a_route_without_contact_sends_no_contact_even_if_a_shorter_route_has_one():
    request = copy_request(s3_object("marketing/webinars/2025/jan.mp4"), config_with())
    assert request.project_id == "webinar2025"
    assert request.contact_id is None


def test_contact_id_comes_only_from_routes():
    request = copy_request(s3_object("other/a.mp4"), config_with(WISTIA_PROJECT_ID="defaultproj1"))
    assert request.contact_id is None
    assert "contact_id" not in request.form()


def test_no_default_project_and_no_route_sends_no_project():
    request = copy_request(s3_object("other/a.mp4"), build_config())
    assert request.project_id is None
    assert "project_id" not in request.form()


def test_region_is_the_objects_region_not_the_functions():
    config = build_config(ALLOWED_REGIONS="eu-west-1", AWS_REGION="us-east-1")
    assert copy_request(s3_object("a.mp4", region="eu-west-1"), config).region == "eu-west-1"


def test_source_file_is_the_decoded_key_unchanged():
    request = copy_request(s3_object("vidéos/a+b c%41.mp4"), build_config())
    assert request.source_file == "vidéos/a+b c%41.mp4"
    assert request.name == "a+b c%41.mp4"


# --- the form -------------------------------------------------------------------------------


def test_form_has_only_the_required_fields_when_nothing_optional_is_set():
    form = CopyRequest(bucket="b-1", source_file="videos/a.mp4", region="us-east-1", name="a.mp4").form()
    assert form == {"bucket": "b-1", "source_file": "videos/a.mp4", "region": "us-east-1", "name": "a.mp4"}


def test_form_includes_every_optional_field_when_set_and_stringifies_contact():
    form = CopyRequest("b-1", "videos/a.mp4", "us-east-1", "a.mp4", "proj1", "Desc", 42).form()
    assert form == {
        "bucket": "b-1",
        "source_file": "videos/a.mp4",
        "region": "us-east-1",
        "name": "a.mp4",
        "project_id": "proj1",
        "description": "Desc",
        "contact_id": "42",
    }
    assert all(isinstance(value, str) for value in form.values())


def test_form_omits_empty_optional_strings():
    form = CopyRequest("b-1", "videos/a.mp4", "us-east-1", "a.mp4", "", "", None).form()
    assert set(form) == {"bucket", "source_file", "region", "name"}


KEYS = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60)


@settings(deadline=None)
@given(key=KEYS)
def test_accepted_keys_never_give_a_leading_slash_source_file(key):
    config = build_config(ALLOWED_EXTENSIONS="mp4")
    obj = s3_object(key + ".mp4")
    if validate(obj, config) is None:
        form = copy_request(obj, config).form()
        assert not form["source_file"].startswith("/")
        assert form["source_file"] == obj.key
        assert form["bucket"] == "media-uploads-example"


def test_a_leading_slash_key_is_never_accepted_so_never_routed():
    assert validate(s3_object("/videos/a.mp4"), build_config()) is not None


# --- media_name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("videos/clip.mp4", "clip.mp4"),
        ("clip.mp4", "clip.mp4"),
        ("a/b/c/Quarterly Review (final).MOV", "Quarterly Review (final).MOV"),
        ("videos/" + "x" * 251 + ".mp4", "x" * 251 + ".mp4"),  # exactly 255: intact
    ],
)
def test_media_name_is_the_file_name_when_short_enough(key, name):
    assert media_name(key) == name


def test_media_name_of_256_chars_is_cut_to_255_keeping_the_extension():
    name = media_name("videos/" + "x" * 252 + ".mp4")
    assert name == "x" * 251 + ".mp4"


def test_media_name_keeps_the_extensions_original_case():
    name = media_name("y" * 300 + ".MoV")
    assert len(name) == MAX_NAME_CHARS
    assert name.endswith("y.MoV")


def test_media_name_without_extension_is_cut_to_255():
    assert media_name("videos/" + "z" * 400) == "z" * 255


def test_media_name_with_an_absurd_extension_is_cut_plainly():
    name = "clip." + "e" * 300  # the 'extension' is longer than half the limit
    assert media_name(name) == name[:255]


def test_media_name_with_a_long_but_reasonable_extension_keeps_it():
    extension = "." + "e" * 100
    name = media_name("s" * 400 + extension)
    assert len(name) == MAX_NAME_CHARS
    assert name == "s" * (255 - 101) + extension


def test_media_name_counts_characters_not_bytes():
    name = media_name("videos/" + "é" * 251 + ".mp4")
    assert name == "é" * 251 + ".mp4"


EXTENSIONS = st.sampled_from(["", ".mp4", ".MOV", ".webm", ".x" + "y" * 60, ".e" + "f" * 200])


@settings(deadline=None)
@given(stem_length=st.integers(min_value=1, max_value=700), extension=EXTENSIONS)
def test_media_name_is_at_most_255_and_keeps_extension_whenever_sensible(stem_length, extension):
    original = "s" * stem_length + extension
    name = media_name("some/prefix/" + original)

    if len(original) <= MAX_NAME_CHARS:
        assert name == original
    else:
        assert len(name) == MAX_NAME_CHARS
        if extension and len(extension) < MAX_NAME_CHARS // 2:
            assert name.endswith(extension)
            assert name == original[: MAX_NAME_CHARS - len(extension)] + extension
        else:
            assert name == original[:MAX_NAME_CHARS]


# --- URL import and per-object metadata -----------------------------------------------------

PRESIGNED = (
    "https://media.s3.us-east-1.amazonaws.com/videos/a%20b.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIA%2F20261121%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc&x=1%262"
)


def test_url_import_form_sends_the_url_and_options_but_nothing_naming_the_bucket():
    config = config_with(WISTIA_DESCRIPTION="From S3")
    request = copy_request(s3_object("marketing/webinars/q3.mp4"), config, url=PRESIGNED)
    assert request.form() == {
        "url": PRESIGNED,
        "name": "q3.mp4",
        "project_id": "webinarproj",
        "description": "Webinar",
        "contact_id": "42",
    }


def test_url_import_form_keeps_the_url_verbatim_for_requests_to_encode():
    form = copy_request(s3_object("videos/a b.mp4"), build_config(), url=PRESIGNED).form()
    assert form["url"] == PRESIGNED  # encoded once, by requests, on the wire
    assert set(form) == {"url", "name"}


def test_the_presigned_url_is_not_in_the_requests_repr():
    request = copy_request(s3_object("videos/a.mp4"), build_config(), url=PRESIGNED)
    assert "X-Amz" not in repr(request)


def test_metadata_overrides_name_description_and_project_but_keeps_the_routes_contact():
    settings = ObjectSettings(name="Q3 all-hands", description="Recorded live", project_id="override1")
    request = copy_request(s3_object("marketing/webinars/q3.mp4"), config_with(), settings)
    assert (request.name, request.description, request.project_id, request.contact_id) == (
        "Q3 all-hands",
        "Recorded live",
        "override1",
        42,
    )


def test_metadata_fields_that_are_not_set_fall_back_to_the_route():
    request = copy_request(s3_object("marketing/webinars/q3.mp4"), config_with(), ObjectSettings(name="N"))
    assert (request.name, request.description, request.project_id) == (
        "N",
        "Webinar",
        "webinarproj",
    )


def test_metadata_project_overrides_the_default_project_too():
    config = build_config(WISTIA_PROJECT_ID="defaultproj1")
    request = copy_request(s3_object("other/a.mp4"), config, ObjectSettings(project_id="p2"))
    assert request.project_id == "p2"


def test_a_blank_metadata_description_clears_the_default_description():
    config = build_config(WISTIA_DESCRIPTION="From S3")
    request = copy_request(s3_object("other/a.mp4"), config, ObjectSettings(description=""))
    assert request.description is None
    assert "description" not in request.form()
