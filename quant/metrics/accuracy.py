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

    @classmethod
    def from_dict(cls, figures: dict[str, float | int]) -> Accuracy:
        """The Accuracy behind :meth:`as_dict`'s figures (its hits from accuracy x n)."""
        n = int(figures["n"])
        return cls(round(figures["accuracy"] * n) if n else 0, n)

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


def always_down_accuracy(actual: np.ndarray, mask: np.ndarray | None = None) -> Accuracy:
    """The naive baseline that always predicts a fall, on the same days: the better of it
    and :func:`always_up_accuracy` is the share of the test days' majority direction, which
    a model must beat (in a falling market, always-up is the weaker baseline)."""
    actual = np.asarray(actual, dtype=float)
    return direction_accuracy(-np.ones_like(actual), actual, mask)


def threshold_mask(predicted_change: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Days whose predicted change is large enough to act on: |predicted change| >= threshold
    (the paper's "threshold filter"; NaN predictions are never kept)."""
    predicted_change = np.asarray(predicted_change, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.abs(predicted_change) >= threshold


def yesterday_direction_accuracy(
    actual: np.ndarray, previous: np.ndarray, mask: np.ndarray | None = None
) -> Accuracy:
    """The naive baseline that predicts each day's direction to be the previous day's
    (``previous[i]`` is the actual change of the day before day ``i``). A flat previous day
    predicts zero, which counts as a miss, as for any prediction of zero."""
    return direction_accuracy(previous, actual, mask)


def majority_accuracy(
    actual: np.ndarray, training: np.ndarray, mask: np.ndarray | None = None
) -> Accuracy:
    """The naive baseline that always predicts the direction most frequent in the training
    span's changes (ties: up), on the same days."""
    training = np.asarray(training, dtype=float)
    majority = 1.0 if (training > 0).sum() >= (training < 0).sum() else -1.0
    actual = np.asarray(actual, dtype=float)
    return direction_accuracy(np.full_like(actual, majority), actual, mask)


def price_accuracy(predicted: np.ndarray, actual: np.ndarray) -> float:
    """1 - mean absolute percentage error of predicted prices (NaN pairs left out). Next-day
    prices are close to today's, so this is near 1 even for a model with no skill: compare it
    with the same score of "tomorrow = today"."""
    predicted = np.asarray(predicted, dtype=float)
    actual = np.asarray(actual, dtype=float)
    keep = np.isfinite(predicted) & np.isfinite(actual)
    if not keep.any():
        return math.nan
    return float(1.0 - np.mean(np.abs(predicted[keep] - actual[keep]) / np.abs(actual[keep])))


def change_spread(predicted_change: np.ndarray, actual_change: np.ndarray) -> dict[str, float]:
    """Standard deviations of predicted and actual changes and their ratio. A ratio far below
    1 is the paper's "not dare to predict": predictions hugging the average."""
    predicted_change = np.asarray(predicted_change, dtype=float)
    actual_change = np.asarray(actual_change, dtype=float)
    keep = np.isfinite(predicted_change) & np.isfinite(actual_change)
    if keep.sum() < 2:
        return {"predicted_std": math.nan, "actual_std": math.nan, "ratio": math.nan}
    predicted_std = float(np.std(predicted_change[keep], ddof=1))
    actual_std = float(np.std(actual_change[keep], ddof=1))
    ratio = predicted_std / actual_std if actual_std > 0 else math.nan
    return {"predicted_std": predicted_std, "actual_std": actual_std, "ratio": ratio}
