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

import datetime
import math
from collections import defaultdict
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
from backtrader.order import OrderData
from backtrader.utils import AutoOrderedDict

from quant.engine.config import Rules
from quant.engine.feeds import SUSPECT_FACTOR, TRADABLE, Market
from quant.market.rules import OrderSize, order_size

#: The event logged for a position kept unresized on a suspect ex-rights day.
SUSPECT_FACTOR_EVENT = "ex-rights not applied: suspect adj_factor"


class AShareCommission(bt.CommInfoBase):
    """Commission (with a minimum per order) and transfer fee on both sides, stamp duty
    on sells at the rate in force on the trade date (``stamp_duty`` gives today's rate,
    kept by the broker)."""

    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_PERC),
        ("percabs", True),
        ("rules", None),
        ("stamp_duty", None),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        return trade_costs(self.p.rules, size, price, self.p.stamp_duty())


def trade_costs(rules: Rules, size: float, price: float, stamp_duty: float) -> float:
    """All costs of one order in yuan: size > 0 buys, size < 0 sells (shares), ``price``
    in yuan, ``stamp_duty`` the sell-side rate in force that day (Rules.stamp_duty_rate)."""
    value = abs(size) * price
    if value == 0:
        return 0.0
    cost = max(value * rules.commission, rules.min_commission) + value * rules.transfer_fee
    if size < 0:
        cost += value * stamp_duty
    return cost


class FrictionlessCommission(bt.CommInfoBase):
    """For reference strategies (the benchmark index): no costs."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))


class _OwnParameters:
    """An order whose parameters (data, size, price, exectype, ...) are also its own
    attributes from its creation on. backtrader's Order reads them through
    ``Order.__getattr__``, a fallback to its params object, some 37 times per order: on a
    day of thousands of orders that fallback was 5 % of the backtest. No parameter of an
    order changes after its creation, so the values read are the same."""

    def __init__(self) -> None:
        params = self.params  # type: ignore[attr-defined]
        self.__dict__.update((key, getattr(params, key)) for key in params._getkeys())
        super().__init__()


class BuyOrder(_OwnParameters, bt.BuyOrder):
    pass


class SellOrder(_OwnParameters, bt.SellOrder):
    pass


#: Every order parameter with its default (backtrader's OrderBase.params).
_ORDER_DEFAULTS: dict[str, Any] = dict(bt.Order.params._getitems())
#: The parameters a plain order may set; any other one set takes backtrader's own path.
_PLAIN_PARAMETERS = frozenset(
    {"owner", "data", "size", "price", "pricelimit", "exectype", "tradeid"}
)
_PLAIN_TYPES = frozenset({None, bt.Order.Market, bt.Order.Close, bt.Order.Limit, bt.Order.Stop})


def new_order(kind: type[bt.Order], ends_of_session: dict[tuple, float], **params: Any) -> bt.Order:
    """An order of ``kind`` (BuyOrder or SellOrder) with ``params`` (backtrader's order
    parameters), the same as ``kind(**params)`` but built without backtrader's metaclass,
    whose construction was the largest single cost of a wide portfolio's orders
    (benchmarks/wide_portfolio.py).

    A plain order (market, close, limit or stop; no validity, parent, trailing or
    simulation) is built here step for step as Order.__init__ builds it; any other goes to
    ``kind(**params)``. ``ends_of_session`` caches the end of the session per (bar time,
    session end, time zone), which Order.__init__ computes from a datetime per order.
    tests/test_engine_orders.py checks that both paths give equal orders."""
    exectype = params.get("exectype")
    if exectype not in _PLAIN_TYPES or any(
        params[key] is not _ORDER_DEFAULTS[key] for key in params.keys() - _PLAIN_PARAMETERS
    ):
        return kind(**params)
    settings = kind.params()  # the defaults are its class attributes
    settings.__dict__.update(params)
    order = object.__new__(kind)
    order.__dict__.update(_ORDER_DEFAULTS, **params)
    order.params = order.p = settings
    order.ref = next(bt.Order.refbasis)
    order.broker, order.info, order.comminfo = None, AutoOrderedDict(), None
    order.triggered, order._active, order.status = False, True, bt.Order.Created
    order.plimit = order.pricelimit
    order.exectype = bt.Order.Market if exectype is None else exectype
    if not order.isbuy():
        order.size = -order.size
    data = order.data
    pclose, created = data.close[0], data.datetime[0]
    price = pclose if not order.price and not order.pricelimit else order.price
    order.created = OrderData(
        dt=created,
        size=order.size,
        price=price,
        pricelimit=order.pricelimit,
        pclose=pclose,
        trailamount=order.trailamount,
        trailpercent=order.trailpercent,
    )
    order._limitoffset = 0.0
    order.executed = OrderData(remsize=order.size)
    order.position = 0
    key = (created, data.p.sessionend, data._tz)
    if key not in ends_of_session:
        ends_of_session[key] = _end_of_session(data)
    order.dteos = ends_of_session[key]
    return order


def _end_of_session(data: Any) -> float:
    """Order.__init__'s provisional end of session of an order placed on ``data``'s bar."""
    dtime = data.datetime.datetime(0)
    session = data.p.sessionend
    end = dtime.replace(
        hour=session.hour,
        minute=session.minute,
        second=session.second,
        microsecond=session.microsecond,
    )
    if end < dtime:
        end += datetime.timedelta(days=1)
    return data.date2num(end)


class AShareBroker(bt.brokers.BackBroker):
    params = (("rules", None), ("frictionless", False))

    def __init__(self) -> None:
        super().__init__()
        self.rules: Rules = self.p.rules or Rules()
        self.refusals: list[dict[str, Any]] = []
        self.fills: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._bought_today: dict[Any, float] = defaultdict(float)
        self._today = pd.Timestamp("1970-01-01")
        self._stamp_duty = 0.0  # the sell-side rate of today
        self._order_sizes: dict[tuple[str, pd.Timestamp], OrderSize] = {}
        self._ends_of_session: dict[tuple, float] = {}
        self.market: Market | None = None  # the run's feeds and matrices; set by the runner
        self._days_without_bar = np.zeros(0, dtype=np.int64)
        if self.p.frictionless:
            self.addcommissioninfo(FrictionlessCommission())
        else:
            self.addcommissioninfo(
                AShareCommission(rules=self.rules, stamp_duty=lambda: self._stamp_duty)
            )

    def buy(self, owner: Any, data: Any, size: float, **kwargs: Any) -> bt.Order:
        return self._place(BuyOrder, owner, data, size, **kwargs)

    def sell(self, owner: Any, data: Any, size: float, **kwargs: Any) -> bt.Order:
        return self._place(SellOrder, owner, data, size, **kwargs)

    def _place(
        self,
        kind: type[bt.Order],
        owner: Any,
        data: Any,
        size: float,
        price: float | None = None,
        plimit: float | None = None,
        oco: bt.Order | None = None,
        _checksubmit: bool = True,
        **kwargs: Any,
    ) -> bt.Order:
        """BackBroker.buy / sell with orders of ``kind`` (see :func:`new_order`): keywords
        that are order parameters go to the order, the rest to its info. Only an order in
        an OCO group or a bracket enters backtrader's OCO and bracket books (see
        :meth:`submit`)."""
        chosen = {key: kwargs.pop(key) for key in kwargs.keys() & _ORDER_DEFAULTS.keys()}
        order = new_order(
            kind,
            self._ends_of_session,
            owner=owner,
            data=data,
            size=size,
            price=price,
            pricelimit=plimit,
            **chosen,
        )
        if kwargs:
            order.addinfo(**kwargs)
        if oco is not None or order.parent is not None or not order.transmit:
            if oco is not None and oco.ref not in self._ocos:  # placed as a plain order
                self._ocoize(oco, None)
            self._ocoize(order, oco)
        return self.submit(order, check=_checksubmit)

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

    def _forget_finished(self) -> None:
        """Drop orders that are done (filled, refused, cancelled) from backtrader's books:
        it keeps every order it ever saw (``orders``, and each order's parent/child and OCO
        entries), gigabytes over a wide backtest, and never reads a finished one again.
        What a run reports comes from ``fills``, ``refusals`` and ``events``."""
        alive = []
        for order in self.orders:
            if order.alive():
                alive.append(order)
            else:
                self._pchildren.pop(order.ref, None)
                self._ocos.pop(order.ref, None)
                self._ocol.pop(order.ref, None)
        self.orders = alive

    def sync(self, data: Any) -> None:
        """Copy a feed's position size into the market's book (after a fill, a corporate
        action or a write-off)."""
        self.market.book[data.column] = self.positions[data].size

    def _get_value(self, datas: Any = None, lever: bool = False) -> float:
        """Equity: cash plus the book valued at today's closes, one dot product (backtrader
        loops over every position it ever touched). Per-feed values go to backtrader."""
        if datas is not None or self.market is None:
            return super()._get_value(datas, lever)
        value = float(self.market.book @ self.market.today("close"))
        self._valuemkt = self._valuemktlever = value
        self._value = self._valuelever = self.cash + value
        self._fundval = self._value / self._fundshares
        self._leverage, self._unrealized = 1.0, 0.0
        return self._value

    def _ococheck(self, order: bt.Order) -> None:
        """backtrader scans every pending order after each fill for members of its OCO
        group, a scan quadratic in the orders of a day. It runs only for an order whose
        group has other members; an order outside the OCO book (see :meth:`submit`) has
        no group at all."""
        if order.ref not in self._ocos:
            return
        group = self._ocol.pop(self._ocos.get(self._ocos[order.ref]), None) or []
        if any(ref != order.ref for ref in group):
            self._ocol[self._ocos[order.ref]] = group
            super()._ococheck(order)

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
            0.0 if self.p.frictionless else trade_costs(self.rules, -size, price, self._stamp_duty)
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

    def check_submitted(self) -> None:
        """backtrader's check with one fix: an order refused for cash does not take the
        cash it could not get from the orders after it (a later sell, or a smaller buy,
        was refused too)."""
        cash = self.cash
        sizes: dict[Any, float] = {}
        while self.submitted:
            order = self.submitted.popleft()
            if self._take_children(order) is None:
                continue
            held = sizes.get(order.data, self.positions[order.data].size)
            after = self._pseudo_cash(order, cash, held)
            if after >= 0.0:
                cash = after
                sizes[order.data] = held + order.executed.remsize
                self.submit_accept(order)
                continue
            order.margin()
            self.notify(order)
            self._ococheck(order)
            self._bracketize(order, cancel=True)

    def _pseudo_cash(self, order: bt.Order, cash: float, held: float) -> float:
        """The cash left if ``order`` filled at its creation price, holding ``held``
        shares before it: backtrader's pseudo-execution (BackBroker._execute without an
        ``ago``) for a stock, step by step in its order of operations (so the same
        orders pass), without its Position clones and order bookkeeping."""
        comminfo = self.getcommissioninfo(order.data)
        size, price = order.executed.remsize, order.created.price
        after = held + size
        if not after:
            opened, closed = 0.0, size
        elif not held or (held > 0 and size > 0):
            opened, closed = size, 0.0
        elif held > 0:
            opened, closed = (0.0, size) if after > 0 else (after, -held)
        else:  # a short position (never opened by the A-share rules): backtrader's own way
            return self._execute(order, cash=cash, position=self.positions[order.data].clone())
        if closed:
            value = comminfo.getvaluesize(-closed, price)
            cash += (value / comminfo.get_leverage() if value > 0 else value) + 0  # + pnl (0)
            cash -= comminfo.getcommission(closed, price)
        if opened:
            value = comminfo.getvaluesize(opened, price)
            cash -= value / comminfo.get_leverage() if value > 0 else value
            cash -= comminfo.getcommission(opened, price)
        return cash

    # -- the rules, checked when an order would fill ------------------------------
    def order_size(self, data: Any) -> OrderSize:
        """The order sizes a feed's stock allows today (its board's rule, or the study's
        ``rules.lot``); any whole share for a frictionless reference."""
        if self.p.frictionless:
            return OrderSize(1, 1)
        key = (data.board, self._today)
        if key not in self._order_sizes:
            self._order_sizes[key] = order_size(data.board, self._today, self.rules.lot_override)
        return self._order_sizes[key]

    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        """Market orders fill at the next bar's open, or at its close under
        ``fill_at = "close"`` (backtrader's Close order type). An order outside any OCO
        group or bracket (every order the platform's strategies place) is transmitted
        at once: backtrader's parent/child and OCO books, a queue and two entries per
        order, serve brackets and OCO groups only."""
        if (
            self.rules.fill_at == "close"
            and order.exectype == bt.Order.Market
            and not self.p.frictionless
        ):
            order.exectype = bt.Order.Close
        if order.parent is None and order.transmit and order.ref not in self._ocos:
            return self.transmit(order, check)
        return super().submit(order, check)

    def _bracketize(self, order: bt.Order, cancel: bool = False) -> None:
        """backtrader's bracket handling, for orders in its parent/child book only."""
        if order.parent is not None or order.ref in self._pchildren:
            super()._bracketize(order, cancel)

    def _try_exec(self, order: bt.Order) -> None:
        data = order.data
        if data.datetime[0] <= order.created.dt:  # placed this bar: fills on the next one
            return super()._try_exec(order)
        reason = self._refusal(order)
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

    def _fill_at_open(self, order: bt.Order) -> None:
        """backtrader's market fill (BackBroker._try_exec_market, after the bar it was
        placed on) at the open with its slippage settings, without the per-order lookups
        of tick prices that daily bars do not have."""
        data = order.data
        if order.isbuy():
            price = self._slip_up(data.high[0], data.open[0], doslip=self.p.slip_open)
        else:
            price = self._slip_down(data.low[0], data.open[0], doslip=self.p.slip_open)
        self._execute(order, ago=0, price=price, dtcoc=None)

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
            self.sync(order.data)
        if _listens(order.owner):
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


def _listens(owner: Any) -> bool:
    """Whether an order's strategy reads order notifications (overrides notify_order):
    backtrader clones every order on every status change to deliver them, a cost that a
    day of thousands of orders should not pay for nobody."""
    return owner is None or type(owner).notify_order is not bt.Strategy.notify_order
