"""The synthetic market: deterministic, A-share-like, and read by the panel exactly as the
generator says it made it."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.data import DataWarning, MarketPanel, load_bars, synth
from quant.market.rules import round_to_fen
from quant.market.securities import boards


def generate_and_load(directory, *args, **kwargs):
    market = synth.generate(*args, **kwargs)
    out = synth.write(market, directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the suspensions
        bars = load_bars(out)
    return market, bars, MarketPanel.from_frame(bars)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A market that crosses the ChiNext reform (2020-08-24), written and loaded back."""
    return generate_and_load(tmp_path_factory.mktemp("synth"), 300, 260, 11, start="2020-03-02")


def test_same_seed_same_market_other_seed_other_market():
    one, two = synth.generate(40, 120, seed=5), synth.generate(40, 120, seed=5)
    pd.testing.assert_frame_equal(one.bars, two.bars)
    other = synth.generate(40, 120, seed=6)
    assert not np.array_equal(one.close, other.close, equal_nan=True)


def test_it_has_the_events_it_claims(written):
    market, _, _ = written
    assert market.delisted.sum() > 5
    assert market.suspended.sum() > 100
    ipos = market.new_listing.any(axis=0)
    assert ipos.sum() > 20
    # registration-system IPOs (STAR; ChiNext after the reform) have 5 limit-free days
    star = boards(market.codes) == "star"
    assert market.new_listing[:, star & ipos].sum(axis=0).max() == 5
    assert market.at_limit_up.sum() > 50 and market.at_limit_down.sum() > 50
    factor = pd.DataFrame(market.adj_factor).ffill().to_numpy()
    assert (np.diff(factor, axis=0) > 0).sum() > 50  # ex-rights days


def test_its_masks_agree_with_the_panel(written):
    market, _, panel = written
    assert panel.codes.equals(market.codes) and panel.dates.equals(market.dates)
    for name in ("listed", "has_bar", "suspended", "new_listing"):
        np.testing.assert_array_equal(getattr(panel, name), getattr(market, name), name)
    for name in ("limit_up", "limit_down", "volume"):
        np.testing.assert_array_equal(getattr(panel, name), getattr(market, name), name)
    for name in ("open", "high", "low", "close"):  # kept as float32, read back exactly
        np.testing.assert_array_equal(panel.price(name), getattr(market, name), name)
    np.testing.assert_array_equal(panel.close_at_limit_up, market.at_limit_up)
    np.testing.assert_array_equal(panel.close_at_limit_down, market.at_limit_down)
    bar = market.has_bar
    np.testing.assert_array_equal(panel.adj_factor[bar], market.adj_factor[bar])


def test_main_board_registration_ipos_agree_with_the_panel_too(tmp_path):
    market, _, panel = generate_and_load(tmp_path, 200, 200, 3, start="2023-01-02")
    main_board = boards(market.codes) == "main"
    first = np.argmax(market.has_bar, axis=0)
    free_days = market.new_listing.sum(axis=0)
    late = main_board & (market.dates[first] >= pd.Timestamp("2023-04-10"))
    early = main_board & (first > 0) & ~late
    assert late.any() and early.any()
    bars = market.has_bar.sum(axis=0)  # an IPO near the end has fewer days in the data
    assert (free_days[late] == np.minimum(5, bars[late])).all() and (bars[late] >= 5).any()
    assert (free_days[early] == 1).all()
    np.testing.assert_array_equal(panel.new_listing, market.new_listing)
    np.testing.assert_array_equal(panel.limit_up, market.limit_up)
    np.testing.assert_array_equal(panel.close_at_limit_down, market.at_limit_down)


def test_limit_moves_respect_the_boards_rates(written):
    """Recomputed from the tidy table alone: returns against the ex-rights reference."""
    _, bars, _ = written
    bars = bars.assign(code=bars["code"].astype(str))
    previous = bars.groupby("code")[["close", "adj_factor"]].shift()
    reference = round_to_fen(previous["close"] * previous["adj_factor"] / bars["adj_factor"])
    move = (bars["close"] / reference - 1).abs()
    board = pd.Series(boards(bars["code"].astype(str)), index=bars.index)
    reformed = bars["date"] >= "2020-08-24"
    rate = np.select(
        [board == "bse", board == "star", (board == "chinext") & reformed], [0.3, 0.2, 0.2], 0.1
    )
    first_days = bars.groupby("code").cumcount() < 5  # limit-free IPO days may move more
    limited = reference.notna() & ~first_days
    slack = 0.005 / reference  # rounding of the limit price to the fen
    assert (move[limited] <= rate[limited] + slack[limited] + 1e-9).all()
    for name, chosen in [("main", board == "main"), ("star", board == "star"),
                         ("chinext before", (board == "chinext") & ~reformed),
                         ("chinext after", (board == "chinext") & reformed)]:  # fmt: skip
        biggest = move[limited & chosen].max()
        assert biggest == pytest.approx(rate[chosen][0], abs=0.006), name  # limits are hit
    high, low = bars["high"], bars["low"]
    assert (high >= bars[["open", "close"]].max(axis=1)).all()
    assert (low <= bars[["open", "close"]].min(axis=1)).all() and (low > 0).all()
    assert ((bars["volume"] > 0) & (bars["volume"] % 100 == 0)).all()


def test_prices_are_whole_fen(written):
    _, bars, _ = written
    prices = bars[["open", "high", "low", "close"]].to_numpy()
    np.testing.assert_array_equal(round_to_fen(prices), prices)


def test_the_anchor_keeps_every_date_and_tiny_markets_work():
    tiny = synth.generate(1, 2, seed=0)
    assert tiny.has_bar.all()
    market = synth.generate(3, 400, seed=1)
    assert market.has_bar.any(axis=1).all()  # the panel's calendar is every generated day


def test_codes_are_distinct_over_the_boards_with_a_capacity():
    codes = synth.stock_codes(1000)
    assert codes.is_unique and codes.is_monotonic_increasing and len(codes) == 1000
    assert set(boards(codes)) == {"main", "chinext", "star", "bse"}
    with pytest.raises(ValueError, match="at most"):
        synth.stock_codes(30_000)


def test_cli_synth_then_info(tmp_path, capsys):
    out = tmp_path / "market"
    args = ["data", "synth", "--stocks", "30", "--days", "200", "--seed", "7", "--out", str(out)]
    assert main(args) == 0
    assert "30 stocks x 200 days" in capsys.readouterr().out
    assert main(["data", "info", "--data", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["codes"], info["trading_days"]) == (30, 200)
    assert info["synthetic"]["seed"] == 7
    assert main(["data", "info", "--data", str(out)]) == 0
    assert "synthetic market        seed 7" in capsys.readouterr().out
    # the same command again gives the same file
    first = pd.read_parquet(out / synth.STOCKS_FILE)
    assert main(args) == 0
    pd.testing.assert_frame_equal(first, pd.read_parquet(out / synth.STOCKS_FILE))


def test_cli_synth_refuses_a_folder_of_other_data(tmp_path, capsys):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "mine.parquet")
    assert main(["data", "synth", "--stocks", "5", "--days", "10", "--out", str(tmp_path)]) == 2
    assert "holds other Parquet files" in capsys.readouterr().err
