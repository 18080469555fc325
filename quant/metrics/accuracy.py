"""Direction accuracy that comes with its count and a 95 % Wilson interval, so a number like
"58 %" can be read against its sample size and against naive baselines."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (nan, nan) when n == 0."""
    if n == 0:
        return (math.nan, math.nan)
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if hits == 0 else centre - half  # exact bounds, free of rounding
    high = 1.0 if hits == n else centre + half
    return (low, high)


@dataclass(frozen=True)
class Accuracy:
    hits: int
    n: int

    @property
    def value(self) -> float:
        return self.hits / self.n if self.n else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.hits, self.n)

    def as_dict(self) -> dict[str, float | int]:
        low, high = self.interval
        return {"accuracy": self.value, "n": self.n, "ci_low": low, "ci_high": high}

    def __str__(self) -> str:
        low, high = self.interval
        return f"{self.value:.3f} [{low:.3f}, {high:.3f}] (n={self.n})"


def direction_accuracy(
    predicted: np.ndarray, actual: np.ndarray, mask: np.ndarray | None = None
) -> Accuracy:
    """Share of days whose predicted direction (sign of the predicted change, or of a +1/-1
    signal) matches the actual one. Days with an actual change of exactly zero, or NaN on
    either side, have no direction and are left out (they are not in ``n``). A prediction of
    exactly zero counts as a miss."""
    predicted = np.asarray(predicted, dtype=float)
    actual = np.asarray(actual, dtype=float)
    keep = np.isfinite(predicted) & np.isfinite(actual) & (actual != 0)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    hits = np.sign(predicted[keep]) == np.sign(actual[keep])
    return Accuracy(int(hits.sum()), int(keep.sum()))


def always_up_accuracy(actual: np.ndarray, mask: np.ndarray | None = None) -> Accuracy:
    """The naive baseline that always predicts a rise, on the same days."""
    actual = np.asarray(actual, dtype=float)
    return direction_accuracy(np.ones_like(actual), actual, mask)
