"""The prediction study's scores on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quant.metrics.accuracy import (
    change_spread,
    direction_accuracy,
    majority_accuracy,
    price_accuracy,
    threshold_mask,
    wilson_interval,
    yesterday_direction_accuracy,
)
from quant.study.pipeline import SpanPrediction
from quant.study.scores import score_span


def test_wilson_interval_of_half_of_a_hundred():
    # p = 0.5, n = 100: centre 0.5, half-width z * sqrt(0.25/100 + z^2/40000) / (1 + z^2/100)
    z = 1.959963984540054
    half = z * math.sqrt(0.0025 + z * z / 40000) / (1 + z * z / 100)
    low, high = wilson_interval(50, 100)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))
    assert low == pytest.approx(0.4038, abs=1e-4)


def test_threshold_filter_keeps_large_predicted_changes_only():
    predicted = np.array([0.02, -0.005, -0.011, 0.01, np.nan, 0.0])
    assert threshold_mask(predicted, 0.01).tolist() == [True, False, True, True, False, False]
    actual = np.array([0.03, 0.01, 0.02, -0.01, 0.01, 0.01])
    kept = direction_accuracy(predicted, actual, threshold_mask(predicted, 0.01))
    # kept days 0, 2, 3: day 0 right, day 2 wrong (down vs up), day 3 wrong
    assert (kept.hits, kept.n) == (1, 3)


def test_yesterday_and_majority_baselines():
    actual = np.array([0.01, -0.02, 0.03, 0.0, -0.01])
    previous = np.array([0.02, 0.01, -0.02, 0.03, 0.0])
    # predicted +, +, -, (flat day skipped), 0 (a miss): hits on day 0 only
    yesterday = yesterday_direction_accuracy(actual, previous)
    assert (yesterday.hits, yesterday.n) == (1, 4)
    down_majority = majority_accuracy(actual, training=np.array([-0.01, -0.02, 0.01]))
    assert (down_majority.hits, down_majority.n) == (2, 4)
    tie_is_up = majority_accuracy(actual, training=np.array([-0.01, 0.01, 0.0]))
    assert (tie_is_up.hits, tie_is_up.n) == (2, 4)


def test_price_accuracy_is_one_minus_mape():
    predicted = np.array([11.0, 9.0, np.nan])
    actual = np.array([10.0, 10.0, 10.0])
    assert price_accuracy(predicted, actual) == pytest.approx(0.9)  # errors 10 % and 10 %
    assert math.isnan(price_accuracy(np.array([np.nan]), np.array([1.0])))


def test_change_spread_ratio_shows_predictions_hugging_the_average():
    actual = np.array([0.02, -0.02, 0.02, -0.02])
    timid = actual / 10
    spread = change_spread(timid, actual)
    assert spread["ratio"] == pytest.approx(0.1)
    assert spread["actual_std"] == pytest.approx(np.std(actual, ddof=1))


def test_score_span_puts_baselines_on_the_same_days():
    # closes: previous 10 each day; actual moves +2 %, -1 %, +0.5 %, +3 %
    span = SpanPrediction(
        dates=np.arange(4),
        predicted=np.array([10.2, 10.05, 9.8, 10.01]),  # +2 %, +0.5 %, -2 %, +0.1 %
        actual=np.array([10.2, 9.9, 10.05, 10.3]),
        previous=np.full(4, 10.0),
        previous_change=np.array([-0.01, 0.01, 0.01, -0.01]),
    )
    scores = score_span(span, training_changes=np.array([0.01, 0.02, -0.01]), threshold=0.01)
    every, kept = scores["direction"], scores["thresholded"]
    assert (every["model"]["accuracy"], every["model"]["n"]) == (0.5, 4)  # days 0 and 3 right
    assert every["always_up"]["accuracy"] == 0.75
    assert every["yesterday"]["accuracy"] == 0.25  # only day 2 (+ after +)
    assert every["majority"]["accuracy"] == 0.75  # training majority: up
    # |predicted change| >= 1 %: days 0 (+2 %, right) and 2 (-2 %, wrong)
    assert (kept["model"]["accuracy"], kept["model"]["n"]) == (0.5, 2)
    assert (kept["always_up"]["accuracy"], kept["always_up"]["n"]) == (1.0, 2)
    assert kept["yesterday"]["n"] == 2 and kept["yesterday"]["accuracy"] == 0.5
    naive_errors = [0.2 / 10.2, 0.1 / 9.9, 0.05 / 10.05, 0.3 / 10.3]  # |10 - actual| / actual
    assert scores["price_accuracy_naive"] == pytest.approx(1 - sum(naive_errors) / 4)
