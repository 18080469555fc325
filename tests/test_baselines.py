"""The fair baselines: equal weight over the universe, and short-term reversal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.engine import BacktestConfig, run_backtest
from strategies.baselines import reversal_scores
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of

DAYS = sessions("2014-11-03", "2015-03-31")


def market():
    """Five stocks; over the 20 days to 2014-12-31 600004 fell most, 600000 rose most.
    600008 lists only in February 2015."""
    t = np.arange(len(DAYS))
    frames = [
        make_bars(code, DAYS, list(np.round(10 * np.exp(g * t), 2)))
        for code, g in (
            ("600000.SH", 0.004),
            ("600004.SH", -0.004),
            ("600006.SH", 0.001),
            ("600007.SH", -0.001),
        )
    ]
    late = DAYS[DAYS >= "2015-02-02"]
    frames.append(make_bars("600008.SH", late, [20.0] * len(late)))
    return panel_of(*frames)


def test_reversal_scores_are_minus_the_20_day_return():
    panel = market()
    row = panel.dates.get_loc(pd.Timestamp("2014-12-31"))
    scores = reversal_scores(panel.adj_close, panel.tradable, np.array([row]), 20)[0]
    close = panel.price("close")
    expected = -(close[row] / close[row - 20] - 1)
    np.testing.assert_allclose(scores[:4], expected[:4])
    assert np.isnan(scores[4])  # not listed yet
    assert panel.codes[np.nanargmax(scores)] == "600004.SH"


def test_reversal_buys_the_biggest_loser():
    panel = market()
    config = BacktestConfig(
        start="2015-01-01",
        end="2015-01-30",
        strategies=["reversal"],
        params={"reversal": {"top_fraction": 0.2}},
    )
    result = run_backtest(config, panel=panel, index_panel=panel).strategies[0]
    assert result.fills.iloc[0][["code", "side"]].tolist() == ["600004.SH", "buy"]


def test_equal_weight_universe_holds_every_tradable_stock_equally():
    panel = market()
    config = BacktestConfig(start="2015-01-01", end="2015-03-31", strategies=["ew_universe"])
    result = run_backtest(config, panel=panel, index_panel=panel).strategies[0]
    assert result.equity.iloc[0] == 1e9  # its own capital: whole lots of every stock
    # the first session of 2015 was 5 January (1-2 January closed)
    first = result.positions[result.positions["date"] == pd.Timestamp("2015-01-05")]
    assert sorted(first["code"]) == ["600000.SH", "600004.SH", "600006.SH", "600007.SH"]
    weights = first["value"] / result.equity.loc["2015-01-05"]
    # bought at equal value at the open; the day's moves (up to 0.4 %) shift them a little
    assert weights.to_numpy() == pytest.approx(0.25, abs=0.003)
    february = result.positions[result.positions["date"] == pd.Timestamp("2015-02-27")]
    march = result.positions[result.positions["date"] == pd.Timestamp("2015-03-02")]
    assert "600008.SH" not in set(february["code"])  # listed 02-02, after January's decision
    assert "600008.SH" in set(march["code"])  # joins at the next month-end rebalance
