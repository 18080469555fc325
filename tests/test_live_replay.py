"""The replay test: a paper book started at a session of the built-in sample and advanced
one session at a time with ``quant.live.next`` over more than three months gives exactly
the trades, refusals, positions and net values of ``quant backtest`` over the same window,
for the CNN-LSTM (retrained every two months on the walk-forward plan), momentum and a
custom strategy with state of its own. The book only ever sees the data up to each
evening's close (quant.data.asof) while the backtest holds the whole panel: equal results
are the proof that neither looks ahead. The last sessions are caught up in one call, as
after missed evenings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import quant.live as live
from quant.data import DataWarning, load_panel
from quant.engine.config import BacktestConfig
from quant.engine.runner import run_backtest
from quant.live.book import Book, BookError

STRATEGIES = ["momentum", "cnn_lstm", "tests.live_strategies:Rotation"]
NAMES = ["momentum", "cnn_lstm", "Rotation"]
#: A window of 70 sessions with a return, ending mid-month (a backtest's last evening is
#: then like any other: no month-end decision is left out because nothing could fill it).
START, END = "2016-01-01", "2016-04-14"
#: The last sessions are caught up in one call.
CATCH_UP = 8


def config(cache) -> BacktestConfig:
    # models trained in a second or two: what is tested is the book, not their skill
    cnn = {"max_epochs": 1, "batch_size": 2048}
    lstm = {"max_epochs": 1, "batch_size": 2048, "max_train_windows": 3000, "max_eval_windows": 500}
    return BacktestConfig(
        data="sample",
        index_data="sample",
        start=START,
        end=END,
        strategies=STRATEGIES,
        params={
            "momentum": {"top_fraction": 0.02},
            "cnn_lstm": {"preset": "sample", "retrain_every": 2, "cnn": cnn, "lstm": lstm},
        },
        seed=0,
        workers=1,
        cache_dir=str(cache),
    )


@pytest.fixture(scope="module")
def panels():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return load_panel("sample"), load_panel("sample", kind="index")


@pytest.fixture(scope="module")
def replay(panels, tmp_path_factory):
    """The backtest (which trains the CNN-LSTM's models into the cache) and the book, the
    second reading the models the first trained by what they learned from."""
    folder = tmp_path_factory.mktemp("replay")
    settings = config(folder / "cache")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        backtest = run_backtest(settings, *panels)
        book = folder / "book"
        live.init(settings, book)
        sessions = backtest.window.sessions
        booked = []
        for session in sessions[:-CATCH_UP]:
            evenings = live.next(
                book, until=str(session.date()), panel=panels[0], index_panel=panels[1]
            )
            booked += [e.session for e in evenings]
            assert [e.session for e in evenings] == [session]  # one session each time
        evenings = live.next(book, until=END, panel=panels[0], index_panel=panels[1])
        booked += [e.session for e in evenings]
    assert pd.DatetimeIndex(booked).equals(sessions)  # every session once, in order
    return backtest, book


def book_table(book, name: str) -> pd.DataFrame:
    with Book.open(book) as opened:
        table = opened.table(name)
    table["date"] = pd.to_datetime(table.pop("session"))
    return table


def backtest_table(backtest, name: str, strategy: str) -> pd.DataFrame:
    table = backtest.table(name)
    table = table[table["strategy"] == strategy].drop(columns=["strategy", "seed"])
    return table.assign(code=table["code"].astype(str)).reset_index(drop=True)


@pytest.mark.parametrize("name", NAMES)
def test_the_book_makes_the_backtests_trades(replay, name):
    backtest, book = replay
    fills = book_table(book, "fills")
    mine = fills[fills["strategy"] == name].drop(columns=["strategy", "seq"]).reset_index(drop=True)
    theirs = backtest_table(backtest, "fills", name)
    assert len(theirs) > 5  # the window trades
    pd.testing.assert_frame_equal(mine[theirs.columns], theirs, check_dtype=False)


@pytest.mark.parametrize("name", NAMES)
def test_the_book_refuses_what_the_backtest_refuses(replay, name):
    backtest, book = replay
    refusals = book_table(book, "refusals")
    mine = refusals[refusals["strategy"] == name].drop(columns=["strategy", "seq"])
    theirs = backtest_table(backtest, "refusals", name)
    pd.testing.assert_frame_equal(
        mine[theirs.columns].reset_index(drop=True), theirs, check_dtype=False
    )


def test_some_orders_were_refused(replay):
    """The window holds refusals (so the test above compares something)."""
    backtest, _ = replay
    assert len(backtest.refusals) > 0


@pytest.mark.parametrize("name", NAMES)
def test_the_book_has_the_backtests_net_values_and_positions(replay, name):
    backtest, book = replay
    run = next(r for r in backtest.strategies if r.name == name)
    accounts = book_table(book, "accounts")
    mine = accounts[accounts["strategy"] == name].set_index("date")
    np.testing.assert_array_equal(mine["equity"].to_numpy(), run.equity.to_numpy())
    np.testing.assert_array_equal(mine["cash"].to_numpy(), run.cash.to_numpy())
    positions = book_table(book, "positions")
    held = positions[positions["strategy"] == name]
    theirs = run.positions.assign(code=run.positions["code"].astype(str))
    assert sorted(zip(held["date"], held["code"], held["shares"])) == sorted(
        zip(theirs["date"], theirs["code"], theirs["shares"])
    )


def test_the_book_retrained_on_the_walk_forward_plan(replay):
    """Two blocks of two months (retrain_every = 2): each block's ranker and timer, the
    second's first used on the evening of its "now" (the last session of February); the
    book keeps them, with the signal rows of each evening."""
    _, book = replay
    with Book.open(book) as opened:
        models = opened.models()
        use = opened.frame("SELECT session, key FROM model_use WHERE strategy = 'cnn_lstm'")
        timing = opened.signals("cnn_lstm", "timing")
        selection = opened.signals("cnn_lstm", "selection")
    assert sorted(zip(models["slot"], models["block"])) == [
        ("cnn", "2016-01"), ("cnn", "2016-03"), ("lstm", "2016-01"), ("lstm", "2016-03"),
    ]  # fmt: skip
    second = set(models[models["block"] == "2016-03"]["key"])
    assert use[use["key"].isin(second)]["session"].min() == "2016-02-29"
    assert set(timing["signal"]) <= {-1, 1} and len(timing) > 0
    assert set(selection["decision_date"].dt.date.astype(str)) == {
        "2015-12-31", "2016-01-29", "2016-02-29", "2016-03-31"
    }  # fmt: skip


def test_a_session_is_never_booked_twice(replay, panels):
    _, book = replay
    assert live.next(book, until=END, panel=panels[0], index_panel=panels[1]) == []
    with Book.open(book) as opened:
        from quant.live.api import _setup
        from quant.live.evening import book_session

        with pytest.raises(BookError, match="2016-04-14 is booked already"):
            book_session(opened, _setup(opened), *panels, pd.Timestamp(END))


def test_status_finds_no_differing_day(replay, panels):
    """``quant live status``'s comparison: the backtest of the book's sessions (run again,
    on the book's models) agrees on every day."""
    _, book = replay
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        status = live.status(book, panel=panels[0], index_panel=panels[1])
    assert status.compared and status.differences.empty
    for name in NAMES:
        np.testing.assert_allclose(status.nav[name], status.nav[f"backtest:{name}"], rtol=0, atol=0)
    assert status.nav["benchmark"].iloc[0] == 1.0
    assert "none: the same fills" in str(status)


def test_every_order_says_why(replay):
    """The orders of the book's evenings carry the strategy's reason: the CNN-LSTM's rank,
    signal and hold counter, momentum's rank and score (also when placed again after a
    refusal)."""
    _, book = replay
    orders = book_table(book, "orders")
    assert orders["reason"].notna().all() and (orders["reason"] != "").all()
    buys = orders[orders["side"] == "buy"]
    cnn = buys[buys["strategy"] == "cnn_lstm"]["reason"]
    momentum = buys[buys["strategy"] == "momentum"]["reason"]
    assert (
        len(cnn)
        and cnn.str.match(
            r"CNN rank \d+ of \d+ \(\d{4}-\d\d-\d\d\); LSTM \+1 today: .*hold counter \d"
        ).all()
    )
    assert len(momentum) and momentum.str.contains(r"rank \d+ of \d+ \(score ").all()


def test_a_book_started_mid_month_holds_cash_until_its_first_decision(panels, tmp_path):
    """Momentum started on 2016-03-07 names no code before its first decision (the close
    of 2016-03-31): those evenings book cash alone, and from then on the book makes the
    backtest's trades and net values over the same sessions."""
    settings = BacktestConfig(
        data="sample", index_data="sample", start="2016-03-07", end="2016-04-08",
        strategies=["momentum"], params={"momentum": {"top_fraction": 0.02}},
        baselines=[], seed=0, workers=1, cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        backtest = run_backtest(settings, *panels)
        live.init(settings, tmp_path / "book")
        live.next(tmp_path / "book", until="2016-04-08", panel=panels[0], index_panel=panels[1])
    run = backtest.strategies[0]
    accounts = book_table(tmp_path / "book", "accounts").set_index("date")
    np.testing.assert_array_equal(accounts["equity"].to_numpy(), run.equity.to_numpy())
    assert (accounts.loc[:"2016-03-31", "equity"] == settings.cash).all()
    fills = book_table(tmp_path / "book", "fills").drop(columns=["strategy", "seq"])
    theirs = backtest_table(backtest, "fills", "momentum")
    assert len(theirs) > 5 and theirs["date"].min() == pd.Timestamp("2016-04-01")
    pd.testing.assert_frame_equal(
        fills[theirs.columns].reset_index(drop=True), theirs, check_dtype=False
    )
