"""Issue 19 moved every source onto one road to the panel (readers -> one intake ->
MarketPanel) without changing what the panel holds or what a backtest computes on it.

PANEL and RUN hold digests computed at commit c5ee1cb (main before the change) with the
functions below (``python -m tests.test_one_road_kept`` prints them), on the shared real
data: every array of the stock and index panels (values as float64, booleans and text as
they are) and, for a short backtest of three strategies that trade through 2015 (the
benchmark, momentum, and ew_universe, which holds every tradable stock), the final net
value, the fill count and a digest of the fills. They are pinned because the refactor must
not move a single number; the digests were not copied from the new code's run.

One change is deliberate (issue 19, point 5): a bar that trades outside the limit band
computed for its day now keeps its limit (it was dropped before) unless its code has no
adjustment factor or the day is a suspect ex-rights day; every bar outside its band is
listed in ``MarketPanel.outside_band`` (381 on the shared data: 346 below the band of
codes without adj_factor and 8 suspect ex-rights days, which lose their limit as before,
and 27 that now keep it). The limit arrays are compared with the bars of that list put back as they were
(no limit, not at a limit): the digests then match the pinned ones, so nothing else moved.
The 2015 backtest is unchanged as well (no strategy traded those 27 bars).

Issue 21 dated the transfer fee and stamp duty by exchange (quant/market/fee_rules.csv); the
backtest here sets the one transfer-fee rate and stamp-duty pairs the pinned run paid
(``PRE_TABLE_FEES``), and gives the pinned figures to the last digit.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
#: The fees before issue 21's dated table, as a study may still set them.
PRE_TABLE_FEES = {
    "transfer_fee": 0.00001,
    "stamp_duty": [["2008-09-19", 0.001], ["2023-08-28", 0.0005]],
}
STOCKS = SHARED / "ashare_daily_2010_2017.parquet"
INDICES = SHARED / "ashare_index_2010_2017.parquet"

ARRAYS = (
    "open", "high", "low", "close", "volume", "amount", "adj_factor", "listed", "has_bar",
    "new_listing", "board", "is_st", "suspect_factor",
)  # fmt: skip
LIMIT_ARRAYS = (
    "limit_up", "limit_down", "open_at_limit_up", "open_at_limit_down", "close_at_limit_up",
    "close_at_limit_down",
)  # fmt: skip


def digest(values: object) -> str:
    """The first 16 hex digits of the SHA-256 of an array: floats as float64 (so a compact
    type changes nothing), text joined by newlines, anything else as its bytes."""
    array = np.asarray(values)
    if array.dtype.kind in "OUS":
        return hashlib.sha256("\n".join(map(str, array.ravel())).encode()).hexdigest()[:16]
    if array.dtype.kind == "f":
        array = array.astype(np.float64)
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def panel_digests(panel, restore: np.ndarray | None = None) -> dict[str, str]:
    """Digests of a panel's arrays; ``restore`` (T, N) bool: cells whose limits are put back
    to no limit (NaN, not at a limit) first."""
    out = {name: digest(getattr(panel, name)) for name in ARRAYS}
    for name in LIMIT_ARRAYS:
        array = np.array(getattr(panel, name))
        if restore is not None:
            array[restore] = np.nan if array.dtype.kind == "f" else False
        out[name] = digest(array)
    out["dates"] = digest(panel.dates.astype(str))
    out["codes"] = digest(panel.codes)
    out["codes_without_adj"] = digest(list(panel.codes_without_adj))
    return out


def run_figures() -> dict[str, tuple[float, int, str]]:
    from quant.engine import BacktestConfig, run_backtest

    config = BacktestConfig(
        data=str(STOCKS),
        index_data=str(INDICES),
        start="2015-01-01",
        end="2015-12-31",
        strategies=["benchmark", "momentum", "ew_universe"],
        params={"benchmark": {"index": "000001.SH"}},
        workers=1,
        rules=PRE_TABLE_FEES,  # the fees the pinned run paid (before issue 21's dated table)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_backtest(config)
    out = {}
    for run in result.strategies:
        fills = run.fills[["date", "code", "side", "size", "price", "value", "costs"]]
        text = fills.to_csv(index=False, float_format="%.6f").encode()
        out[run.name] = (float(run.nav.iloc[-1]), len(fills), hashlib.sha256(text).hexdigest()[:16])
    return out


@functools.cache
def _panels():
    """The shared data's stock and index panels, loaded once for every test that reads
    them (tests/test_survivorship.py too)."""
    from quant.data import load_panel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_panel(STOCKS), load_panel(INDICES, kind="index")


def _outside(panel) -> np.ndarray | None:
    cells = getattr(panel, "outside_band", None)
    if cells is None:
        return None
    mask = np.zeros(panel.has_bar.shape, dtype=bool)
    mask[panel.dates.get_indexer(cells["date"]), panel.codes.get_indexer(cells["code"])] = True
    return mask


PANEL = {
    "open": "fe8af4678ec4e3ca", "high": "8c7051fad0c11c10", "low": "dc2195b460585101",
    "close": "27cb83999210afd7", "volume": "b0549699c3043f78", "amount": "7315a4f00911aed5",
    "adj_factor": "fcbdf20d89b781e2", "listed": "ddf3a4e68a002465",
    "has_bar": "07dcdbaf62deeaa7", "new_listing": "3d866f25cb5faad8",
    "board": "f50788cef4ee324f", "is_st": "141961da9ba2fcf2",
    "suspect_factor": "0104121160cda27a", "limit_up": "fa1f0d49bce29295",
    "limit_down": "fb9735340513ac6f", "open_at_limit_up": "9fc046efa1027671",
    "open_at_limit_down": "5aeb250e5ac7551c", "close_at_limit_up": "422e30905a7942e0",
    "close_at_limit_down": "f999297f3781260f", "dates": "19c5204e5ec8f167",
    "codes": "4bab194a032522c7", "codes_without_adj": "a15d536892859a37",
}  # fmt: skip
INDEX_PANEL = {
    "open": "a7e95809c3539e47", "high": "d3d6e2424a7d9279", "low": "9a07aaeeefc2ba44",
    "close": "29d72bddd41c8b8c", "volume": "988ca6f35348d95b", "amount": "942cab64ad4d25f4",
    "adj_factor": "191e6aa705105c85", "listed": "7ac5c32c02688e6c",
    "has_bar": "7ac5c32c02688e6c", "new_listing": "eededb23a815b9df",
    "board": "538d6440534fa5f6", "is_st": "eededb23a815b9df",
    "suspect_factor": "eededb23a815b9df", "limit_up": "66579ff8423ed138",
    "limit_down": "66579ff8423ed138", "open_at_limit_up": "eededb23a815b9df",
    "open_at_limit_down": "eededb23a815b9df", "close_at_limit_up": "eededb23a815b9df",
    "close_at_limit_down": "eededb23a815b9df", "dates": "19c5204e5ec8f167",
    "codes": "3e3311fed41d27f0", "codes_without_adj": "3e3311fed41d27f0",
}  # fmt: skip
RUN = {
    "benchmark": (1.094136050552047, 1, "cc84ed7060bea2f2"),
    "momentum": (1.4125270208915368, 344, "b0fcca5308aefe06"),
    "ew_universe": (1.7198816722317343, 25091, "d2c5b4a9f609f992"),
}

pytestmark = pytest.mark.skipif(not STOCKS.is_file(), reason="needs the shared data")


@pytest.fixture(scope="module")
def panels():
    return _panels()


def test_the_stock_panel_is_unchanged(panels):
    stocks, _ = panels
    assert panel_digests(stocks, _outside(stocks)) == PANEL


def test_the_index_panel_is_unchanged(panels):
    _, indices = panels
    assert panel_digests(indices, _outside(indices)) == INDEX_PANEL


def test_the_whole_table_gives_the_same_panel():
    """load_bars + MarketPanel.from_frame (a table in memory) and load_panel (pieces) are
    one road: the same panel."""
    from quant.data import MarketPanel, load_bars

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = MarketPanel.from_frame(load_bars(STOCKS))
    assert panel_digests(panel, _outside(panel)) == PANEL


def test_bars_outside_their_band_lost_their_limit_before(panels):
    """Each bar now named as outside its band had no limit in the pinned arrays (the
    digest with them restored matches), and they are few: a change for a reason."""
    stocks, _ = panels
    outside = _outside(stocks)
    assert outside is not None and outside.sum() == 381
    kept = outside & np.isfinite(stocks.limit_up)
    assert kept.sum() == stocks.outside_band["limit_kept"].sum() == 27  # the change


def test_a_short_backtest_is_unchanged():
    figures = run_figures()
    for name, (nav, fills, fills_digest) in RUN.items():
        assert figures[name][0] == pytest.approx(nav, rel=0, abs=1e-12), name
        assert figures[name][1:] == (fills, fills_digest), name


if __name__ == "__main__":
    stocks, indices = _panels()
    print("PANEL =", panel_digests(stocks, _outside(stocks)))
    print("INDEX_PANEL =", panel_digests(indices, _outside(indices)))
    print("RUN =", run_figures())
