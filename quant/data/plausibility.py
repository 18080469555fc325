"""Plausibility of adjustment factors across a panel: factor changes that the raw prices
do not bear out.

:func:`suspect_factor_changes` takes (T, N) arrays (rows = trading days, columns = codes)
and returns the suspect days; the MarketPanel computes ``suspect_factor`` with it, ``quant
data info`` and every backtest report name them (quant.data.notes), and the broker keeps a
position's share count on an ex-rights day whose factor change is suspect
(quant.engine.broker). Whether a universe looks like survivors only is
quant.data.survivorship's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Room beyond the day's price limit for an ex-rights day's move from its reference price:
#: the reference and the close are rounded to the fen and vendors round their factors.
#: On the shared 2010-2017 data (11,838 factor changes) no slack flags 495 changes, half
#: a percentage point flags 8 (scripts/plausibility_figures.py; `quant data info` names them).
FACTOR_MOVE_SLACK = 0.005
#: A code whose factor changes on more than this share of its bar-to-bar steps does not
#: hold a cumulative ex-rights factor (ex-rights days come about once a year): all its
#: changes are suspect. The shared data's largest share is 2 % (scripts/plausibility_figures.py).
FACTOR_CHANGE_SHARE = 0.5
#: Factor ratios closer to 1 than this are rounding, not a change.
FACTOR_EPSILON = 1e-6


def suspect_factor_changes(
    close: np.ndarray,
    adj_factor: np.ndarray,
    has_bar: np.ndarray,
    limit_rate: float | np.ndarray,
    slack: float = FACTOR_MOVE_SLACK,
) -> np.ndarray:
    """(T, N) mask of the days on which a code's adjustment factor changes implausibly.

    ``close``: raw closes (NaN without a bar); ``adj_factor``: raw x adj_factor =
    back-adjusted price, filled forward within each code as MarketPanel.adj_factor is;
    ``has_bar``: bool; ``limit_rate``: the daily price-limit rate, a number or a (T, N)
    array (e.g. :func:`quant.market.rules.limit_rates`; NaN: no limit, not judged). All
    (T, N). ``slack``: see
    FACTOR_MOVE_SLACK.

    A change from factor f0 to f1 is an ex-rights day: the exchange's reference price (除权
    （息）参考价) is the previous close x f0 / f1, and the day's price limits, hence its
    close, are computed from that reference (tushare's ``daily`` documentation on
    ``pre_close``, https://tushare.pro/document/2?doc_id=27: "涨跌停价等均是以此为基础计算的";
    the vendors' factors are built from it). A change is suspect when
    ``|close / (previous close x f0 / f1) - 1| > limit_rate + slack``: the raw
    price shows no gap matching the factor (a factor step larger than a day's limit with
    no step in the prices, or a step in the prices without one in the factor is not
    flagged). Steps smaller than the limit cannot be told from a day's move and are not
    flagged. Every change of a code whose factor changes on more than FACTOR_CHANGE_SHARE
    of its steps is suspect as well. Days after a suspension compare with the last close.
    """
    last_close = pd.DataFrame(close).ffill().to_numpy()
    previous_close = np.full(close.shape, np.nan)
    previous_close[1:] = last_close[:-1]
    previous_factor = np.full(adj_factor.shape, np.nan)
    previous_factor[1:] = adj_factor[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = previous_factor / adj_factor
        change = has_bar & ~np.isnan(previous_close) & (np.abs(ratio - 1) > FACTOR_EPSILON)
        move = close / (previous_close * ratio) - 1
        no_gap = change & (np.abs(move) > np.asarray(limit_rate) + slack)
    steps = np.maximum(has_bar.sum(axis=0) - 1, 1)
    restless = change.sum(axis=0) / steps > FACTOR_CHANGE_SHARE
    return no_gap | (change & restless[None, :])
