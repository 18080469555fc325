"""The A-share rules inside backtrader, on a 3-stock market where every fill is known.

Calendar (2023): D0 Mon 08-21 .. D9 Fri 09-01. Orders placed at a day's close fill at the
next day's open. Stamp duty: 0.1 % on sells until 2023-08-27, 0.05 % from 08-28.
"""

from __future__ import annotations

import warnings

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.engine import Rules
from quant.engine.broker import AShareBroker
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of, run_script

D = sessions("2023-08-21", periods=10)

# A: quiet; buys at D1's open 10.00, sold at D3's open 10.50.
A = make_bars(
    "600000.SH",
    D,
    close=[10.00, 10.20, 10.40, 10.50, 10.50, 10.60, 10.60, 10.60, 10.60, 10.60],
    open=[10.00, 10.00, 10.30, 10.50, 10.50, 10.50, 10.60, 10.60, 10.60, 10.60],
)
# B: opens at limit-down on D4 (5.00 x 0.9 = 4.50), suspended on D5 (no bar).
B = make_bars(
    "000001.SZ",
    D.delete(5),
    close=[5.00, 5.00, 5.00, 5.00, 4.60, 4.80, 4.80, 4.80, 4.80],
    open=[5.00, 5.00, 5.00, 5.00, 4.50, 4.80, 4.80, 4.80, 4.80],
)
# C: opens (and stays) at limit-up on D3 (20.00 x 1.1 = 22.00).
C = make_bars(
    "600519.SH",
    D,
    close=[20.00, 20.00, 20.00, 22.00, 22.00, 22.00, 22.00, 22.00, 22.00, 22.00],
    open=[20.00, 20.00, 20.00, 22.00, 22.00, 22.00, 22.00, 22.00, 22.00, 22.00],
)

SCRIPT = {
    "2023-08-21": [("value", "600000.SH", 10_450.0)],  # 1,045 shares wanted -> 1,000 (lots)
    "2023-08-22": [
        ("buy", "000001.SZ", 100),
        ("sell", "000001.SZ", 100),  # same batch: bought that day -> T+1 refuses it
        ("buy", "600000.SH", 150),  # not a whole lot -> refused
    ],
    "2023-08-23": [("target", "600000.SH", 0), ("buy", "600519.SH", 100)],  # C at limit-up
    "2023-08-24": [("sell", "000001.SZ", 100)],  # D4 opens at limit-down -> refused
    "2023-08-25": [("sell", "000001.SZ", 100)],  # D5 suspended -> refused
    "2023-08-28": [("sell", "000001.SZ", 100)],  # fills D6 at 4.80, stamp duty 0.05 %
}


@pytest.fixture(scope="module")
def result():
    return run_script(panel_of(A, B, C), SCRIPT, start="2023-08-22", end="2023-09-01")


def costs(value: float, sell: bool, stamp: float) -> float:
    """Hand formula: commission 0.025 % (min 5), transfer fee 0.001 %, stamp duty on sells."""
    return max(value * 0.00025, 5.0) + value * 0.00001 + (value * stamp if sell else 0.0)


def test_fills_are_exactly_the_hand_computed_ones(result):
    fills = result.fills[["date", "code", "side", "size", "price"]]
    expected = pd.DataFrame(
        [
            (D[1], "600000.SH", "buy", 1000.0, 10.00),
            (D[2], "000001.SZ", "buy", 100.0, 5.00),
            (D[3], "600000.SH", "sell", 1000.0, 10.50),
            (D[6], "000001.SZ", "sell", 100.0, 4.80),
        ],
        columns=fills.columns,
    )
    pd.testing.assert_frame_equal(fills.reset_index(drop=True), expected, check_dtype=False)


def test_each_rule_refuses_its_order(result):
    refused = result.refusals[["date", "code", "side", "reason"]].values.tolist()
    assert refused == [
        [D[2], "000001.SZ", "sell", "T+1"],
        [D[2], "600000.SH", "buy", "order size"],
        [D[3], "600519.SH", "buy", "limit-up"],
        [D[4], "000001.SZ", "sell", "limit-down"],
        [D[5], "000001.SZ", "sell", "suspended"],
    ]


def test_minimum_commission_and_dated_stamp_duty(result):
    charged = result.fills["costs"].to_numpy()
    expected = [
        costs(10_000.0, False, 0),  # 2.50 commission -> the 5 yuan minimum
        costs(500.0, False, 0),
        costs(10_500.0, True, 0.001),  # sold 2023-08-24: 0.1 %
        costs(480.0, True, 0.0005),  # sold 2023-08-29: 0.05 %
    ]
    np.testing.assert_allclose(charged, expected, rtol=0, atol=1e-9)
    assert charged[0] == pytest.approx(5.10) and charged[3] == pytest.approx(5.2448)


def test_nav_equals_the_hand_computed_value(result):
    cash = 100_000.0
    cash -= 10_000.0 + costs(10_000.0, False, 0)
    nav_d1 = (cash + 1000 * 10.20) / 100_000.0
    cash -= 500.0 + costs(500.0, False, 0)
    cash += 10_500.0 - costs(10_500.0, True, 0.001)
    cash += 480.0 - costs(480.0, True, 0.0005)
    assert result.nav.index[0] == D[0] and result.nav.iloc[0] == 1.0
    assert result.nav.loc[D[1]] == pytest.approx(nav_d1, abs=1e-12)
    assert result.equity.iloc[-1] == pytest.approx(cash, abs=1e-9)
    assert cash == pytest.approx(100_449.0452, abs=1e-9)
    assert (result.cash >= 0).all()


def test_fill_at_close_uses_the_next_close():
    script = {
        "2023-08-21": [("buy", "600000.SH", 1000)],
        "2023-08-23": [("sell", "600000.SH", 1000)],
    }
    result = run_script(
        panel_of(A), script, "2023-08-22", "2023-08-25", rules=Rules(fill_at="close")
    )
    assert result.fills["price"].tolist() == [10.20, 10.50]  # D1's and D3's closes
    assert result.fills["date"].tolist() == [D[1], D[3]]


def test_limit_rules_can_be_switched_off():
    script = {"2023-08-23": [("buy", "600519.SH", 100)]}
    result = run_script(
        panel_of(C), script, "2023-08-22", "2023-08-25", rules=Rules(price_limits=False)
    )
    assert result.fills["price"].tolist() == [22.00] and result.refusals.empty


def test_not_enough_cash_is_refused_and_cash_never_goes_negative():
    script = {"2023-08-21": [("buy", "600000.SH", 2000)]}  # 20,000 yuan with 15,000 cash
    result = run_script(panel_of(A), script, "2023-08-22", "2023-08-25", cash=15_000.0)
    assert result.fills.empty
    assert result.refusals["reason"].tolist() == ["cash"]
    assert (result.cash == 15_000.0).all()


def test_bonus_shares_and_odd_lots():
    # 5-for-100 bonus on D2: factor 1.00 -> 1.05, 1,000 shares become 1,050 (an odd 50).
    bonus = make_bars(
        "600000.SH",
        D[:6],
        close=[10.0, 10.0, 9.52, 9.52, 9.52, 9.52],
        adj_factor=[1.0, 1.0, 1.05, 1.05, 1.05, 1.05],
    )
    script = {
        "2023-08-21": [("buy", "600000.SH", 1000)],
        "2023-08-22": [("sell", "600000.SH", 30)],  # part of the odd lot: refused
        "2023-08-23": [("sell", "600000.SH", 150)],  # one lot + the whole odd 50: fine
        "2023-08-24": [("sell", "600000.SH", 900)],  # the rest
    }
    result = run_script(panel_of(bonus), script, "2023-08-22", "2023-08-28")
    event = result.events.iloc[0]
    assert (event["date"], event["shares_before"], event["shares_after"]) == (D[2], 1000, 1050)
    assert result.refusals[["date", "reason"]].values.tolist() == [[D[2], "order size"]]
    assert result.fills["size"].tolist() == [1000, 150, 900]
    # value is continuous through the ex-date: 1,050 x 9.52 ~ 1,000 x 10.00
    assert result.equity.loc[D[2]] == pytest.approx(
        result.equity.loc[D[1]] - 1000 * 10.0 + 1050 * 9.52
    )


def test_a_stock_that_stops_trading_stays_held_at_its_last_close():
    # Its bars end on D3. Delisted or suspended past the data's end? Unknowable at the
    # time, so the holder stays frozen: sells are refused and its cash is never freed.
    gone = make_bars("600001.SH", D[:4], close=[8.0, 8.0, 8.2, 8.4])
    script = {
        "2023-08-21": [("buy", "600001.SH", 5000)],
        "2023-08-24": [("sell", "600001.SH", 5000), ("buy", "600000.SH", 9000)],
    }
    result = run_script(panel_of(A, gone), script, "2023-08-22", "2023-08-29")
    assert result.fills["side"].tolist() == ["buy"]
    assert result.refusals[["date", "code", "reason"]].values.tolist() == [
        [D[4], "600001.SH", "suspended"],
        [D[4], "600000.SH", "cash"],  # 94,500 yuan of A with ~60,000 of cash
    ]
    held = result.positions[result.positions["date"] == D[6]]
    assert held[["code", "shares", "value"]].values.tolist() == [["600001.SH", 5000, 42_000.0]]
    assert result.equity.iloc[-1] == pytest.approx(result.cash.iloc[-1] + 5000 * 8.4)


def test_an_order_refused_for_cash_leaves_the_cash_to_the_next_ones():
    script = {
        "2023-08-21": [("buy", "600000.SH", 5000)],
        "2023-08-22": [
            ("buy", "600519.SH", 6000),  # 120,000 yuan: more than the ~50,000 left
            ("buy", "000001.SZ", 100),  # 500 yuan: fits
            ("sell", "600000.SH", 100),  # a sell never fails for cash
        ],
    }
    result = run_script(panel_of(A, B, C), script, "2023-08-22", "2023-08-25")
    assert result.refusals[["code", "reason"]].values.tolist() == [["600519.SH", "cash"]]
    assert result.fills[["date", "code", "side"]].values.tolist() == [
        [D[1], "600000.SH", "buy"],
        [D[2], "000001.SZ", "buy"],
        [D[2], "600000.SH", "sell"],
    ]


def test_orders_placed_before_an_ex_date_are_restated_in_the_new_shares():
    split = make_bars(
        "600000.SH", D[:4], close=[10.0, 10.0, 5.0, 5.0], adj_factor=[1.0, 1.0, 2.0, 2.0]
    )
    other = make_bars("600004.SH", D[:4], close=[5.0, 5.0, 5.0, 5.0])
    script = {
        "2023-08-21": [("buy", "600000.SH", 1000)],
        "2023-08-22": [("target", "600000.SH", 500), ("buy", "600004.SH", 100)],  # half
    }
    result = run_script(panel_of(split, other), script, "2023-08-22", "2023-08-24")
    sold = result.fills[(result.fills["side"] == "sell")]
    assert sold[["date", "size"]].values.tolist() == [[D[2], 1000]]  # half of the 2,000
    assert result.positions[result.positions["date"] == D[3]].set_index("code")[
        "shares"
    ].to_dict() == {
        "600000.SH": 1000,
        "600004.SH": 100,  # another stock's order is untouched
    }


def random_run(seed: int):
    """Three stocks with random moves and suspensions (never all three on one session: that
    would be a hole in the data, which a backtest refuses), and a script of random orders
    (buys and sells of any size, more than held too) on every day."""
    rng = np.random.default_rng(seed)
    days = sessions("2015-03-02", periods=30)
    frames = []
    traded = np.zeros(len(days), dtype=bool)
    for code in ("600000.SH", "000001.SZ", "300001.SZ"):
        steps = np.clip(rng.normal(0, 0.04, len(days)), -0.1, 0.1)
        close = np.round(10 * np.exp(np.cumsum(steps)), 2)
        opened = np.round(close * np.exp(rng.normal(0, 0.01, len(days))), 2)
        keep = rng.random(len(days)) > 0.15  # some suspensions
        keep[0] = True
        if code == "300001.SZ":
            keep |= ~traded
        traded |= keep
        frames.append(make_bars(code, days[keep], close=list(close[keep]), open=list(opened[keep])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = panel_of(*frames)
    script = {}
    for day in days[:-1]:
        actions = []
        for code in panel.codes:
            if rng.random() < 0.5:
                actions.append(
                    (
                        str(rng.choice(["buy", "sell"])),
                        code,
                        float(rng.choice([50, 100, 300, 1000, 2500])),
                    )
                )
        script[str(day.date())] = actions
    result = run_script(panel, script, str(days[1].date()), str(days[-1].date()), cash=30_000.0)
    return panel, result


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_random_orders_never_break_a_rule(seed):
    """Whatever a strategy asks, fills respect cash, lots, T+1, limits and suspensions."""
    panel, result = random_run(seed)
    assert (result.cash >= -1e-6).all()
    held: dict[str, float] = {}
    for day, fills in result.fills.groupby("date", sort=True):
        row = panel.dates.get_loc(day)
        start_of_day = dict(held)
        for fill in fills.itertuples():
            col = panel.column(fill.code)
            assert panel.has_bar[row, col], "filled while suspended"
            if fill.side == "buy":
                assert fill.size % 100 == 0
                assert not panel.open_at_limit_up[row, col]
                held[fill.code] = held.get(fill.code, 0) + fill.size
            else:
                assert not panel.open_at_limit_down[row, col]
                assert fill.size <= start_of_day.get(fill.code, 0) + 1e-9, (
                    "sold shares bought today"
                )
                held[fill.code] -= fill.size
    assert all(size >= -1e-9 for size in held.values())


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_the_cash_check_is_backtraders_pseudo_execution(seed, monkeypatch_once):
    """The broker's own cash check at submission (no Position clones) gives, order by
    order, exactly the cash backtrader's pseudo-execution gives, so the same orders pass."""
    compared = monkeypatch_once
    random_run(seed)
    assert compared and all(mine == theirs for mine, theirs in compared)


@pytest.fixture(scope="module")
def monkeypatch_once():
    """AShareBroker._pseudo_cash, wrapped to record (its cash, backtrader's cash)."""
    compared: list[tuple[float, float]] = []
    original = AShareBroker._pseudo_cash

    def checked(self, order, cash, held):
        mine = original(self, order, cash, held)
        position = bt.Position(size=held, price=order.created.price)
        compared.append(
            (mine, bt.brokers.BackBroker._execute(self, order, cash=cash, position=position))
        )
        return mine

    AShareBroker._pseudo_cash = checked
    yield compared
    AShareBroker._pseudo_cash = original


def test_a_whole_position_sell_placed_before_the_ex_date_sells_the_bonus_shares_too():
    bonus = make_bars(
        "600000.SH", D[:4], close=[10.0, 10.0, 9.52, 9.52], adj_factor=[1.0, 1.0, 1.05, 1.05]
    )
    script = {
        "2023-08-21": [("buy", "600000.SH", 1000)],
        "2023-08-22": [("target", "600000.SH", 0)],
    }
    result = run_script(panel_of(bonus), script, "2023-08-22", "2023-08-24")
    assert result.fills[["date", "side", "size"]].values.tolist() == [
        [D[1], "buy", 1000],
        [D[2], "sell", 1050],
    ]
    assert result.refusals.empty


def test_write_off_after_days_without_a_bar_uses_only_the_past():
    gone = make_bars("600001.SH", D[:4], close=[8.0, 8.0, 8.2, 8.4])  # no bar from D4 on
    script = {"2023-08-21": [("buy", "600001.SH", 1000)]}
    result = run_script(
        panel_of(A, gone), script, "2023-08-22", "2023-09-01", rules=Rules(write_off_after_days=3)
    )
    closing = result.fills.iloc[-1]
    # D4, D5, D6 without a bar: written off at the start of D6, at the last close 8.40
    assert (closing["date"], closing["side"], closing["size"], closing["price"]) == (
        D[6],
        "sell",
        1000,
        8.4,
    )
    assert closing["note"] == "written off at the last close after 3 days without a bar"
    assert closing["costs"] == pytest.approx(costs(8400.0, True, 0.0005))  # 2023-08-29: 0.05 %
    assert result.events["event"].tolist() == ["written off"]


def test_orders_carry_their_parameters_as_their_own_attributes():
    """The broker's orders copy their parameters into their own attributes (a speed-up:
    backtrader's Order otherwise reads each through a __getattr__ fallback): the values
    are the parameters', and a sell's size is negative as in backtrader."""
    from quant.engine.broker import BuyOrder, SellOrder

    data = object()  # a simulated order reads nothing of its data
    for kind, size in ((BuyOrder, 300.0), (SellOrder, -300.0)):
        order = kind(data=data, size=300.0, price=10.0, exectype=bt.Order.Market, simulated=True)
        own = vars(order)
        assert own["data"] is order.p.data and own["tradeid"] == order.p.tradeid == 0
        assert order.size == size and order.created.size == size
        assert order.exectype == bt.Order.Market and order.isbuy() == (kind is BuyOrder)
