"""Fair baselines for every report (the same rules and costs as the other strategies):

- ``ew_universe``: equal weight over every stock tradable on the decision date, rebalanced
  monthly. In 2014-2017 small caps boomed, so this, not the SSE Composite, is the bar a
  stock-picking strategy must clear. Holding ~3,000 stocks in lots of 100 shares near equal
  weights needs far more than the usual 1,000,000 yuan (most stocks would round to zero
  lots), so it runs with its own capital, 1,000,000,000 yuan by default; returns are
  comparable, yuan figures (costs, final equity) are at that scale.
- ``reversal``: each month the top 1 % by the lowest return over the last 20 trading days
  (short-term reversal, strong in A-shares), equally weighted, held one month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from quant.engine import Context
from strategies.monthly import (
    MonthlyPlan,
    MonthlyRebalance,
    TopFractionRebalance,
    decision_rows,
    equal_weight_plan,
)


class EqualWeightUniverse(MonthlyRebalance):
    class Params(MonthlyRebalance.Params):
        cash: float = Field(1e9, gt=0)
        """Its own starting cash, in yuan: enough to hold every stock in whole lots."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> MonthlyPlan:
        rows = decision_rows(context)
        tradable = context.panel.tradable[rows]
        scores = np.where(tradable, 0.0, np.nan)
        info = {"universe": "all stocks tradable on the decision date", "cash": params.cash}
        plan = equal_weight_plan(context, rows, scores, tradable, info)
        plan.cash = params.cash
        return plan


class Reversal(TopFractionRebalance):
    class Params(TopFractionRebalance.Params):
        lookback_days: int = Field(20, ge=1)
        """Trading days up to the decision date over which the loss is measured. A
        negative count would rank on returns after the decision date: refused."""

    @classmethod
    def scores(cls, context: Context, params: Params, rows: np.ndarray) -> np.ndarray:
        panel = context.panel
        return reversal_scores(panel.adj_close, panel.tradable, rows, params.lookback_days)


def reversal_scores(
    adj_close: np.ndarray, tradable: np.ndarray, rows: np.ndarray, lookback: int
) -> np.ndarray:
    """Minus the adjusted return over the ``lookback`` trading days up to each decision
    row (the biggest losers score highest; a suspended stock's last price stands in); NaN
    without both prices or when not tradable on the decision date."""
    prices = pd.DataFrame(adj_close).ffill().to_numpy()
    past = np.clip(rows - lookback, 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = -(prices[rows] / prices[past] - 1.0)
    scores[(rows < lookback)] = np.nan
    scores[~tradable[rows]] = np.nan
    return scores
