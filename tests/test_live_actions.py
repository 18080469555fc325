"""A paper book with a corporate-actions table (issue 21's broker) stepped one session at a
time gives the backtest's trades, refusals, events and net values to the yuan: a cash
dividend taxed at the sale of a 9-day hold, bonus shares not sellable before their
listing, a rights issue subscribed while the stock is suspended for it, and a dividend
whose ex date falls inside a suspension. The book carries what these need overnight (the
FIFO lots, entitlements, dividends owed, unlisted shares: quant.engine.state's
``book``), and knows each evening only the bars up to its close."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import quant.live as live
from quant.engine.config import BacktestConfig
from quant.engine.runner import run_backtest
from quant.live.book import Book
from tests.conftest import make_bars, sessions
from tests.test_corporate_actions import stock

D = sessions("2016-06-01", periods=32)
CODES = ["600000.SH", "600016.SH", "600036.SH", "000001.SZ"]


def day(k: int) -> str:
    return str(D[k].date())


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> dict[str, str]:
    """Four stocks whose prices fall on their ex dates to the exchanges' reference price
    (tests.test_corporate_actions.stock), and the table that explains each fall."""
    folder = tmp_path_factory.mktemp("actions_market")
    frames = [
        stock("600000.SH", D, 18.00, {D[10]: (0.5, 0.1, 0, 0)}),  # 10转1派5
        stock("600016.SH", D, 8.00, {D[8]: (0, 0.2, 0, 0)}),  # 10送2
        # 10配3 at 5.00: suspended from its first payment day to the day after its ex date
        stock("600036.SH", D, 15.00, {D[18]: (0, 0, 0.3, 5.0)}, missing=D[16:20]),
        # 10派3 with its ex date inside a suspension
        stock("000001.SZ", D, 10.00, {D[22]: (0.3, 0, 0, 0)}, missing=D[22:25]),
    ]
    pd.concat(frames, ignore_index=True).to_parquet(folder / "stocks.parquet", index=False)
    index = make_bars("000001.SH", D, [3000.0 + k for k in range(len(D))])
    index.to_parquet(folder / "index.parquet", index=False)
    rows = [
        dict(code="600000.SH", ex_date=day(10), record_date=day(9), pay_date=day(10),
             listing_date=day(11), cash=0.5, transfer=0.1),
        dict(code="600016.SH", ex_date=day(8), record_date=day(7), listing_date=day(12),
             bonus=0.2),
        dict(code="600036.SH", ex_date=day(18), record_date=day(15), pay_date=day(16),
             listing_date=day(21), rights=0.3, rights_price=5.0),
        dict(code="000001.SZ", ex_date=day(22), record_date=day(21), pay_date=day(22),
             cash=0.3),
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "actions.csv", index=False)
    return {
        "data": str(folder / "stocks.parquet"),
        "index_data": str(folder / "index.parquet"),
        "corporate_actions": str(folder / "actions.csv"),
    }


ORDERS = {
    day(2): ["600036.SH:1000", "000001.SZ:1000"],
    day(4): ["600000.SH:1000"],
    day(5): ["600016.SH:1000"],
    day(9): ["600016.SH:-1200"],  # the 200 bonus shares are not listed before session 12
    day(13): ["600000.SH:-1100", "600016.SH:-1200"],
    day(26): ["000001.SZ:-1000"],
}


@pytest.fixture(scope="module")
def replay(market, tmp_path_factory):
    folder = tmp_path_factory.mktemp("actions_book")
    config = BacktestConfig(
        **market,
        start=day(1),
        end=day(30),
        strategies=["tests.live_strategies:Scripted"],
        params={"Scripted": {"codes": CODES, "orders": ORDERS}},
        baselines=[],
        workers=1,
        cache_dir=str(folder / "cache"),
    )
    backtest = run_backtest(config)
    book = live.init(config, folder / "book")
    for k in range(0, 31):
        live.next(book, until=day(k))
    return backtest, book


def book_table(book: Path, name: str) -> pd.DataFrame:
    with Book.open(book) as opened:
        table = opened.table(name)
    table["date"] = pd.to_datetime(table.pop("session"))
    return table.drop(columns=["strategy", "seq"], errors="ignore").reset_index(drop=True)


def backtest_table(backtest, name: str) -> pd.DataFrame:
    table = backtest.table(name).drop(columns=["strategy", "seed"])
    return table.assign(code=table["code"].astype(str)).reset_index(drop=True)


@pytest.mark.parametrize("name", ["fills", "refusals", "events"])
def test_the_book_records_what_the_backtest_records(replay, name):
    backtest, book = replay
    theirs = backtest_table(backtest, name)
    pd.testing.assert_frame_equal(book_table(book, name)[theirs.columns], theirs, check_dtype=False)


def test_the_book_has_the_backtests_cash_and_net_values(replay):
    backtest, book = replay
    run = backtest.strategies[0]
    accounts = book_table(book, "accounts").set_index("date")
    np.testing.assert_array_equal(accounts["equity"].to_numpy(), run.equity.to_numpy())
    np.testing.assert_array_equal(accounts["cash"].to_numpy(), run.cash.to_numpy())


def test_the_actions_happened_as_computed_by_hand(replay):
    """So that the comparisons above compare something: 600000.SH bought at the open of
    session 5 and sold at that of 14 pays 20 % of its 500 yuan dividend (101号: held up to
    a month); the bonus shares are refused before their listing; the rights are
    subscribed on their payment day (300 at 5.00) and credited on the first bar after the
    ex date, session 20; 000001.SZ's dividend is paid when it trades again, session 25."""
    backtest, _ = replay
    fills = backtest_table(backtest, "fills").set_index(["code", "side"])
    assert fills.loc[("600000.SH", "sell"), "dividend_tax"] == pytest.approx(100.00)
    assert fills.loc[("600000.SH", "sell"), "size"] == 1100
    refusals = backtest_table(backtest, "refusals")
    assert (refusals["reason"] == "not listed yet").any()
    events = backtest_table(backtest, "events")
    shown = set(zip(events["code"], events["event"], events["date"].dt.strftime("%Y-%m-%d")))
    assert {
        ("600036.SH", "rights subscribed", day(16)),
        ("600036.SH", "rights shares", day(20)),
        ("000001.SZ", "cash dividend", day(25)),
        ("600000.SH", "cash dividend", day(10)),
    } <= shown
    subscribed = events[events["event"] == "rights subscribed"]
    assert subscribed["cash"].tolist() == [-1500.0]
