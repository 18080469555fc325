"""Issue 19, point 5: every input a new user tried gets one clear line or the right data.

Unreadable files (empty, not Parquet, truncated, a FIFO), baostock's ``isST`` and other
aliases of our columns, prices off the fen grid, bars outside their limit band, several
files to ``data import``, a fetch without a network (a DNS failure is not a block, and no
empty store stays behind), millions of identical rows, and code-change suggestions."""

from __future__ import annotations

import json
import os
import socket
import warnings

import numpy as np
import pandas as pd
import pytest
import requests
import urllib3

from quant.cli import main
from quant.data import DataError, DataWarning, MarketPanel, load_bars, load_panel
from quant.data.store import BlockedError, OfflineError, Throttle
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of
from tests.test_akshare_store import east  # noqa: F401  (the fixture)
from tests.test_market_today import buy_on_day1, jump

D = sessions("2024-03-04", periods=8)


def one_line_error(capsys, argv: list[str]) -> str:
    """The command's error: exit status 2, one line on stderr, no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err.strip()


# -- files that cannot be read ---------------------------------------------------------------------
def test_an_empty_csv_is_one_line(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert one_line_error(capsys, ["data", "info", "--data", str(path)]) == (
        f"error: {path}: no rows (empty file)"
    )


def test_a_file_named_parquet_that_is_not_one_is_one_line(tmp_path, capsys):
    path = tmp_path / "bars.parquet"
    path.write_text("date,code\n2024-03-04,600000.SH\n")
    assert one_line_error(capsys, ["data", "info", "--data", str(path)]) == (
        f"error: {path}: cannot be read as parquet: not a Parquet file (it does not start "
        "with PAR1)"
    )


def test_a_truncated_parquet_file_is_one_line(tmp_path, capsys):
    whole = tmp_path / "whole.parquet"
    make_bars("600000.SH", D, [10.0] * 8).to_parquet(whole)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # a copy cut short
    err = one_line_error(capsys, ["data", "info", "--data", str(cut)])
    assert err.startswith(f"error: {cut}: cannot be read as parquet: truncated")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_a_fifo_named_csv_is_refused_without_reading_it(tmp_path, capsys):
    fifo = tmp_path / "bars.csv"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    assert one_line_error(capsys, ["data", "info", "--data", str(fifo)]) == (
        f"error: {fifo}: not a regular file (a FIFO, socket or device); give a file"
    )
    make_bars("600000.SH", D, [10.0] * 8).to_csv(tmp_path / "real.csv", index=False)
    assert len(load_bars(tmp_path)) == 8  # in a folder, a FIFO is not a data file


# -- aliases of our columns -----------------------------------------------------------------------
def test_baostocks_isst_column_is_the_st_flag(tmp_path):
    """An ST stock opening at +5 % is at its risk-warning limit: the buy is refused (with
    the column dropped, as before, it filled at 10.50)."""
    bars = jump("600000.SH", 10.50).assign(isST=1)
    path = tmp_path / "st.csv"
    bars.to_csv(path, index=False)
    panel = load_panel(path)
    assert panel.st_known and panel.is_st.all()
    assert panel.limit_up[2, 0] == 10.50
    assert buy_on_day1(panel, "600000.SH").refusals["reason"].tolist() == ["limit-up"]


def test_money_is_amount_and_two_names_of_one_column_are_an_error(tmp_path):
    bars = make_bars("600000.SH", D, [10.0] * 8)
    bars.rename(columns={"amount": "money"}).to_csv(tmp_path / "money.csv", index=False)
    assert load_bars(tmp_path / "money.csv")["amount"].tolist() == bars["amount"].tolist()
    bars.assign(is_st=0, isST=0).to_csv(tmp_path / "both.csv", index=False)
    with pytest.raises(DataError, match=r"both\.csv: columns 'is_st' and 'isST' both give 'is_st'"):
        load_bars(tmp_path / "both.csv")


# -- prices off the fen grid ----------------------------------------------------------------------
def test_prices_off_the_fen_grid_are_counted_in_a_warning(tmp_path):
    bars = make_bars("600000.SH", D, [10.0] * 8)
    bars.loc[[2, 5], ["open", "high", "low", "close"]] = 10.123
    bars.to_csv(tmp_path / "thousandths.csv", index=False)
    with pytest.warns(DataWarning) as caught:
        panel = load_panel(tmp_path / "thousandths.csv")
    said = [str(w.message) for w in caught if "whole fen" in str(w.message)]
    assert said == [
        f"2 bars have a price that is not a whole fen (0.01 yuan, the price step of A-shares; "
        f"first: {tmp_path / 'thousandths.csv'}, row 3, code 600000.SH, date 2024-03-06: open "
        "10.123, high 10.123, low 10.123, close 10.123): adjusted prices taken for raw ones, or "
        "a data error? The prices are used as given"
    ]
    assert not panel.fen_prices and panel.price("close")[2, 0] == 10.123  # as given


# -- bars outside their limit band ----------------------------------------------------------------
def one_price(code: str, day: int, price: float, days=D, **columns) -> pd.DataFrame:
    """10.00 every day until ``day``, from which it trades at one price, ``price``."""
    close = [10.0] * day + [price] * (len(days) - day)
    return make_bars(code, days, close).assign(**columns)


def test_a_stale_st_flag_keeps_its_limit_and_is_named(tmp_path, capsys):
    """is_st says ST (5 %), the stock trades one price at +10 % (its board's limit): the
    limit computed for the day, 10.50, stays, so the one-price bar stays unbuyable (the
    buy placed the day before is refused, where before it filled at 11.00)."""
    stale = one_price("600000.SH", 2, 11.00, is_st=True)
    panel = panel_of(stale)
    assert panel.limit_up[2, 0] == 10.50 and panel.open_at_limit_up[2, 0]
    outside = panel.outside_band
    assert outside[["code", "limit_kept", "reason"]].values.tolist() == [
        ["600000.SH", True, "stale ST flag?"]
    ]
    assert buy_on_day1(panel, "600000.SH").refusals["reason"].tolist() == ["limit-up"]
    stale.to_csv(tmp_path / "stale.csv", index=False)
    assert main(["data", "info", "--data", str(tmp_path / "stale.csv")]) == 0
    captured = capsys.readouterr()
    assert (
        "outside the limit band  1 bars (1 keep their limit): 600000.SH 2024-03-06 "
        "(stale ST flag?)" in captured.out
    )
    assert "1 bars trade outside their day's price-limit band and keep their limit" in captured.err


def test_a_delisting_arrangement_day_keeps_its_limit_and_is_named():
    """A *ST stock (with factors: no unrecorded ex-rights day) in its delisting arrangement
    trades one price at -10 % and stops two sessions later: outside the 5 % band, limit
    kept, named."""
    factor = [1.0] * 8
    ending = one_price("600001.SH", 3, 9.00, is_st=True, adj_factor=factor).iloc[:6]
    panel = panel_of(ending, one_price("600000.SH", 3, 10.0, is_st=False, adj_factor=factor))
    j = panel.column("600001.SH")
    assert panel.limit_down[3, j] == 9.50 and panel.close_at_limit_down[3, j]
    assert panel.outside_band[["code", "reason"]].values.tolist() == [
        ["600001.SH", "delisting arrangement?"]
    ]


def test_a_bar_above_the_band_of_a_code_without_factors_keeps_its_limit():
    """Without adj_factor an unrecorded ex-rights day can explain a bar below the band
    (the limit is dropped), never one above it (+10 % of a stale ST flag: kept)."""
    panel = panel_of(
        one_price("600000.SH", 2, 11.00, is_st=True), one_price("600001.SH", 2, 8.00, is_st=False)
    )
    assert panel.limit_up[2, 0] == 10.50 and panel.open_at_limit_up[2, 0]  # kept
    assert np.isnan(panel.limit_down[2, 1])  # 8.00 below 9.00: dropped
    assert panel.outside_band[["code", "limit_kept", "reason"]].values.tolist() == [
        ["600000.SH", True, "stale ST flag?"],
        ["600001.SH", False, "ex-rights day of a code without adj_factor?"],
    ]


def test_a_suspect_ex_rights_day_loses_its_limit():
    factor = [1.0, 1.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5]
    bars = one_price("600000.SH", 2, 12.0, adj_factor=factor)  # the factor says /1.5, +20 %
    panel = panel_of(bars)
    assert panel.suspect_factor[2, 0] and np.isnan(panel.limit_up[2, 0])
    assert panel.outside_band["reason"].tolist() == ["suspect ex-rights day"]


# -- data import takes several files --------------------------------------------------------------
def test_import_takes_the_tushare_daily_and_factor_files_by_name(tmp_path, capsys):
    from tests.test_layouts import FACTORS, TUSHARE

    TUSHARE.to_csv(tmp_path / "daily.csv", index=False)
    FACTORS.to_csv(tmp_path / "adj_factor.csv", index=False)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "daily.csv").rename(tmp_path / "elsewhere" / "daily.csv")
    out = tmp_path / "store"
    argv = ["data", "import", "--format", "tushare", str(tmp_path / "elsewhere" / "daily.csv"),
            str(tmp_path / "adj_factor.csv"), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    stored = load_bars(out)
    assert stored["adj_factor"].notna().all()
    imported = json.loads((out / "manifest.json").read_text())["imported"]
    assert imported["from"].endswith("adj_factor.csv") and "daily.csv" in imported["from"]


# -- fetch without a network ----------------------------------------------------------------------
def dns_failure(**kwargs):
    """What requests raises when the host name does not resolve (urllib3 2.x)."""
    reason = urllib3.exceptions.NameResolutionError(
        "push2his.eastmoney.com", None, socket.gaierror(-2, "Name or service not known")
    )
    pool_error = urllib3.exceptions.MaxRetryError(None, "/api/qt/stock/kline/get", reason)
    raise requests.exceptions.ConnectionError(pool_error)


def dropped(**kwargs):
    """What requests raises when East Money closes the connection (a block)."""
    raise requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))


def test_a_failed_dns_lookup_is_told_at_once_not_retried_as_a_block():
    waits = []
    throttle = Throttle(pause=0, retries=4, backoff=5.0, sleep=waits.append)
    with pytest.raises(OfflineError) as error:
        throttle(dns_failure, symbol="600000")
    assert throttle.requests == 1 and waits == []  # no retry, no 5 + 10 + 20 + 40 s wait
    assert str(error.value) == (
        "dns_failure(symbol='600000'): the server's name could not be resolved (DNS lookup "
        "failed): this machine cannot reach the data server (no network, or no DNS). Check "
        "the connection, then run the same command again"
    )
    with pytest.raises(BlockedError, match="blocks IPs"):
        throttle(dropped, symbol="600000")
    assert throttle.requests == 6 and waits == [5.0, 10.0, 20.0, 40.0]


def test_an_unreachable_network_is_not_a_block_either():
    def no_route(**kwargs):
        raise requests.exceptions.ConnectionError(OSError(101, "Network is unreachable"))

    with pytest.raises(OfflineError, match="the network is unreachable"):
        Throttle(pause=0, sleep=lambda s: None)(no_route)


def test_fetch_without_a_network_leaves_no_empty_store(east, tmp_path, capsys):  # noqa: F811
    def offline(name, kwargs):
        dns_failure()

    east.before = offline
    store = tmp_path / "new_store"
    argv = ["data", "fetch", "--codes", "600000", "--start", "2023-01-01", "--end",
            "2023-06-30", "--store", str(store), "--pause", "0"]  # fmt: skip
    err = one_line_error(capsys, argv)
    assert "DNS lookup failed" in err and "blocks" not in err
    assert not store.exists()  # neither the folder nor its .lock
    store.mkdir()  # a folder the user made stays, without a lock in it
    one_line_error(capsys, argv)
    assert store.exists() and list(store.iterdir()) == []


# -- duplicates: found before any value is read, in bounded memory ---------------------------------
def test_a_million_identical_rows_stop_at_the_first_chunk(tmp_path, monkeypatch):
    """The first pass reads dates and codes a chunk at a time (KEY_ROWS); identical rows
    are duplicates within the first chunk, so no value is read and memory stays one
    chunk. (A code longer than a chunk is cut, never carried whole: before, the carry grew
    with every chunk and 10 million rows took minutes and gigabytes.)"""
    import quant.data.readers.tidy as tidy

    path = tmp_path / "same.parquet"
    row = make_bars("600000.SH", D[:1], [10.0])
    pd.concat([row] * 1_000_000, ignore_index=True).to_parquet(path, row_group_size=100_000)
    chunks, original = [], tidy.chunks

    def counted(*args, **kwargs):
        for chunk in original(*args, **kwargs):
            chunks.append(len(chunk))
            yield chunk

    monkeypatch.setattr(tidy, "chunks", counted)
    with pytest.raises(
        DataError, match=r"code 600000\.SH, date 2024-03-04: duplicate \(code, date\)"
    ):
        load_panel(path)
    assert chunks == [tidy.KEY_ROWS]  # the first chunk, and no more


# -- code-change suggestions ----------------------------------------------------------------------
OLD, NEW = sessions("2024-03-04", periods=4), sessions("2024-03-08", periods=4)


def test_code_changes_are_suggested_only_one_to_one():
    a = make_bars("600010.SH", OLD, [10.0] * 4)
    b = make_bars("600011.SH", OLD, [10.1] * 4)
    new = make_bars("603990.SH", NEW, [10.05] * 4)  # within 5 % of both last closes
    anchor = make_bars("600000.SH", OLD.append(NEW), [5.0] * 8)
    assert panel_of(a, b, new, anchor).code_change_candidates.empty  # two olds, one new
    pairs = panel_of(a, new, anchor).code_change_candidates
    assert pairs[["old", "new"]].values.tolist() == [["600010.SH", "603990.SH"]]


def test_each_note_of_a_backtest_is_warned_once_and_kept_in_the_notes():
    from quant.engine import BacktestConfig, run_backtest

    old = make_bars("600010.SH", OLD, [10.0] * 4)
    new = make_bars("603990.SH", NEW, [10.05] * 4)
    anchor = make_bars("600000.SH", OLD.append(NEW), [5.0] * 8)
    panel = panel_of(old, new, anchor)
    script = {"script": {OLD[1]: [("buy", "600010.SH", 100)]}}
    config = BacktestConfig(
        start=str(OLD[1].date()),
        end=str(NEW[-1].date()),
        strategies=["tests.engine_helpers:Scripted"],
        params={"Scripted": script},
        workers=1,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_backtest(config, panel, panel)
    suggestions = [str(w.message) for w in caught if "code-changes file" in str(w.message)]
    assert len(suggestions) == 1 and suggestions[0] in result.notes
    assert suggestions[0].startswith("Scripted held 600010.SH when its bars stopped on 2024-03-07")


def test_from_frame_and_load_panel_agree():
    bars = pd.concat([jump("600000.SH", 10.5), jump("000001.SZ", 9.5)], ignore_index=True)
    via_table = MarketPanel.from_frame(bars)
    via_reader = load_panel(bars)
    for name in ("close", "volume", "limit_up", "limit_down", "has_bar"):
        np.testing.assert_array_equal(getattr(via_table, name), getattr(via_reader, name))


def test_many_parquet_files_read_as_one_dataset_keep_their_rows(tmp_path):
    """A per-code store (one Parquet file per code, as `quant data fetch` writes) is read
    a group of files at a time; errors still name the file and its row."""
    for k in range(5):
        make_bars(f"60000{k}.SH", D, [10.0 + k] * 8).to_parquet(tmp_path / f"60000{k}.SH.parquet")
    assert load_panel(tmp_path).close[:, 3].tolist() == [13.0] * 8
    bad = make_bars("600003.SH", D, [13.0] * 8)
    bad.loc[5, "volume"] = -1.0
    bad.to_parquet(tmp_path / "600003.SH.parquet")
    with pytest.raises(
        DataError,
        match=r"600003\.SH\.parquet, row 6, code 600003\.SH, date 2024-03-11: negative volume",
    ):
        load_panel(tmp_path)
