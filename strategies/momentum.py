"""Basic momentum, the paper's comparison: each month rank all tradable stocks by their
return over months t-12..t-2 (formation 11 months, skipping the most recent month), buy
the top 1 % (at least one stock) equally weighted, hold one month."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from quant.engine import Context
from strategies.monthly import TopFractionRebalance


class Momentum(TopFractionRebalance):
    class Params(TopFractionRebalance.Params):
        formation_months: int = Field(11, ge=1)
        """Months over which the return is measured (11: months t-12 .. t-2)."""
        skip_months: int = Field(1, ge=0)
        """Most recent months left out before the decision (1: month t-1; 0: none). A
        negative count would rank on returns after the decision date: refused."""

    @classmethod
    def scores(cls, context: Context, params: Params, rows: np.ndarray) -> np.ndarray:
        panel = context.panel
        ends = panel.calendar.month_end_rows()
        return momentum_scores(
            panel.adj_close, panel.tradable, ends, rows, params.formation_months, params.skip_months
        )


def momentum_scores(
    adj_close: np.ndarray,
    tradable: np.ndarray,
    ends: np.ndarray,
    rows: np.ndarray,
    formation_months: int,
    skip_months: int,
) -> np.ndarray:
    """Score per (decision row, stock): the adjusted return from the month end
    ``skip + formation`` months before the decision month end to the one ``skip`` months
    before it; ``ends`` are the rows of the month ends (TradingCalendar.month_end_rows).
    Only month ends up to the decision date are read. NaN where a stock lacks a price at
    either end or cannot trade on the decision date."""
    prices = pd.DataFrame(adj_close).ffill().to_numpy()  # last price while suspended
    scores = np.full((len(rows), adj_close.shape[1]), np.nan)
    for k, row in enumerate(rows):
        position = int(np.searchsorted(ends, row))
        if ends[position] != row or position < skip_months + formation_months:
            continue
        recent, past = ends[position - skip_months], ends[position - skip_months - formation_months]
        with np.errstate(invalid="ignore", divide="ignore"):
            scores[k] = prices[recent] / prices[past] - 1.0
    scores[~tradable[rows]] = np.nan
    return scores
