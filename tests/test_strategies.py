"""Built-in strategies: the benchmark against the shared index file, momentum on a market
where the ranking is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.data import MarketPanel, load_bars
from quant.engine import BacktestConfig, ConfigError, run_backtest
from quant.metrics.performance import annualized_return, max_drawdown
from strategies.momentum import momentum_scores
from tests.conftest import SHARED_INDEX, make_bars, sessions
from tests.engine_helpers import panel_of


@pytest.fixture(scope="module")
def sample_panel() -> MarketPanel:
    with pytest.warns(UserWarning):
        return MarketPanel.from_frame(load_bars("sample"))


@pytest.mark.parametrize(
    ("index", "annual", "drawdown"), [("000001.SH", 0.138, 0.486), ("000300.SH", 0.129, 0.467)]
)
def test_benchmark_is_the_index_path(shared_data, sample_panel, index, annual, drawdown):
    config = BacktestConfig(
        index_data=str(SHARED_INDEX),
        strategies=["benchmark"],
        params={"benchmark": {"index": index}},
    )
    nav = run_backtest(config, panel=sample_panel).strategies[0].nav

    # independent computation straight from the index file
    bars = pd.read_parquet(SHARED_INDEX)
    closes = bars[bars["code"] == index].set_index("date")["close"].sort_index()
    closes = closes[closes.index <= "2017-03-31"]
    base = closes[closes.index < "2014-01-01"].iloc[-1]
    expected = closes[closes.index >= closes[closes.index < "2014-01-01"].index[-1]] / base
    np.testing.assert_allclose(nav.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
    assert list(nav.index) == list(expected.index)
    assert round(annualized_return(nav), 3) == annual  # ../shared/data/README.md
    assert round(max_drawdown(nav), 3) == drawdown


def test_benchmark_names_a_missing_index(sample_panel):
    config = BacktestConfig(strategies=["benchmark"], params={"benchmark": {"index": "399006.SZ"}})
    with pytest.raises(ConfigError, match=r"399006\.SZ is not in the index data sample \(it has"):
        run_backtest(config, panel=sample_panel)  # before any strategy prepares


# -- momentum ---------------------------------------------------------------------------

DAYS = sessions("2012-11-01", "2014-02-28")
GROWTH = {"600000.SH": 0.002, "600004.SH": 0.001, "600006.SH": 0.0, "600007.SH": -0.001}


def month_ends(panel: MarketPanel) -> np.ndarray:
    return panel.calendar.month_end_rows()


def trending_market() -> MarketPanel:
    """Steady daily growth per stock; 600008.SH falls all year, then triples in December
    2013 (month t-1 of the January 2014 decision: the month momentum skips)."""
    t = np.arange(len(DAYS))
    frames = [
        make_bars(code, DAYS, list(np.round(10 * np.exp(g * t), 2))) for code, g in GROWTH.items()
    ]
    log_price = -0.002 * t
    december = (DAYS >= "2013-12-01") & (DAYS <= "2013-12-31")
    log_price = log_price + np.cumsum(np.where(december, np.log(3) / december.sum(), 0.0))
    frames.append(make_bars("600008.SH", DAYS, list(np.round(10 * np.exp(log_price), 2))))
    return panel_of(*frames)


def test_momentum_scores_skip_the_most_recent_month():
    panel = trending_market()
    row = np.array([panel.dates.get_loc(pd.Timestamp("2013-12-31"))])
    scores = momentum_scores(panel.adj_close, panel.tradable, month_ends(panel), row, 11, 1)[0]
    # formation: end of 2012-12 to end of 2013-11
    start, end = (
        panel.dates.get_loc(pd.Timestamp("2012-12-31")),
        panel.dates.get_loc(pd.Timestamp("2013-11-29")),
    )
    close = panel.price("close")
    np.testing.assert_allclose(scores, close[end] / close[start] - 1)
    assert panel.codes[np.nanargmax(scores)] == "600000.SH"
    with_last_month = momentum_scores(
        panel.adj_close, panel.tradable, month_ends(panel), row, 12, 0
    )[0]
    assert panel.codes[np.nanargmax(with_last_month)] == "600008.SH"


def test_momentum_changing_the_future_never_changes_a_past_score():
    panel = trending_market()
    rows = np.array([panel.dates.get_loc(pd.Timestamp("2013-12-31"))])
    before = momentum_scores(panel.adj_close, panel.tradable, month_ends(panel), rows, 11, 1)
    future = panel.adj_close.copy()
    future[rows[0] + 1 :] *= np.random.default_rng(1).uniform(0.1, 10, future[rows[0] + 1 :].shape)
    after = momentum_scores(future, panel.tradable, month_ends(panel), rows, 11, 1)
    np.testing.assert_array_equal(before, after)


def test_momentum_buys_the_top_stock_at_the_first_open():
    panel = trending_market()
    config = BacktestConfig(
        start="2014-01-01",
        end="2014-02-28",
        strategies=["momentum"],
        params={"momentum": {"top_fraction": 0.2}},
    )
    result = run_backtest(config, panel=panel, index_panel=panel).strategies[0]
    first = result.fills.iloc[0]
    assert (first["date"], first["code"], first["side"]) == (
        pd.Timestamp("2014-01-02"),  # the first session of 2014
        "600000.SH",
        "buy",
    )
    price = panel.price("close")[
        panel.dates.get_loc(pd.Timestamp("2013-12-31")), panel.column("600000.SH")
    ]
    assert first["size"] == np.floor(1_000_000 * 0.998 / price / 100) * 100
    chosen = result.tables["selection"].set_index("decision_date")["code"]
    # January's decision skips December; February's formation window includes it
    assert chosen.to_dict() == {
        pd.Timestamp("2013-12-31"): "600000.SH",
        pd.Timestamp("2014-01-30"): "600008.SH",  # January's last session
    }
