"""Status order and dedupe (lifecycle.py), the ingest plan from the ledger (recorder.plan_for),
the sweeper's pace, and the tracking functions' configuration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from s3_wistia_bridge.config import ConfigError
from s3_wistia_bridge.ledger import Entry
from s3_wistia_bridge.lifecycle import (
    Change,
    Current,
    MediaStatus,
    Observation,
    decide,
    normalize_time,
    wistia_status,
)
from s3_wistia_bridge.recorder import plan_for
from s3_wistia_bridge.sweeper import Pacer
from s3_wistia_bridge.tracking_config import SourceDisposition, StatusTracking, TrackingConfig

T1, T2, T3 = "2026-11-21T10:00:00.000Z", "2026-11-21T10:01:00.000Z", "2026-11-21T10:02:00.000Z"


def current(status: MediaStatus, event_at: str | None = None, seen: frozenset[str] = frozenset()) -> Current:
    return Current(status, event_at, seen)


def observed(
    status: MediaStatus | None, at: str = T2, event_id: str | None = "e1", name: str | None = None
) -> Observation:
    return Observation("abc123", status, at, event_id, name)


def test_a_status_moves_forward():
    assert decide(current(MediaStatus.ACCEPTED), observed(MediaStatus.QUEUED)) is Change.APPLY
    assert decide(current(MediaStatus.QUEUED, T1), observed(MediaStatus.READY)) is Change.APPLY
    assert decide(current(MediaStatus.PROCESSING, T1), observed(MediaStatus.FAILED)) is Change.APPLY


def test_a_status_never_moves_back_whatever_the_time_says():
    assert decide(current(MediaStatus.READY, T1), observed(MediaStatus.PROCESSING, T3)) is Change.STALE
    assert decide(current(MediaStatus.READY, T1), observed(MediaStatus.FAILED, T3)) is Change.STALE
    assert decide(current(MediaStatus.FAILED, T1), observed(MediaStatus.READY, T3)) is Change.STALE


def test_an_event_older_than_the_last_one_applied_is_stale():
    assert decide(current(MediaStatus.QUEUED, T3), observed(MediaStatus.PROCESSING, T1)) is Change.STALE


def test_an_event_of_the_same_second_is_ordered_by_rank():
    assert decide(current(MediaStatus.QUEUED, T2), observed(MediaStatus.READY, T2)) is Change.APPLY


def test_a_seen_uuid_is_a_duplicate_even_when_it_would_apply():
    assert (
        decide(current(MediaStatus.ACCEPTED, seen=frozenset({"e1"})), observed(MediaStatus.READY))
        is Change.DUPLICATE
    )


def test_deleted_follows_any_status():
    for status in MediaStatus:
        if status.holds_media and status is not MediaStatus.DELETED:
            assert decide(current(status, T1), observed(MediaStatus.DELETED)) is Change.APPLY


def test_a_rename_applies_when_newer():
    assert (
        decide(Current(MediaStatus.READY, T1, frozenset(), T1), observed(None, T2, name="n")) is Change.APPLY
    )
    assert (
        decide(Current(MediaStatus.READY, T1, frozenset(), T3), observed(None, T2, name="n")) is Change.STALE
    )
    assert decide(current(MediaStatus.READY), observed(None, T2, name=None)) is Change.STALE


STATUSES = st.sampled_from([s for s in MediaStatus if s.holds_media])
TIMES = st.sampled_from([T1, T2, T3])


@given(st.lists(st.tuples(STATUSES, TIMES, st.sampled_from("abcd")), max_size=12))
def test_any_delivery_order_ends_at_the_highest_status_and_never_goes_down(events):
    state = current(MediaStatus.ACCEPTED)
    for status, at, event_id in events:
        change = decide(state, observed(status, at, event_id))
        seen = state.seen | {event_id}
        if change is Change.APPLY:
            assert status.rank > state.status.rank
            state = Current(status, at, seen)
        else:
            state = state._replace(seen=seen)
    assert state.status.rank <= max((s.rank for s, _, _ in events), default=0)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("2016-03-30T15:53:15Z", "2016-03-30T15:53:15.000Z"),
        ("2016-03-30T17:53:15+02:00", "2016-03-30T15:53:15.000Z"),
        ("2016-03-30T15:53:15.5", "2016-03-30T15:53:15.500Z"),
        ("yesterday", None),
        (12, None),
        ("", None),
    ],
)
def test_times_are_normalized_so_they_compare_as_strings(text, normalized):
    assert normalize_time(text) == normalized


def test_wistia_statuses_map_to_ledger_statuses():
    assert [wistia_status(s) for s in ("queued", "processing", "ready", "failed", "archived", None)] == [
        MediaStatus.QUEUED,
        MediaStatus.PROCESSING,
        MediaStatus.READY,
        MediaStatus.FAILED,
        None,
        None,
    ]


# --- the ingest plan -------------------------------------------------------------------------------


def entry(status: MediaStatus, generation: int = 1, **item: object) -> Entry:
    return Entry("b/k", f"v#{generation:03d}", status, generation, {"hashed_id": "old1", **item})


def test_no_entry_plans_the_first_generation():
    plan = plan_for(None)
    assert (plan.generation, plan.replaces, plan.answer) == (1, None, None)


@pytest.mark.parametrize(
    "status", [MediaStatus.ACCEPTED, MediaStatus.PROCESSING, MediaStatus.READY, MediaStatus.DELETED]
)
def test_a_live_media_is_answered_as_a_duplicate(status: MediaStatus):
    plan = plan_for(entry(status, accepted_at=T1))
    assert plan.answer is not None
    assert plan.answer.duplicate
    assert plan.answer.result.hashed_id == "old1"
    assert plan.answer.copied_at == T1


def test_a_failed_media_plans_a_new_generation_that_replaces_it():
    failed = entry(MediaStatus.FAILED, 2, replaces="older")
    plan = plan_for(failed)
    assert (plan.generation, plan.replaces, plan.replaced, plan.answer) == (3, "old1", failed, None)


@pytest.mark.parametrize("status", [MediaStatus.REJECTED, MediaStatus.COPY_FAILED])
def test_no_media_yet_plans_the_same_generation_again(status: MediaStatus):
    plan = plan_for(entry(status, 2, replaces="older"))
    assert (plan.generation, plan.replaces, plan.answer) == (2, "older", None)


# --- the sweeper's pace ------------------------------------------------------------------------


def test_the_pacer_spaces_requests_and_stops_at_its_maximum():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(2.0, 3, clock=lambda: now[0], sleep=sleep)
    assert [pacer.take() for _ in range(4)] == [True, True, True, False]
    assert slept == [0.5, 0.5]


# --- configuration -------------------------------------------------------------------------------

BASE = {"LEDGER_TABLE": "ledger", "FAILURE_QUEUE_URL": "https://sqs/q"}


def test_the_defaults():
    config = TrackingConfig.from_environ(BASE)
    assert config.status_tracking is StatusTracking.WEBHOOKS
    assert config.source_disposition is SourceDisposition.KEEP
    assert (config.sweep_after_minutes, config.ready_deadline_minutes, config.sweep_max_requests) == (
        30,
        240,
        60,
    )
    assert config.sweep_requests_per_second == 2.0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LEDGER_TABLE": ""}, "^LEDGER_TABLE: required"),
        ({"STATUS_TRACKING": "sometimes"}, "^STATUS_TRACKING: 'sometimes' is not one of webhooks, poll, off"),
        ({"SWEEP_REQUESTS_PER_SECOND": "0"}, "^SWEEP_REQUESTS_PER_SECOND: '0' is not a rate"),
        ({"SWEEP_REQUESTS_PER_SECOND": "nan"}, "^SWEEP_REQUESTS_PER_SECOND"),
        ({"SOURCE_DISPOSITION": "delete"}, "^SOURCE_DISPOSITION"),
        (
            {"SWEEP_AFTER_MINUTES": "60", "READY_DEADLINE_MINUTES": "60"},
            "^READY_DEADLINE_MINUTES: 60 must be over",
        ),
        ({"WISTIA_API_URL": "http://api.example.com"}, "^WISTIA_API_URL: .* must use https"),
    ],
)
def test_a_bad_value_names_its_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        TrackingConfig.from_environ(BASE | env)


def test_a_function_says_which_variable_it_cannot_do_without():
    with pytest.raises(ConfigError, match=r"^WISTIA_WEBHOOK_SECRET_ID: required by the webhook function"):
        TrackingConfig.from_environ(BASE).require(
            "webhook_secret_id", "WISTIA_WEBHOOK_SECRET_ID", "by the webhook function"
        )
