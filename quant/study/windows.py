"""Window builders for the predictors, and scalers fitted on the training span only.

Every sample is keyed by its *anchor* a: the last day whose data it may read. Its final
target is the close of day a+1. Every predictor declares its :class:`~quant.models.Window`
(steps, width, feature columns), so all windows share one shape, (steps, width x features);
the built-in three:

- BP:      steps=1, width=1, the 6 features of day a                 -> close[a+1]
- 1-D LSTM: steps=t, width=x_dim=L/t, the last L closes cut in t segments; the target of
           segment i is the first close of segment i+1, the last one close[a+1] (Fig. 2-2)
- LSTM:    steps=t, width=1, t days x 6 features, one day per step; the target of each
           step is the next day's close (Fig. 2-3)

so the targets of a window are close[a - steps*width + 1 + width*j] for j = 1..steps, all
<= a+1. Inputs are log prices and log(1 + volume/amount); with ``relative`` scaling the
log prices are taken relative to the anchor's log close (a change model), otherwise they
stay levels (the paper's set-up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quant.models.base import Window
from quant.study.series import CLOSE, FEATURES

PRICE_COLUMNS = tuple(i for i, f in enumerate(FEATURES) if f not in ("volume", "amount"))


def log_features(values: np.ndarray) -> np.ndarray:
    """Log prices and log(1 + volume), log(1 + amount): scale-free, heavy tails tamed."""
    out = np.log1p(np.asarray(values, dtype=float))
    out[:, PRICE_COLUMNS] = np.log(values[:, PRICE_COLUMNS])
    return out


def valid_anchors(inputs: np.ndarray, anchors: np.ndarray, spec: Window) -> np.ndarray:
    """The anchors whose whole window lies in the data and holds no NaN (e.g. days before
    a causal denoiser's first full window)."""
    anchors = np.asarray(anchors, dtype=int)
    inside = (anchors - spec.days + 1 >= 0) & (anchors < len(inputs))
    anchors = anchors[inside]
    finite = np.isfinite(inputs[:, spec.columns]).all(axis=1)
    bad_before = np.concatenate([[0], np.cumsum(~finite)])  # bad days among rows < i
    clean = bad_before[anchors + 1] - bad_before[anchors + 1 - spec.days] == 0
    return anchors[clean]


def build_inputs(
    inputs: np.ndarray, anchors: np.ndarray, spec: Window, relative: bool
) -> np.ndarray:
    """(n, steps, width x features) windows ending at each anchor, from the (T, 6) log
    features ``inputs`` (denoised or not)."""
    anchors = np.asarray(anchors, dtype=int)
    rows = anchors[:, None] + np.arange(-spec.days + 1, 1)[None, :]  # (n, days)
    windows = inputs[rows][:, :, spec.columns]  # (n, days, F)
    if relative:
        prices = [i for i, c in enumerate(spec.columns) if c in PRICE_COLUMNS]
        windows[:, :, prices] -= inputs[anchors, CLOSE][:, None, None]
    return windows.reshape(len(anchors), spec.steps, spec.n_inputs)


def target_rows(anchors: np.ndarray, spec: Window) -> np.ndarray:
    """(n, steps) rows whose close each step of a window is trained to predict."""
    anchors = np.asarray(anchors, dtype=int)
    return anchors[:, None] - spec.days + 1 + spec.width * np.arange(1, spec.steps + 1)[None, :]


def build_targets(
    log_close: np.ndarray, anchors: np.ndarray, spec: Window, relative: bool
) -> np.ndarray:
    """(n, steps) targets: log closes (levels), or log closes minus the anchor's actual log
    close (relative). ``log_close`` is the actual, never denoised, series."""
    targets = log_close[target_rows(anchors, spec)]
    if relative:
        targets = targets - log_close[np.asarray(anchors, dtype=int)][:, None]
    return targets


@dataclass(frozen=True)
class Standardizer:
    """z-scores per last-axis column, fitted on training samples only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardizer:
        flat = np.asarray(values, dtype=float).reshape(-1, np.shape(values)[-1])
        std = flat.std(axis=0)
        return cls(flat.mean(axis=0), np.where(std > 1e-12, std, 1.0))  # constant column: 0

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.std).astype(np.float32)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float) * self.std + self.mean
