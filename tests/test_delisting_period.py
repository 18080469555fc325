"""The delisting arrangement period's limits where the data marks its days (an optional
``delisting`` column; quant/market/board_rules.csv): the board's ordinary limit, ST or
not, and none on its first day under the 2020 listing rules (from 2020-12-31)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.data import MarketPanel
from quant.data.notes import approximation_notes
from tests.conftest import make_bars, sessions


def marked(days: pd.DatetimeIndex, closes: list[float], first: int) -> MarketPanel:
    """An ST main-board stock whose days from ``first`` on are its delisting period."""
    bars = make_bars("600001.SH", days, close=closes, adj_factor=[1.0] * len(days))
    bars["is_st"] = True
    bars["delisting"] = np.arange(len(days)) >= first
    return MarketPanel.from_frame(bars)


@pytest.mark.parametrize(
    ("start", "closes", "free"),
    [
        ("2021-03-01", [4.00, 3.80, 3.61, 2.00, 1.80, 1.62], True),  # 2020 rules: day 1 free
        ("2016-03-01", [4.00, 3.80, 3.61, 3.25, 2.93, 2.64], False),  # 2012/2014 rules: 10 %
    ],
)
def test_the_delisting_period_trades_at_the_boards_ordinary_limit(start, closes, free):
    panel = marked(sessions(start, periods=6), closes, first=3)
    up, down = panel.limit_up[:, 0], panel.limit_down[:, 0]
    assert up[2] == pytest.approx(round(3.80 * 1.05, 2))  # ST before the period: 5 %
    if free:
        assert np.isnan(up[3]) and not panel.close_at_limit_down[3, 0]
    else:
        assert down[3] == pytest.approx(3.25) and panel.close_at_limit_down[3, 0]  # 3.61 x 0.9
    assert down[4] == pytest.approx(round(closes[3] * 0.90, 2))  # the ordinary 10 %, not 5 %
    assert panel.close_at_limit_down[4, 0]
    assert not any("no delisting column" in n for n in approximation_notes(panel))


def test_without_the_column_a_note_says_the_period_is_not_modelled():
    panel = MarketPanel.from_frame(
        make_bars("600001.SH", sessions("2021-03-01", periods=3), close=[4.0] * 3)
    )
    assert panel.delisting is None
    assert any("no delisting column" in n for n in approximation_notes(panel))


def test_a_suspension_inside_the_period_does_not_start_it_again():
    """2020 rules: only the period's first day (day 3) trades without a limit. Day 5 has
    no bar (suspended); day 6 is the period's fourth day, limited by 10 % from day 4's
    close (1.80: 1.98 / 1.62), not a second "first day" without a limit."""
    days = sessions("2021-03-01", periods=8)
    bars = make_bars("600001.SH", days, close=[4.0, 3.8, 3.61, 2.0, 1.8, 1.62, 1.62, 1.46])
    bars["adj_factor"], bars["is_st"] = 1.0, True
    bars["delisting"] = np.arange(len(days)) >= 3
    other = make_bars("600000.SH", days, close=[5.0] * len(days), adj_factor=[1.0] * len(days))
    panel = MarketPanel.from_frame(pd.concat([bars[bars["date"] != days[5]], other]))
    col = panel.codes.get_loc("600001.SH")
    assert np.isnan(panel.limit_up[3, col])
    assert panel.limit_up[6, col] == pytest.approx(1.98)
    assert panel.limit_down[6, col] == pytest.approx(1.62)
