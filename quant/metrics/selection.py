"""How good a cross-sectional ranking is, month by month: the mean realised return of the
top names, of the top decile and of everything scored, and the rank information
coefficient (Spearman correlation of score and realised return) with its t-statistic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from quant.selection import top_fraction

DECILE = 0.1


def rank_ic(scores: np.ndarray, returns: np.ndarray) -> float:
    """Spearman correlation of scores and realised returns (average ranks for ties); NaN
    with fewer than 2 names or when either side is constant."""
    ranks = pd.DataFrame({"s": scores, "r": returns}).rank()
    if len(ranks) < 2 or (ranks.nunique() < 2).any():
        return math.nan
    return float(np.corrcoef(ranks["s"], ranks["r"])[0, 1])


def top_mean(scores: np.ndarray, returns: np.ndarray, fraction: float) -> float:
    """Mean return of the top ``fraction`` of the scores, chosen by the platform's one
    selection rule (:func:`quant.selection.top_fraction`: round(fraction x n), at least
    one; ties keep the earlier name)."""
    chosen = top_fraction(np.asarray(scores, dtype=float)[None, :], fraction)[0]
    return float(np.mean(np.asarray(returns)[chosen]))


def monthly_selection_quality(
    frame: pd.DataFrame,
    top_fraction: float,
    *,
    date: str = "decision_date",
    score: str = "score",
    ret: str = "return",
) -> pd.DataFrame:
    """One row per date: n scored, mean return of the top fraction, of the top decile and
    of all, and the rank IC. Rows with a missing return are left out."""
    frame = frame[np.isfinite(frame[ret])]
    rows = []
    for when, group in frame.groupby(date, sort=True):
        s, r = group[score].to_numpy(), group[ret].to_numpy()
        rows.append(
            {
                date: when,
                "n": len(group),
                "top_return": top_mean(s, r, top_fraction),
                "decile_return": top_mean(s, r, DECILE),
                "all_return": float(r.mean()),
                "rank_ic": rank_ic(s, r),
            }
        )
    columns = [date, "n", "top_return", "decile_return", "all_return", "rank_ic"]
    return pd.DataFrame(rows, columns=columns)


def t_statistic(values: np.ndarray) -> float:
    """Mean over its standard error (sample std / sqrt(n)); NaN below 2 values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or values.std(ddof=1) == 0:
        return math.nan
    return float(values.mean() / (values.std(ddof=1) / math.sqrt(len(values))))


def summarise_selection(monthly: pd.DataFrame) -> dict[str, float | int]:
    """Means over the months of :func:`monthly_selection_quality`, and the IC's mean, std
    and t-statistic (the months are treated as independent draws)."""
    ic = monthly["rank_ic"].to_numpy(dtype=float)
    return {
        "months": len(monthly),
        "top_return": float(monthly["top_return"].mean()),
        "decile_return": float(monthly["decile_return"].mean()),
        "all_return": float(monthly["all_return"].mean()),
        "ic_mean": float(np.nanmean(ic)) if np.isfinite(ic).any() else math.nan,
        "ic_std": float(np.nanstd(ic, ddof=1)) if np.isfinite(ic).sum() > 1 else math.nan,
        "ic_t": t_statistic(ic),
    }
