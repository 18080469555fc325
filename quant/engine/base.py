"""What every strategy the engine runs has, written on the platform
(quant.engine.strategy.AShareStrategy) or as a plain backtrader strategy
(quant.engine.bt_strategy): the contract with the runner (typed parameters, a plan, a
report section), the run's feeds as ``self.datas``, and backtrader's own order methods,
working as backtrader documents them, with sizes in the order sizes of each stock's board
(quant.market.rules.OrderSize) and every refusal delivered to ``notify_order``.

backtrader's methods, under the A-share rules (``data``: a feed of ``self.datas``, or a
code; None: ``self.data``, the first of them):

- ``buy(data, size)``: ``size`` (or the sizer's: by default one minimum order of the
  board, :class:`BoardLotSizer`) rounded down to a size the board allows; under the
  minimum, refused (``below minimum order``).
- ``sell(data, size)``: ``size`` rounded down the same way (the odd part of a lot goes
  with whole lots, a whole position is always one order); more than is held is refused
  when it would fill (``more than held``, or ``T+1`` for shares bought that day).
- ``close(data)``: the whole position.
- ``order_target_size`` / ``order_target_value`` / ``order_target_percent``: towards a
  number of shares, a value in yuan at today's close, a fraction of equity: buys rounded
  down (an opening buy under the minimum refused, a smaller top-up not placed), sells
  rounded so that at least the target stays.
- ``getdatabyname(code)``, ``getposition(data)``: a feed, a position, by feed or code.

Every order fills at the next bar (quant.engine.config.Rules.fill_at) if the market's rules
let it (quant.engine.validators); a refused order reaches ``notify_order`` as Rejected (or
Margin: no cash for it) with the reason in ``order.info.reason``, and is logged in the
run's refusals. A bad argument (a code outside the plan, a size that is not a number) is a
one-line :class:`~quant.engine.arguments.StrategyError` naming the method, the argument
and the strategy's file and line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import backtrader as bt

from quant.engine.actions import RightsOffer
from quant.engine.arguments import bad_argument, is_number, number
from quant.engine.config import BacktestConfig
from quant.engine.params import StrategyParams
from quant.engine.validators import BELOW_MINIMUM

if TYPE_CHECKING:
    from quant.engine.strategy import Context, Plan


#: backtrader's order arguments after ``data`` and ``size``, in the order of its signature.
ORDER_ARGUMENTS = (
    "price",
    "plimit",
    "exectype",
    "valid",
    "tradeid",
    "oco",
    "trailamount",
    "trailpercent",
    "parent",
    "transmit",
)


#: The order arguments that are prices or amounts: a number > 0 when given.
_PRICES = ("price", "plimit", "trailamount", "trailpercent")


class BoardLotSizer(bt.Sizer):
    """The default sizer of the engine's strategies: one minimum order of the stock's board
    on the day (100 shares on the main board and ChiNext, 200 on STAR, 100 in Beijing;
    quant.market.rules.OrderSize), for buys and sells alike. A strategy sets another with
    backtrader's ``self.setsizer(...)``; its sizes are rounded to the board's sizes."""

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> int:
        return self.broker.order_size(data).minimum


class BaseStrategy(bt.Strategy):
    """The base of every strategy class the engine runs (see the module)."""

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
    #: Whether the strategy reads backtrader's order notifications in a way other than by
    #: overriding notify_order / notify_trade (a backtrader strategy as written: True);
    #: otherwise they are delivered only to a strategy that overrides one of those.
    reads_notifications: ClassVar[bool] = False

    # backtrader hands these to the instance before __init__ runs (set by the runner)
    params = (("quant_plan", None), ("quant_name", ""))

    # -- the contract with the runner ---------------------------------------------------
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
    def prepare(cls, context: Context, params: StrategyParams) -> Plan:
        """The plan of a run (see AShareStrategy.prepare)."""
        raise NotImplementedError

    # -- the run ------------------------------------------------------------------------
    def __init__(self) -> None:
        super().__init__()
        self._join_run()

    def _join_run(self) -> None:
        """Read the run's market from the broker and set the default sizer; before any of
        a strategy's own ``__init__`` (a backtrader strategy's may not call ours); once."""
        if "_market" in vars(self):
            return
        self._run_name: str = self.p.quant_name
        self._market = self.broker.market
        self._feeds: dict[str, Any] = dict(zip(self._market.names, self._market.feeds))
        self.setsizer(BoardLotSizer())
        self.broker.holder = self  # asked about rights issues (rights_issue)

    def rights_issue(self, offer: RightsOffer) -> float | None:
        """A rights issue (配股) of a stock held at its record date, on its first payment
        day (runs with a corporate-actions table; quant.engine.actions): how many of
        ``offer.offered`` rights shares to take at ``offer.price`` yuan each, a whole number
        from 0 to ``offer.offered``; the cash is paid at once (as far as it goes), the
        shares credited on ``offer.ex_date``. None (default): the run's ``Rules.rights``
        (``"subscribe"``: all of them; ``"lapse"``: none, the holding diluted)."""
        return None

    def _periodset(self) -> None:
        super()._periodset()
        self._datas_minperiod = max(self._minperiods)

    def _getminperstatus(self) -> int:
        """backtrader's minimum-period status, from the clock alone: every feed of a run
        has the clock's length (backtrader measures each of thousands of feeds per bar)."""
        self._minperstatus = status = self._datas_minperiod - len(self._clock)
        return status

    # -- feeds, positions ---------------------------------------------------------------
    def getdatabyname(self, name: str) -> Any:
        """The feed of the code ``name``."""
        if not isinstance(name, str):
            raise bad_argument(self._run_name, "getdatabyname(name)", f"not a code: {name!r}")
        return self._data(name, "getdatabyname(name)")

    def getposition(self, data: Any = None, broker: Any = None) -> Any:
        """The position of a feed (or a code; default ``self.data``)."""
        return (broker or self.broker).getposition(self._data(data, "getposition(data)"))

    def _data(self, data: Any, call: str) -> Any:
        """The feed ``data`` names: None (``self.data``), a code, or a feed of this run."""
        if data is None:
            return self.datas[0]
        if isinstance(data, str):
            feed = self._feeds.get(data)
            if feed is None:
                raise self._outside_plan(call, data)
            return feed
        if self._feeds.get(getattr(data, "_name", None)) is data:
            return data
        raise bad_argument(self._run_name, call, f"not a code nor one of self.datas: {data!r}")

    def _outside_plan(self, call: str, code: Any) -> Exception:
        return bad_argument(
            self._run_name,
            call,
            f"{code} is not one of the {len(self._feeds)} codes its plan names (Plan.codes / "
            "Plan.index_codes; a backtrader strategy's codes): only those can be held or traded",
        )

    def _held(self, feed: Any) -> float:
        return float(self._market.book[feed.column])

    def _price(self, feed: Any) -> float:
        return float(self._market.today("close")[feed.column])

    # -- backtrader's orders, sized to the board ---------------------------------------
    def buy(self, data: Any = None, size: Any = None, *args: Any, **kwargs: Any) -> bt.Order | None:
        """backtrader's buy (the same arguments: price, plimit, exectype, valid, tradeid,
        oco, trailamount, trailpercent, parent, transmit and the order's info), the size
        rounded down to the board's order sizes (see the module)."""
        feed = self._data(data, "buy(data)")
        shares = self._size(feed, size, "buy(size)", isbuy=True)
        if not shares:
            return None
        rounded = shares if self.frictionless else self.broker.order_size(feed).round_down(shares)
        if not rounded:
            return self.broker.refuse_placed(self, feed, "buy", shares, BELOW_MINIMUM)
        return self.broker.buy(self, feed, rounded, **self._keywords("buy", args, kwargs))

    def sell(
        self, data: Any = None, size: Any = None, *args: Any, **kwargs: Any
    ) -> bt.Order | None:
        """backtrader's sell (the same arguments as :meth:`buy`), the size rounded down to
        the board's order sizes (see the module)."""
        feed = self._data(data, "sell(data)")
        shares = self._size(feed, size, "sell(size)", isbuy=False)
        if not shares:
            return None
        held = self._held(feed)
        sizes = self.broker.order_size(feed)
        rounded = shares
        if not (self.frictionless or shares >= held - 1e-9 or sizes.is_valid_sell(shares, held)):
            rounded = sizes.sell_shares(held, held - shares)
        if not rounded:
            return self.broker.refuse_placed(self, feed, "sell", shares, BELOW_MINIMUM)
        return self.broker.sell(self, feed, rounded, **self._keywords("sell", args, kwargs))

    def close(self, data: Any = None, size: Any = None, **kwargs: Any) -> bt.Order | None:
        """Sell the whole position (or ``size`` of it, as :meth:`sell`)."""
        feed = self._data(data, "close(data)")
        held = self._held(feed)
        if held <= 0:
            return None
        return self.sell(feed, held if size is None else size, **kwargs)

    def order_target_size(
        self, data: Any = None, target: Any = 0, **kwargs: Any
    ) -> bt.Order | None:
        """Buy or sell towards ``target`` shares: a buy rounded down to a size the board
        allows (an opening buy under the minimum refused, ``below minimum order``; a
        smaller top-up not placed), a sell rounded so that at least ``target`` stays."""
        call = "order_target_size(target)"
        feed = self._data(data, "order_target_size(data)")
        shares = number(self._run_name, call, target, "target shares")
        kwargs = self._keywords("order_target_size", (), kwargs)
        held = self._held(feed)
        if shares > held:
            return self._buy_towards(feed, shares - held, **kwargs)
        if shares < held:
            sell = held - shares if self.frictionless else self._sell_shares(feed, held, shares)
            return self._submit(feed, -sell, **kwargs)
        return None

    def order_target_value(
        self, data: Any = None, target: Any = 0.0, price: Any = None, **kwargs: Any
    ) -> bt.Order | None:
        """Hold about ``target`` yuan of ``data`` at today's close (or at ``price``), in
        order sizes the board allows: buys rounded down (an opening buy under the minimum
        refused, ``below minimum order``), sells rounded so that at least the target
        stays (a trim under the minimum is not placed)."""
        feed = self._data(data, "order_target_value(data)")
        value = number(self._run_name, "order_target_value(target)", target, "target (yuan)")
        kwargs = self._keywords("order_target_value", (), {"price": price, **kwargs})
        price = self._price(feed) if price is None else price
        return self._target_value(feed, value, price, **kwargs)

    def order_target_percent(
        self, data: Any = None, target: Any = 0.0, **kwargs: Any
    ) -> bt.Order | None:
        """Hold ``target`` (a fraction, 0.05 = 5 %) of equity in ``data``, as
        :meth:`order_target_value`."""
        feed = self._data(data, "order_target_percent(data)")
        share = number(self._run_name, "order_target_percent(target)", target, "target (fraction)")
        kwargs = self._keywords("order_target_percent", (), kwargs)
        return self._target_value(feed, share * self.broker.getvalue(), self._price(feed), **kwargs)

    # -- the sizing every order method shares ----------------------------------------
    def _size(self, feed: Any, size: Any, call: str, isbuy: bool) -> float:
        """The shares asked for (backtrader: the sizer's without ``size``, its absolute
        value with one)."""
        if size is None:
            size = self.getsizing(feed, isbuy=isbuy)
        elif not is_number(size):
            raise bad_argument(self._run_name, call, f"shares must be a number, got {size!r}")
        return abs(float(size))

    def _keywords(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict:
        """backtrader's order arguments given by position (``args``) and by name, as names;
        a price that is not a number > 0 is a bad argument."""
        keywords = {**dict(zip(ORDER_ARGUMENTS, args)), **kwargs}
        for key in _PRICES:
            value = keywords.get(key)
            if value is not None and not (is_number(value) and value > 0):
                problem = f"must be a number > 0, got {value!r}"
                raise bad_argument(self._run_name, f"{method}({key})", problem)
        return keywords

    def _target_value(self, feed: Any, value: float, at: float, **kwargs: Any) -> bt.Order | None:
        """Towards ``value`` yuan of ``feed`` valued at ``at`` yuan a share."""
        if not at > 0:
            return None
        target = value / at
        held = self._held(feed)
        if target >= held:
            return self._buy_towards(feed, target - held, **kwargs)
        if self.frictionless:
            return self._submit(feed, target - held, **kwargs)
        return self._submit(feed, -self._sell_shares(feed, held, target), **kwargs)

    def _buy_towards(self, feed: Any, shares: float, **kwargs: Any) -> bt.Order | None:
        """A buy of about ``shares`` rounded down to the board's sizes; under the minimum
        an opening buy is refused (``below minimum order``), a top-up is not placed."""
        if shares <= 1e-9:
            return None
        size = shares if self.frictionless else self.broker.order_size(feed).round_down(shares)
        if size > 0:
            return self._submit(feed, size, **kwargs)
        if not self._held(feed):
            return self.broker.refuse_placed(self, feed, "buy", shares, BELOW_MINIMUM)
        return None

    def _sell_shares(self, feed: Any, held: float, target: float) -> float:
        return self.broker.order_size(feed).sell_shares(held, target)

    def _submit(self, feed: Any, shares: float, **kwargs: Any) -> bt.Order | None:
        """A raw order of ``shares`` (> 0 buys, < 0 sells, 0 none) on ``feed``."""
        if shares > 0:
            return self.broker.buy(self, feed, size=shares, **kwargs)
        if shares < 0:
            return self.broker.sell(self, feed, size=-shares, **kwargs)
        return None
