"""The tidy schema every source is turned into, and the per-board market rules that depend
only on a stock code and a date (price limits, registration-system listings)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

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

#: ChiNext moved to the registration system (20 % limits, 5 limit-free days) on this date.
CHINEXT_REFORM = pd.Timestamp("2020-08-24")
#: Main-board registration system: IPOs from this date trade 5 days without limits.
MAIN_BOARD_REGISTRATION = pd.Timestamp("2023-04-10")


def board_of(code: str) -> str:
    """Board of a normalised code: 'star', 'chinext', 'bse' or 'main'."""
    digits, exchange = code[:6], code[7:]
    if exchange == "BJ":
        return "bse"
    if exchange == "SH" and digits.startswith("688"):
        return "star"
    if exchange == "SZ" and digits.startswith(("300", "301")):
        return "chinext"
    return "main"


def limit_rates(codes: pd.Index, dates: pd.DatetimeIndex) -> np.ndarray:
    """Daily price-limit rate per (date, code), shape (T, N).

    Main board 10 %, ChiNext 10 % before 2020-08-24 and 20 % from then on, STAR 20 %,
    Beijing 30 %. ST stocks (5 %) cannot be told apart from a price table and get their
    board's rate: a documented limitation.
    """
    boards = np.array([board_of(c) for c in codes])
    rates = np.full((len(dates), len(codes)), 0.10)
    rates[:, boards == "star"] = 0.20
    rates[:, boards == "bse"] = 0.30
    reformed = np.asarray(dates >= CHINEXT_REFORM)
    rates[np.ix_(reformed, boards == "chinext")] = 0.20
    return rates


def limit_free_days(code: str, listing_date: pd.Timestamp) -> int:
    """Number of trading days from listing on which no price limit applies.

    Registration-system IPOs (STAR; ChiNext from 2020-08-24; main board from 2023-04-10)
    trade their first 5 days without limits; other IPOs only their first day (whose own
    cap, such as the 44 % first-day rule, is not a limit move and is not modelled).
    """
    board = board_of(code)
    if (
        board == "star"
        or (board == "chinext" and listing_date >= CHINEXT_REFORM)
        or (board == "main" and listing_date >= MAIN_BOARD_REGISTRATION)
    ):
        return 5
    return 1


def round_to_fen(prices: np.ndarray) -> np.ndarray:
    """Round half up to 0.01 yuan, as the exchanges do for limit prices."""
    return np.floor(prices * 100.0 + 0.5 + 1e-9) / 100.0
