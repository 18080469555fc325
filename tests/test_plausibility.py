"""Panel-wide plausibility: adjustment-factor changes the raw prices do not bear out (the
survivorship measure is tests/test_survivorship.py's)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant.cli import main
from quant.data import MarketPanel
from quant.data.notes import factor_change_warning
from quant.data.plausibility import suspect_factor_changes
from tests.conftest import make_bars, sessions

NAN = np.nan
DAYS = sessions("2014-01-06", periods=5)


def columns(*series: list[float]) -> np.ndarray:
    """(T, N) from one list per code."""
    return np.array(series, dtype=float).T


def test_factor_change_with_and_without_a_matching_gap():
    close = columns(
        [15.0, 15.0, 10.0, 10.1, 10.2],  # A: bonus shares 10 for 5, the raw price drops 1/3
        [10.0, 10.0, 10.1, 10.0, 10.0],  # B: the factor steps, the price does not
        [10.0, 10.0, NAN, 6.8, 6.9],  # C: ex-rights on the day it resumes after a suspension
        [10.0, 10.5, 10.9, 10.0, 10.4],  # D: a 4 % dividend inside a normal move: not judged
    )
    factor = columns(
        [1.0, 1.0, 1.5, 1.5, 1.5],
        [1.0, 1.0, 1.5, 1.5, 1.5],
        [1.0, 1.0, 1.0, 1.5, 1.5],
        [1.0, 1.0, 1.0, 1.04, 1.04],
    )
    has_bar = ~np.isnan(close)
    suspect = suspect_factor_changes(close, factor, has_bar, 0.10)
    # A: 10.0 / (15 x 1 / 1.5) - 1 = 0; C: 6.8 / (10 x 1 / 1.5) - 1 = +2 % (last close 10.0)
    # B: 10.1 / (10 x 1 / 1.5) - 1 = +51.5 %, beyond the 10 % limit; D: 10.0 x 1.04 / 10.9
    # - 1 = -4.6 %, inside it
    expected = np.zeros_like(has_bar)
    expected[2, 1] = True
    np.testing.assert_array_equal(suspect, expected)
    # with a 20 % band (ChiNext) + slack B is still impossible; with 60 % it is not judged
    assert suspect_factor_changes(close, factor, has_bar, 0.20)[2, 1]
    assert not suspect_factor_changes(close, factor, has_bar, 0.60).any()


def test_a_factor_that_changes_on_most_days_is_suspect_everywhere():
    close = columns([10.0, 10.1, 10.0, 10.2, 10.1])
    factor = columns([1.0, 1.001, 1.002, 1.003, 1.003])  # 3 changes in 4 steps
    suspect = suspect_factor_changes(close, factor, ~np.isnan(close), 0.10)
    assert suspect[:, 0].tolist() == [False, True, True, True, False]
    factor = columns([1.0, 1.001, 1.001, 1.001, 1.001])  # 1 change in 4 steps: a small move
    assert not suspect_factor_changes(close, factor, ~np.isnan(close), 0.10).any()


def test_factor_change_warning_names_codes_and_dates():
    real = make_bars(
        "600000.SH", DAYS, [15.0, 15.0, 10.0, 10.1, 10.2], adj_factor=[1, 1, 1.5, 1.5, 1.5]
    )
    wrong = make_bars(
        "600001.SH", DAYS, [10.0, 10.0, 10.1, 10.0, 10.0], adj_factor=[1, 1, 1.5, 1.5, 1.5]
    )
    panel = MarketPanel.from_frame(pd.concat([real, wrong], ignore_index=True))
    assert factor_change_warning(panel) == (
        "1 adj_factor changes without a matching raw price gap (600001.SH 2014-01-08): the "
        "adjusted prices may be wrong there; backtests keep a position's share count on those "
        "days instead of resizing it (an event in the run's events)"
    )
    assert factor_change_warning(MarketPanel.from_frame(real)) is None


def test_info_prints_the_factor_warning(tmp_path, capsys):
    days = sessions("2014-01-02", "2016-01-04")
    frames = [
        make_bars(f"{600000 + k:06d}.SH", days, [10.0] * len(days), adj_factor=[1.0] * len(days))
        for k in range(3)
    ]
    frames[0].loc[100:, "adj_factor"] = 2.0  # a doubled factor on days[100], no price gap
    pd.concat(frames, ignore_index=True).to_parquet(tmp_path / "bars.parquet")
    assert main(["data", "info", "--data", str(tmp_path / "bars.parquet"), "--json"]) == 0
    captured = capsys.readouterr()
    gap = f"without a matching raw price gap (600000.SH {days[100].date()})"
    assert f"warning: 1 adj_factor changes {gap}" in captured.err
    assert '"warnings": [' in captured.out
