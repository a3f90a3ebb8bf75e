"""Exactly once under faults and crashes, inside `make test`: a smaller, faster run of `make chaos`
in each delivery mode (a higher clock rate: the retry waits are the same in simulated time)."""

from __future__ import annotations

import pytest
from local_stack.chaos import ChaosConfig, run_chaos
from local_stack.injection import KILL_POINTS

pytestmark = pytest.mark.chaos

SMALL = ChaosConfig(
    objects=200,
    rejected=20,
    fault_rate=0.33,
    # Enough failure records (~12 of 200) and SendMessage failures that a small run always has some.
    permanent_rate=0.06,
    sqs_send_error_rate=0.5,
    workers=8,
    seed=11,
    kill_rate=0.03,
    clock_rate=50.0,
    timeout=20.0,
)


@pytest.mark.parametrize("mode", ["direct", "buffered"])
def test_every_accepted_object_is_one_media_under_faults_and_killed_sandboxes(mode: str) -> None:
    report = run_chaos(SMALL, mode)
    figures = report.figures

    print("\n" + report.table())
    assert figures["faults injected"] >= 0.3 * figures["Wistia copy requests"]
    assert figures["Data API lookups (after unanswered copies)"] > 0
    assert set(figures["faults by kind"]) >= {"422", "429", "500", "503", "drop", "drop_after_processing"}
    assert set(figures["kills by point"]) == set(KILL_POINTS)  # every crash point was exercised
    assert figures["DynamoDB errors injected"]
    assert figures["failure-queue SendMessage failures injected"] > 0, figures["faults by kind"]
    assert figures["duplicate deliveries"] > 0
    if mode == "direct":
        assert figures["Lambda retries"] > 0
    else:
        assert figures["redeliveries (ApproximateReceiveCount > 1)"] > 0
        assert figures["messages reported in batchItemFailures"] > 0
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["rejected_sent"] == 0
    assert figures["medias in Wistia"] == SMALL.objects
    assert figures["queue depth after replay"] == 0
