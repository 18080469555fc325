"""Readers of the layouts people hold (quant.data.readers) and `quant data import`.

Each test builds a small file the way the layout's documentation describes it (the
documents are cited in each reader's docstring) and checks the tidy values, units
included, against numbers worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant.data import DataError, DataWarning, ReadOptions, load_bars, load_index

#: qlib's cn_data lists indices among its instruments: reading stocks skips them, with a
#: warning that the qlib tests check where it matters.
pytestmark = pytest.mark.filterwarnings("ignore:.*skipped 1 instruments:UserWarning")

# -- akshare: stock_zh_a_hist ------------------------------------------------------------

#: stock_zh_a_hist's columns in its order (akshare 1.19.5); 成交量 in lots, 成交额 in yuan.
AKSHARE = ["日期", "股票代码", "开盘", "收盘", "最高", "最低", "成交量", "成交额", "振幅",
           "涨跌幅", "涨跌额", "换手率"]  # fmt: skip


def akshare_rows(code: object = "000001") -> pd.DataFrame:
    rows = [
        ["2017-01-03", code, 9.11, 9.16, 9.18, 9.09, 459840, 420595000.0, 0.99, 0.77, 0.07, 0.27],
        ["2017-01-04", code, 9.15, 9.16, 9.18, 9.14, 449330, 411503000.0, 0.44, 0.00, 0.00, 0.26],
        ["2017-01-05", code, 9.17, 9.17, 9.18, 9.15, 344373, 315769000.0, 0.33, 0.11, 0.01, 0.20],
    ]
    return pd.DataFrame(rows, columns=AKSHARE)


def check_akshare_values(bars: pd.DataFrame) -> None:
    assert list(bars["code"].astype(str).unique()) == ["000001.SZ"]  # 000001: Shenzhen
    assert list(bars["date"]) == list(pd.to_datetime(["2017-01-03", "2017-01-04", "2017-01-05"]))
    assert bars["open"].tolist() == [9.11, 9.15, 9.17]
    assert bars["close"].tolist() == [9.16, 9.16, 9.17]
    assert bars["high"].tolist() == [9.18, 9.18, 9.18]
    assert bars["low"].tolist() == [9.09, 9.14, 9.15]
    assert bars["volume"].tolist() == [45_984_000, 44_933_000, 34_437_300]  # lots x 100
    assert bars["amount"].tolist() == [420_595_000, 411_503_000, 315_769_000]  # yuan as is
    assert "adj_factor" not in bars.columns  # raw prices, no factor in this layout


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_akshare_csv_in_each_encoding_is_detected(tmp_path, encoding):
    path = tmp_path / "000001.csv"
    akshare_rows().to_csv(path, index=False, encoding=encoding)
    check_akshare_values(load_bars(path, format="akshare"))


def test_akshare_gbk_csv_with_its_encoding_named(tmp_path):
    path = tmp_path / "hist.csv"
    akshare_rows().to_csv(path, index=False, encoding="gbk")
    check_akshare_values(load_bars(path, format="akshare", options=ReadOptions(encoding="gbk")))
    with pytest.raises(DataError, match=r"hist\.csv: cannot be decoded as utf-8.*--encoding"):
        load_bars(path, format="akshare", options=ReadOptions(encoding="utf-8"))
    with pytest.raises(DataError, match="unknown encoding 'klingon'"):
        load_bars(path, format="akshare", options=ReadOptions(encoding="klingon"))


def test_akshare_codes_that_lost_their_leading_zeros_are_restored(tmp_path):
    path = tmp_path / "excel.csv"
    akshare_rows(code=1).to_csv(path, index=False)  # Excel saved 000001 as the number 1
    check_akshare_values(load_bars(path, format="akshare"))


def test_akshare_file_without_code_column_takes_the_file_name(tmp_path):
    akshare_rows().drop(columns="股票代码").to_parquet(tmp_path / "sz000001.parquet")
    check_akshare_values(load_bars(tmp_path, format="akshare"))
    akshare_rows().drop(columns="股票代码").to_csv(tmp_path / "bars.csv", index=False)
    with pytest.raises(DataError, match=r"bars\.csv: no 股票代码 column.*file name"):
        load_bars(tmp_path / "bars.csv", format="akshare")


def test_akshare_hfq_export_is_refused_by_the_units_check(tmp_path):
    hfq = akshare_rows()
    hfq[["开盘", "收盘", "最高", "最低"]] *= 3.7  # back-adjusted prices, raw amounts
    hfq.to_csv(tmp_path / "hfq.csv", index=False)
    with pytest.raises(
        DataError,
        match=r"row 1, code 000001.SZ.*amount / volume = 9\.147.*0\.271 times the price: adjusted",
    ):
        load_bars(tmp_path / "hfq.csv", format="akshare")


def test_a_known_layout_loaded_as_tidy_names_the_layout_and_the_import(tmp_path):
    path = tmp_path / "hist.csv"
    akshare_rows().to_csv(path, index=False, encoding="gbk")
    with pytest.raises(DataError) as caught:
        load_bars(path)
    message = str(caught.value)
    assert "hist.csv: this is an akshare stock_zh_a_hist export" in message
    assert "quant data import --format akshare" in message and "format='akshare'" in message


# -- tushare: daily + adj_factor ---------------------------------------------------------

#: The example rows of tushare's daily document (newest first): vol in lots, amount in
#: thousands of yuan.
TUSHARE = pd.DataFrame(
    {
        "ts_code": ["000001.SZ", "000001.SZ"],
        "trade_date": ["20180718", "20180717"],
        "open": [8.75, 8.74],
        "high": [8.85, 8.75],
        "low": [8.69, 8.66],
        "close": [8.70, 8.72],
        "pre_close": [8.72, 8.73],
        "change": [-0.02, -0.01],
        "pct_chg": [-0.23, -0.11],
        "vol": [525152.77, 375356.33],
        "amount": [460697.377, 326396.994],
    }
)
FACTORS = pd.DataFrame(
    {"ts_code": ["000001.SZ"] * 2, "trade_date": ["20180718", "20180717"], "adj_factor": 108.031}
)


def test_tushare_daily_with_adj_factor_files(tmp_path):
    TUSHARE.to_csv(tmp_path / "daily.csv", index=False)
    FACTORS.to_csv(tmp_path / "adj_factor.csv", index=False)
    bars = load_bars(tmp_path, format="tushare")
    assert list(bars["date"]) == list(pd.to_datetime(["2018-07-17", "2018-07-18"]))  # sorted
    assert bars["close"].tolist() == [8.72, 8.70]
    assert bars["volume"].tolist() == [37_535_633, 52_515_277]  # 375356.33 lots x 100
    assert bars["amount"].tolist() == pytest.approx([326_396_994, 460_697_377])  # x 1,000
    assert bars["adj_factor"].tolist() == [108.031, 108.031]


def test_tushare_bar_without_its_factor_is_an_error(tmp_path):
    TUSHARE.to_parquet(tmp_path / "daily.parquet")
    FACTORS.iloc[[0]].to_parquet(tmp_path / "factor.parquet")
    with pytest.raises(DataError, match=r"daily\.parquet, row 2, .*no adj_factor row for this bar"):
        load_bars(tmp_path, format="tushare")


def test_tushare_renamed_as_tidy_is_refused_by_the_units_check(tmp_path):
    # The case: a stock trading at 16.2..16.4 whose amount / volume is 1.63.
    renamed = pd.DataFrame(
        {
            "date": ["20170103", "20170104"],
            "code": "600000.SH",
            "open": [16.30, 16.33],
            "high": [16.40, 16.40],
            "low": [16.20, 16.25],
            "close": [16.33, 16.30],
            "volume": [1000.0, 1200.0],  # lots
            "amount": [1630.0, 1959.6],  # thousands of yuan
        }
    )
    renamed.to_csv(tmp_path / "renamed.csv", index=False)
    with pytest.raises(DataError) as caught:
        load_bars(tmp_path / "renamed.csv")
    message = str(caught.value)
    assert "renamed.csv, row 1, code 600000.SH, date 2017-01-03: amount / volume = 1.63" in message
    assert "16.2..16.4 on 100% of this code's bars" in message
    assert "thousands of yuan (tushare" in message


# -- baostock: query_history_k_data_plus -------------------------------------------------

BAOSTOCK = ["date", "code", "open", "high", "low", "close", "preclose", "volume", "amount",
            "adjustflag", "turn", "tradestatus", "pctChg", "isST"]  # fmt: skip


def baostock_rows(flag: str = "3") -> pd.DataFrame:
    rows = [  # every field is text in baostock's answers
        ["2014-01-02", "sh.600000", "9.44", "9.45", "9.29", "9.33", "9.43", "69821037",
         "652410784.0000", flag, "0.467882", "1", "-1.0604", "0"],
        ["2014-01-03", "sh.600000", "9.28", "9.30", "9.08", "9.14", "9.33", "88351969",
         "807094464.0000", flag, "0.592061", "1", "-2.0364", "0"],
        ["2014-01-06", "sh.600000", "9.14", "9.14", "9.14", "9.14", "9.14", "0",
         "0.0000", flag, "0.000000", "0", "0.0000", "0"],  # suspended: no bar
        ["2014-01-02", "sz.000001", "12.00", "12.10", "11.90", "12.05", "12.00", "1000000",
         "12000000.0000", flag, "0.01", "1", "0.42", "1"],  # under risk warning (ST)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=BAOSTOCK)


def test_baostock_raw_bars(tmp_path):
    baostock_rows().to_csv(tmp_path / "k.csv", index=False)
    bars = load_bars(tmp_path / "k.csv", format="baostock")
    assert bars["code"].astype(str).tolist() == ["000001.SZ", "600000.SH", "600000.SH"]
    assert list(bars["date"]) == list(pd.to_datetime(["2014-01-02", "2014-01-02", "2014-01-03"]))
    assert bars["volume"].tolist() == [1_000_000, 69_821_037, 88_351_969]  # shares
    assert bars["amount"].tolist() == [12_000_000, 652_410_784, 807_094_464]  # yuan
    assert bars["close"].tolist() == [12.05, 9.33, 9.14]
    assert bars["is_st"].tolist() == [True, False, False]
    assert "adj_factor" not in bars.columns


def test_baostock_hfq_rows_beside_raw_ones_give_the_factor(tmp_path):
    raw = baostock_rows().iloc[[0, 1]]
    hfq = raw.assign(adjustflag="1", close=["23.3250", "23.8554"])  # 9.33 x 2.5, then x 2.61
    raw.to_csv(tmp_path / "raw.csv", index=False)
    hfq.to_csv(tmp_path / "hfq.csv", index=False)
    bars = load_bars(tmp_path, format="baostock")
    # 23.3250 / 9.33 = 2.5; on the second day 9.14 x 2.5 = 22.85 misses 23.8554 by a yuan:
    # an ex-rights day, factor 23.8554 / 9.14 = 2.61
    assert bars["adj_factor"].tolist() == pytest.approx([2.5, 2.61])
    assert bars["close"].tolist() == [9.33, 9.14]  # the raw prices are the bars


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["2"], r"row 1, .*adjustflag 2: forward-adjusted"),
        (["1"], r"back-adjusted .* without the raw"),
    ],
)
def test_baostock_adjusted_prices_are_never_taken_for_raw(tmp_path, flags, message):
    baostock_rows(flags[0]).to_csv(tmp_path / "adjusted.csv", index=False)
    with pytest.raises(DataError, match=message):
        load_bars(tmp_path / "adjusted.csv", format="baostock")


# -- qlib data folder ----------------------------------------------------------------------

CALENDAR = ["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"]


def write_bin(path: Path, start: int, values: list[float]) -> None:
    """As qlib's scripts/dump_bin.py writes: np.hstack([date_index, values]).astype('<f')."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.hstack([[start], values]).astype("<f").tofile(path)


def qlib_folder(root: Path, volume: list[float]) -> Path:
    (root / "calendars").mkdir(parents=True)
    (root / "calendars" / "day.txt").write_text("\n".join(CALENDAR) + "\n")
    (root / "instruments").mkdir()
    (root / "instruments" / "all.txt").write_text(
        "SH600000\t2020-01-03\t2020-01-08\nSH000300\t2020-01-02\t2020-01-08\n"
    )
    # 600000.SH from calendar day 1: raw closes 10.00, 10.20, (suspended), 9.27 after a
    # dividend that moves the factor from 0.1 to 0.11; qlib stores raw x factor.
    factor = [0.1, 0.1, np.nan, 0.11]
    raw = {"open": [9.95, 10.00, np.nan, 9.30], "high": [10.05, 10.25, np.nan, 9.35],
           "low": [9.90, 9.98, np.nan, 9.20], "close": [10.00, 10.20, np.nan, 9.27]}  # fmt: skip
    stock = root / "features" / "sh600000"
    for name, prices in raw.items():
        write_bin(stock / f"{name}.day.bin", 1, [p * f for p, f in zip(prices, factor)])
    write_bin(stock / "factor.day.bin", 1, factor)
    write_bin(stock / "volume.day.bin", 1, volume)
    write_bin(stock / "money.day.bin", 1, [2.0e7, 4.06e7, np.nan, 2.781e7])  # yuan
    index = root / "features" / "sh000300"
    for name in ("open", "high", "low", "close", "volume", "factor"):
        write_bin(index / f"{name}.day.bin", 0, [1.0] * 5)
    return root


def check_qlib_values(bars: pd.DataFrame) -> None:
    assert bars["code"].astype(str).unique().tolist() == ["600000.SH"]
    assert list(bars["date"]) == list(pd.to_datetime(["2020-01-03", "2020-01-06", "2020-01-08"]))
    assert bars["close"].tolist() == [10.00, 10.20, 9.27]  # adjusted / factor, to the fen
    assert bars["open"].tolist() == [9.95, 10.00, 9.30]
    assert bars["low"].tolist() == [9.90, 9.98, 9.20]
    assert bars["volume"].tolist() == [2_000_000, 4_000_000, 3_000_000]  # raw shares
    assert bars["amount"].tolist() == pytest.approx([2.0e7, 4.06e7, 2.781e7], rel=1e-7)
    assert bars["adj_factor"].tolist() == pytest.approx([1.0, 1.0, 1.1])  # factor / first


def test_qlib_folder_with_adjusted_volume(tmp_path):
    # adjusted volume = raw shares / factor: 2e6 / 0.1, 4e6 / 0.1, 3e6 / 0.11
    folder = qlib_folder(tmp_path / "cn_data", [2.0e7, 4.0e7, np.nan, 3.0e6 / 0.11])
    with pytest.warns(
        DataWarning,
        match=r"skipped 1 instruments that are not A-share stocks \(SH000300\).*--index",
    ):
        bars = load_bars(folder, format="qlib")
    check_qlib_values(bars)


def test_qlib_folder_with_raw_volume(tmp_path):
    folder = qlib_folder(tmp_path / "cn_data", [2.0e6, 4.0e6, np.nan, 3.0e6])
    with pytest.warns(DataWarning, match="skipped 1 instruments"):
        check_qlib_values(load_bars(folder, format="qlib", options=ReadOptions(qlib_volume="raw")))
    # measured, not assumed: amount / volume is the raw price on the 3 bars (factor 0.1)
    bars = load_bars(folder, format="qlib")
    check_qlib_values(bars)
    assert (
        "qlib volume read as raw shares, measured: amount / volume matched the raw "
        in (bars.attrs["notes"][-1])
    )
    # the same folder read as adjusted (named): amount / volume is 10x the price on every
    # bar, and the units check says so
    adjusted = ReadOptions(qlib_volume="adjusted")
    with (
        pytest.raises(DataError, match=r"sh600000, row 2, .*amount / volume = 100 yuan"),
        pytest.warns(DataWarning, match="volume read as adjusted, as named, but the data"),
    ):
        load_bars(folder, format="qlib", options=adjusted)


def test_qlib_folder_indices_and_faults(tmp_path):
    folder = qlib_folder(tmp_path / "cn_data", [2.0e7, 4.0e7, np.nan, 3.0e6 / 0.11])
    with pytest.warns(DataWarning) as caught:
        index = load_index(folder, format="qlib")
    said = " ".join(str(w.message) for w in caught)
    assert "skipped 1 instruments that are not indices (SH600000)" in said
    assert "no amount column" in said
    assert index["code"].astype(str).unique().tolist() == ["000300.SH"]
    assert len(index) == 5
    with pytest.raises(DataError, match=r"this is a qlib data folder.*--format qlib"):
        load_bars(folder)
    (folder / "features" / "sh600000" / "factor.day.bin").unlink()
    with pytest.raises(
        DataError, match=r"sh600000: no factor\.day\.bin: qlib stores adjusted .*cannot be made raw"
    ):
        load_bars(folder, format="qlib")
    write_bin(folder / "features" / "sh600000" / "factor.day.bin", 3, [0.1] * 4)  # past the end
    with pytest.raises(DataError, match=r"factor\.day\.bin: not a qlib \.day\.bin file"):
        load_bars(folder, format="qlib")


def test_baostock_export_loaded_as_tidy_names_the_layout(tmp_path):
    baostock_rows().to_csv(tmp_path / "k.csv", index=False)
    with pytest.raises(DataError, match=r"k\.csv: this is a baostock .*--format baostock"):
        load_bars(tmp_path / "k.csv")
    tidy_with_a_pctchg = baostock_rows().iloc[:2].assign(code="600000.SH")
    tidy_with_a_pctchg[["date", "code", "open", "high", "low", "close", "volume", "amount",
                        "pctChg"]].to_csv(tmp_path / "mine.csv", index=False)  # fmt: skip
    assert len(load_bars(tmp_path / "mine.csv")) == 2  # one baostock-like column is not enough
