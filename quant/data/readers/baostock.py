"""baostock daily k-data (``query_history_k_data_plus``, frequency "d") saved as CSV or
Parquet.

Source: www.baostock.com, A股K线数据, ``query_history_k_data_plus()``
(http://baostock.com/baostock/index.php/A股K线数据) and its 历史行情指标参数: date
(YYYY-MM-DD), code (sh.600000, sz.000001), open, high, low, close, preclose (yuan), volume
("单位:股", shares), amount ("单位:人民币元", yuan), adjustflag (复权状态: 1 后复权, 2 前复权,
3 不复权; the function's default is 3), turn, tradestatus (交易状态: 1 正常交易, 0 停牌),
pctChg, isST (是否ST: 1 是, 0 否). Every field comes as text.

Mapping: code sh.600000 -> 600000.SH; volume and amount unchanged (shares, yuan); rows with
tradestatus 0 are suspended days, which baostock lists with no trading: they are dropped,
since the tidy schema has no bar on a suspended day; isST -> is_st.

Adjust flag: adjustflag 3 (raw) rows are the bars. adjustflag 1 (back-adjusted, hfq) rows
for the same code and days give ``adj_factor = hfq close / raw close``, held constant
between ex-rights days exactly as the akshare store does
(:func:`quant.data.akshare_source.factor_from_hfq`); raw and hfq rows may sit in the same
file or in different files of a folder. hfq rows without raw ones are refused (hfq prices
are not the prices traded), and so is any adjustflag 2 (forward-adjusted, qfq) row (its
prices are not traded prices either, and depend on the day they were downloaded). A file
without the adjustflag column is taken as raw, the function's default.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.akshare_source import factor_from_hfq
from quant.data.errors import DataError
from quant.data.files import data_files, read_table
from quant.data.readers.base import ReadOptions, TableReader, map_codes, require
from quant.data.schema import REQUIRED_COLUMNS
from quant.data.validate import (
    fail_where,
    number_rows,
    prepare_columns,
    to_bool,
    to_float,
)

RAW, BACK_ADJUSTED, FORWARD_ADJUSTED = 3, 1, 2
MARKERS = frozenset({"adjustflag", "tradestatus", "isST", "preclose", "pctChg"})


def matches(path: Path, columns: frozenset[str] | None) -> bool:
    """Two of baostock's own field names beside ``code`` (one could be a user's column)."""
    return columns is not None and "code" in columns and len(MARKERS & columns) >= 2


class BaostockReader(TableReader):
    """baostock query_history_k_data_plus exports (see the module's docstring)."""

    def read(self) -> list[pd.DataFrame]:
        return read(self.paths, self.options)


def read(paths: list[Path], options: ReadOptions) -> list[pd.DataFrame]:
    frame = pd.concat([_read_file(f, options) for f in data_files(paths)], ignore_index=True)
    flag = frame.pop("_flag").to_numpy()
    raw, back = frame[flag == RAW], frame[flag == BACK_ADJUSTED]
    if back.empty:
        return [raw]
    if raw.empty:
        fail_where(
            back,
            np.ones(len(back), dtype=bool),
            "back-adjusted (adjustflag 1) prices without the raw ones: download "
            "adjustflag='3' as well (the bars), adjustflag='1' only gives the factor",
        )
    return [_with_factor(raw, back)]


def _read_file(file: Path, options: ReadOptions) -> pd.DataFrame:
    source = str(file)
    table = read_table(file, options.encoding, text=["code"])
    table = number_rows(table.rename(columns=lambda c: str(c).strip()), source)
    require(table, REQUIRED_COLUMNS, source, "baostock's query_history_k_data_plus")
    if "tradestatus" in table.columns:
        table = table[to_bool(table, "tradestatus").to_numpy()]
    if "adjustflag" in table.columns:
        flag = to_float(table, "adjustflag").to_numpy()
        fail_where(
            table,
            ~np.isin(flag, (RAW, BACK_ADJUSTED, FORWARD_ADJUSTED)),
            "adjustflag is not 1, 2 or 3",
        )
        fail_where(
            table,
            flag == FORWARD_ADJUSTED,
            "adjustflag 2: forward-adjusted (qfq) prices are not the prices traded; "
            "download adjustflag='3' (raw), and adjustflag='1' for the adjustment factor",
        )
    else:
        flag = np.full(len(table), RAW)
    bars = table[[*REQUIRED_COLUMNS, "_source", "_row"]].copy()
    if "isST" in table.columns:
        bars["is_st"] = table["isST"]
    bars["code"] = map_codes(bars, "code", options)
    bars["_flag"] = flag
    return prepare_columns(bars, source, date_format=options.date_format)


def _with_factor(raw: pd.DataFrame, back: pd.DataFrame) -> pd.DataFrame:
    """The raw bars with adj_factor from the hfq closes of the same (code, date)."""
    keys = pd.MultiIndex.from_arrays([back["code"], back["date"]])
    fail_where(back, keys.duplicated(), "a second adjustflag 1 row for this code and date")
    hfq = pd.Series(to_float(back, "close").to_numpy(), index=keys)
    raw = raw.sort_values(["code", "date"], kind="stable").reset_index(drop=True)
    raw_close = to_float(raw, "close").to_numpy()
    hfq_close = hfq.reindex(pd.MultiIndex.from_arrays([raw["code"], raw["date"]])).to_numpy()
    codes = raw["code"].to_numpy()
    bounds = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1), len(raw)]
    factor = np.empty(len(raw))
    for start, end in itertools.pairwise(bounds):
        factor[start:end] = factor_from_hfq(raw_close[start:end], hfq_close[start:end])
    unmatched = np.isnan(factor)
    if unmatched.all():
        raise DataError(
            f"{raw['_source'].iloc[0]}: no adjustflag 1 row matches a raw bar's code and date"
        )
    return raw.assign(adj_factor=factor)


DESCRIPTION = (
    "a baostock query_history_k_data_plus export (codes like sh.600000, adjustflag, tradestatus)"
)
