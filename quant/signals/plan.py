"""The walk-forward plan: which months each model learns from and which it predicts, and
what every step of a build reads.

Each model is trained only on samples whose labels are known at the close of the decision
date of its first test month (the "now" of that model), so no test month ever informs the
model that trades it. See docs/cnn_lstm.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.features import Bars
from quant.market.calendar import Months
from quant.signals.config import SignalConfig, SignalError

if TYPE_CHECKING:
    from quant.signals.models import ModelStore


@dataclass(frozen=True)
class Block:
    """One model's job: learn from ``train_months``, predict ``test_months`` (month indices
    into the calendar's months). Its "now" is the decision row of its first test month;
    every label it learns from ends by then. ``name``: its first test month (YYYY-MM)."""

    test_months: np.ndarray
    train_months: np.ndarray
    now: int
    name: str


def walk_forward(months: Months, config: SignalConfig) -> list[Block]:
    """The blocks of the configured walk-forward. A SignalError when no test month has a
    decision date in the data."""
    k = np.arange(len(months.periods))
    periods = months.periods
    test_start, test_end = (pd.Period(m, freq="M") for m in (config.test_start, config.test_end))
    test = k[(periods >= test_start) & (periods <= test_end) & (months.decision_row >= 0)]
    if not len(test):
        raise SignalError(
            f"no test month in {test_start}..{test_end} has a decision date in the data "
            f"({periods[0]}..{periods[-1]})"
        )
    step = config.retrain_every or len(test)
    train_start = pd.Period(config.train_start, freq="M")
    blocks = []
    for first in range(0, len(test), step):
        chunk = test[first : first + step]
        last_train = pd.Period(config.train_end, freq="M") if first == 0 else periods[chunk[0]] - 1
        train = k[(periods >= train_start) & (periods <= last_train)]
        now = int(months.decision_row[chunk[0]])
        assert (months.last_row[train] <= now).all()  # labels end by "now"
        blocks.append(Block(chunk, train, now, str(periods[chunk[0]])))
    return blocks


def chronological_split(order: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean mask of the validation part: samples whose ``order`` (month or row) is among
    the last ``fraction`` of the distinct values (at least one value when fraction > 0)."""
    values = np.unique(order)
    if fraction == 0 or len(values) < 2:
        return np.zeros(len(order), dtype=bool)
    n_val = min(max(1, round(fraction * len(values))), len(values) - 1)
    return order >= values[-n_val]


@dataclass(frozen=True)
class Run:
    """What every step of one build reads: the panel, its months and stacked bars, the
    config, the folder of the checkpoints and tables (None: a paper book's evening, which
    caches no tables), the torch device (None: a GPU if one is seen) and the store of
    models by what they learned from (quant.signals.models), looked in before training."""

    panel: MarketPanel
    months: Months
    bars: Bars
    config: SignalConfig
    folder: Path | None
    device: str | None
    models: ModelStore | None = None

    def holding_month(self, rows: np.ndarray) -> np.ndarray:
        """Holding month each calendar row decides for (the month whose decision row is the
        latest one at or before it); -1 before the first decision row."""
        decided = np.flatnonzero(self.months.decision_row >= 0)
        at = np.searchsorted(self.months.decision_row[decided], rows, side="right") - 1
        return np.where(at >= 0, decided[np.maximum(at, 0)], -1)
