"""backtrader's BackBroker with the rules of the A-share market.

Each rule is checked when an order would fill (the bar after it was placed):
suspended or unlisted -> refused; a buy at limit-up or a sell at limit-down -> refused;
a sell of shares bought the same day (T+1) or of more than is held -> refused; an order
size the stock's board does not allow (quant.market.rules.OrderSize: lots of 100 on the
main board and ChiNext, at least 200 then steps of 1 on STAR, at least 100 then steps of 1
in Beijing; a balance under the minimum sold whole) -> refused; not enough cash -> refused.
Refused orders are cancelled and logged in ``broker.refusals`` (never silently lost); a
strategy that still wants the trade places it again.

Corporate actions: on an ex-rights day the position's share count is multiplied by the
adjustment-factor ratio (dividends reinvested at the ex-rights reference price, no tax);
fractions of a share are paid out in cash, and orders pending in the old shares are
restated. A stock that stops trading is not sold for the holder by default: a price table
cannot tell a delisting from a long suspension without looking ahead, so the position
stays, valued at its last close, its sells keep being refused, and the report counts what
is still held without a bar at the end. ``rules.write_off_after_days = K`` closes such a
position at its last close after K trading days without a bar, and logs it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import backtrader as bt
import pandas as pd

from quant.engine.config import Rules
from quant.market.rules import OrderSize, order_size


class AShareCommission(bt.CommInfoBase):
    """Commission (with a minimum per order) and transfer fee on both sides, stamp duty
    on sells at the rate in force on the trade date (read from the broker's clock)."""

    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_PERC),
        ("percabs", True),
        ("rules", None),
        ("clock", None),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        return trade_costs(self.p.rules, size, price, self.p.clock())


def trade_costs(rules: Rules, size: float, price: float, date: pd.Timestamp) -> float:
    """All costs of one order: size > 0 buys, size < 0 sells."""
    value = abs(size) * price
    if value == 0:
        return 0.0
    cost = max(value * rules.commission, rules.min_commission) + value * rules.transfer_fee
    if size < 0:
        cost += value * rules.stamp_duty_rate(date)
    return cost


class FrictionlessCommission(bt.CommInfoBase):
    """For reference strategies (the benchmark index): no costs."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))


class AShareBroker(bt.brokers.BackBroker):
    params = (("rules", None), ("frictionless", False))

    def __init__(self) -> None:
        super().__init__()
        self.rules: Rules = self.p.rules or Rules()
        self.refusals: list[dict[str, Any]] = []
        self.fills: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._bought_today: dict[Any, float] = defaultdict(float)
        self._days_without_bar: dict[Any, int] = {}
        self._today = pd.Timestamp("1970-01-01")
        self.clock: Any = None  # a feed whose datetime dates each bar; set by the runner
        if self.p.frictionless:
            self.addcommissioninfo(FrictionlessCommission())
        else:
            self.addcommissioninfo(AShareCommission(rules=self.rules, clock=lambda: self._today))

    # -- the bar's clock and the start-of-day events ------------------------------
    def next(self) -> None:
        """Start of a bar (before orders fill): date the bar, then apply corporate actions
        to the positions held."""
        if self.clock is not None:
            self._today = pd.Timestamp(self.clock.datetime.date(0))
        self._bought_today.clear()
        for data, position in list(self.positions.items()):
            if position.size:
                self._corporate_action(data, position)
                self._write_off_if_gone(data, position)
            else:  # backtrader loops over every position ever touched, several times a bar
                del self.positions[data]
        self._process_orders()

    def _process_orders(self) -> None:
        """BackBroker.next without its two per-position loops, which do nothing for cash
        stock positions (credit interest on shorts, futures-style cash adjustment) but cost
        more than the whole strategy on a wide portfolio."""
        while self._toactivate:
            self._toactivate.popleft().activate()
        if self.p.checksubmit:
            self.check_submitted()
        self._process_order_history()
        self.pending.append(None)
        while True:
            order = self.pending.popleft()
            if order is None:
                break
            if order.expire():
                self.notify(order)
                self._ococheck(order)
                self._bracketize(order, cancel=True)
            elif not order.active():
                self.pending.append(order)
            else:
                self._try_exec(order)
                if order.alive():
                    self.pending.append(order)
                elif order.status == bt.Order.Completed:
                    self._bracketize(order)
        self._get_value()

    def _corporate_action(self, data: Any, position: Any) -> None:
        ratio = data.share_ratio[0]
        if ratio == 1.0 or not math.isfinite(ratio) or ratio <= 0:
            return
        reference = data.close[-1] / ratio  # yesterday's close, ex-rights
        shares = position.size * ratio
        whole = math.floor(shares + 1e-9)
        cash_in_lieu = (shares - whole) * reference
        self.cash += cash_in_lieu
        self.events.append(
            {
                "date": self._today,
                "code": data._name,
                "event": "ex-rights",
                "shares_before": position.size,
                "shares_after": whole,
                "cash": cash_in_lieu,
            }
        )
        position.price = position.price / ratio if position.price else position.price
        self._resize_pending(data, ratio, position.size, whole)
        position.size = whole
        position.adjbase = reference

    def _write_off_if_gone(self, data: Any, position: Any) -> None:
        """With ``rules.write_off_after_days = K``: K trading days in a row without a bar
        and the position is closed at its last close (decided on the past only)."""
        if data.tradable():
            self._days_without_bar.pop(data, None)
            return
        days = self._days_without_bar.get(data, 0) + 1
        self._days_without_bar[data] = days
        limit = self.rules.write_off_after_days
        if not limit or days < limit:
            return
        price, size = data.close[0], position.size  # the last close, carried forward
        costs = 0.0 if self.p.frictionless else trade_costs(self.rules, -size, price, self._today)
        self.cash += size * price - costs
        note = f"written off at the last close after {days} days without a bar"
        self.fills.append(self._fill_record(data, -size, price, costs, note))
        self.events.append(
            {
                "date": self._today,
                "code": data._name,
                "event": "written off",
                "shares_before": size,
                "shares_after": 0,
                "cash": size * price - costs,
            }
        )
        position.size, position.price = 0, 0.0
        del self._days_without_bar[data]

    def _resize_pending(self, data: Any, ratio: float, before: float, after: float) -> None:
        """Orders placed last night in the old shares are restated in the new ones (the
        ex-date is announced, so this is what the strategy would have ordered): a sell of
        the whole position sells the whole new position, other sizes scale by the ratio,
        buys rounded down to whole lots, sells to whole lots or the whole position."""
        sizes = self.order_size(data)
        for order in (*self.submitted, *self.pending):
            if order is None or order.data is not data:
                continue
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

    def check_submitted(self) -> None:
        """backtrader's check with one fix: an order refused for cash does not take the
        cash it could not get from the orders after it (a later sell, or a smaller buy,
        was refused too)."""
        cash = self.cash
        positions: dict[Any, Any] = {}
        while self.submitted:
            order = self.submitted.popleft()
            if self._take_children(order) is None:
                continue
            position = positions.get(order.data, self.positions[order.data]).clone()
            after = self._execute(order, cash=cash, position=position)
            if after >= 0.0:
                cash = after
                positions[order.data] = position
                self.submit_accept(order)
                continue
            order.margin()
            self.notify(order)
            self._ococheck(order)
            self._bracketize(order, cancel=True)

    # -- the rules, checked when an order would fill ------------------------------
    def order_size(self, data: Any) -> OrderSize:
        """The order sizes a feed's stock allows today (its board's rule, or the study's
        ``rules.lot``); any whole share for a frictionless reference."""
        if self.p.frictionless:
            return OrderSize(1, 1)
        return order_size(data.board, self._today, self.rules.lot_override)

    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        """Market orders fill at the next bar's open, or at its close under
        ``fill_at = "close"`` (backtrader's Close order type)."""
        if (
            self.rules.fill_at == "close"
            and order.exectype == bt.Order.Market
            and not self.p.frictionless
        ):
            order.exectype = bt.Order.Close
        return super().submit(order, check)

    def _try_exec(self, order: bt.Order) -> None:
        data = order.data
        if data.datetime[0] <= order.created.dt:  # placed this bar: fills on the next one
            return super()._try_exec(order)
        reason = self._refusal(order)
        if reason:
            self._refuse(order, reason)
            return None
        before = order.executed.size
        super()._try_exec(order)
        filled = order.executed.size - before
        if filled > 0:
            self._bought_today[data] += filled
        return None

    def _refusal(self, order: bt.Order) -> str | None:
        data = order.data
        size = order.created.size
        if not data.tradable():
            return "suspended" if data.listed() else "not listed"
        if self.p.frictionless:
            return None
        rules = self.rules
        sizes = self.order_size(data)
        if order.isbuy():
            if rules.price_limits and data.buy_blocked():
                return "limit-up"
            if not sizes.is_valid_buy(size):
                return "order size"
            return None
        if rules.price_limits and data.sell_blocked():
            return "limit-down"
        held = self.positions[data].size
        sellable = held - (self._bought_today[data] if rules.t_plus_one else 0.0)
        if abs(size) > sellable + 1e-9:
            return "T+1" if abs(size) <= held + 1e-9 else "more than held"
        if not sizes.is_valid_sell(abs(size), held):
            return "order size"
        return None

    def _refuse(self, order: bt.Order, reason: str) -> None:
        self._log_refusal(order, reason)
        order.cancel()
        self.notify(order)

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
            self._log_refusal(order, "cash")
        elif order.status == bt.Order.Completed:
            executed = order.executed
            self.fills.append(
                self._fill_record(order.data, executed.size, executed.price, executed.comm, "")
            )
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
