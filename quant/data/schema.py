"""The tidy schema every source is turned into. The market's rules (boards, price limits,
order sizes, the calendar) live in quant.market."""

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
#: (ST or *ST) that day, a boolean (baostock's ``isST``; see quant.market.rules).
OPTIONAL_COLUMNS: tuple[str, ...] = ("adj_factor", "is_st")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
NUMERIC_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume", "amount")

CODE_PATTERN = re.compile(r"^\d{6}\.(SH|SZ|BJ)$")
CODE_FORM = "six digits, a dot and the exchange, e.g. 600000.SH, 000001.SZ, 830799.BJ"
