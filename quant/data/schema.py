"""The tidy schema every source is turned into, and the other names its columns go by.
The market's rules (boards, price limits, order sizes, the calendar) live in quant.market."""

from __future__ import annotations

import re

#: Columns every tidy table has. Prices in yuan, volume in shares, amount in yuan.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "date",
    "code",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "amount",
)
#: raw price x adj_factor = back-adjusted price; is_st: the stock is under risk warning
#: (ST or *ST) that day, a boolean; delisting: the day is in the stock's delisting
#: arrangement period (退市整理期), a boolean (see quant.market.rules).
OPTIONAL_COLUMNS: tuple[str, ...] = ("adj_factor", "is_st", "delisting")
#: The optional columns that are a stock's status on a day (booleans).
FLAG_COLUMNS: tuple[str, ...] = ("is_st", "delisting")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
NUMERIC_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume", "amount")

#: Other names of our columns in the files people hold, with the same meaning and units
#: (compared in lower case): baostock's ``isST`` (1 = risk warning, query_history_k_data_plus),
#: an ``st`` flag, JoinQuant's ``money`` (yuan turnover, get_price) and qlib's ``money``
#: field; ``datetime`` / ``trade_date`` dates; ``symbol`` codes (checked like any code).
#: A name that is not ours and not here is ignored. Names with other units (tushare's
#: ``vol`` in lots, ``amount`` in thousands of yuan) are the layouts' business
#: (quant.data.readers).
ALIASES: dict[str, str] = {
    "isst": "is_st",
    "st": "is_st",
    "is_st_flag": "is_st",
    "delisting_period": "delisting",
    "in_delisting_period": "delisting",
    "money": "amount",
    "datetime": "date",
    "trade_date": "date",
    "symbol": "code",
}

CODE_PATTERN = re.compile(r"^\d{6}\.(SH|SZ|BJ)$")
CODE_FORM = "six digits, a dot and the exchange, e.g. 600000.SH, 000001.SZ, 830799.BJ"
