"""An example custom strategy: each month, hold the stocks whose daily returns were the
least volatile over the last 60 trading days, equally weighted.

Run it beside the built-ins::

    quant backtest --strategies benchmark,momentum \\
        --strategy strategies.examples.low_volatility:LowVolatility

The pattern: ``Params`` declares the parameters (set in a config's
``[params.LowVolatility]``); ``prepare`` computes scores for every decision date at once,
from the panel's arrays and only from data up to each decision date; ``MonthlyRebalance``
then trades them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from quant.engine import Context
from quant.selection import top_count
from strategies.monthly import MonthlyPlan, MonthlyRebalance, decision_rows, equal_weight_plan


class LowVolatility(MonthlyRebalance):
    class Params(MonthlyRebalance.Params):
        window: int = Field(60, ge=2)
        """Trading days of daily returns whose standard deviation ranks the stocks (at
        least half of them must have a return)."""
        count: int = Field(10, ge=1)
        """Stocks held each month."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> MonthlyPlan:
        panel = context.panel
        rows = decision_rows(context)
        returns = pd.DataFrame(panel.adj_close).pct_change(fill_method=None)
        # trailing window ending at each day: nothing after the decision date is read
        window = returns.rolling(params.window, min_periods=params.window // 2)
        volatility = window.std().to_numpy()[rows]
        scores = np.where(panel.tradable[rows], -volatility, np.nan)  # low volatility ranks high
        chosen = top_count(scores, params.count)
        return equal_weight_plan(context, rows, scores, chosen, params.model_dump())
