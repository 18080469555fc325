"""The base class of every strategy: a backtrader Strategy with A-share helpers.

A strategy has two halves. ``prepare`` (a classmethod) runs once, outside backtrader,
vectorised over the whole MarketPanel: it computes the strategy's signal tables and says
which codes it can ever hold (only those become feeds). ``next`` runs at each bar's close
inside backtrader and only reads those tables, then places orders that fill at the next
bar (see Rules.fill_at). Subclass, override both, and run it by name::

    quant backtest --strategy path/to/file.py:MyStrategy
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import backtrader as bt
import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.engine.config import BacktestConfig
from quant.engine.feeds import TRADABLE
from quant.engine.window import RunWindow
from quant.market.rules import OrderSize


@dataclass
class Context:
    """What ``prepare`` may read: the panel (all of it: prepare must itself only use the
    past of each decision), the index bars, the run's config and the window it runs
    (quant.engine.window: checked against the data, clipped with ``clip``)."""

    panel: MarketPanel
    index_panel: MarketPanel
    config: BacktestConfig
    window: RunWindow
    cache_dir: Path
    seed: int = 0

    @property
    def rows(self) -> slice:
        """The window's rows of the panel (day 0 first)."""
        return self.window.rows

    @property
    def dates(self) -> pd.DatetimeIndex:
        """The backtest window's trading days (day 0 first)."""
        return self.panel.dates[self.rows]


@dataclass
class Plan:
    """What ``prepare`` returns: the codes to feed (stocks from the panel, indices from
    the index data), the keyword params the strategy is built with, extra results (model
    quality, signal tables) for the report, and, rarely, its own starting cash (when the
    run's cash cannot hold what the strategy must hold in whole lots)."""

    codes: list[str] = field(default_factory=list)
    index_codes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    cash: float | None = None


class AShareStrategy(bt.Strategy):
    """Helpers: today's date, holdings, equity, lot-rounded orders by target shares,
    value or weight (sells placed before buys, a cash buffer kept back)."""

    #: Reference strategies (an index held without costs) set this to True.
    frictionless: ClassVar[bool] = False
    #: Strategies whose results depend on a random seed (trained models) set this.
    uses_seed: ClassVar[bool] = False

    @classmethod
    def index_codes(cls, **params: Any) -> list[str]:
        """The indices the strategy's plan will hold, known from its settings alone (the
        keyword params of ``prepare``): the window is checked against their bars before
        any strategy prepares, and ``clip`` cuts it to them (quant.engine.window). An index
        a plan names without being listed here must still cover the window, or the run is
        an error. Default: none."""
        return []

    @classmethod
    def prepare(cls, context: Context, **params: Any) -> Plan:
        """Default plan: every stock of the panel may be held (slow on a full market:
        override to name the few codes the strategy can ever hold)."""
        return Plan(codes=list(context.panel.codes), params=params)

    def __init__(self) -> None:
        super().__init__()
        self.market = self.broker.market
        self.feeds: dict[str, bt.feed.DataBase] = {f._name: f for f in self.market.feeds}

    def prenext(self) -> None:
        # Feeds span the same calendar, so this only happens while indicators warm up.
        self.next()

    # -- state ------------------------------------------------------------------------
    @property
    def today(self) -> pd.Timestamp:
        return pd.Timestamp(self.datas[0].datetime.date(0))

    @property
    def equity(self) -> float:
        return self.broker.getvalue()

    def held(self, code: str) -> float:
        """Shares of ``code`` held now."""
        return float(self.market.book[self.feeds[code].column])

    def holdings(self) -> dict[str, float]:
        """Codes held now and their share counts, in the order of the plan's codes."""
        book, names = self.market.book, self.market.names
        return {names[k]: float(book[k]) for k in np.flatnonzero(book)}

    # -- the whole book at once (shape (F,): one entry per code of the plan) -------------
    def columns(self, codes: list[str]) -> np.ndarray:
        """Positions of ``codes`` in the whole-book arrays below."""
        return np.array([self.feeds[code].column for code in codes], dtype=np.int64)

    def codes_of(self, selection: np.ndarray) -> list[str]:
        """The codes of a mask or of column positions over the whole book, in that order."""
        columns = np.flatnonzero(selection) if selection.dtype == bool else selection
        return [self.market.names[k] for k in columns]

    def held_mask(self) -> np.ndarray:
        """Which codes are held now."""
        return self.market.book != 0

    def tradable_mask(self) -> np.ndarray:
        """Which codes traded today (a bar with volume)."""
        return (self.market.today("flags") & TRADABLE) > 0

    def price(self, code: str) -> float:
        """Today's close (the last close while suspended; 0 before the first bar)."""
        return float(self.market.today("close")[self.feeds[code].column])

    # -- orders -----------------------------------------------------------------------
    def order_target_shares(self, code: str, shares: float) -> bt.Order | None:
        """Buy or sell towards ``shares``: a buy rounded down to a size the stock's board
        allows (quant.market.rules.OrderSize), a sell of exactly the difference. A buy that
        would open a position but is under the minimum order is logged as refused (``below
        minimum order``); a smaller top-up of a held position is rounding, not a refusal."""
        delta = shares - self.held(code)
        if delta < 0:
            return self.sell(data=self.feeds[code], size=-delta)
        return self._buy(code, delta)

    def order_target_value(self, code: str, value: float) -> bt.Order | None:
        """Hold about ``value`` yuan of ``code`` at today's close, in order sizes the board
        allows: buys rounded down (an opening buy under the minimum is logged as refused,
        ``below minimum order``), sells rounded so that at least the target stays (a trim
        under the minimum is not placed)."""
        price = self.price(code)
        if not price > 0:
            return None
        target = value / price
        held = self.held(code)
        if target >= held:
            return self._buy(code, target - held)
        if self.frictionless:
            return self.sell(data=self.feeds[code], size=held - target)
        shares = self._order_size(code).sell_shares(held, target)
        return self.sell(data=self.feeds[code], size=shares) if shares > 0 else None

    def order_target_weights(self, weights: Mapping[str, float], close_others: bool = True) -> None:
        """Rebalance to ``weights`` (share of equity per code; the rest stays cash): all
        sells first, so that their cash is there when the buys fill."""
        budget = self.equity * (1.0 - self.broker.rules.cash_buffer)
        targets = {code: weight * budget for code, weight in weights.items() if code in self.feeds}
        if close_others:
            for code in self.holdings():
                targets.setdefault(code, 0.0)
        current = {code: self.held(code) * self.price(code) for code in targets}
        for code in sorted(targets, key=lambda c: targets[c] - current[c]):
            self.order_target_value(code, targets[code])

    def close_position(self, code: str) -> bt.Order | None:
        return self.order_target_shares(code, 0.0)

    def close_all(self) -> None:
        for code in self.holdings():
            self.close_position(code)

    def _buy(self, code: str, shares: float) -> bt.Order | None:
        if shares <= 1e-9:
            return None
        size = shares if self.frictionless else self._order_size(code).round_down(shares)
        if size > 0:
            return self.buy(data=self.feeds[code], size=size)
        if not self.held(code):
            self.broker.log_refusal(code, "buy", shares, "below minimum order")
        return None

    def _order_size(self, code: str) -> OrderSize:
        return self.broker.order_size(self.feeds[code])
