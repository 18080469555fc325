"""MarketPanel masks on a hand-made 3-stock market where every value is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.data import MarketPanel
from tests.conftest import make_bars, sessions

NAN = np.nan
DAYS = sessions("2014-01-06", periods=6)  # Mon 6th .. Mon 13th
T, F = True, False


def panel_of(*frames: pd.DataFrame) -> MarketPanel:
    return MarketPanel.from_frame(pd.concat(frames, ignore_index=True))


@pytest.fixture(scope="module")
def market() -> MarketPanel:
    # A: main board, suspended on day 3, limit-up day 2 (opens and closes there),
    #    closes at limit-down on day 4. No adjustment factor.
    a = make_bars(
        "600000.SH",
        DAYS.delete(2),
        close=[10.00, 11.00, 9.90, 10.00, 10.50],
        open=[10.00, 11.00, 10.50, 9.95, 10.20],
        adj_factor=[NAN] * 5,
    )
    # B: ChiNext IPO on day 3 (after the data starts): no limit that day.
    b = make_bars(
        "300001.SZ",
        DAYS[2:],
        close=[20.00, 22.00, 21.00, 21.50],
        open=[14.00, 21.00, 22.00, 21.00],
        adj_factor=[NAN] * 4,
    )
    # C: ex-rights (2-for-10 bonus) on day 2, last bar on day 4 (delisted).
    c = make_bars(
        "000001.SZ",
        DAYS[:4],
        close=[12.00, 10.50, 10.40, 10.30],
        adj_factor=[1.0, 1.2, 1.2, 1.2],
    )
    with pytest.warns(UserWarning):  # A's suspension
        return panel_of(a, b, c)


def col(panel: MarketPanel, code: str, array: np.ndarray) -> np.ndarray:
    return array[:, panel.column(code)]


def test_calendar_and_codes(market):
    assert list(market.dates) == list(DAYS)
    assert list(market.codes) == ["000001.SZ", "300001.SZ", "600000.SH"]


def test_listed_bar_and_suspension_masks(market):
    assert list(col(market, "600000.SH", market.listed)) == [T, T, T, T, T, T]
    assert list(col(market, "600000.SH", market.has_bar)) == [T, T, F, T, T, T]
    assert list(col(market, "600000.SH", market.suspended)) == [F, F, T, F, F, F]
    assert list(col(market, "300001.SZ", market.listed)) == [F, F, T, T, T, T]
    assert list(col(market, "300001.SZ", market.suspended)) == [F] * 6
    assert list(col(market, "000001.SZ", market.listed)) == [T, T, T, T, F, F]
    assert list(col(market, "000001.SZ", market.suspended)) == [F] * 6
    assert list(market.last_bar_row) == [3, 5, 5]


def test_new_listing_only_for_ipos_after_the_data_starts(market):
    assert list(col(market, "300001.SZ", market.new_listing)) == [F, F, T, F, F, F]
    assert not col(market, "600000.SH", market.new_listing).any()
    assert not col(market, "000001.SZ", market.new_listing).any()


def test_limit_prices(market):
    np.testing.assert_array_equal(
        col(market, "600000.SH", market.limit_up), [NAN, 11.00, NAN, 12.10, 10.89, 11.00]
    )
    np.testing.assert_array_equal(
        col(market, "600000.SH", market.limit_down), [NAN, 9.00, NAN, 9.90, 8.91, 9.00]
    )
    np.testing.assert_array_equal(
        col(market, "300001.SZ", market.limit_up), [NAN, NAN, NAN, 22.00, 24.20, 23.10]
    )
    # Ex-rights: reference = 12.00 x 1.0 / 1.2 = 10.00, not the previous raw close 12.00.
    np.testing.assert_array_equal(
        col(market, "000001.SZ", market.limit_up), [NAN, 11.00, 11.55, 11.44, NAN, NAN]
    )
    np.testing.assert_array_equal(
        col(market, "000001.SZ", market.limit_down), [NAN, 9.00, 9.45, 9.36, NAN, NAN]
    )


def test_limit_flags(market):
    assert list(col(market, "600000.SH", market.open_at_limit_up)) == [F, T, F, F, F, F]
    assert list(col(market, "600000.SH", market.close_at_limit_up)) == [F, T, F, F, F, F]
    assert list(col(market, "600000.SH", market.close_at_limit_down)) == [F, F, F, T, F, F]
    assert list(col(market, "600000.SH", market.open_at_limit_down)) == [F] * 6
    assert list(col(market, "300001.SZ", market.close_at_limit_up)) == [F, F, F, T, F, F]
    assert not market.close_at_limit_down[:, market.column("300001.SZ")].any()


def test_adjusted_prices_and_missing_factors(market):
    np.testing.assert_allclose(
        col(market, "000001.SZ", market.adj_close)[:4], [12.00, 12.60, 12.48, 12.36]
    )
    np.testing.assert_array_equal(
        col(market, "600000.SH", market.adj_close), col(market, "600000.SH", market.price("close"))
    )
    assert market.codes_without_adj == ("300001.SZ", "600000.SH")


def test_summary(market):
    summary = market.summary()
    assert summary["codes"] == 3
    assert summary["rows"] == 5 + 4 + 4
    assert summary["suspended_share"] == pytest.approx(1 / (6 + 4 + 4))
    assert summary["codes_ending_early"] == 1


def test_unknown_code_lookup_names_the_code(market):
    with pytest.raises(KeyError, match=r"600519\.SH is not in the data"):
        market.column("600519.SH")


def limits_after(code: str, day: str, prev_close: float) -> tuple[float, float]:
    days = sessions(end=day, periods=2)
    panel = panel_of(make_bars(code, days, [prev_close, prev_close]))
    return panel.limit_up[1, 0], panel.limit_down[1, 0]


def test_limits_round_half_up_to_the_fen():
    assert limits_after("600000.SH", "2014-01-07", 9.95) == (10.95, 8.96)  # 10.945, 8.955
    assert limits_after("600000.SH", "2014-01-07", 3.37) == (3.71, 3.03)  # 3.707, 3.033


def test_limit_rates_by_board_and_date():
    assert limits_after("300750.SZ", "2020-08-21", 100.0) == (110.0, 90.0)
    assert limits_after("300750.SZ", "2020-08-24", 100.0) == (120.0, 80.0)
    assert limits_after("688001.SH", "2019-12-02", 100.0) == (120.0, 80.0)
    assert limits_after("830799.BJ", "2022-03-01", 10.0) == (13.0, 7.0)
    assert limits_after("002415.SZ", "2021-03-01", 10.0) == (11.0, 9.0)


def test_registration_ipos_trade_five_days_without_limits():
    start = sessions("2020-01-06", periods=8)
    old = make_bars("600000.SH", start, [10.0] * 8)
    star = make_bars("688001.SH", start[1:], [30.0, 40.0, 50.0, 45.0, 44.0, 43.0, 42.0])
    panel = panel_of(old, star)
    j = panel.column("688001.SH")
    assert list(panel.new_listing[:, j]) == [F, T, T, T, T, T, F, F]
    assert np.isnan(panel.limit_up[:6, j]).all() and panel.limit_up[6, j] == 52.80


def test_bar_outside_the_band_means_the_band_is_unknown():
    # Ex-rights day of a code without adjustment factors: 20.00 -> 10.00 cannot be a
    # limit-down close; the computed band is wrong, so no limit is claimed that day.
    days = sessions("2014-01-06", periods=3)
    panel = panel_of(make_bars("600000.SH", days, [20.0, 10.0, 9.0]))
    assert np.isnan(panel.limit_down[1, 0]) and not panel.close_at_limit_down[1, 0]
    assert panel.limit_down[2, 0] == 9.0 and panel.close_at_limit_down[2, 0]


def test_zero_volume_bars_are_not_tradable():
    days = sessions("2014-01-06", periods=3)
    with pytest.warns(UserWarning, match="zero volume"):
        panel = panel_of(make_bars("600000.SH", days, [10.0] * 3, volume=[1e5, 0.0, 1e5]))
    assert list(panel.tradable[:, 0]) == [T, F, T]
    assert list(panel.has_bar[:, 0]) == [T, T, T]
