"""Accuracy with counts and Wilson intervals, on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quant.metrics.accuracy import (
    always_down_accuracy,
    always_up_accuracy,
    direction_accuracy,
    wilson_interval,
)


def test_wilson_interval_matches_the_textbook_value():
    # 8 successes in 10: Wilson 95 % interval is [0.4902, 0.9433] (Newcombe 1998, method 3).
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_direction_accuracy_skips_flat_and_missing_days():
    predicted = np.array([0.5, -0.2, 0.1, 0.3, np.nan, 0.0])
    actual = np.array([1.0, -1.0, -2.0, 0.0, 1.0, 1.0])
    score = direction_accuracy(predicted, actual)
    # kept: days 0, 1, 2, 5 (day 3 flat, day 4 NaN); hits: 0 and 1; day 5 predicts 0: a miss
    assert (score.hits, score.n) == (2, 4)
    assert score.value == 0.5
    masked = direction_accuracy(predicted, actual, mask=np.abs(predicted) >= 0.2)
    assert (masked.hits, masked.n) == (2, 2)


def test_always_up_baseline():
    actual = np.array([1.0, -1.0, 2.0, 0.0, 3.0])
    assert (always_up_accuracy(actual).hits, always_up_accuracy(actual).n) == (3, 4)


def test_always_down_baseline_is_the_one_to_beat_when_most_days_fall():
    """Three of the four days with a direction fall: a model right 60 % of the time beats
    always-up (25 %) but not always-down (75 %), the majority of the test days."""
    actual = np.array([-1.0, -2.0, 0.5, 0.0, -0.5, np.nan])
    up, down = always_up_accuracy(actual), always_down_accuracy(actual)
    assert (up.hits, up.n) == (1, 4) and (down.hits, down.n) == (3, 4)
    assert max(up.value, down.value) == 0.75
