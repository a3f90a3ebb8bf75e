"""The share bench's arithmetic (bench/share_bench.py): its percentile and its rate after a burst."""

from __future__ import annotations

import pytest

from bench.share_bench import achieved_per_minute, percentile, rate_within


def test_percentile_interpolates_between_the_closest_ranks():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]  # any order
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert (percentile(values, 0), percentile(values, 100)) == (1.0, 5.0)
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_the_rate_leaves_out_the_burst_that_went_at_once():
    # A bucket of 5 at 200/min: five at 0 s, then one every 0.3 s: exactly 200/min.
    moments = [0.0] * 5 + [0.3 * k for k in range(1, 96)]
    assert achieved_per_minute(moments, burst=5) == pytest.approx(200.0)
    assert achieved_per_minute(moments[:5], burst=5) == 0.0  # nothing after the burst


def test_the_rate_within_a_window_counts_only_what_went_in_it():
    moments = [10.0] * 5 + [10 + 0.3 * k for k in range(1, 201)]  # 200/min from 10 s to 70 s
    assert rate_within(moments, (10.0, 40.0), burst=5) == pytest.approx(200.0)
    assert rate_within([], (0.0, 30.0), burst=5) == 0.0
