"""The broker's short cuts through backtrader's order machinery (quant.engine.broker:
orders built without its metaclass, plain orders kept out of its OCO and bracket books,
datetimes converted once per session) build the same orders and keep OCO groups and
brackets working."""

from __future__ import annotations

import datetime
from typing import ClassVar

import backtrader as bt
import pandas as pd
import pytest

from quant.engine.fastpath import BuyOrder, SellOrder, new_order
from quant.engine.feeds import ArrayFeed
from tests.conftest import make_bars, sessions
from tests.engine_helpers import Scripted, panel_of, run_script

D = sessions("2023-08-21", periods=6)
CODE = "600000.SH"
# Opens 10.30 on D2, never trades at or below 9.00 nor at or above 12.00.
A = make_bars(
    CODE,
    D,
    close=[10.00, 10.20, 10.40, 10.50, 10.50, 10.60],
    open=[10.00, 10.00, 10.30, 10.50, 10.50, 10.50],
)


@pytest.fixture
def feed() -> ArrayFeed:
    """A feed on its second bar (2024-01-02: close 10.5) with its own session end."""
    times = [bt.date2num(d.to_pydatetime()) for d in pd.bdate_range("2024-01-01", periods=3)]
    prices = [10.0, 10.5, 11.0]
    columns = {name: prices for name in ("open", "high", "low", "close")}
    zeros = [0.0] * 3
    data = ArrayFeed(
        columns={
            "datetime": times,
            **columns,
            "volume": zeros,
            "openinterest": zeros,
            "flags": zeros,
            "share_ratio": zeros,
        },
        sessionend=datetime.time(15, 0),
    )
    bt.Cerebro().adddata(data)
    data._start()
    data.preload()
    data.advance()
    data.advance()
    return data


def comparable(order: bt.Order) -> dict:
    """An order's state without its reference number (each order gets the next one)."""
    state = {key: value for key, value in vars(order).items() if key not in ("ref", "p")}
    state["params"] = order.params._getkwargs()
    state["created"], state["executed"] = vars(order.created), vars(order.executed)
    return state


def same(left: dict, right: dict) -> bool:
    return left.keys() == right.keys() and all(
        left[k] is right[k] or left[k] == right[k] for k in left
    )


@pytest.mark.parametrize("kind", [BuyOrder, SellOrder])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"exectype": bt.Order.Market},
        {"exectype": bt.Order.Close, "tradeid": 3},
        {"exectype": bt.Order.Limit, "price": 10.2},
        {"exectype": bt.Order.Stop, "price": 10.8, "pricelimit": 10.9},
        {"exectype": bt.Order.StopTrail, "trailamount": 0.5},  # backtrader's own path
        {"exectype": bt.Order.Limit, "price": 10.2, "valid": datetime.timedelta(days=2)},
    ],
)
def test_an_order_built_without_the_metaclass_equals_backtraders(feed, kind, params):
    built = new_order(kind, {}, owner=None, data=feed, size=300.0, **params)
    reference = kind(owner=None, data=feed, size=300.0, **params)
    assert type(built) is kind and built.ref != reference.ref
    assert same(comparable(built), comparable(reference))
    assert built.size == (300.0 if kind is BuyOrder else -300.0)
    assert built.created.pclose == 10.5 and built.dteos == reference.dteos
    assert bt.num2date(built.dteos) == datetime.datetime(2024, 1, 2, 15, 0)


def test_the_end_of_session_is_cached_per_bar_and_session_end(feed):
    cache: dict = {}
    first = new_order(BuyOrder, cache, owner=None, data=feed, size=100.0)
    second = new_order(SellOrder, cache, owner=None, data=feed, size=100.0)
    assert len(cache) == 1 and first.dteos == second.dteos
    feed.advance()
    third = new_order(BuyOrder, cache, owner=None, data=feed, size=100.0)
    assert len(cache) == 2 and bt.num2date(third.dteos) == datetime.datetime(2024, 1, 3, 15, 0)


class Grouped(Scripted):
    """At D1's close: an OCO pair of limit buys (10.40 fills at D2's open 10.30; 5.00
    never), or a bracket (buy limit 10.40, stop-loss 9.00, take-profit 12.00)."""

    placed: ClassVar[dict[str, bt.Order]] = {}
    bracket = False

    def next(self) -> None:
        if self.today != D[1]:
            return
        feed = self.getdatabyname(CODE)
        if self.bracket:
            main, stop, limit = self.buy_bracket(
                data=feed, size=100, price=10.40, stopprice=9.00, limitprice=12.00
            )
            Grouped.placed = {"main": main, "stop": stop, "limit": limit}
            return
        first = self.buy(data=feed, size=100, price=10.40, exectype=bt.Order.Limit, why="cheap")
        other = self.buy(data=feed, size=100, price=5.00, exectype=bt.Order.Limit, oco=first)
        Grouped.placed = {"first": first, "other": other}


class Bracketed(Grouped):
    bracket = True


SCRIPT = {str(D[1].date()): [("buy", CODE, 0)]}  # names the code; orders nothing itself


def test_an_oco_group_still_cancels_its_other_orders():
    result = run_script(panel_of(A), SCRIPT, str(D[1].date()), str(D[-1].date()), strategy=Grouped)
    assert result.fills[["code", "side", "size", "price"]].values.tolist() == [
        [CODE, "buy", 100.0, 10.30]
    ]
    assert Grouped.placed["first"].status == bt.Order.Completed
    assert Grouped.placed["other"].status == bt.Order.Canceled
    assert dict(Grouped.placed["first"].info) == {"why": "cheap"}  # other keywords: its info


def test_a_bracket_activates_its_children_when_its_main_order_fills():
    result = run_script(
        panel_of(A), SCRIPT, str(D[1].date()), str(D[-1].date()), strategy=Bracketed
    )
    assert result.fills[["side", "size", "price"]].values.tolist() == [["buy", 100.0, 10.30]]
    placed = Bracketed.placed
    assert placed["main"].status == bt.Order.Completed
    assert all(placed[k].alive() and placed[k].active() for k in ("stop", "limit"))


def test_a_feeds_datetimes_are_backtraders_conversion():
    """Every feed of a run reads its datetimes from one cache per session: the values
    are backtrader's own conversion of the bar's time."""
    seen: list[tuple[datetime.datetime, datetime.datetime]] = []

    class Dating(Scripted):
        def next(self) -> None:
            line = self.getdatabyname(CODE).datetime
            seen.append((line.datetime(0), bt.num2date(line.array[line.idx])))

    run_script(panel_of(A), SCRIPT, str(D[1].date()), str(D[-1].date()), strategy=Dating)
    assert [cached for cached, _ in seen] == [converted for _, converted in seen]
    assert [cached.date() for cached, _ in seen] == [d.date() for d in D]
