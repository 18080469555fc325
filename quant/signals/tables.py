"""The signal tables a block's trained models give (one row per ...):

- ``selection`` (holding month, scored code): decision_date, code, score, rank, selected.
- ``timing`` (day, selected code): date, code, decision_date, signal, probability -- the
  timer's call at the close of ``date``, to be executed at the next open.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from quant.features import CNNInputs, lstm_windows
from quant.models.training import predict
from quant.selection import top_fraction
from quant.signals.plan import Run

#: Rows of every forward pass of the signals' models (quant.models.training.predict with
#: ``fixed``): a book's evening predicts a few rows, padded to this many.
BATCH = 256


def class_one_probability(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """(n,) probability of class 1 (the higher ranks; a rise) for the (n, ...) inputs
    ``x``, each row's the same however many rows are predicted beside it."""
    if len(x) == 0:
        return np.empty(0)
    logits = torch.from_numpy(predict(model, x, batch_size=BATCH, fixed=True))
    return torch.softmax(logits.double(), dim=1)[:, 1].numpy()


def selection_table(run: Run, test: CNNInputs, score: np.ndarray) -> pd.DataFrame:
    """Scores ranked within each decision date (1 = best; ties: the earlier code) and the
    top fraction selected by the platform's one rule, in the row order of ``test``."""
    panel = run.panel
    months, at = np.unique(test.month, return_inverse=True)
    grid = np.full((len(months), len(panel.codes)), np.nan)
    grid[at, test.col] = score
    chosen = top_fraction(grid, run.config.top_fraction)
    order = np.argsort(np.where(np.isfinite(grid), -grid, np.inf), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, grid.shape[1] + 1)[None, :], axis=1)
    return pd.DataFrame(
        {
            "decision_date": panel.dates[test.row],
            "code": panel.codes[test.col].astype(str),
            "score": score.astype(np.float64),
            "rank": rank[at, test.col].astype(np.int64),
            "selected": chosen[at, test.col],
        }
    )


def timing_table(
    run: Run, selection: pd.DataFrame, window_ok: np.ndarray, model: nn.Module
) -> pd.DataFrame:
    """The timer's call for every selected code on every holding day of its month on which
    it has a tradable bar and a valid window (no row: no decision that day); signal +1
    when the probability of a rise is above 0.5, else -1."""
    panel, months = run.panel, run.months
    chosen = selection[selection["selected"]]
    decision_rows = panel.dates.get_indexer(chosen["decision_date"])
    cols = panel.codes.get_indexer(chosen["code"])
    holding = run.holding_month(decision_rows)
    pieces_rows, pieces_cols, pieces_decision = [], [], []
    for month in np.unique(holding):  # one loop step per month, vectorised over its codes
        rows = months.holding_rows(month)
        mine = cols[holding == month]
        pieces_rows.append(np.repeat(rows, len(mine)))
        pieces_cols.append(np.tile(mine, len(rows)))
        pieces_decision.append(np.full(len(rows) * len(mine), months.decision_row[month]))
    rows, cols, decision = (np.concatenate(p) for p in (pieces_rows, pieces_cols, pieces_decision))
    position = run.bars.position(rows, cols)
    keep = position >= 0
    keep[keep] = window_ok[position[keep]]
    rows, cols, decision, position = rows[keep], cols[keep], decision[keep], position[keep]
    probability = class_one_probability(model, lstm_windows(run.bars, position))
    frame = pd.DataFrame(
        {
            "date": panel.dates[rows],
            "code": panel.codes[cols].astype(str),
            "decision_date": panel.dates[decision],
            "signal": np.where(probability > 0.5, 1, -1).astype(np.int64),
            "probability": probability,
        }
    )
    return frame.sort_values(["date", "code"], kind="stable").reset_index(drop=True)
