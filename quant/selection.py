"""Cross-sectional selection: the top fraction of scored stocks, as used by every
monthly strategy (momentum, reversal, the CNN ranker)."""

from __future__ import annotations

import numpy as np


def top_fraction(scores: np.ndarray, fraction: float, min_count: int = 1) -> np.ndarray:
    """Boolean mask of the highest scores per row: round(fraction x number scored), at
    least ``min_count``; NaN scores are never chosen. Ties keep the lower column first."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    scores = np.atleast_2d(scores)
    chosen = np.zeros(scores.shape, dtype=bool)
    scored = np.isfinite(scores)
    counts = scored.sum(axis=1)
    wanted = np.minimum(np.maximum(np.rint(fraction * counts).astype(int), min_count), counts)
    order = np.argsort(np.where(scored, -scores, np.inf), axis=1, kind="stable")
    for row, k in enumerate(wanted):
        chosen[row, order[row, :k]] = True
    return chosen
