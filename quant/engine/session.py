"""One session of one strategy, run by the backtest's own engine: a paper book's evening
(quant.live) is this, for each strategy of the book.

The strategy prepares its plan on the data as known at the session's close
(quant.data.asof: the panel ends with that close and the next session, without bars), as
in a backtest; then one cerebro runs two bars with the backtest's broker and the
strategy's own class (:func:`session_class`):

- the previous session's close, where the account's state (quant.engine.state) is put
  back, the orders placed that evening placed again on that bar, as they were;
- the session itself: the broker books those orders against its bars (fills at the open,
  the rules of quant.engine.validators, costs, corporate actions), then the strategy's
  ``next`` decides at its close, as in a backtest's run.

Then the state is taken out again (:func:`quant.engine.state.capture`) with what the
session produced: its fills, refusals, events, positions, equity and cash, and the orders
now waiting for the next session, each with the strategy's reason
(AShareStrategy.explain). Stepping the same engine a session at a time is what makes a
book's trades those of a backtest over the same sessions (tests/test_live_replay.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from quant.engine.actions import ActionSchedule
from quant.engine.config import ConfigError
from quant.engine.feeds import TRADABLE, make_market
from quant.engine.params import StrategyParams
from quant.engine.runner import (
    EVENT_COLUMNS,
    FILL_COLUMNS,
    REFUSAL_COLUMNS,
    check_plan,
    new_cerebro,
)
from quant.engine.state import AccountState, capture, own_snapshot, restore
from quant.engine.strategy import AShareStrategy, Context, Plan, StrategyError
from quant.engine.window import RunWindow


@dataclass
class SessionRun:
    """What one session of one strategy produced: ``equity`` and ``cash`` at its close
    (yuan), ``positions`` (code, shares, close, value, tradable), its ``fills``,
    ``refusals`` and ``events`` (the backtest's columns), the ``state`` its account
    carries to the next session (whose orders are the next session's), the ``reasons`` of
    those orders (one per order) and the ``plan`` the strategy prepared."""

    session: pd.Timestamp
    equity: float
    cash: float
    positions: pd.DataFrame
    fills: pd.DataFrame
    refusals: pd.DataFrame
    events: pd.DataFrame
    state: AccountState
    reasons: list[str]
    plan: Plan


def run_session(
    cls: type[AShareStrategy],
    name: str,
    params: StrategyParams,
    context: Context,
    state: AccountState | None,
) -> SessionRun:
    """Run session ``context.rows.stop - 2`` (the last row is the next session, without
    bars) of strategy ``cls`` (called ``name``, with ``params``) from the account's
    ``state`` at the previous session's close (None: the book's first session, day 0:
    the starting cash, nothing held). See the module."""
    if not issubclass(cls, AShareStrategy):
        raise ConfigError(
            f"strategy {name}: a backtrader strategy as written keeps its state in its "
            "indicators' lines over the whole window, which a book run one session at a time "
            "cannot carry; follow a strategy of the platform (quant.AShareStrategy) instead"
        )
    plan = cls.prepare(context, params)
    if not isinstance(plan, Plan):
        raise StrategyError(
            f"strategy {name}: prepare returned a {type(plan).__name__}, not a Plan"
        )
    plan = replace(plan, params=params)
    check_plan(name, cls, plan, _without_next_session(context))
    row = context.rows.stop - 2
    start = max(row - 1, 0)
    index_codes, codes = _codes(plan, state, context)
    if not codes and not index_codes:
        return _idle(context.panel.dates[row], plan, state, plan.cash or context.config.cash)
    rules = context.config.rules
    market = make_market(
        [(context.index_panel, index_codes), (context.panel, codes)],
        slice(start, row + 1),
        rules.fill_at,
    )
    cash = plan.cash or context.config.cash
    cerebro, broker = new_cerebro(cls, rules, cash, market, _schedule(context, market, start, row))
    feeds = market.feeds[1:]
    restores = start < row
    options = {"quant_plan": plan, "quant_restore": restores}
    cerebro.addstrategy(session_class(cls), *feeds, quant_name=name, quant_state=state, **options)
    cerebro.addstrategy(session_class(_Bare), *feeds, quant_name="", **options)
    strategy, bare = cerebro.run()  # two bars: no pause of the garbage collector to pay for
    platform = frozenset(vars(bare))
    carried = capture(broker, strategy, platform)
    session = context.panel.dates[row]
    reasons = [
        "placed at an earlier session, still pending"
        if order.accepted
        else strategy.explain(order.code, order.side)
        for order in carried.orders
    ]
    return SessionRun(
        session=session,
        equity=float(broker.getvalue()),
        cash=float(broker.getcash()),
        positions=_positions(market),
        fills=pd.DataFrame.from_records(broker.fills, columns=FILL_COLUMNS),
        refusals=pd.DataFrame.from_records(broker.refusals, columns=REFUSAL_COLUMNS),
        events=pd.DataFrame.from_records(broker.events, columns=EVENT_COLUMNS),
        state=carried,
        reasons=reasons,
        plan=plan,
    )


def _schedule(context: Context, market: Any, start: int, row: int) -> ActionSchedule | None:
    """The corporate-actions schedule of the session's two bars (rows ``start`` .. ``row``
    of the panel), built as the backtest's is over the book's sessions up to tonight's
    close, so that an ex date's first bar after a suspension is found the same way
    (quant.engine.actions.ActionSchedule); None without a table."""
    if context.actions is None:
        return None
    first = context.rows.start
    known = slice(first, row + 1)
    panel = context.panel
    columns = panel.codes.get_indexer(market.names)
    stocks = columns >= 0  # the index feeds have no corporate actions
    has_bar = np.zeros((row + 1 - first, len(market.names)), dtype=bool)
    has_bar[:, stocks] = panel.has_bar[known][:, columns[stocks]]
    schedule = ActionSchedule(context.actions.frame, market.names, panel.dates[known], has_bar)
    return schedule.rows(start - first, row + 1 - first)


def _idle(session: pd.Timestamp, plan: Plan, state: AccountState | None, cash: float) -> SessionRun:
    """A session of a strategy that names no code yet and holds nothing (momentum started
    in the middle of a month, before its first decision): its account is its cash, and
    nothing runs, as in a backtest its ``next`` places nothing before that decision."""
    state = state if state is not None else AccountState(cash=cash)
    return SessionRun(
        session=session,
        equity=state.cash,
        cash=state.cash,
        positions=pd.DataFrame(columns=["code", "shares", "close", "value", "tradable"]),
        fills=pd.DataFrame(columns=FILL_COLUMNS),
        refusals=pd.DataFrame(columns=REFUSAL_COLUMNS),
        events=pd.DataFrame(columns=EVENT_COLUMNS),
        state=state,
        reasons=[],
        plan=plan,
    )


def _without_next_session(context: Context) -> Context:
    """The context with its window ending at the session itself: the next session has no
    bars yet, so no input can cover it."""
    window = context.window
    rows = slice(window.rows.start, window.rows.stop - 1)
    return replace(context, window=RunWindow(window.asked, window.sessions[:-1], rows))


def _codes(plan: Plan, state: AccountState | None, context: Context) -> tuple[list, list]:
    """The session's feeds: the plan's codes in its order, then any code the account still
    holds or has an order for that tonight's plan leaves out (an index among the indices)."""
    index_codes, codes = list(plan.index_codes), list(plan.codes)
    known = set(index_codes) | set(codes)
    for code in state.codes if state is not None else []:
        if code not in known:
            (index_codes if code in context.index_panel.codes else codes).append(code)
            known.add(code)
    return index_codes, codes


def _positions(market: Any) -> pd.DataFrame:
    held = np.flatnonzero(market.book)
    row = len(market.matrices["close"]) - 1
    close = market.matrices["close"][row, held]
    shares = market.book[held]
    return pd.DataFrame(
        {
            "code": [market.names[k] for k in held],
            "shares": shares,
            "close": close,
            "value": shares * close,
            "tradable": (market.matrices["flags"][row, held] & TRADABLE) > 0,
        }
    )


_SESSION_CLASSES: dict[type, type] = {}


def session_class(cls: type[AShareStrategy]) -> type[AShareStrategy]:
    """``cls`` as a session runs it: on the run's first bar, when ``quant_restore`` is set
    (the previous session's close), ``next`` puts the account's state back instead of
    deciding; the strategy's own attributes are noted then (quant.engine.state), to find
    those the session changes."""
    if cls not in _SESSION_CLASSES:

        def next(self: Any) -> None:
            if not getattr(self, "_quant_started", False):
                self._quant_started = True
                if self.p.quant_restore:
                    if self.p.quant_state is not None:
                        restore(self.broker, self, self.p.quant_state)
                    self._quant_snapshot = own_snapshot(self, frozenset())
                    return
                self._quant_snapshot = own_snapshot(self, frozenset())
            cls.next(self)

        _SESSION_CLASSES[cls] = type(
            cls.__name__,
            (cls,),
            {
                "params": (("quant_state", None), ("quant_restore", False)),
                "next": next,
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
            },
        )
    return _SESSION_CLASSES[cls]


class _Bare(AShareStrategy):
    """A strategy with nothing of its own: its attributes are the platform's."""

    def next(self) -> None:
        pass
