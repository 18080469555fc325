"""Is a strategy's edge over a baseline more than luck? A moving-block bootstrap over
months: paired monthly returns of the two (same months, after costs) are resampled in
blocks of consecutive months, which keeps short-range dependence (momentum crashes, bull
runs) inside each block, and the difference in annualised return is recomputed each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def monthly_returns(nav: pd.Series) -> pd.Series:
    """Returns from one month's last trading day to the next (the first from day 0),
    indexed by the month-end date."""
    ends = nav.groupby(nav.index.to_period("M")).tail(1)
    points = pd.concat([nav.iloc[:1], ends[ends.index != nav.index[0]]])
    return points.pct_change().iloc[1:]


def annualized_from_monthly(returns: np.ndarray, axis: int = -1) -> np.ndarray:
    """Geometric annualised return of monthly returns: prod(1 + r) ** (12 / n) - 1."""
    n = returns.shape[axis]
    return np.exp(np.log1p(returns).sum(axis=axis) * 12.0 / n) - 1.0


@dataclass(frozen=True)
class Difference:
    """Strategy minus baseline, in annualised return, with a bootstrap interval."""

    estimate: float
    low: float
    high: float
    months: int
    block: int
    resamples: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "difference": self.estimate,
            "ci_low": self.low,
            "ci_high": self.high,
            "months": self.months,
            "block_months": self.block,
            "resamples": self.resamples,
        }


def bootstrap_difference(
    strategy: pd.Series,
    baseline: pd.Series,
    block: int = 3,
    resamples: int = 5000,
    seed: int = 0,
    level: float = 0.95,
) -> Difference:
    """Difference in annualised return (from monthly returns) with a percentile interval
    from a moving-block bootstrap of paired months."""
    paired = pd.concat([strategy, baseline], axis=1, join="inner").dropna().to_numpy()
    months = len(paired)
    if months < 2 * block:
        raise ValueError(f"{months} paired months are too few for blocks of {block}")
    estimate = float(annualized_from_monthly(paired[:, 0]) - annualized_from_monthly(paired[:, 1]))
    rng = np.random.default_rng(seed)
    blocks = -(-months // block)
    starts = rng.integers(0, months - block + 1, size=(resamples, blocks))
    index = (starts[:, :, None] + np.arange(block)).reshape(resamples, -1)[:, :months]
    sample = paired[index]  # (resamples, months, 2)
    differences = annualized_from_monthly(sample[:, :, 0]) - annualized_from_monthly(
        sample[:, :, 1]
    )
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(differences, [tail, 1.0 - tail])
    return Difference(estimate, float(low), float(high), months, block, resamples)
