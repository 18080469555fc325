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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import backtrader as bt
import numpy as np
import pandas as pd

from quant.data.actions import ActionTable
from quant.data.panel import MarketPanel
from quant.engine.arguments import StrategyError, bad_argument, is_number, number
from quant.engine.base import BaseStrategy
from quant.engine.config import BacktestConfig
from quant.engine.feeds import TRADABLE
from quant.engine.params import StrategyParams
from quant.engine.validators import CASH
from quant.engine.window import RunWindow

__all__ = ["AShareStrategy", "Context", "Plan", "StrategyError"]


@dataclass
class Context:
    """What ``prepare`` may read: the panel (all of it: prepare must itself only use the
    past of each decision), the index bars, the run's config and the window it runs
    (quant.engine.window: checked against the data, clipped with ``clip``), and the
    corporate-actions table the broker applies (None without one). In a paper book's
    evening (quant.live) the panel ends with the evening's close and the next session,
    without bars (quant.data.asof), and ``models`` is the book's store of walk-forward
    models (quant.signals.models), which the built-in signal source reads instead of its
    cache; None in a backtest."""

    panel: MarketPanel
    index_panel: MarketPanel
    config: BacktestConfig
    window: RunWindow
    cache_dir: Path
    seed: int = 0
    actions: ActionTable | None = None
    models: Any = None

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


class AShareStrategy(BaseStrategy):
    """The platform a strategy speaks (backtrader stays behind it): today's date, cash,
    equity, holdings, prices and tradability, whole-book masks, orders by target shares,
    value or weight in the sizes each board allows (sells placed before buys, a cash
    buffer kept back), a budgeted buy list, and ``self.plan``: what ``prepare`` returned,
    with the strategy's typed parameters as ``self.plan.params``.

    It is a backtrader strategy too: ``self.datas`` holds the feeds of the plan's codes
    (in its order; ``self.data`` the first), and backtrader's own methods work as
    quant.engine.base describes (``buy``/``sell``/``close``/``order_target_*`` sized to
    each board, ``getdatabyname(code)``, refusals delivered to ``notify_order``). ``next``
    is called from the first bar on (``prenext`` calls it while indicators warm up).

    A code outside the plan's codes, or an argument that is not what a method takes, is a
    :class:`StrategyError` naming the strategy, the method and argument and the strategy's
    file and line, whichever helper it is given to."""

    #: The attributes that carry the strategy's state from one session to the next (hold
    #: counters, the month's selection): a paper book (quant.live) runs one session at a
    #: time, saves them at each close and gives them back the next evening, as plain data
    #: (quant.engine.state). In a book, any other attribute that ``next`` changes is an
    #: error; those set in ``__init__`` and never changed are rebuilt each evening. Keep
    #: codes there, not positions in the whole-book arrays (:meth:`columns`), which belong
    #: to one run.
    carried: ClassVar[tuple[str, ...]] = ()

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
        self.plan: Plan = self.p.quant_plan
        self.name: str = self.p.quant_name

    def prenext(self) -> None:
        # Feeds span the same calendar, so this only happens while indicators warm up.
        self.next()

    # -- state ------------------------------------------------------------------------
    @property
    def today(self) -> pd.Timestamp:
        """The session whose close this is."""
        return pd.Timestamp(self._market.clock.datetime.date(0))

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
        return self._held(self._feed(code, "held(code)"))

    def holdings(self) -> dict[str, float]:
        """Codes held now and their share counts, in the order of the plan's codes."""
        book, names = self._market.book, self._market.names
        return {names[k]: float(book[k]) for k in np.flatnonzero(book)}

    def price(self, code: str) -> float:
        """Today's close (the last close while suspended; 0 before the first bar)."""
        return self._price(self._feed(code, "price(code)"))

    def tradable(self, code: str) -> bool:
        """Whether ``code`` traded today (a bar with volume)."""
        return bool(self.tradable_mask()[self._feed(code, "tradable(code)").column])

    # -- the whole book at once (shape (F,): one entry per code of the plan) -------------
    def columns(self, codes: list[str]) -> np.ndarray:
        """Positions of ``codes`` in the whole-book arrays below (of this run: keep codes,
        not positions, in what the strategy carries to the next session)."""
        feeds = self._feeds
        try:
            return np.array([feeds[code].column for code in codes], np.int64)
        except (KeyError, TypeError):
            return np.array([self._feed(code, "columns(codes)").column for code in codes], np.int64)

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
    def order_shares(self, code: str, shares: float) -> bt.Order | None:
        """A raw order of ``shares`` (positive: buy, negative: sell), not rounded: the
        broker refuses a size the stock's board does not allow (``order size``)."""
        feed = self._feed(code, "order_shares(code)")
        return self._submit(feed, number(self.name, "order_shares(shares)", shares, "shares", None))

    def order_target_shares(self, code: str, shares: float) -> bt.Order | None:
        """Buy or sell towards ``shares`` (backtrader's ``order_target_size``): a buy
        rounded down to a size the stock's board allows (quant.market.rules.OrderSize), a
        sell rounded so that at least ``shares`` stay (all of it for 0). An opening buy
        under the minimum order is logged as refused (``below minimum order``); a smaller
        top-up of a held position is rounding, not a refusal."""
        return self.order_target_size(code, shares)

    def order_target_weights(self, weights: Mapping[str, float], close_others: bool = True) -> None:
        """Rebalance to ``weights`` (share of equity per code, each >= 0, summing to at
        most 1; the rest stays cash): all sells first, so that their cash is there when
        the buys fill. With ``close_others``, positions not in ``weights`` are sold."""
        feeds = self._weights(weights)
        budget = self.equity * (1.0 - self.broker.rules.cash_buffer)
        targets = {code: weight * budget for code, weight in weights.items()}
        if close_others:
            for code in self.holdings():
                targets.setdefault(code, 0.0)
                feeds.setdefault(code, self._feeds[code])
        columns = np.array([feeds[code].column for code in targets], dtype=np.int64)
        closes = self._market.today("close")
        held_value = self._market.book[columns] * closes[columns]
        current = dict(zip(targets, held_value.tolist()))
        for code in sorted(targets, key=lambda c: targets[c] - current[c]):
            feed = feeds[code]
            self._target_value(feed, targets[code], float(closes[feed.column]))

    def buy_list(
        self, budgets: Mapping[str, float], cash: float, buffer: Literal["cash", "order"] = "cash"
    ) -> None:
        """Open positions in the codes of ``budgets`` (code -> yuan), in that order, sharing
        ``cash`` (yuan free for them) as the buys are placed: each buys the smaller of its
        budget and what is left (:meth:`order_target_value`). The cash buffer
        (Rules.cash_buffer) is kept back from ``cash`` as a whole (``"cash"``) or from each
        order's value (``"order"``). A buy with nothing left to fund it is logged as refused
        (``cash``), never dropped silently."""
        feeds = self._budgets(budgets)
        cash = number(self.name, "buy_list(cash)", cash, "cash (yuan)", None)
        if buffer not in ("cash", "order"):
            raise bad_argument(self.name, "buy_list(buffer)", f"'cash' or 'order', not {buffer!r}")
        keep = 1.0 - self.broker.rules.cash_buffer
        left = cash * keep if buffer == "cash" else cash
        for code, budget in budgets.items():
            feed = feeds[code]
            value = min(budget, left) * (keep if buffer == "order" else 1.0)
            if value > 0:
                self._target_value(feed, value, self._price(feed))
                left -= value
            elif budget > 0:
                price = self._price(feed)
                shares = budget / price if price > 0 else 0.0
                self.broker.refuse_placed(self, feed, "buy", shares, CASH)

    def close_position(self, code: str) -> bt.Order | None:
        """Sell the whole position in ``code`` (nothing when none is held)."""
        return self.order_target_size(code, 0.0)

    def close_all(self) -> None:
        """Sell every position held."""
        for code in self.holdings():
            self.close_position(code)

    def explain(self, code: str, side: str) -> str:
        """Why the order placed at this close for ``code`` (``side``: "buy" or "sell"), in a
        few words, for a paper book's orders file (quant.live). Default: the stock's rank by
        the plan's scores (quant.engine.ranking) at the latest decision up to today, or
        nothing; strategies say more (the CNN-LSTM: rank, signal, hold counter)."""
        return score_rank(self.plan, code, self.today)

    # -- the arguments' checks ----------------------------------------------------------
    def _feed(self, code: str, call: str) -> Any:
        feed = self._feeds.get(code)
        if feed is None:
            raise self._outside_plan(call, code)
        return feed

    def _weights(self, weights: Mapping[str, float]) -> dict[str, Any]:
        """The feeds of ``weights``' codes, once every code and weight is checked."""
        call = "order_target_weights(weights)"
        feeds = self._mapping(weights, call, "the weight")
        total = sum(weights.values())
        if total > 1.0 + 1e-9:
            raise bad_argument(
                self.name, call, f"the weights sum to {total:g}: more than the equity (no leverage)"
            )
        return feeds

    def _budgets(self, budgets: Mapping[str, float]) -> dict[str, Any]:
        return self._mapping(budgets, "buy_list(budgets)", "the budget (yuan)")

    def _mapping(self, values: Mapping[str, float], call: str, what: str) -> dict[str, Any]:
        """The feeds of a mapping code -> number >= 0 (weights, budgets), checked."""
        if not isinstance(values, Mapping):
            problem = f"a mapping of code -> number, not a {type(values).__name__}"
            raise bad_argument(self.name, call, problem)
        feeds = {}
        for code, value in values.items():
            feeds[code] = self._feed(code, call)
            if not (is_number(value) and value >= 0):
                problem = f"{what} of {code} must be a finite number >= 0, got {value!r}"
                raise bad_argument(self.name, call, problem)
        return feeds


def score_rank(plan: Plan, code: str, today: pd.Timestamp) -> str:
    """``rank K of N (score S, DATE)``: ``code``'s place among the scores of the plan's
    ``scores`` table (quant.engine.ranking) at its latest decision date up to ``today``;
    "" when it has none."""
    scores = plan.tables.get("scores")
    if scores is None or scores.empty:
        return ""
    dates = scores["decision_date"]
    past = dates[dates <= today]
    if past.empty:
        return ""
    day = past.max()
    ranked = scores[(dates == day) & scores["score"].notna()].sort_values(
        "score", ascending=False, kind="stable"
    )
    codes = ranked["code"].astype(str).tolist()
    if code not in codes:
        return ""
    score = float(ranked["score"].iloc[codes.index(code)])
    return f"rank {codes.index(code) + 1} of {len(codes)} (score {score:.4g}, {day.date()})"
