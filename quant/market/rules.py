"""The A-share trading rules that depend on a stock's board and the date: the daily price
limit (and its risk-warning rate for ST/*ST stocks, and the delisting arrangement period's:
the board's ordinary limit, none on its first day since the 2020 listing rules), the
limit-free days after a listing, and the order sizes. One table holds them, ``board_rules.csv`` beside this module, one row per
board and date from which the row applies, each with its source; the panel (limit prices),
the broker (order checks) and the strategy helpers (order sizing) all read it here.

Boards come from the securities master (quant.market.securities): ``main`` (SSE and SZSE
main boards), ``chinext``, ``star`` (STAR shares and CDRs), ``bse`` (Beijing).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

TABLE = Path(__file__).with_name("board_rules.csv")


@dataclass(frozen=True)
class BoardRule:
    """One row of the table: from ``start`` on (until the board's next row) the ``board``
    trades with these rules. ``limit`` / ``st_limit`` are fractions of the reference price
    (NaN: no daily limit); ``ipo_free_days`` counts the trading days from a listing on which
    no limit applies, for stocks listed while the row is in force; on days of a delisting
    arrangement period (退市整理期) the limit is ``limit`` (ST or not), and none on the
    period's first day where ``delisting_first_day_free``."""

    board: str
    start: pd.Timestamp
    limit: float
    st_limit: float
    ipo_free_days: int
    order: OrderSize
    source: str
    delisting_first_day_free: bool = False


@dataclass(frozen=True)
class OrderSize:
    """How many shares an order may have: at least ``minimum``, then in ``step`` shares
    (main board and ChiNext: lots of 100, minimum = step = 100; STAR: at least 200, then
    steps of 1; Beijing: at least 100, then steps of 1). A sell may also close a whole
    position of any size, and on boards with lots the odd part under one lot is sold in the
    same order as whole lots (SSE/SZSE Trading Rules: "余额不足100股的部分，应当一次性申报卖出")."""

    minimum: int
    step: int

    def __post_init__(self) -> None:
        if self.minimum < 1 or self.step < 1 or self.minimum % self.step:
            raise ValueError(f"bad order size: minimum {self.minimum}, step {self.step}")

    def is_valid_size(self, shares: float) -> bool:
        """``shares`` is at least the minimum and a whole number of steps above it."""
        return shares >= self.minimum - 1e-9 and _whole(shares - self.minimum, self.step)

    def round_down(self, shares: float) -> float:
        """The largest valid order size of at most ``shares`` (0 below the minimum)."""
        if shares < self.minimum - 1e-9:
            return 0.0
        return self.minimum + math.floor((shares - self.minimum) / self.step + 1e-9) * self.step

    def is_valid_buy(self, shares: float) -> bool:
        return self.is_valid_size(shares)

    def is_valid_sell(self, shares: float, held: float) -> bool:
        """A sell of ``shares`` out of ``held``: a valid size, the whole position, or on
        boards with lots the odd part (held mod step) plus whole lots."""
        if abs(shares - held) < 1e-9 or self.is_valid_size(shares):
            return True
        odd = held % self.step if self.step > 1 else 0.0
        return odd > 1e-9 and shares >= odd - 1e-9 and _whole(shares - odd, self.step)

    def sell_shares(self, held: float, target: float) -> float:
        """The sell that brings ``held`` down towards ``target`` without going below it:
        keep whole steps (rounded up from the target), the odd part of a lot sold with the
        rest; 0 when the sell would be under the minimum (it cannot be placed)."""
        if target <= 1e-9:
            return held
        odd = held % self.step
        keep = min(math.ceil(target / self.step - 1e-9) * self.step, held - odd)
        shares = held - keep
        return shares if shares > 1e-9 and self.is_valid_sell(shares, held) else 0.0


def _whole(shares: float, step: int) -> bool:
    return abs(shares / step - round(shares / step)) < 1e-9


@cache
def board_rules() -> dict[str, tuple[BoardRule, ...]]:
    """The table, per board in date order."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        rows = [
            BoardRule(
                board=r["board"],
                start=pd.Timestamp(r["from"]),
                limit=float(r["limit"]) if r["limit"] else math.nan,
                st_limit=float(r["st_limit"]) if r["st_limit"] else math.nan,
                ipo_free_days=int(r["ipo_free_days"]),
                order=OrderSize(int(r["order_min"]), int(r["order_step"])),
                source=r["source"],
                delisting_first_day_free=r["delisting_first_day_free"] == "1",
            )
            for r in csv.DictReader(handle)
        ]
    table: dict[str, tuple[BoardRule, ...]] = {}
    for board in dict.fromkeys(r.board for r in rows):
        mine = tuple(r for r in rows if r.board == board)
        if [r.start for r in mine] != sorted({r.start for r in mine}):
            raise ValueError(f"{TABLE}: the rows of board {board} are not in date order")
        table[board] = mine
    return table


def board_opened(board: str) -> pd.Timestamp:
    """The first date the table has a rule for ``board`` (before it, the board did not
    trade: bars there are an error)."""
    return board_rules()[board][0].start


def rule_on(board: str, date: pd.Timestamp) -> BoardRule:
    """The row of ``board`` in force on ``date``. KeyError for a date before the board's
    first row or an unknown board."""
    rows = board_rules()[board]
    at = int(np.searchsorted([r.start.value for r in rows], pd.Timestamp(date).value, "right"))
    if at == 0:
        raise KeyError(f"no {board} rule before {rows[0].start.date()} (date {date})")
    return rows[at - 1]


def order_size(board: str, date: pd.Timestamp, lot: int | None = None) -> OrderSize:
    """Order sizes of ``board`` on ``date``; ``lot`` (Rules.lot, a study's override) gives
    every board lots of that many shares."""
    if lot is not None:
        return OrderSize(lot, lot)
    return rule_on(board, date).order


def limit_free_days(board: str, listing_date: pd.Timestamp) -> int:
    """Trading days from a listing on ``listing_date`` on which no price limit applies:
    5 for registration-system IPOs (STAR; ChiNext from 2020-08-24; main board from
    2023-04-10), otherwise the listing day only."""
    return rule_on(board, listing_date).ipo_free_days


def limit_rates(
    board: np.ndarray,
    dates: pd.DatetimeIndex,
    is_st: np.ndarray | None = None,
    delisting: np.ndarray | None = None,
) -> np.ndarray:
    """Daily price-limit rate per (date, code), shape (T, N), from each stock's board
    (shape (N,)) and the rows of the table in force on each date; the risk-warning rate
    where ``is_st`` (shape (T, N)) is true; on days of a delisting arrangement period
    (``delisting``, shape (T, N)) the board's ordinary rate, and NaN on the period's first
    day where the row says so. NaN: no limit (before a board's limits began; codes without
    a board, such as indices)."""
    rates = np.full((len(dates), len(board)), np.nan)
    day = dates.to_numpy()
    first = None
    if delisting is not None:  # the first day marked: a suspension inside does not restart it
        first = delisting & (np.cumsum(delisting, axis=0) == 1)
    for name, rows in board_rules().items():
        cols = np.flatnonzero(board == name)
        if not len(cols):
            continue
        for k, row in enumerate(rows):
            end = rows[k + 1].start.to_datetime64() if k + 1 < len(rows) else None
            inside = (day >= row.start.to_datetime64()) & (True if end is None else day < end)
            if not inside.any():
                continue
            block = np.ix_(inside, cols)
            rates[block] = (
                row.limit if is_st is None else np.where(is_st[block], row.st_limit, row.limit)
            )
            if delisting is not None and first is not None:
                rates[block] = np.where(delisting[block], row.limit, rates[block])
                if row.delisting_first_day_free:
                    rates[block] = np.where(first[block], np.nan, rates[block])
    return rates


def round_to_fen(prices: np.ndarray) -> np.ndarray:
    """Round half up to 0.01 yuan, as the exchanges do for limit prices."""
    return np.floor(prices * 100.0 + 0.5 + 1e-9) / 100.0
