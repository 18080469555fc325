"""backtrader's BackBroker without its per-order and per-position costs: the speed path.

No market rule lives here (those are quant.engine.validators, applied by
quant.engine.broker); this module only makes backtrader's own order machinery cheap enough
for a portfolio of thousands of stocks (benchmarks/wide_portfolio.py), each short cut
doing what backtrader does, step for step, for the orders an A-share strategy places:

- orders built without backtrader's metaclass (:func:`new_order`), their parameters their
  own attributes (:class:`BuyOrder`, :class:`SellOrder`);
- an order outside any OCO group or bracket transmitted at once, kept out of backtrader's
  parent/child and OCO books (``submit``, ``_ococheck``, ``_bracketize``), and finished
  orders dropped from its books (``_forget_finished``);
- one bar's orders processed without backtrader's loops over every position
  (``_process_orders``), equity as one dot product (``_get_value``), market fills at the
  open without tick look-ups (``_fill_at_open``);
- the cash check at submission without Position clones (``check_submitted``), with one
  fix: an order refused for cash leaves the cash to the orders after it;
- order notifications only for strategies that read them (:func:`listens`).

tests/test_engine_orders.py checks the orders equal backtrader's own and that OCO groups
and brackets still work; tests/test_engine_rules.py that the cash check is backtrader's
pseudo-execution.
"""

from __future__ import annotations

import datetime
from typing import Any

import backtrader as bt
from backtrader.order import OrderData
from backtrader.utils import AutoOrderedDict

from quant.engine.feeds import Market


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
ORDER_DEFAULTS: dict[str, Any] = dict(bt.Order.params._getitems())
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
        params[key] is not ORDER_DEFAULTS[key] for key in params.keys() - _PLAIN_PARAMETERS
    ):
        return kind(**params)
    settings = kind.params()  # the defaults are its class attributes
    settings.__dict__.update(params)
    order = object.__new__(kind)
    order.__dict__.update(ORDER_DEFAULTS, **params)
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


def listens(owner: Any) -> bool:
    """Whether an order's strategy reads order or trade notifications: it overrides
    notify_order or notify_trade, or says it reads them otherwise (``reads_notifications``:
    a backtrader strategy as written, e.g. a SignalStrategy, which waits for its order's
    notification before the next). backtrader clones every order on every status change
    to deliver them, a cost that a day of thousands of orders should not pay for nobody."""
    if owner is None:
        return True
    kind = type(owner)
    known = _LISTENS.get(kind)
    if known is None:
        known = _LISTENS[kind] = (
            getattr(kind, "reads_notifications", False)
            or kind.notify_order is not bt.Strategy.notify_order
            or kind.notify_trade is not bt.Strategy.notify_trade
        )
    return known


_LISTENS: dict[type, bool] = {}


class FastBroker(bt.brokers.BackBroker):
    """BackBroker with the short cuts of this module. ``market`` (the run's feeds and
    matrices, quant.engine.feeds.Market) is set by the runner before the run starts."""

    def __init__(self) -> None:
        super().__init__()
        self.market: Market | None = None
        self._ends_of_session: dict[tuple, float] = {}

    def buy(self, owner: Any, data: Any, size: float, **kwargs: Any) -> bt.Order:
        return self._place(BuyOrder, owner, data, size, **kwargs)

    def sell(self, owner: Any, data: Any, size: float, **kwargs: Any) -> bt.Order:
        return self._place(SellOrder, owner, data, size, **kwargs)

    def new_order(self, kind: type[bt.Order], owner: Any, data: Any, size: float) -> bt.Order:
        """A plain market order of ``kind`` (BuyOrder or SellOrder), not submitted."""
        return new_order(kind, self._ends_of_session, owner=owner, data=data, size=size)

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
        chosen = {key: kwargs.pop(key) for key in kwargs.keys() & ORDER_DEFAULTS.keys()}
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

    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        """An order outside any OCO group or bracket (every order the platform's
        strategies place) is transmitted at once: backtrader's parent/child and OCO books,
        a queue and two entries per order, serve brackets and OCO groups only."""
        if order.parent is None and order.transmit and order.ref not in self._ocos:
            return self.transmit(order, check)
        return super().submit(order, check)

    def _bracketize(self, order: bt.Order, cancel: bool = False) -> None:
        """backtrader's bracket handling, for orders in its parent/child book only."""
        if order.parent is not None or order.ref in self._pchildren:
            super()._bracketize(order, cancel)

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

    def _forget_finished(self) -> None:
        """Drop orders that are done (filled, refused, cancelled) from backtrader's books:
        it keeps every order it ever saw (``orders``, and each order's parent/child and OCO
        entries), gigabytes over a wide backtest, and never reads a finished one again.
        What a run reports comes from the broker's own logs."""
        alive = []
        for order in self.orders:
            if order.alive():
                alive.append(order)
            else:
                self._pchildren.pop(order.ref, None)
                self._ocos.pop(order.ref, None)
                self._ocol.pop(order.ref, None)
        self.orders = alive

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

    def check_submitted(self) -> None:
        """backtrader's check with one fix: an order refused for cash does not take the
        cash it could not get from the orders after it (a later sell, or a smaller buy,
        was refused too). A refused order is marked Margin and notified."""
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

    def notify(self, order: bt.Order) -> None:
        """Queue the notification only for a strategy that reads it (see :func:`listens`)."""
        if listens(order.owner):
            super().notify(order)
