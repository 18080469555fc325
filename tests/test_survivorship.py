"""Survivorship measured (quant.data.survivorship): the share of a universe's codes that stop
before the data's end against the exchanges' published delisting counts, codes suspended at
the end told apart, and the warning every report and `quant data info` carry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.data.survivorship import delistings, expected_delistings, listed_companies, measure
from tests.conftest import make_bars, sessions

DAYS = sessions("2022-01-04", "2023-12-29")  # 2022 and 2023: at least 43 + 45 delisted


def test_the_tables_hold_the_published_counts():
    counts = delistings()
    assert counts[2014] == 1 and counts[2016] == 1  # SCMP / Dongguan Securities
    assert counts[2022] == 43 and counts[2024] == 52  # Wind (Yicai Global; December 2024)
    listed = listed_companies()
    assert listed[pd.Timestamp("2021-12-31")] == 4697  # CAPCO
    assert (np.diff(listed.to_numpy()) > 0).all() and listed.index.is_monotonic_increasing


def test_expected_delistings_by_hand():
    # the whole of 2014: 1 delisting; listed at the end, between 2,000 (2010-09-30) and
    # 3,000 (2016-09-30): 2,000 + 1,000 x 1,553 / 2,192 days
    delisted, listed = expected_delistings(pd.Timestamp("2014-01-01"), pd.Timestamp("2014-12-31"))
    assert delisted == pytest.approx(1.0)
    assert listed == pytest.approx(2000 + 1000 * 1553 / 2192)
    # half of 2022 (181 of 365 days) and all of 2023: 43 x 181 / 365 + 45
    delisted, _ = expected_delistings(pd.Timestamp("2022-07-04"), pd.Timestamp("2023-12-31"))
    assert delisted == pytest.approx(43 * 181 / 365 + 45)
    # after the last figure: the count adds nothing, the listed number is held
    assert expected_delistings(pd.Timestamp("2025-01-01"), pd.Timestamp("2026-06-30")) == (
        0.0,
        5422.0,
    )


def universe(codes: int, ended: int) -> tuple[np.ndarray, pd.Index]:
    last = np.full(codes, len(DAYS) - 1)
    last[:ended] = len(DAYS) - 30
    return last, pd.Index([f"{600000 + k:06d}.SH" for k in range(codes)])


def test_a_universe_where_nothing_ends_looks_like_survivors():
    last, codes = universe(200, 0)
    measured = measure(last, DAYS, codes, ())
    # 43 x 362 / 365 + 45 x 363 / 365 = 87.4 of about 5,222 + 87 companies: 1.6 %, 3.3 of
    # 200 codes expected to end
    delisted = 43 * 362 / 365 + 45 * 363 / 365
    assert measured.delisted == pytest.approx(delisted)
    assert measured.expected_share == pytest.approx(delisted / (measured.listed + delisted))
    assert measured.judged and measured.survivors_only
    warning = measured.warning()
    assert warning.startswith(
        "the universe looks like survivors only: 0 of 200 codes (0.0%) stop trading before "
        "the data's end; the exchanges delisted at least 87 A-share companies over "
        "2022-01-04 .. 2023-12-29, at least 1.6% of the about"
    )
    assert warning.endswith(
        "backtests on it leave out the stocks that failed and overstate returns"
    )


def test_codes_suspended_at_the_end_are_not_delistings():
    last, codes = universe(200, 3)  # 3 of 200 stop a month before the end: 1.5 %
    assert not measure(last, DAYS, codes, ()).survivors_only  # above half of 1.7 %
    held = measure(last, DAYS, codes, tuple(codes[:3]))  # but the source says: suspended
    assert (held.ended, held.suspended) == (0, 3)
    assert held.survivors_only
    assert "0 of 200 codes (0.0%) stop trading before the data's end (3 more are suspended " in (
        held.warning()
    )


def test_a_universe_too_small_to_judge_gets_no_warning():
    last, codes = universe(100, 0)  # 1.7 expected: too few to tell
    measured = measure(last, DAYS, codes, ())
    assert not measured.judged and measured.warning() is None


def test_the_shared_data_is_not_survivors_only():
    """2010-01-04 .. 2017-04-18: 236 of 3,198 codes end early (7.4 %), against at least
    12.6 delistings among about 3,150 listed (0.4 %)."""
    from quant.data.notes import survivorship
    from tests.test_one_road_kept import STOCKS, _panels

    if not STOCKS.is_file():
        pytest.skip("needs the shared data")
    measured = survivorship(_panels()[0])
    assert (measured.codes, measured.ended) == (3198, 236)
    assert measured.delisted == pytest.approx(12.58, abs=0.01)
    assert not measured.survivors_only


def test_info_says_survivors_only(tmp_path, capsys):
    frames = [make_bars(f"{600000 + k:06d}.SH", DAYS, [10.0] * len(DAYS)) for k in range(200)]
    pd.concat(frames, ignore_index=True).to_parquet(tmp_path / "bars.parquet")
    assert main(["data", "info", "--data", str(tmp_path / "bars.parquet")]) == 0
    captured = capsys.readouterr()
    assert "survivorship measured   0 of 200 codes (0.0%) stop trading" in captured.out
    assert "warning: the universe looks like survivors only: 0 of 200 codes" in captured.err
