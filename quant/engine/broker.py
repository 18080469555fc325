"""The A-share broker: backtrader's broker (on the speed path of quant.engine.fastpath)
with the market's rules, its costs and its corporate actions, and a log of every fill,
refusal and event.

Rules: every order passes the checks of quant.engine.validators when it would fill (the
bar after it was placed): suspended or not listed, limit-up / limit-down, T+1 or more than
held, the board's order size; cash is checked when the day's orders are submitted.
Refused orders are logged in ``refusals`` (never silently lost), marked Rejected (Margin
for cash) with the reason in ``order.info.reason``, and delivered to the strategy's
``notify_order``; a strategy that still wants the trade places it again. Costs:
quant.engine.costs.

Corporate actions: on an ex-rights day the position's share count is multiplied by the
adjustment-factor ratio (dividends reinvested at the ex-rights reference price, no tax);
fractions of a share are paid out in cash, and orders pending in the old shares are
restated. On an ex-rights day whose factor change the raw prices do not bear out
(MarketPanel.suspect_factor: the close lies beyond the day's price limit from the ex-rights
reference price) the share count is kept and the day logged as an event
(``SUSPECT_FACTOR_EVENT``): positions are valued at raw prices, which show no matching gap,
so multiplying the shares by the ratio would make the holding's value jump by it, a wrong
number that nothing else would show; keeping the count follows the raw prices.

A stock that stops trading is not sold for the holder by default: a price table cannot tell
a delisting from a long suspension without looking ahead, so the position stays, valued at
its last close, its sells keep being refused, and the report counts what is still held
without a bar at the end. ``rules.write_off_after_days = K`` closes such a position at its
last close after K trading days without a bar, and logs it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from quant.engine.config import Rules
from quant.engine.costs import AShareCommission, FrictionlessCommission, trade_costs
from quant.engine.fastpath import BuyOrder, FastBroker, SellOrder, listens
from quant.engine.feeds import SUSPECT_FACTOR, TRADABLE
from quant.engine.validators import CASH, fill_checks
from quant.market.rules import OrderSize, order_size

#: The event logged for a position kept unresized on a suspect ex-rights day.
SUSPECT_FACTOR_EVENT = "ex-rights not applied: suspect adj_factor"


class AShareBroker(FastBroker):
    """The broker of one run (see the module). ``rules``: the run's Rules (costs, T+1,
    limits, fill time); ``frictionless``: a reference strategy's broker (no costs, any
    whole share, only the Trading rule). ``fills``, ``refusals`` and ``events`` are the
    run's logs, one dict per row (dates are sessions; sizes in shares; money in yuan)."""

    params = (("rules", None), ("frictionless", False))

    def __init__(self) -> None:
        super().__init__()
        self.rules: Rules = self.p.rules or Rules()
        self.frictionless: bool = self.p.frictionless
        self.checks = fill_checks(self.rules, self.frictionless)
        self.refusals: list[dict[str, Any]] = []
        self.fills: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._bought_today: dict[Any, float] = defaultdict(float)
        self._today = pd.Timestamp("1970-01-01")
        self._stamp_duty = 0.0  # the sell-side rate of today
        self._order_sizes: dict[tuple[str, pd.Timestamp], OrderSize] = {}
        self._days_without_bar = np.zeros(0, dtype=np.int64)
        if self.frictionless:
            self.addcommissioninfo(FrictionlessCommission())
        else:
            self.addcommissioninfo(
                AShareCommission(rules=self.rules, stamp_duty=lambda: self._stamp_duty)
            )

    # -- what the rules read (quant.engine.validators.Account) --------------------
    def order_size(self, data: Any) -> OrderSize:
        """The order sizes a feed's stock allows today (its board's rule, or the study's
        ``rules.lot``); any whole share for a frictionless reference."""
        if self.frictionless:
            return OrderSize(1, 1)
        key = (data.board, self._today)
        if key not in self._order_sizes:
            self._order_sizes[key] = order_size(data.board, self._today, self.rules.lot_override)
        return self._order_sizes[key]

    def held(self, data: Any) -> float:
        """Shares of a feed's stock held now."""
        return self.positions[data].size

    def bought_today(self, data: Any) -> float:
        """Shares of a feed's stock bought in today's session (filled today)."""
        return self._bought_today.get(data, 0.0)

    # -- the bar's clock and the start-of-day events ------------------------------
    def next(self) -> None:
        """Start of a bar (before orders fill): date the bar, then apply corporate actions
        and write-offs to the positions held (found at once in the market's book)."""
        market = self.market
        self._today = pd.Timestamp(market.clock.datetime.date(0))
        self._stamp_duty = self.rules.stamp_duty_rate(self._today)
        self._bought_today.clear()
        self._forget_finished()
        held = np.flatnonzero(market.book)
        if len(held):
            ratio = market.today("share_ratio")[held]
            ex_rights = held[(ratio != 1.0) & np.isfinite(ratio) & (ratio > 0)]
            if len(ex_rights):
                suspect = (market.today("flags")[ex_rights] & SUSPECT_FACTOR) > 0
                for k in ex_rights[suspect]:
                    self._keep_shares(market.feeds[k])
                self._resize_pending(
                    dict(self._corporate_action(market.feeds[k]) for k in ex_rights[~suspect])
                )
            if self.rules.write_off_after_days:
                self._write_offs(held)
        self._process_orders()

    def sync(self, data: Any) -> None:
        """Copy a feed's position size into the market's book (after a fill, a corporate
        action or a write-off)."""
        self.market.book[data.column] = self.positions[data].size

    # -- corporate actions and write-offs -----------------------------------------
    def _corporate_action(self, data: Any) -> tuple[Any, tuple[float, float, float]]:
        """Scale a position on its ex-rights day; returns (data, (ratio, shares before,
        shares after)) for the restatement of its pending orders."""
        position = self.positions[data]
        ratio = data.share_ratio[0]
        reference = data.close[-1] / ratio  # yesterday's close, ex-rights
        shares = position.size * ratio
        whole = math.floor(shares + 1e-9)
        cash_in_lieu = (shares - whole) * reference
        self.cash += cash_in_lieu
        self._log_event(data, "ex-rights", position.size, whole, cash_in_lieu)
        position.price = position.price / ratio if position.price else position.price
        before = position.size
        position.size = whole
        position.adjbase = reference
        self.sync(data)
        return data, (ratio, before, whole)

    def _keep_shares(self, data: Any) -> None:
        """A suspect ex-rights day (see the module): the share count stays, logged."""
        size = self.positions[data].size
        self._log_event(data, SUSPECT_FACTOR_EVENT, size, size, 0.0)

    def _log_event(self, data: Any, event: str, before: float, after: float, cash: float) -> None:
        """A change to a position that no order made: shares before and after, and the
        cash it paid (yuan), dated today."""
        self.events.append(
            {
                "date": self._today,
                "code": data._name,
                "event": event,
                "shares_before": before,
                "shares_after": after,
                "cash": cash,
            }
        )

    def _write_offs(self, held: np.ndarray) -> None:
        """With ``rules.write_off_after_days = K``: a position K sessions in a row without a
        bar is closed at its last close (decided on the past only)."""
        market = self.market
        if len(self._days_without_bar) != len(market.feeds):
            self._days_without_bar = np.zeros(len(market.feeds), dtype=np.int64)
        days = self._days_without_bar
        without = (market.today("flags")[held] & TRADABLE) == 0
        kept = days[held]
        days[:] = 0  # only the run of days of positions held now counts
        days[held] = np.where(without, kept + 1, 0)
        for k in held[days[held] >= self.rules.write_off_after_days]:
            self._write_off(market.feeds[k], int(days[k]))
            days[k] = 0

    def _write_off(self, data: Any, days: int) -> None:
        position = self.positions[data]
        price, size = data.close[0], position.size  # the last close, carried forward
        costs = (
            0.0 if self.frictionless else trade_costs(self.rules, -size, price, self._stamp_duty)
        )
        self.cash += size * price - costs
        note = f"written off at the last close after {days} days without a bar"
        self.fills.append(self._fill_record(data, -size, price, costs, note))
        self._log_event(data, "written off", size, 0, size * price - costs)
        position.size, position.price = 0, 0.0
        self.sync(data)

    def _resize_pending(self, actions: dict[Any, tuple[float, float, float]]) -> None:
        """Orders placed last night in the old shares are restated in the new ones (the
        ex-date is announced, so this is what the strategy would have ordered): a sell of
        the whole position sells the whole new position, other sizes scale by the ratio,
        buys rounded down to whole lots, sells to whole lots or the whole position.
        ``actions``: per feed with an ex-rights day, (ratio, shares before, shares after)."""
        for order in (*self.submitted, *self.pending):
            action = actions.get(order.data) if order is not None else None
            if action is None:
                continue
            ratio, before, after = action
            sizes = self.order_size(order.data)
            size = abs(order.created.size)
            if order.issell() and abs(size - before) < 1e-9:
                scaled = after
            else:
                scaled = sizes.round_down(size * ratio)
                if order.issell():
                    scaled = min(scaled, after)
                if scaled == 0:  # less than a lot either way: the rules will refuse it
                    continue
            order.size = order.created.size = order.executed.remsize = (
                scaled if order.isbuy() else -scaled
            )

    # -- the rules, checked when an order would fill ------------------------------
    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        """Market orders fill at the next bar's open, or at its close under
        ``fill_at = "close"`` (backtrader's Close order type)."""
        if (
            self.rules.fill_at == "close"
            and order.exectype == bt.Order.Market
            and not self.frictionless
        ):
            order.exectype = bt.Order.Close
        return super().submit(order, check)

    def _try_exec(self, order: bt.Order) -> None:
        data = order.data
        if data.datetime[0] <= order.created.dt:  # placed this bar: fills on the next one
            return super()._try_exec(order)
        for check in self.checks:
            reason = check.refusal(order, self)
            if reason:
                self._refuse(order, reason)
                return None
        before = order.executed.size
        if order.exectype == bt.Order.Market and not self.p.coc:
            self._fill_at_open(order)
        else:
            super()._try_exec(order)
        filled = order.executed.size - before
        if filled > 0:
            self._bought_today[data] += filled
        return None

    def _refuse(self, order: bt.Order, reason: str) -> None:
        """An order a rule refuses when it would fill: logged, rejected with its reason
        (``order.info.reason``), notified; its OCO group and bracket follow backtrader's
        handling of a rejected order."""
        self._log_refusal(order, reason)
        order.addinfo(reason=reason)
        order.reject()
        self.notify(order)
        self._ococheck(order)
        self._bracketize(order, cancel=True)

    def refuse_placed(
        self, owner: Any, data: Any, side: str, shares: float, reason: str
    ) -> bt.Order | None:
        """An order refused when the strategy places it (its sizing: a buy under the
        board's minimum, ``below minimum order``; a buy with no cash left for it, ``cash``):
        logged, and for a strategy that reads notifications an order (``side`` "buy" or
        "sell", of ``shares``) rejected with the reason, delivered at the next notification
        (the next bar, as backtrader delivers its own refusals). None for other strategies."""
        self.log_refusal(data._name, side, shares, reason)
        if not listens(owner):
            return None
        order = self.new_order(BuyOrder if side == "buy" else SellOrder, owner, data, shares)
        order.addinfo(reason=reason)
        order.reject()
        self.notify(order)
        return order

    def _log_refusal(self, order: bt.Order, reason: str) -> None:
        side = "buy" if order.isbuy() else "sell"
        self.log_refusal(order.data._name, side, abs(order.created.size), reason)

    def log_refusal(self, code: str, side: str, shares: float, reason: str) -> None:
        """Record an order that was refused (by the market when it would fill, or by the
        sizing when it was placed: ``below minimum order``, ``cash``), dated today."""
        self.refusals.append(
            {"date": self._today, "code": code, "side": side, "size": shares, "reason": reason}
        )

    # -- bookkeeping --------------------------------------------------------------
    def notify(self, order: bt.Order) -> None:
        if order.status == bt.Order.Margin:
            self._log_refusal(order, CASH)
            order.addinfo(reason=CASH)
        elif order.status == bt.Order.Completed:
            executed = order.executed
            self.fills.append(
                self._fill_record(order.data, executed.size, executed.price, executed.comm, "")
            )
            self.sync(order.data)
        super().notify(order)

    def _fill_record(
        self, data: Any, size: float, price: float, costs: float, note: str
    ) -> dict[str, Any]:
        return {
            "date": self._today,
            "code": data._name,
            "side": "buy" if size > 0 else "sell",
            "size": abs(size),
            "price": price,
            "value": abs(size) * price,
            "costs": costs,
            "note": note,
        }
