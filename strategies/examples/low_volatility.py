"""An example custom strategy: each month, hold the stocks whose daily returns were the
least volatile over the last 60 trading days, equally weighted.

Run it beside the built-ins::

    quant backtest --strategies benchmark,momentum \\
        --strategy strategies.examples.low_volatility:LowVolatility

The pattern: ``prepare`` computes scores for every decision date at once, from the panel's
arrays and only from data up to each decision date; ``MonthlyRebalance`` then trades them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quant.engine import Context, Plan
from quant.selection import top_count
from strategies.monthly import MonthlyRebalance, decision_rows, equal_weight_plan


class LowVolatility(MonthlyRebalance):
    @classmethod
    def prepare(cls, context: Context, window: int = 60, count: int = 10, **unused: Any) -> Plan:
        panel = context.panel
        rows = decision_rows(context)
        returns = pd.DataFrame(panel.adj_close).pct_change(fill_method=None)
        # trailing window ending at each day: nothing after the decision date is read
        volatility = returns.rolling(window, min_periods=window // 2).std().to_numpy()[rows]
        scores = np.where(panel.tradable[rows], -volatility, np.nan)  # low volatility ranks high
        return equal_weight_plan(
            context, rows, scores, top_count(scores, count), {"window": window, "count": count}
        )
