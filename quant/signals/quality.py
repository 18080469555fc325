"""How good the signals were on the test span (realised figures, never an input):

- ``cnn_monthly`` (one row per test month): the ranking's monthly quality
  (:func:`quant.metrics.selection.monthly_selection_quality`), summarised in ``cnn``;
- ``lstm``: the timer's direction accuracy with its count and 95 % Wilson interval, beside
  the always-up and always-down baselines on the same days, on the strategy's own timing
  rows (``timing``) and on a seeded sample pooled over every code (``pooled``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quant.features import forward_returns
from quant.metrics.accuracy import always_down_accuracy, always_up_accuracy, direction_accuracy
from quant.metrics.selection import monthly_selection_quality, summarise_selection
from quant.signals.plan import Block, Run
from quant.signals.training import subsample


def ranking_quality(
    selection: pd.DataFrame, returns: np.ndarray, fraction: float
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ranking's monthly quality (``cnn_monthly``) and its summary, from the selection
    table and each row's next-month return (``returns``, in the table's row order)."""
    monthly = monthly_selection_quality(selection.assign(**{"return": returns}), fraction)
    return monthly, summarise_selection(monthly) | {"samples": len(selection)}


def pooled_test_sample(run: Run, blocks: list[Block], window_ok: np.ndarray) -> np.ndarray:
    """A seeded uniform sample of all codes' test windows (any code, any holding day of a
    test month) with a known 5-day return, to measure the timer beyond the selection: flat
    positions into the run's stacked bars."""
    test_months = np.concatenate([b.test_months for b in blocks])
    bars = run.bars
    month = run.holding_month(bars.row)
    positions = np.flatnonzero(window_ok & np.isin(month, test_months))
    ret, _ = forward_returns(run.panel, bars.row[positions], bars.col[positions])
    positions = positions[np.isfinite(ret)]
    rng = np.random.default_rng([run.config.seed, len(run.panel.dates)])
    return subsample(rng, positions, run.config.lstm.max_eval_windows)


def direction_quality(probability: np.ndarray, ret: np.ndarray) -> dict[str, Any]:
    """The calls (+1 above a probability of 0.5) against the realised 5-day returns: the
    accuracy (quant.metrics.accuracy.Accuracy.as_dict), both naive baselines on the same
    days and the share of calls that said up."""
    signal = np.where(probability > 0.5, 1.0, -1.0)
    return direction_accuracy(signal, ret).as_dict() | {
        "always_up": always_up_accuracy(ret).as_dict(),
        "always_down": always_down_accuracy(ret).as_dict(),
        "predicted_up_share": float((signal > 0).mean()) if len(signal) else float("nan"),
    }


def timing_quality(run: Run, timing: pd.DataFrame) -> dict[str, Any]:
    """:func:`direction_quality` of the timing table's rows."""
    rows = run.panel.dates.get_indexer(timing["date"])
    cols = run.panel.codes.get_indexer(timing["code"])
    ret, _ = forward_returns(run.panel, rows, cols)
    return direction_quality(timing["probability"].to_numpy(), ret)


def pooled_quality(run: Run, probability: np.ndarray, positions: np.ndarray) -> dict[str, Any]:
    """:func:`direction_quality` of the timer's ``probability`` at the bars ``positions``."""
    bars = run.bars
    ret, _ = forward_returns(run.panel, bars.row[positions], bars.col[positions])
    return direction_quality(probability, ret)
