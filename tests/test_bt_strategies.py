"""backtrader strategies as they are written (issue 22): backtrader's quickstart SMA cross
runs under the A-share broker and rules with hand-checked trades (lots, a limit-up refusal
delivered to notify_order, T+1 for an intraday round trip), and trades as the same logic
written on AShareStrategy; on AShareStrategy backtrader's own methods work.

Calendar (2023): D0 Mon 08-21 .. D9 Fri 09-01; the window starts at D1, so D0 is day 0
(orders placed at its close fill at D1's open) and the feeds span D0..D9.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import backtrader as bt
import pytest

from quant.engine import AShareStrategy, BacktestConfig, ConfigError, StrategyError, run_strategy
from quant.engine.plugins import load_strategy
from quant.engine.runner import load_panels, plan_runs, prepare_context
from strategies.examples.sma_cross import SmaCross
from strategies.examples.sma_cross_bt import TestStrategy as QuickstartStrategy
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of

D = sessions("2023-08-21", periods=10)
A = "600000.SH"
# SMA(3) of the close: D2 10.00 (close 10.00: no signal); D3 10.167 < 10.50: buy at D3's
# close; D4 opens at limit-up (10.50 x 1.1 = 11.55): refused, and 11.55 > 10.683: buy
# again; D5 fills at 11.60, 11.80 > 11.283; D6 11.20 < 11.517: sell, fills at D7's open
# 11.00 (bought D5, so T+1 allows it); D7..D9 10.90 < 11.30, 10.60 < 10.90, 10.70 < 10.733.
BARS = make_bars(
    A,
    D,
    close=[10.00, 10.00, 10.00, 10.50, 11.55, 11.80, 11.20, 10.90, 10.60, 10.70],
    open=[10.00, 10.00, 10.00, 10.40, 11.55, 11.60, 11.50, 11.00, 10.80, 10.60],
)
B = "600004.SH"  # a second stock, flat at 8.00
FLAT = make_bars(B, D, close=[8.00] * len(D))


def run(strategy: type, params: dict[str, Any], cash: float = 100_000.0, panel=None):
    panel = panel if panel is not None else panel_of(BARS, FLAT)
    name = strategy.__name__
    config = BacktestConfig(
        start=str(D[1].date()),
        end=str(D[-1].date()),
        cash=cash,
        strategies=[name],
        params={name: params},
    )
    return run_strategy(strategy, prepare_context(config, panel, index_panel=panel))


def trades(result) -> list[tuple]:
    return [
        (str(d.date()), code, side, size, price)
        for d, code, side, size, price in result.fills[
            ["date", "code", "side", "size", "price"]
        ].itertuples(index=False)
    ]


def refusals(result) -> list[tuple]:
    frame = result.refusals[["date", "code", "side", "size", "reason"]]
    return [(str(d.date()), c, s, z, r) for d, c, s, z, r in frame.itertuples(index=False)]


class Quickstart(QuickstartStrategy):
    """The quickstart's strategy, recording what notify_order receives."""

    notified: ClassVar[list[tuple]] = []

    def notify_order(self, order):
        super().notify_order(order)
        day = str(self.datas[0].datetime.date(0))
        Quickstart.notified.append((day, order.getstatusname(), order.info.get("reason")))


QUICKSTART_TRADES = [
    (str(D[5].date()), A, "buy", 100.0, 11.60),
    (str(D[7].date()), A, "sell", 100.0, 11.00),
]


def test_the_quickstart_trades_lots_and_hears_of_the_limit_up_refusal():
    Quickstart.notified = []
    result = run(Quickstart, {"codes": [A], "maperiod": 3})
    assert trades(result) == QUICKSTART_TRADES
    assert refusals(result) == [(str(D[4].date()), A, "buy", 100.0, "limit-up")]
    finished = [n for n in Quickstart.notified if n[1] not in ("Submitted", "Accepted")]
    assert finished == [
        (str(D[4].date()), "Rejected", "limit-up"),
        (str(D[5].date()), "Completed", None),
        (str(D[7].date()), "Completed", None),
    ]
    # costs: commission 0.025 % (5 yuan minimum) and transfer fee 0.001 % on both sides,
    # stamp duty 0.05 % on the sell (from 2023-08-28)
    assert result.fills["costs"].tolist() == pytest.approx(
        [5.0 + 1160.0 * 0.00001, 5.0 + 1100.0 * 0.00001 + 1100.0 * 0.0005]
    )
    final = 100_000.0 - 1160.0 + 1100.0 - result.fills["costs"].sum()
    assert result.equity.iloc[-1] == pytest.approx(final)


def test_the_quickstart_trades_as_the_same_logic_written_on_the_platform():
    bt_run = run(QuickstartStrategy, {"codes": [A], "maperiod": 3})
    platform = run(SmaCross, {"codes": [A], "maperiod": 3})
    assert trades(platform) == trades(bt_run) == QUICKSTART_TRADES
    assert refusals(platform) == refusals(bt_run)
    assert platform.nav.tolist() == bt_run.nav.tolist()


class RoundTrip(bt.Strategy):
    """An intraday round trip as backtrader users write one: at D4's close, buy at the next
    open and sell at the next close."""

    codes: ClassVar[list[str]] = [A]
    notified: ClassVar[list[tuple]] = []

    def next(self):
        if self.data.datetime.date(0) == D[4].date():
            self.buy()
            self.sell(exectype=bt.Order.Close)

    def notify_order(self, order):
        if order.status in (order.Completed, order.Rejected):
            side = "buy" if order.isbuy() else "sell"
            RoundTrip.notified.append((side, order.getstatusname(), order.info.get("reason")))


def test_t_plus_one_refuses_the_sell_of_shares_bought_that_day():
    RoundTrip.notified = []
    result = run(RoundTrip, {})
    assert trades(result) == [(str(D[5].date()), A, "buy", 100.0, 11.60)]
    assert refusals(result) == [(str(D[5].date()), A, "sell", 100.0, "T+1")]
    assert RoundTrip.notified == [("buy", "Completed", None), ("sell", "Rejected", "T+1")]


class Sized(bt.Strategy):
    """backtrader's sizing methods on the second stock (B, flat at 8.00) at D1's close."""

    params = (("how", "percent"),)
    codes: ClassVar[list[str]] = [A, B]
    placed: ClassVar[list[Any]] = []
    rejected: ClassVar[list[tuple]] = []

    def notify_order(self, order):
        if order.status == order.Rejected:
            day = str(self.data.datetime.date(0))
            Sized.rejected.append((day, order.size, order.info.reason))

    def next(self):
        if self.data.datetime.date(0) != D[1].date():
            return
        b = self.getdatabyname(B)
        if self.p.how == "percent":  # 50,000 / 8.00 = 6,250 shares -> 6,200
            Sized.placed = [self.order_target_percent(data=b, target=0.5)]
        elif self.p.how == "value":  # 10,050 / 8.00 = 1,256.25 -> 1,200
            Sized.placed = [self.order_target_value(b, 10_050.0)]
        elif self.p.how == "size":  # 150 shares -> one lot; 50 -> refused, none placed
            Sized.placed = [self.buy(b, size=150), self.buy(data=B, size=50)]
        elif self.p.how == "target":  # towards 1,250 shares -> 1,200
            Sized.placed = [self.order_target_size(B, 1250)]


class SellsInLots(bt.Strategy):
    """Buys 1,000 shares of B at D1's close, sells 250 at D2's (rounded down: 200), then
    asks for 20,000 shares (160,000 yuan) with about 92,000 in cash at D3's."""

    codes: ClassVar[list[str]] = [B]
    notified: ClassVar[list[tuple]] = []

    def next(self):
        day = self.data.datetime.date(0)
        if day == D[1].date():
            self.buy(size=1000)
        elif day == D[2].date():
            self.sell(size=250)
        elif day == D[3].date():
            self.buy(size=20_000)

    def notify_order(self, order):
        if order.status in (order.Margin, order.Rejected):
            day = str(self.data.datetime.date(0))
            SellsInLots.notified.append((day, order.getstatusname(), order.info.reason))


def test_a_sell_in_lots_and_a_buy_without_the_cash_for_it():
    SellsInLots.notified = []
    result = run(SellsInLots, {})
    assert trades(result) == [
        (str(D[2].date()), B, "buy", 1000.0, 8.00),
        (str(D[3].date()), B, "sell", 200.0, 8.00),
    ]
    assert refusals(result) == [(str(D[4].date()), B, "buy", 20_000.0, "cash")]
    assert SellsInLots.notified == [(str(D[4].date()), "Margin", "cash")]


@pytest.mark.parametrize(
    ("how", "shares"), [("percent", 6200.0), ("value", 1200.0), ("size", 100.0), ("target", 1200.0)]
)
def test_backtraders_sizing_methods_buy_in_lots(how, shares):
    Sized.rejected = []
    result = run(Sized, {"how": how})
    assert trades(result) == [(str(D[2].date()), B, "buy", shares, 8.00)]
    if how == "size":
        assert refusals(result) == [(str(D[1].date()), B, "buy", 50.0, "below minimum order")]
        assert Sized.placed[1].status == bt.Order.Rejected
        # delivered with the next bar's notifications, as backtrader delivers its own
        assert Sized.rejected == [(str(D[2].date()), 50.0, "below minimum order")]
    else:
        assert Sized.rejected == []


class Unnamed(bt.Strategy):
    """A backtrader strategy that names no codes."""


def test_a_backtrader_strategy_must_name_its_codes_before_the_data_loads():
    config = BacktestConfig(strategies=["tests.test_bt_strategies:Unnamed"])
    with pytest.raises(ConfigError, match=r"strategy Unnamed: a backtrader strategy trades"):
        plan_runs(config)  # every check that needs no data
    twice = BacktestConfig(
        strategies=["tests.test_bt_strategies:Unnamed"], params={"Unnamed": {"codes": [A, A]}}
    )
    with pytest.raises(ConfigError, match=r"params\.Unnamed\.codes: 600000\.SH named twice"):
        plan_runs(twice)


def test_a_backtrader_strategys_params_are_typed_settings_read_before_the_data():
    adapted = load_strategy("strategies/examples/sma_cross_bt.py:TestStrategy")
    assert adapted.Params.of({"maperiod": 3}).codes == ["600000.SH"]
    with pytest.raises(ConfigError, match=r"maperiod"):
        adapted.Params.of({"maperiod": 2.5})
    with pytest.raises(ConfigError, match=r"maperiods.*did you mean maperiod"):
        adapted.Params.of({"maperiods": 3})


class UsesBacktrader(AShareStrategy):
    """On the platform, backtrader's own methods: self.datas, getdatabyname, buy(),
    order_target_percent, close."""

    seen: ClassVar[dict[str, Any]] = {}

    @classmethod
    def prepare(cls, context, params):
        from quant.engine import Plan

        return Plan(codes=[B, A])

    def next(self):
        day = self.today
        if day == D[1]:
            UsesBacktrader.seen = {
                "datas": [d._name for d in self.datas],
                "data": self.data._name,
                "close": self.getdatabyname(A).close[0],
                "close_before": self.getdatabyname(A).close[-1],
            }
            self.buy()  # self.data: B, one lot
            self.order_target_percent(data=A, target=0.25)  # 25,000 / 10.00 -> 2,500
        elif day == D[2]:
            self.close(B)


def test_backtraders_methods_work_on_the_platform():
    result = run(UsesBacktrader, {})
    assert UsesBacktrader.seen == {
        "datas": [B, A],
        "data": B,
        "close": 10.00,
        "close_before": 10.00,
    }
    assert trades(result) == [
        (str(D[2].date()), B, "buy", 100.0, 8.00),
        (str(D[2].date()), A, "buy", 2500.0, 10.00),
        (str(D[3].date()), B, "sell", 100.0, 8.00),
    ]


class Outside(bt.Strategy):
    codes: ClassVar[list[str]] = [A]

    def next(self):
        self.buy(data="000001.SZ")


class BadWeight(AShareStrategy):
    @classmethod
    def prepare(cls, context, params):
        from quant.engine import Plan

        return Plan(codes=[A])

    def next(self):
        self.order_target_weights({A: "half"})


@pytest.mark.parametrize(
    ("strategy", "line", "message"),
    [
        (
            Outside,
            'self.buy(data="000001.SZ")',
            "strategy Outside: buy(data): 000001.SZ is not one of the 1 codes its plan names",
        ),
        (
            BadWeight,
            'self.order_target_weights({A: "half"})',
            "strategy BadWeight: order_target_weights(weights): the weight of 600000.SH must "
            "be a finite number >= 0, got 'half'",
        ),
    ],
)
def test_a_bad_argument_is_one_line_naming_method_argument_file_and_line(strategy, line, message):
    with pytest.raises(StrategyError) as error:
        run(strategy, {})
    text = str(error.value)
    number = next(
        n
        for n, source in enumerate(Path(__file__).read_text().splitlines(), 1)
        if source.strip() == line
    )
    assert text.startswith(message) and text.endswith(f"({__file__}, line {number})")
    assert "\n" not in text


def test_the_quickstart_and_its_port_trade_alike_on_the_sample():
    """Both versions, each stock on its own, on two stocks of the built-in sample over
    2016: the same trades, in lots."""
    panel, index_panel = load_panels(BacktestConfig())
    for code in ["600000.SH", "000001.SZ"]:
        runs = []
        for cls in (QuickstartStrategy, SmaCross):
            name = cls.__name__
            config = BacktestConfig(
                start="2016-01-01",
                end="2016-12-31",
                strategies=[name],
                params={name: {"codes": [code], "maperiod": 15}},
            )
            runs.append(run_strategy(cls, prepare_context(config, panel, index_panel)))
        assert trades(runs[0]) == trades(runs[1])
        assert len(trades(runs[0])) >= 4  # bought and sold more than once
        assert all(size == 100 for *_, size, _ in trades(runs[0]))
        assert runs[0].nav.tolist() == runs[1].nav.tolist()


C = "600006.SH"
C_CLOSES = [5.0, 5.2, 5.0, 5.4, 5.6, 5.3, 5.5, 5.8, 5.7, 5.9]


class Indicators(bt.Strategy):
    """backtrader's indicators on the run's first feed (the clock cerebro steps) and on a
    second (attached to it), recording their values at each next."""

    codes: ClassVar[list[str]] = [A, C]
    seen: ClassVar[list[tuple]] = []

    def __init__(self):
        self.sma_a = bt.ind.SMA(self.data.close, period=3)
        self.sma_c = bt.ind.SMA(self.getdatabyname(C), period=3)
        self.up = bt.ind.CrossUp(self.datas[1].close, self.sma_c)

    def next(self):
        Indicators.seen.append(
            (
                self.datas[1].close[0],
                self.datas[1].close[-1],
                self.sma_a[0],
                self.sma_c[0],
                self.up[0],
            )
        )


def test_indicators_on_every_feed_warm_up_and_follow_the_bars():
    """next runs once every indicator has its values: from D3 (CrossUp compares with the
    SMA's value of the bar before, which starts at D2). C crosses above its SMA(3) on D3
    (5.4 > 5.2 after 5.0 < 5.067) and on D6 (5.5 > 5.467 after 5.3 < 5.433)."""
    Indicators.seen = []
    run(Indicators, {}, panel=panel_of(BARS, make_bars(C, D, close=C_CLOSES)))
    days = range(3, 10)
    closes_a = BARS["close"].tolist()
    assert [s[:2] for s in Indicators.seen] == [(C_CLOSES[k], C_CLOSES[k - 1]) for k in days]
    assert [s[2] for s in Indicators.seen] == pytest.approx(
        [sum(closes_a[k - 2 : k + 1]) / 3 for k in days]
    )
    assert [s[3] for s in Indicators.seen] == pytest.approx(
        [sum(C_CLOSES[k - 2 : k + 1]) / 3 for k in days]
    )
    assert [k for k, s in zip(days, Indicators.seen) if s[4] == 1.0] == [3, 6]


# Crosses of the close over its SMA(3): up on D3 (10.2 > 9.867 after 9.6 < 9.8), down on
# D5 (10.3 < 10.367 after 10.6 > 10.133), up on D8 (10.0 > 9.8 after 9.5 < 9.9).
WAVE = make_bars(A, D, close=[10.0, 9.8, 9.6, 10.2, 10.6, 10.3, 9.9, 9.5, 10.0, 10.4])


class Signals(bt.SignalStrategy):
    """backtrader's signal strategy (its README's SMA cross), which overrides no
    notification method but waits for each order's before the next."""

    codes: ClassVar[list[str]] = [A]

    def __init__(self):
        self.signal_add(bt.SIGNAL_LONG, bt.ind.CrossOver(self.data.close, bt.ind.SMA(period=3)))


def test_a_signal_strategy_trades_every_signal():
    result = run(Signals, {}, panel=panel_of(WAVE))
    assert trades(result) == [
        (str(D[4].date()), A, "buy", 100.0, 10.6),
        (str(D[6].date()), A, "sell", 100.0, 9.9),
        (str(D[9].date()), A, "buy", 100.0, 10.4),
    ]
