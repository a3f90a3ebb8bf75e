"""Exactly once under faults, inside `make test`: a smaller run of `make chaos`."""

from __future__ import annotations

import pytest
from local_stack.chaos import ChaosConfig, run_chaos

pytestmark = pytest.mark.chaos


def test_every_accepted_object_is_one_media_under_a_third_of_requests_faulted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The harness announces objects it never puts in S3: the content check would find none.
    monkeypatch.setenv("CONTENT_CHECK", "false")
    report = run_chaos(ChaosConfig(objects=300, rejected=30, fault_rate=0.33, workers=8, seed=11))
    figures = report.figures

    print("\n" + report.table())
    assert figures["faults injected"] >= 0.3 * figures["Wistia copy requests"]
    assert figures["Data API lookups (after unanswered copies)"] > 0
    assert set(figures["faults by kind"]) >= {
        "429",
        "500",
        "503",
        "drop",
        "drop_after_processing",
        "timeout_after_processing",
    }
    assert figures["duplicate deliveries"] > 0  # the scenario did exercise duplicates
    assert figures["invocations that raised"] > 0  # ... and Lambda's retries
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["rejected_sent"] == 0
    assert figures["medias in Wistia"] == 300
    assert figures["queue depth after replay"] == 0
