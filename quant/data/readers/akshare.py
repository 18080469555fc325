"""akshare's daily history (``stock_zh_a_hist``, East Money) saved as CSV or Parquet.

Source: the akshare documentation, 股票数据 > 历史行情数据-东财, ``stock_zh_a_hist``
(https://akshare.akfamily.xyz/data/stock/stock.html): columns 日期 (trading day), 股票代码
(the code without its market), 开盘, 收盘, 最高, 最低 (yuan), 成交量 ("注意单位: 手", lots of
100 shares), 成交额 ("注意单位: 元", yuan), 振幅, 涨跌幅, 涨跌额, 换手率.

Mapping: the names are the fetcher's own mapping, :data:`quant.data.akshare_source.HIST_COLUMNS`;
成交量 x 100 = shares (``SHARES_PER_LOT``); 成交额 is yuan already; 日期 is YYYY-MM-DD. 股票代码
is six digits without the exchange, which follows from the digits
(:func:`quant.data.akshare_source.exchange_of`); a file that stored the codes as numbers
(Excel does) lost their leading zeros, which are restored to six digits. A file without
股票代码 takes its code from its name (600000.csv, sh600000.csv, 600000.SH.parquet).

Adjustment: the file does not say which ``adjust`` it was fetched with. It is taken as raw
prices (``adjust=""``, akshare's default) and gets no adj_factor. A qfq or hfq export is
refused by the units check wherever the adjustment moves its prices away from amount /
volume, the raw price actually paid (see quant.data.validate.UNITS_TOLERANCE); the store of
``quant data fetch`` derives adj_factor from the raw and hfq answers together.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quant.data.akshare_source import HIST_COLUMNS, SHARES_PER_LOT, normalize_code
from quant.data.errors import DataError
from quant.data.files import data_files, read_table
from quant.data.readers.base import ReadOptions, TableReader, in_shares, map_codes, require
from quant.data.validate import number_rows, prepare_columns

CODE_COLUMN = "股票代码"


def matches(path: Path, columns: frozenset[str] | None) -> bool:
    return columns is not None and {"日期", "开盘", "收盘", "成交量"} <= columns


class AkshareReader(TableReader):
    """akshare stock_zh_a_hist exports (see the module's docstring)."""

    def read(self) -> list[pd.DataFrame]:
        return [_read_file(file, self.options) for file in data_files(self.paths)]


def _read_file(file: Path, options: ReadOptions) -> pd.DataFrame:
    source = str(file)
    table = number_rows(read_table(file, options.encoding, text=[CODE_COLUMN]), source)
    table = table.rename(columns=lambda c: str(c).strip())
    require(table, HIST_COLUMNS, source, "akshare's stock_zh_a_hist")
    bars = table[[*HIST_COLUMNS, "_source", "_row"]].rename(columns=HIST_COLUMNS)
    if CODE_COLUMN in table.columns:
        digits = table[CODE_COLUMN].astype("string").str.strip()
        digits = digits.where(~digits.str.fullmatch(r"\d{1,6}"), digits.str.zfill(6))
        bars["code"] = map_codes(bars.assign(code=digits), "code", options)
    else:
        bars["code"] = _code_from_name(file, options)
    bars["volume"] = in_shares(bars, "volume", SHARES_PER_LOT)
    return prepare_columns(bars, source, date_format=options.date_format)


def _code_from_name(file: Path, options: ReadOptions) -> str:
    name = file.name.split(".csv")[0].split(".parquet")[0].split(".pq")[0]
    try:
        return normalize_code(name, index=options.index)
    except DataError:
        raise DataError(
            f"{file}: no {CODE_COLUMN} column, and the file name does not name a code "
            "(e.g. 600000.csv): add the column or rename the file"
        ) from None


DESCRIPTION = "an akshare stock_zh_a_hist export (Chinese column names, volume in lots)"
