"""tushare pro ``daily`` bars, with or without ``adj_factor``, saved as CSV or Parquet.

Sources: the tushare pro documentation of ``daily`` (A股日线行情,
https://tushare.pro/document/2?doc_id=27): unadjusted bars (未复权行情), no rows on
suspended days, columns ts_code, trade_date (YYYYMMDD), open, high, low, close, pre_close,
change, pct_chg, vol ("成交量 (手)", lots of 100 shares), amount ("成交额 (千元)", thousands
of yuan); of ``adj_factor`` (复权因子, https://tushare.pro/document/2?doc_id=28): ts_code,
trade_date, adj_factor; and of ``pro_bar`` (https://tushare.pro/document/2?doc_id=146):
back-adjusted (hfq) price = price x adj_factor.

Mapping: ts_code -> code (already 600000.SH); trade_date YYYYMMDD -> date; vol x 100 =
shares; amount x 1,000 = yuan; adj_factor unchanged (the tidy adj_factor has the same
meaning, raw x adj_factor = back-adjusted). The example rows of the ``daily`` document
come newest first, so a file's order is not checked.

Files: files or folders of ``daily`` files (several may be named:
``quant data import --format tushare daily.csv adj_factor.csv``), and optionally ``adj_factor`` files (those
with the columns ts_code, trade_date, adj_factor and no prices), matched to the bars by
(ts_code, trade_date). A ``daily`` file that already has an adj_factor column keeps it.
A bar of a code that has factors but none for that day is an error (a factor fetched for
fewer days than the bars would otherwise be filled in from other days).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quant.data.akshare_source import SHARES_PER_LOT
from quant.data.errors import DataError
from quant.data.files import data_files, read_table
from quant.data.readers.base import ReadOptions, TableReader, in_shares, map_codes, require
from quant.data.validate import fail_where, number_rows, prepare_columns, to_float

DAILY_COLUMNS = {
    "ts_code": "code",
    "trade_date": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "vol": "volume",
    "amount": "amount",
}
FACTOR_COLUMNS = ("ts_code", "trade_date", "adj_factor")
#: tushare's amount is in thousands of yuan.
YUAN_PER_AMOUNT = 1000.0
DATE_FORMAT = "%Y%m%d"


def matches(path: Path, columns: frozenset[str] | None) -> bool:
    return columns is not None and {"ts_code", "trade_date"} <= columns


class TushareReader(TableReader):
    """tushare daily (+ adj_factor) exports (see the module's docstring); their files are
    documented newest first, so a file's order is not checked."""

    ordered = False

    def read(self) -> list[pd.DataFrame]:
        return read(self.paths, self.options)


def read(paths: list[Path], options: ReadOptions) -> list[pd.DataFrame]:
    daily, factors = [], []
    for file in data_files(paths):
        table = read_table(file, options.encoding, text=["ts_code", "trade_date"])
        table = number_rows(table.rename(columns=lambda c: str(c).strip()), str(file))
        is_factor = "adj_factor" in table.columns and "close" not in table.columns
        (factors if is_factor else daily).append(table)
    if not daily:
        raise DataError(
            f"{', '.join(map(str, paths))}: only adj_factor files, no daily bars (ts_code, "
            "trade_date, vol, ...)"
        )
    factor = _factor_table(factors) if factors else None
    return [_bars(table, factor, options) for table in daily]


def _keys(table: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [
            table["ts_code"].astype("string").str.strip(),
            table["trade_date"].astype("string").str.strip(),
        ]
    )


def _factor_table(tables: list[pd.DataFrame]) -> pd.Series:
    for table in tables:
        require(table, FACTOR_COLUMNS, table["_source"].iloc[0], "tushare's adj_factor")
    table = pd.concat(tables, ignore_index=True)
    factor = pd.Series(to_float(table, "adj_factor").to_numpy(), index=_keys(table))
    twins = factor.index.duplicated()
    fail_where(table.assign(code=table["ts_code"], date=table["trade_date"]), twins,
               "a second adj_factor row for this (ts_code, trade_date)")  # fmt: skip
    return factor


def _bars(table: pd.DataFrame, factor: pd.Series | None, options: ReadOptions) -> pd.DataFrame:
    source = table["_source"].iloc[0]
    require(table, DAILY_COLUMNS, source, "tushare's daily")
    keep = [*DAILY_COLUMNS, *(["adj_factor"] if "adj_factor" in table.columns else [])]
    bars = table[[*keep, "_source", "_row"]].rename(columns=DAILY_COLUMNS)
    if factor is not None:
        if "adj_factor" in bars.columns:
            raise DataError(
                f"{source}: has an adj_factor column and adj_factor files are given too"
            )
        keys = _keys(table)
        bars["adj_factor"] = factor.reindex(keys).to_numpy()
        has_factors = keys.get_level_values(0).isin(factor.index.get_level_values(0))
        fail_where(
            bars,
            has_factors & bars["adj_factor"].isna().to_numpy(),
            "no adj_factor row for this bar, though the code has others (fetch adj_factor "
            "for the same days as the bars)",
        )
    bars["code"] = map_codes(bars, "code", options)
    bars["volume"] = in_shares(bars, "volume", SHARES_PER_LOT)
    bars["amount"] = to_float(bars, "amount") * YUAN_PER_AMOUNT
    return prepare_columns(bars, source, date_format=options.date_format or DATE_FORMAT)


DESCRIPTION = (
    "a tushare daily export (ts_code, trade_date, vol in lots, amount in thousands of yuan)"
)
