"""Factor analysis of a cross-sectional ranking (alphalens' views, on returns a holder could
have earned): the rank IC by decision date and its decay with the horizon, the mean return
of each score quantile and of the top minus the bottom, and the turnover of the top names.

The input is a long table, one row per (decision date, code) ranked, as the engine writes
it for any strategy that exposes its scores (quant.engine.ranking): ``decision_date``,
``code``, ``score`` (higher: better), optionally ``selected`` (what the strategy bought),
and ``return_H`` for each horizon H, the return from the fill after the decision (the
next session's fill price) to the fill price H sessions later. A score is known at the
decision's close, its returns start after the fill: no figure here can look ahead.

Conventions (alphalens-reloaded's, where they fit; tests/test_factor.py checks the two
agree to the digit): the rank IC is Spearman's correlation (average ranks for ties) of score
and return on each date; quantiles are cut per date by score rank, 1 the lowest and
``quantiles`` the highest; quantile returns are the mean return of each quantile on each
date, then the mean over the dates; t-statistics treat the dates as independent draws,
which overstates them where a horizon is longer than the spacing of the decisions
(``overlapping`` in :func:`factor_summary`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from quant.metrics.selection import t_statistic

#: Horizons of the forward returns, in sessions after the fill.
HORIZONS = (1, 5, 20)
#: Score quantiles per date (quintiles, as alphalens' default).
QUANTILES = 5


def return_column(horizon: int) -> str:
    """The column of a ranking table holding the return over ``horizon`` sessions."""
    return f"return_{horizon}"


def horizons_of(frame: pd.DataFrame) -> list[int]:
    """The horizons whose returns ``frame`` holds, ascending."""
    found = [c.removeprefix("return_") for c in frame.columns if c.startswith("return_")]
    return sorted(int(h) for h in found if h.isdigit())


def ic_series(frame: pd.DataFrame, horizons: Sequence[int] | None = None) -> pd.DataFrame:
    """Rank IC on each decision date (rows, ascending) for each horizon (columns): the
    Spearman correlation of score and return over the codes that have both (the Pearson
    correlation of their average ranks, all dates at once); NaN on a date with fewer than 2
    such codes or with a constant score or return."""
    horizons = list(horizons or horizons_of(frame))
    dates = pd.Index(sorted(frame["decision_date"].unique()), name="decision_date")
    table = pd.DataFrame(np.nan, index=dates, columns=horizons)
    for horizon in horizons:
        returns = frame[return_column(horizon)]
        both = frame[np.isfinite(frame["score"]) & np.isfinite(returns)]
        by_date = both.groupby("decision_date")
        ranks = by_date[["score", return_column(horizon)]].rank(method="average")
        middle = (by_date["score"].transform("size") + 1) / 2.0  # the mean of 1..n, exactly
        x, y = ranks["score"] - middle, ranks[return_column(horizon)] - middle
        sums = (
            pd.DataFrame({"xy": x * y, "xx": x * x, "yy": y * y})
            .groupby(both["decision_date"])
            .sum()
        )
        spread = np.sqrt(sums["xx"] * sums["yy"])
        table[horizon] = (sums["xy"] / spread.where(spread > 0)).reindex(dates)
    return table


def quantile_of(frame: pd.DataFrame, quantiles: int = QUANTILES) -> pd.Series:
    """Each row's score quantile on its date (1: lowest .. ``quantiles``: highest), cut by
    average rank: ceil(rank x quantiles / n) for the n finite scores of the date; tied
    scores share a quantile. NaN for a missing score or on a date with fewer than
    ``quantiles`` scores."""
    scored = frame["score"].where(np.isfinite(frame["score"]))
    by_date = scored.groupby(frame["decision_date"])
    ranks = by_date.rank(method="average")
    counts = by_date.transform("count")
    cut = np.ceil(ranks * quantiles / counts).clip(1, quantiles)
    return cut.where(counts >= quantiles)


def quantile_returns(frame: pd.DataFrame, horizon: int, quantiles: int = QUANTILES) -> pd.DataFrame:
    """Mean return over ``horizon`` sessions of each score quantile (columns 1 ..
    ``quantiles``) on each decision date (rows)."""
    returns = frame[return_column(horizon)]
    data = pd.DataFrame(
        {"decision_date": frame["decision_date"], "quantile": quantile_of(frame, quantiles)}
    )
    data["return"] = returns.where(np.isfinite(returns))
    data = data.dropna()
    table = data.pivot_table(
        index="decision_date", columns="quantile", values="return", aggfunc="mean"
    )
    table.columns = [int(q) for q in table.columns]
    return table.reindex(columns=range(1, quantiles + 1))


def top_turnover(frame: pd.DataFrame, quantiles: int = QUANTILES) -> pd.Series:
    """On each decision date after the first, the share of the top names that were not
    among the previous date's top names: the ``selected`` rows where the table has that
    column (what the strategy bought), otherwise the top quantile."""
    if "selected" in frame.columns:
        top = frame[frame["selected"].astype(bool)]
    else:
        top = frame[quantile_of(frame, quantiles) == quantiles]
    sets = {date: set(group) for date, group in top.groupby("decision_date")["code"]}
    dates = sorted(frame["decision_date"].unique())
    shares, previous = [], None
    for date in dates:
        now = sets.get(date, set())
        shares.append(len(now - previous) / len(now) if previous is not None and now else math.nan)
        previous = now
    return pd.Series(shares, index=pd.Index(dates, name="decision_date"), name="turnover")


def factor_summary(frame: pd.DataFrame, quantiles: int = QUANTILES) -> dict[str, Any]:
    """The ranking's figures, JSON-ready: ``dates`` and the mean number of ``names`` ranked
    per date; per horizon (``by_horizon``, keyed by the horizon as text): the rank IC's
    mean, standard deviation, t-statistic, share of dates above zero and count of dates,
    each quantile's mean return, the top-minus-bottom spread's mean and t-statistic, and
    ``overlapping`` (the horizon is longer than the median spacing of the decisions, so
    successive returns share sessions and t overstates); ``top_turnover``: the mean share
    of new top names per date, and ``top`` what it counts (``selected`` or the top
    quantile)."""
    horizons = horizons_of(frame)
    ic = ic_series(frame, horizons)
    dates = ic.index
    spacing = _median_spacing(frame, dates)
    by_horizon: dict[str, Any] = {}
    for horizon in horizons:
        values = ic[horizon].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        table = quantile_returns(frame, horizon, quantiles)
        spread = (table[quantiles] - table[1]).to_numpy(dtype=float)
        by_horizon[str(horizon)] = {
            "ic_mean": float(finite.mean()) if len(finite) else None,
            "ic_std": float(finite.std(ddof=1)) if len(finite) > 1 else None,
            "ic_t": _finite(t_statistic(finite)),
            "ic_positive": float((finite > 0).mean()) if len(finite) else None,
            "dates": len(finite),
            "quantile_returns": {str(q): _finite(table[q].mean()) for q in table.columns},
            "spread": _finite(np.nanmean(spread)) if np.isfinite(spread).any() else None,
            "spread_t": _finite(t_statistic(spread)),
            "overlapping": bool(spacing is not None and horizon > spacing),
        }
    turnover = top_turnover(frame, quantiles)
    return {
        "dates": len(dates),
        "names": float(frame.groupby("decision_date").size().mean()) if len(frame) else 0.0,
        "quantiles": quantiles,
        "by_horizon": by_horizon,
        "top_turnover": _finite(turnover.mean()) if turnover.notna().any() else None,
        "top": "selected" if "selected" in frame.columns else f"quantile {quantiles}",
    }


def _median_spacing(frame: pd.DataFrame, dates: pd.Index) -> float | None:
    """Median sessions between successive decision dates, from the table's ``fill_row``
    (the panel row of each date's fill) where present."""
    if "fill_row" not in frame.columns or len(dates) < 2:
        return None
    rows = frame.groupby("decision_date")["fill_row"].first().sort_index().to_numpy()
    return float(np.median(np.diff(rows)))


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None
