"""backtrader's quickstart strategy (strategies/examples/sma_cross_bt.py) on the platform's
own API: buy one lot when the close rises above its simple moving average, sell it when the
close falls below. ``prepare`` computes the averages for the whole window at once; ``next``
reads them. The moving average runs over the backtest window's closes, as the backtrader
version's indicator does (the first ``maperiod - 1`` sessions warm it up), with the same
sum (math.fsum), so that both trade alike::

    quant backtest --strategies benchmark --strategy strategies.examples.sma_cross:SmaCross \\
        --start 2016-01-01 --end 2016-12-31
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import Field

from quant.engine import AShareStrategy, Context, Plan


@dataclass
class SmaPlan(Plan):
    """``sma``: the moving average of each code's close per session of the window (NaN
    while it warms up), columns in the order of ``codes``."""

    sma: pd.DataFrame = field(default_factory=pd.DataFrame)


class SmaCross(AShareStrategy):
    class Params(AShareStrategy.Params):
        codes: list[str] = Field(default_factory=lambda: ["600000.SH"], min_length=1)
        """The stocks traded, each on its own."""
        maperiod: int = Field(15, ge=1)
        """Sessions in the moving average."""
        shares: int = Field(100, ge=1)
        """Shares bought on a rise above the average and sold on a fall below it (one lot
        of the main board, what the backtrader version's default sizer buys there)."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> SmaPlan:
        panel = context.panel
        # the window's closes, each session's last close while a stock has no bar
        closes = pd.DataFrame(
            panel.price("close", context.rows, panel.columns(params.codes)),
            index=context.dates,
            columns=params.codes,
        )
        closes = closes.ffill().fillna(0.0).to_numpy()
        period = params.maperiod
        sma = np.full(closes.shape, np.nan)
        for row in range(period - 1, len(closes)):  # a trailing window: only the past
            for k in range(closes.shape[1]):
                sma[row, k] = math.fsum(closes[row - period + 1 : row + 1, k]) / period
        frame = pd.DataFrame(sma, index=context.dates, columns=params.codes)
        return SmaPlan(codes=list(params.codes), sma=frame, info={"maperiod": period})

    def next(self) -> None:
        averages = self.plan.sma.loc[self.today]
        shares = self.plan.params.shares
        for code in self.plan.codes:
            average = averages[code]
            if math.isnan(average):
                continue  # still warming up
            close = self.price(code)
            if not self.held(code):
                if close > average:
                    self.order_shares(code, shares)
            elif close < average:
                self.order_shares(code, -shares)
