"""Cross-sectional selection: the top of each row of scores, as used by every monthly
strategy (momentum, reversal, the CNN ranker)."""

from __future__ import annotations

import numpy as np


def top_fraction(scores: np.ndarray, fraction: float, min_count: int = 1) -> np.ndarray:
    """Boolean mask of the highest scores per row: round(fraction x number scored), at
    least ``min_count``; NaN scores are never chosen."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    counts = np.isfinite(np.atleast_2d(scores)).sum(axis=1)
    return top_k(scores, np.maximum(np.rint(fraction * counts).astype(int), min_count))


def top_count(scores: np.ndarray, count: int) -> np.ndarray:
    """Boolean mask of the ``count`` highest scores per row (fewer where fewer are scored)."""
    return top_k(scores, np.full(np.atleast_2d(scores).shape[0], count))


def top_k(scores: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The ``wanted[row]`` highest finite scores of each row; ties keep the lower column."""
    scores = np.atleast_2d(scores)
    scored = np.isfinite(scores)
    wanted = np.minimum(wanted, scored.sum(axis=1))
    order = np.argsort(np.where(scored, -scores, np.inf), axis=1, kind="stable")
    chosen = np.zeros(scores.shape, dtype=bool)
    for row, k in enumerate(wanted):
        chosen[row, order[row, :k]] = True
    return chosen
