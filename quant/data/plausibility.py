"""Plausibility checks that need a whole panel, not one row: adjustment factors whose
changes the raw prices do not bear out, and universes that look like today's survivors.

Both take the MarketPanel's (T, N) arrays (rows = trading days, columns = codes) and
return what they find; ``quant data info`` prints their warnings, every backtest report
lists them in its notes, and the broker keeps a position's share count on an ex-rights day
whose factor change is suspect (MarketPanel.suspect_factor, quant.engine.broker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from quant.market.rules import limit_rates

if TYPE_CHECKING:  # the panel computes its suspect factor changes with this module
    from quant.data.panel import MarketPanel

#: Room beyond the day's price limit for an ex-rights day's move from its reference price:
#: the reference and the close are rounded to the fen and vendors round their factors.
#: On the shared 2010-2017 data (11,838 factor changes) no slack flags 498 changes, half
#: a percentage point flags 8 (scripts/plausibility_figures.py; `quant data info` names them).
FACTOR_MOVE_SLACK = 0.005
#: A code whose factor changes on more than this share of its bar-to-bar steps does not
#: hold a cumulative ex-rights factor (ex-rights days come about once a year): all its
#: changes are suspect. The shared data's largest share is 2 % (scripts/plausibility_figures.py).
FACTOR_CHANGE_SHARE = 0.5
#: Factor ratios closer to 1 than this are rounding, not a change.
FACTOR_EPSILON = 1e-6
#: A universe is judged for survivorship only over at least this many calendar days and
#: this many codes. Random 100-code universes of 2 years drawn from the shared 2010-2017
#: data (which keeps delisted stocks) have no code ending early in 2 % of draws (1 % over
#: 3 years), 50-code ones in 6 % (scripts/plausibility_figures.py).
SURVIVORSHIP_MIN_DAYS = 730
SURVIVORSHIP_MIN_CODES = 100


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


def suspect_factor_days(panel: MarketPanel, block: int = 512) -> np.ndarray:
    """(T, N) mask of the panel's suspect factor changes (:func:`suspect_factor_changes`
    with each board's limit rate on each day, the risk-warning rate on ST days), computed
    ``block`` codes at a time so that its float64 temporaries stay small."""
    out = np.zeros(panel.has_bar.shape, dtype=bool)
    for start in range(0, len(panel.codes), block):
        cols = slice(start, start + block)
        rates = limit_rates(panel.board[cols], panel.dates, panel.is_st[:, cols])
        out[:, cols] = suspect_factor_changes(
            panel.price("close", slice(None), cols),
            panel.adj_factor[:, cols],
            panel.has_bar[:, cols],
            rates,
        )
    return out


def factor_change_warning(panel: MarketPanel, most: int = 5) -> str | None:
    """A one-line warning naming the panel's suspect factor changes
    (MarketPanel.suspect_factor, see :func:`suspect_factor_days`), or None."""
    rows, cols = np.nonzero(panel.suspect_factor)
    if not len(rows):
        return None
    order = np.lexsort((rows, cols))[:most]
    places = ", ".join(f"{panel.codes[cols[k]]} {panel.dates[rows[k]].date()}" for k in order)
    more = f" and {len(rows) - most} more" if len(rows) > most else ""
    return (
        f"{len(rows)} adj_factor changes without a matching raw price gap ({places}{more}): "
        "the adjusted prices may be wrong there; backtests keep a position's share count on "
        "those days instead of resizing it (an event in the run's events)"
    )


def survivorship_warning(panel: MarketPanel) -> str | None:
    """A one-line warning when no code ends before the data's last day although the data
    spans at least SURVIVORSHIP_MIN_DAYS calendar days and SURVIVORSHIP_MIN_CODES codes:
    over such a span some stocks delist (or are suspended at the end), so a universe where
    none does looks like today's survivors only, which overstates backtest returns."""
    span = (panel.dates[-1] - panel.dates[0]).days
    if span < SURVIVORSHIP_MIN_DAYS or len(panel.codes) < SURVIVORSHIP_MIN_CODES:
        return None
    if (panel.last_bar_row < len(panel.dates) - 1).any():
        return None
    return (
        f"all {len(panel.codes):,} codes trade on the last day "
        f"({panel.dates[-1].date()}) after {span / 365.25:.1f} years: the universe looks "
        "like today's survivors only (no delisted stocks), which overstates backtest returns"
    )
