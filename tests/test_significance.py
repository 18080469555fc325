"""The block bootstrap of a difference in annualised return, on series whose answer is
known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.metrics.significance import (
    annualized_from_monthly,
    bootstrap_difference,
    monthly_returns,
)

MONTHS = pd.date_range("2014-01-31", periods=36, freq="ME")


def test_monthly_returns_start_from_day_zero():
    days = pd.to_datetime(["2013-12-31", "2014-01-15", "2014-01-30", "2014-02-14", "2014-02-28"])
    nav = pd.Series([1.0, 1.5, 1.1, 0.9, 1.21], index=days)
    returns = monthly_returns(nav)
    assert list(returns.index) == [days[2], days[4]]
    np.testing.assert_allclose(returns, [0.1, 0.1])


def test_constant_edge_has_a_zero_width_interval_at_the_known_value():
    # every month the strategy earns 1 % and the baseline 0 %: every resample agrees
    strategy = pd.Series(0.01, index=MONTHS)
    baseline = pd.Series(0.0, index=MONTHS)
    result = bootstrap_difference(strategy, baseline, resamples=500)
    expected = 1.01**12 - 1
    assert result.estimate == pytest.approx(expected)
    assert result.low == pytest.approx(expected) and result.high == pytest.approx(expected)


def test_identical_series_differ_by_exactly_zero():
    returns = pd.Series(np.random.default_rng(3).normal(0.01, 0.08, 36), index=MONTHS)
    result = bootstrap_difference(returns, returns, resamples=300)
    assert result.estimate == 0.0 and result.low == 0.0 and result.high == 0.0


def test_interval_covers_the_true_difference_about_95_percent_of_the_time():
    # i.i.d. months: strategy = baseline + N(0.005, 0.03); the true annualised edge is
    # the difference of the two geometric growth rates, approximated by simulation.
    rng = np.random.default_rng(11)
    baseline_mean, edge = 0.01, 0.005
    truth_sample = rng.normal(baseline_mean, 0.06, (200_000, 1))
    strategy_sample = truth_sample + rng.normal(edge, 0.03, (200_000, 1))
    truth = float(
        np.exp(np.log1p(strategy_sample).mean() * 12) - np.exp(np.log1p(truth_sample).mean() * 12)
    )
    covered = 0
    trials = 120
    for trial in range(trials):
        base = rng.normal(baseline_mean, 0.06, 120)
        strat = base + rng.normal(edge, 0.03, 120)
        months = pd.date_range("2000-01-31", periods=120, freq="ME")
        result = bootstrap_difference(
            pd.Series(strat, index=months),
            pd.Series(base, index=months),
            block=1,
            resamples=400,
            seed=trial,
        )
        covered += result.low <= truth <= result.high
    assert 0.88 <= covered / trials <= 0.99


def test_annualized_from_monthly():
    assert annualized_from_monthly(np.array([0.1, -0.1])) == pytest.approx((1.1 * 0.9) ** 6 - 1)


def test_too_few_months_is_an_error():
    with pytest.raises(ValueError, match="too few"):
        bootstrap_difference(pd.Series(0.0, index=MONTHS[:4]), pd.Series(0.0, index=MONTHS[:4]))
