"""The base class of every strategy: the platform a strategy speaks, backtrader behind it.

A strategy has typed parameters and two halves. ``Params`` declares the parameters (see
quant.engine.params). ``prepare(context, params)`` (a classmethod) runs once, outside
backtrader, vectorised over the whole MarketPanel: it computes the strategy's signal
tables and returns a :class:`Plan` naming the codes it can ever hold (only those become
feeds). ``next`` runs at each bar's close and only reads ``self.plan``, then places
orders that fill at the next bar (see Rules.fill_at). Subclass, override them, and run it
by name::

    quant backtest --strategy path/to/file.py:MyStrategy
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import backtrader as bt
import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.engine.config import BacktestConfig
from quant.engine.feeds import TRADABLE
from quant.engine.params import StrategyParams
from quant.engine.window import RunWindow
from quant.errors import UserError


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
    the index data), extra results (model quality, signal tables) for the report, and,
    rarely, its own starting cash (when the run's cash cannot hold what the strategy must
    hold in whole lots). ``params`` are the parameters the strategy was prepared with (set
    by the runner). What ``next`` reads that ``prepare`` computed (target weights by date,
    signals) goes in typed fields of a subclass (e.g. strategies/monthly.py MonthlyPlan). A
    strategy that ranks puts its scores in ``tables["scores"]`` for the report's factor
    analysis (quant.engine.ranking)."""

    codes: list[str] = field(default_factory=list)
    index_codes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    cash: float | None = None
    params: StrategyParams = field(default_factory=StrategyParams)


class StrategyError(UserError):
    """A strategy asked for something its plan does not hold; the message names the
    strategy and the code."""


class AShareStrategy(bt.Strategy):
    """The platform a strategy speaks (backtrader stays behind it): today's date, cash,
    equity, holdings, prices and tradability, whole-book masks, orders by target shares,
    value or weight in the sizes each board allows (sells placed before buys, a cash
    buffer kept back), a budgeted buy list, and ``self.plan``: what ``prepare`` returned,
    with the strategy's typed parameters as ``self.plan.params``.

    A code outside the plan's codes is a :class:`StrategyError` naming the strategy and the
    code, whichever helper it is given to."""

    #: The strategy's parameters: override with a subclass of this class's ``Params``,
    #: one typed field (a default, a range, a docstring) per parameter.
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    #: Reference strategies (an index held without costs) set this to True.
    frictionless: ClassVar[bool] = False
    #: Strategies whose results depend on a random seed (trained models) set this.
    uses_seed: ClassVar[bool] = False
    #: An ablation names the strategy it takes a part out of and what that part is, e.g.
    #: ``("cnn_lstm", "the LSTM's timing")``: a sweep's report shows, cell by cell, what
    #: that strategy earns above this one (quant.sweep.report). None: not an ablation.
    ablates: ClassVar[tuple[str, str] | None] = None

    # backtrader hands these to the instance before __init__ runs (set by the runner)
    params = (("plan", None), ("name", ""))

    @classmethod
    def index_codes(cls, params: StrategyParams) -> list[str]:
        """The indices the strategy's plan will hold, known from its parameters alone: the
        window is checked against their bars before any strategy prepares, and ``clip``
        cuts it to them (quant.engine.window). An index a plan names without being listed
        here must still cover the window, or the run is an error. Default: none."""
        return []

    @classmethod
    def check_run(cls, name: str, params: StrategyParams, config: BacktestConfig) -> None:
        """Raise ConfigError (naming ``name``, the strategy as the run calls it) when its
        parameters do not fit the rest of the run, before any data loads: e.g. an
        ablation whose models differ from those of the strategy it ablates. Default:
        nothing to check."""

    @classmethod
    def report_section(cls, name: str, infos: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """The strategy's own section of report.md, as Markdown lines (``name``: how the run
        calls it), from what its plans put in ``Plan.info``: ``infos`` maps each seed
        (``"0"``, ``"1"``, ...; ``"-"`` for a strategy run without one) to that run's info,
        as metrics.json holds them. Default: the info as JSON under ``## name``, nothing
        when it is empty; override to show figures as tables (strategies/cnn_lstm.py: the
        models' quality and training)."""
        shown = {seed: dict(info) for seed, info in infos.items() if info}
        if not shown:
            return []
        details = shown["-"] if list(shown) == ["-"] else {f"seed {s}": i for s, i in shown.items()}
        return [f"## {name}", "", "```json", json.dumps(details, indent=2, default=str), "```", ""]

    @classmethod
    def evidence(cls, infos: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Short phrases for the strategy's line of the report's headline (what ran, what
        its parts are worth), from its plans' ``info`` per seed as in
        :meth:`report_section`; the report adds the return, drawdown, exposure, capital and
        the rank IC of the plan's ``scores`` (quant.engine.ranking) itself. Default: none;
        the CNN-LSTM names its signal source and model classes and sets its timer against
        always-up and always-down."""
        return []

    @classmethod
    def prepare(cls, context: Context, params: StrategyParams) -> Plan:
        """Default plan: every stock of the panel may be held (slow on a full market:
        override to name the few codes the strategy can ever hold)."""
        return Plan(codes=list(context.panel.codes))

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan = self.p.plan
        self.name: str = self.p.name
        self._market = self.broker.market
        self._feeds: dict[str, Any] = {f._name: f for f in self._market.feeds}

    def prenext(self) -> None:
        # Feeds span the same calendar, so this only happens while indicators warm up.
        self.next()

    # -- state ------------------------------------------------------------------------
    @property
    def today(self) -> pd.Timestamp:
        """The session whose close this is."""
        return pd.Timestamp(self.datas[0].datetime.date(0))

    @property
    def cash(self) -> float:
        """Cash now, in yuan (orders placed today have not filled yet)."""
        return self.broker.getcash()

    @property
    def equity(self) -> float:
        """Cash plus the holdings at today's closes, in yuan."""
        return self.broker.getvalue()

    def held(self, code: str) -> float:
        """Shares of ``code`` held now."""
        return self._held(self._feed(code))

    def holdings(self) -> dict[str, float]:
        """Codes held now and their share counts, in the order of the plan's codes."""
        book, names = self._market.book, self._market.names
        return {names[k]: float(book[k]) for k in np.flatnonzero(book)}

    def price(self, code: str) -> float:
        """Today's close (the last close while suspended; 0 before the first bar)."""
        return self._price(self._feed(code))

    def tradable(self, code: str) -> bool:
        """Whether ``code`` traded today (a bar with volume)."""
        return bool(self.tradable_mask()[self._column(code)])

    # -- the whole book at once (shape (F,): one entry per code of the plan) -------------
    def columns(self, codes: list[str]) -> np.ndarray:
        """Positions of ``codes`` in the whole-book arrays below."""
        return np.array([self._column(code) for code in codes], dtype=np.int64)

    def codes_of(self, selection: np.ndarray) -> list[str]:
        """The codes of a mask or of column positions over the whole book, in that order."""
        columns = np.flatnonzero(selection) if selection.dtype == bool else selection
        return [self._market.names[k] for k in columns]

    def held_mask(self) -> np.ndarray:
        """Which codes are held now."""
        return self._market.book != 0

    def tradable_mask(self) -> np.ndarray:
        """Which codes traded today (a bar with volume)."""
        return (self._market.today("flags") & TRADABLE) > 0

    # -- orders (placed at today's close, filled at the next bar: Rules.fill_at) ---------
    def order_shares(self, code: str, shares: float) -> None:
        """A raw order of ``shares`` (positive: buy, negative: sell), not rounded: the
        broker refuses a size the stock's board does not allow (``order size``)."""
        self._order(self._feed(code), shares)

    def order_target_shares(self, code: str, shares: float) -> None:
        """Buy or sell towards ``shares``: a buy rounded down to a size the stock's board
        allows (quant.market.rules.OrderSize), a sell of exactly the difference. A buy that
        would open a position but is under the minimum order is logged as refused (``below
        minimum order``); a smaller top-up of a held position is rounding, not a refusal."""
        feed = self._feed(code)
        delta = shares - self._held(feed)
        if delta < 0:
            self._order(feed, delta)
        else:
            self._buy(feed, delta)

    def order_target_value(self, code: str, value: float) -> None:
        """Hold about ``value`` yuan of ``code`` at today's close, in order sizes the board
        allows: buys rounded down (an opening buy under the minimum is logged as refused,
        ``below minimum order``), sells rounded so that at least the target stays (a trim
        under the minimum is not placed)."""
        feed = self._feed(code)
        price = self._price(feed)
        if not price > 0:
            return
        target = value / price
        held = self._held(feed)
        if target >= held:
            self._buy(feed, target - held)
        elif self.frictionless:
            self._order(feed, target - held)
        else:
            self._order(feed, -self.broker.order_size(feed).sell_shares(held, target))

    def order_target_weights(self, weights: Mapping[str, float], close_others: bool = True) -> None:
        """Rebalance to ``weights`` (share of equity per code; the rest stays cash): all
        sells first, so that their cash is there when the buys fill."""
        self.columns(list(weights))  # every code must be the plan's
        budget = self.equity * (1.0 - self.broker.rules.cash_buffer)
        targets = {code: weight * budget for code, weight in weights.items()}
        if close_others:
            for code in self.holdings():
                targets.setdefault(code, 0.0)
        columns = self.columns(list(targets))
        held_value = self._market.book[columns] * self._market.today("close")[columns]
        current = dict(zip(targets, held_value.tolist()))
        for code in sorted(targets, key=lambda c: targets[c] - current[c]):
            self.order_target_value(code, targets[code])

    def buy_list(
        self, budgets: Mapping[str, float], cash: float, buffer: Literal["cash", "order"] = "cash"
    ) -> None:
        """Open positions in the codes of ``budgets`` (code -> yuan), in that order, sharing
        ``cash`` (yuan free for them) as the buys are placed: each buys the smaller of its
        budget and what is left (:meth:`order_target_value`). The cash buffer
        (Rules.cash_buffer) is kept back from ``cash`` as a whole (``"cash"``) or from each
        order's value (``"order"``). A buy with nothing left to fund it is logged as refused
        (``cash``), never dropped silently."""
        keep = 1.0 - self.broker.rules.cash_buffer
        left = cash * keep if buffer == "cash" else cash
        for code, budget in budgets.items():
            value = min(budget, left) * (keep if buffer == "order" else 1.0)
            if value > 0:
                self.order_target_value(code, value)
                left -= value
            elif budget > 0:
                price = self.price(code)
                self.broker.log_refusal(code, "buy", budget / price if price > 0 else 0.0, "cash")

    def close_position(self, code: str) -> None:
        self.order_target_shares(code, 0.0)

    def close_all(self) -> None:
        for code in self.holdings():
            self.close_position(code)

    def _held(self, feed: Any) -> float:
        return float(self._market.book[feed.column])

    def _price(self, feed: Any) -> float:
        return float(self._market.today("close")[feed.column])

    def _order(self, feed: Any, shares: float) -> None:
        if shares > 0:
            self.buy(data=feed, size=shares)
        elif shares < 0:
            self.sell(data=feed, size=-shares)

    def _buy(self, feed: Any, shares: float) -> None:
        if shares <= 1e-9:
            return
        size = shares if self.frictionless else self.broker.order_size(feed).round_down(shares)
        if size > 0:
            self._order(feed, size)
        elif not self._held(feed):
            self.broker.log_refusal(feed._name, "buy", shares, "below minimum order")

    def _feed(self, code: str) -> Any:
        feed = self._feeds.get(code)
        if feed is None:
            raise StrategyError(
                f"strategy {self.name}: {code} is not one of the {len(self._feeds)} codes its "
                "plan names (Plan.codes / Plan.index_codes): only those can be held or traded"
            )
        return feed

    def _column(self, code: str) -> int:
        return self._feed(code).column
