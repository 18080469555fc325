"""What one strategy's account carries from one session's close to the next session: the
one place where the broker's and the strategy's state is taken out of a run and put back
into the next one (a paper book steps the backtest's own broker and strategy one session
at a time, quant.live, and keeps this state in its database between evenings).

- **The broker** (:class:`AccountState`): cash; each position's shares, cost price and
  ex-rights base (backtrader's ``Position``); the orders still to fill (placed at the close,
  or accepted earlier and still alive), in the order they were placed, with the
  notifications a strategy that reads them has not received yet; and the entries of
  :data:`BROKER_STATE`, the broker's own bookkeeping across sessions (the days without a
  bar of ``write_off_after_days``; the corporate actions' book, quant.engine.book: FIFO
  lots of the dividend tax, entitlements, dividends owed, shares not yet listed). A new piece of state the broker keeps from one session
  to the next is one more entry there: a function that takes it out of the broker as plain
  data and one that puts it back.
- **The strategy**: the attributes its class lists in ``carried``
  (quant.engine.strategy.AShareStrategy), as plain data. Any other attribute its own code
  changes during a session is an error (:func:`strategy_state`), since a book would lose it
  overnight; attributes set in ``__init__`` and never changed are rebuilt each evening.

Plain data (:func:`to_plain`, :func:`from_plain`) is JSON: numbers (exactly: Python's
JSON writes a float's shortest repr, which reads back to the same float; NaN and
infinities tagged), strings, booleans, None, lists, and tagged tuples, sets, dicts with
keys other than strings, numpy arrays and scalars of numbers or booleans, dates and
timestamps, and a feed, by its code. Nothing is pickled: a book's state never runs code.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from quant.engine.arguments import StrategyError
from quant.engine.book import BookState
from quant.engine.fastpath import BuyOrder, SellOrder, listens

#: The tag of a tagged value of plain data.
TAG = "$"

#: backtrader's order types a book carries (by name): market, close, limit, stop.
EXECTYPES = {
    "market": bt.Order.Market,
    "close": bt.Order.Close,
    "limit": bt.Order.Limit,
    "stop": bt.Order.Stop,
}
_EXECTYPE_NAMES = {value: key for key, value in EXECTYPES.items()}


class StateError(StrategyError):
    """State that a book cannot carry from one session to the next (a value that is not
    plain data, an undeclared attribute changed, an order of a kind it cannot restore)."""


# -- plain data ----------------------------------------------------------------------
def to_plain(value: Any, where: str = "value") -> Any:
    """``value`` as JSON-ready plain data (see the module); a :class:`StateError` naming
    ``where`` (and the path inside it) for anything else."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise _not_plain(where, value)
        return {TAG: "numpy", "dtype": str(value.dtype), "value": to_plain(value.item(), where)}
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}
    if isinstance(value, list):
        return [to_plain(v, f"{where}[{k}]") for k, v in enumerate(value)]
    if type(value) is tuple:
        return {TAG: "tuple", "items": [to_plain(v, f"{where}[{k}]") for k, v in enumerate(value)]}
    if type(value) in (set, frozenset):
        items = [to_plain(v, f"{where} item") for v in value]
        items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        return {TAG: type(value).__name__, "items": items}
    if type(value) is dict:
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: to_plain(v, f"{where}[{k!r}]") for k, v in value.items()}
        return {
            TAG: "dict",
            "items": [
                [to_plain(k, f"{where} key"), to_plain(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ],
        }
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise _not_plain(where, value)
        return {
            TAG: "array",
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "data": [to_plain(v, where) for v in value.ravel().tolist()],
        }
    if isinstance(value, pd.Timestamp):
        return {TAG: "timestamp", "value": value.isoformat()}
    if isinstance(value, dt.datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, bt.feed.DataBase) and getattr(value, "_name", ""):
        return {TAG: "feed", "code": value._name}
    raise _not_plain(where, value)


def from_plain(value: Any, feeds: Mapping[str, Any] | None = None) -> Any:
    """The value :func:`to_plain` gave ``value`` for; a feed is found by its code in
    ``feeds`` (the session's)."""
    if isinstance(value, list):
        return [from_plain(v, feeds) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {k: from_plain(v, feeds) for k, v in value.items()}
    if tag == "float":
        return float(value["value"])
    if tag == "numpy":
        return np.dtype(value["dtype"]).type(from_plain(value["value"]))
    if tag == "tuple":
        return tuple(from_plain(v, feeds) for v in value["items"])
    if tag in ("set", "frozenset"):
        items = (from_plain(v, feeds) for v in value["items"])
        return set(items) if tag == "set" else frozenset(items)
    if tag == "dict":
        return {from_plain(k, feeds): from_plain(v, feeds) for k, v in value["items"]}
    if tag == "array":
        data = [from_plain(v) for v in value["data"]]
        return np.array(data, dtype=value["dtype"]).reshape(value["shape"])
    if tag == "timestamp":
        return pd.Timestamp(value["value"])
    if tag == "datetime":
        return dt.datetime.fromisoformat(value["value"])
    if tag == "date":
        return dt.date.fromisoformat(value["value"])
    if tag == "feed":
        if feeds is None or value["code"] not in feeds:
            raise StateError(f"the state names the feed of {value['code']}, which this run lacks")
        return feeds[value["code"]]
    raise StateError(f"unknown tag {tag!r} in a saved state")


def _not_plain(where: str, value: Any) -> StateError:
    return StateError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which a book cannot "
        "save between sessions: keep numbers, strings, lists, dicts, sets, numpy arrays of "
        "numbers, dates or feeds there (a book saves plain data, never code)"
    )


# -- an account's state --------------------------------------------------------------
@dataclass
class OrderState:
    """An order still to fill at the next session: ``code``, ``size`` (shares, > 0 buys,
    < 0 sells), ``exectype`` (a key of :data:`EXECTYPES`), ``price`` and ``pricelimit``
    (yuan, or None), ``tradeid``, ``info`` (its extra keywords, plain data), when and at
    what close it was placed (``created``: date, close in yuan) and whether the broker had
    accepted it already (an order alive from an earlier session)."""

    code: str
    size: float
    exectype: str = "market"
    price: float | None = None
    pricelimit: float | None = None
    tradeid: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    created: tuple[str, float] = ("", 0.0)
    accepted: bool = False

    @property
    def side(self) -> str:
        return "buy" if self.size > 0 else "sell"


@dataclass
class AccountState:
    """What one strategy's account carries from a session's close to the next session
    (see the module): ``cash`` (yuan), ``positions`` (code -> [shares, cost price, ex-rights
    base]), ``orders`` (in the order they were placed), ``notifications`` (what a strategy
    that reads them has still to receive, in order: ``["order", k]`` for orders[k]'s
    submission, ``["refused", code, side, shares, reason]`` for an order refused when it
    was placed), ``broker`` (:data:`BROKER_STATE`) and ``strategy`` (its carried
    attributes), all plain data."""

    cash: float
    positions: dict[str, list[float]] = field(default_factory=dict)
    orders: list[OrderState] = field(default_factory=list)
    notifications: list[list[Any]] = field(default_factory=list)
    broker: dict[str, Any] = field(default_factory=dict)
    strategy: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), allow_nan=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AccountState:
        values = json.loads(text)
        values["orders"] = [
            OrderState(**{**order, "created": tuple(order["created"])})
            for order in values["orders"]
        ]
        return cls(**values)

    @property
    def codes(self) -> list[str]:
        """The codes the state names (held, with an order, or with a corporate action
        still to come: an entitlement, a dividend owed, shares not yet listed), in order."""
        book = self.broker.get("book", {})
        named = [
            *self.positions,
            *(order.code for order in self.orders),
            *(item["code"] for key in ("entitlements", "receivables", "locked")
              for item in book.get(key, [])),
        ]  # fmt: skip
        return list(dict.fromkeys(named))


# -- the broker's own state across sessions -----------------------------------------
def _days_without_bar(broker: Any) -> dict[str, int]:
    days, feeds = broker._days_without_bar, broker.market.feeds
    return {feeds[k]._name: int(days[k]) for k in np.flatnonzero(days)} if len(days) else {}


def _set_days_without_bar(broker: Any, days: dict[str, int]) -> None:
    feeds = broker.market.feeds
    broker._days_without_bar = np.zeros(len(feeds), dtype=np.int64)
    for k, feed in enumerate(feeds):
        broker._days_without_bar[k] = days.get(feed._name, 0)


def _book(broker: Any) -> dict[str, Any]:
    return broker.book.to_dict()  # lots, entitlements, dividends owed, unlisted shares


def _set_book(broker: Any, values: dict[str, Any]) -> None:
    broker.book = BookState.from_dict(values)


#: The broker's bookkeeping carried from one session to the next, beyond cash, positions
#: and orders: name -> (take it out of the broker as plain data, put it back). Whatever a
#: broker keeps across sessions is one entry here (in codes, never in feed positions,
#: which change from one session's run to the next).
BROKER_STATE: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], None]]] = {
    "days_without_bar": (_days_without_bar, _set_days_without_bar),
    "book": (_book, _set_book),
}


# -- taking the state out of a run ----------------------------------------------------
def capture(broker: Any, strategy: Any, platform: frozenset[str]) -> AccountState:
    """The state of ``strategy``'s account after the session ``broker`` has just run:
    ``platform`` names the attributes every strategy of the platform has (a bare one's,
    in the same run), which are not the strategy's own."""
    orders = [o for o in (*broker.pending, *broker.submitted) if o is not None and o.alive()]
    states = [_order_state(o, strategy.name) for o in orders]
    refs = {order.ref: k for k, order in enumerate(orders)}
    notifications: list[list[Any]] = []
    if listens(strategy):
        for note in broker.notifs:
            if note.ref in refs and note.status == bt.Order.Submitted:
                notifications.append(["order", refs[note.ref]])
            elif note.status == bt.Order.Rejected and note.ref not in refs:
                side = "buy" if note.isbuy() else "sell"
                reason = note.info.get("reason", "")
                notifications.append(["refused", note.data._name, side, abs(note.size), reason])
    positions = {
        feed._name: [float(p.size), float(p.price), float(p.adjbase or 0.0)]
        for feed, p in broker.positions.items()
        if p.size
    }
    return AccountState(
        cash=float(broker.getcash()),
        positions=positions,
        orders=states,
        notifications=notifications,
        broker={name: take(broker) for name, (take, _) in BROKER_STATE.items()},
        strategy=strategy_state(strategy, platform),
    )


def _order_state(order: bt.Order, strategy: str) -> OrderState:
    exectype = _EXECTYPE_NAMES.get(order.exectype)
    if exectype is None or order.valid is not None or order.parent is not None:
        raise StateError(
            f"strategy {strategy}: an order of {order.data._name} ({bt.Order.ExecTypes[order.exectype]}"
            f"{', valid until a date' if order.valid is not None else ''}"
            f"{', in a bracket' if order.parent is not None else ''}) cannot be carried to the "
            "next session by a book: it carries market, close, limit and stop orders without "
            "validity or brackets"
        )
    created = order.created
    return OrderState(
        code=order.data._name,
        size=float(order.created.size),
        exectype=exectype,
        price=None if order.price is None else float(order.price),
        pricelimit=None if order.pricelimit is None else float(order.pricelimit),
        tradeid=int(order.tradeid),
        info=to_plain(
            {k: v for k, v in order.info.items() if k != "reason"},
            f"strategy {strategy}: an order's info",
        ),
        created=(bt.num2date(created.dt).date().isoformat(), float(created.pclose)),
        accepted=order.status == bt.Order.Accepted,
    )


def strategy_state(strategy: Any, platform: frozenset[str]) -> dict[str, Any]:
    """The attributes ``strategy`` carries (its class's ``carried``), as plain data. A
    :class:`StateError` for any other attribute of its own that the session changed or
    created (:func:`own_snapshot` taken before it, at the session's start)."""
    carried = tuple(getattr(type(strategy), "carried", ()))
    values = vars(strategy)
    before: dict[str, Any] = values.get("_quant_snapshot", {})
    name = strategy.name
    for key in sorted(set(values) - platform - set(carried)):
        if key.startswith("_quant_"):
            continue
        if key not in before or _snapshot(values[key]) != before[key]:
            raise StateError(
                f"strategy {name}: self.{key} changed during the session of "
                f"{strategy.today.date()} but is not in {type(strategy).__name__}.carried, so a "
                f"book would lose it overnight: add {key!r} to carried (plain data), or keep "
                "what does not change in the plan"
            )
    return {
        key: to_plain(values[key], f"strategy {name}: self.{key}")
        for key in carried
        if key in values
    }


def own_snapshot(strategy: Any, platform: frozenset[str]) -> dict[str, Any]:
    """What :func:`strategy_state` compares the attributes of the strategy's own with:
    their values at the session's start (plain data as JSON text, anything else by
    identity)."""
    return {key: _snapshot(v) for key, v in vars(strategy).items() if key not in platform}


def _snapshot(value: Any) -> Any:
    try:
        return json.dumps(to_plain(value), sort_keys=True)
    except StateError:
        return ("object", id(value))


# -- putting it back -----------------------------------------------------------------
def restore(broker: Any, strategy: Any, state: AccountState) -> None:
    """Put ``state`` into a new run's broker and strategy, at its first bar (the close of
    the session the state was taken at): cash, positions, the broker's own state, the
    strategy's carried attributes, then the orders and notifications in their order, as
    if placed at that close."""
    feeds = strategy._feeds
    broker.cash = state.cash
    for code, (size, price, adjbase) in state.positions.items():
        position = broker.positions[_feed(feeds, code)]
        position.size, position.price, position.adjbase = size, price, adjbase or None
        broker.sync(feeds[code])
    for name, value in state.broker.items():
        BROKER_STATE[name][1](broker, value)
    for key, value in state.strategy.items():
        setattr(strategy, key, from_plain(value, feeds))
    for order in state.orders:  # accepted at an earlier session: pending, not checked again
        if order.accepted:
            _place(broker, strategy, feeds, order)
    sequence = state.notifications
    if not listens(strategy):
        sequence = [["order", k] for k, order in enumerate(state.orders) if not order.accepted]
    placed = set()
    for entry in sequence:  # placed at that close, in order, with their notifications
        if entry[0] == "order":
            _place(broker, strategy, feeds, state.orders[entry[1]])
            placed.add(entry[1])
        else:
            _, code, side, shares, reason = entry
            order = broker.new_order(
                BuyOrder if side == "buy" else SellOrder, strategy, _feed(feeds, code), shares
            )
            order.addinfo(reason=reason)
            order.reject()
            broker.notify(order)
    for k, order in enumerate(state.orders):
        if not order.accepted and k not in placed:
            _place(broker, strategy, feeds, order)


def _place(broker: Any, strategy: Any, feeds: Mapping[str, Any], state: OrderState) -> bt.Order:
    kind = BuyOrder if state.size > 0 else SellOrder
    feed = _feed(feeds, state.code)
    info = from_plain(state.info, feeds)
    if not state.accepted:
        return broker._place(
            kind,
            strategy,
            feed,
            abs(state.size),
            price=state.price,
            plimit=state.pricelimit,
            exectype=EXECTYPES[state.exectype],
            tradeid=state.tradeid,
            **info,
        )
    order = broker.new_order(kind, strategy, feed, abs(state.size))
    order.price, order.pricelimit, order.plimit = state.price, state.pricelimit, state.pricelimit
    order.exectype, order.tradeid = EXECTYPES[state.exectype], state.tradeid
    order.created.dt = bt.date2num(pd.Timestamp(state.created[0]).to_pydatetime())
    order.created.price = order.created.pclose = state.created[1]
    if info:
        order.addinfo(**info)
    order.submit(broker)
    order.accept(broker)
    broker.pending.append(order)
    broker.orders.append(order)
    return order


def _feed(feeds: Mapping[str, Any], code: str) -> Any:
    feed = feeds.get(code)
    if feed is None:
        raise StateError(f"the saved state names {code}, which the session's feeds lack")
    return feed
