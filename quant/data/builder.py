"""The arrays of a MarketPanel, built piece by piece so that a whole market never has to
sit in memory as a tidy table: the calendar and the codes come first (from the intake's
first pass over the dates and codes), the (session x code) arrays are allocated once in
compact types, and each piece of checked bars is scattered into them and dropped.

Compact types (5,200 stocks x 3,966 sessions: 20.6 M cells): open, high, low and close are
float32 when every price is a whole fen (A-share prices tick in 0.01 yuan; the panel's
``price()`` restores the exact yuan value), float64 otherwise; volume float64 (share counts
beyond float32's 16.7 M); amount float32 while every amount is a float32 value (sources that
store float32 amounts: the shared data, qlib folders), float64 otherwise, so no digit of a
source is lost; adj_factor float64; masks bool.

:meth:`PanelBuilder.finish` returns the fields of the MarketPanel (quant.data.panel builds
it): this module knows the panel's fields, not its class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from quant.data.errors import DataError
from quant.data.limits import (
    COLUMN_BLOCK,
    LIMIT_TOLERANCE,
    PRICES,
    bands,
    blocks,
    exact,
    suspect_days,
)
from quant.market.calendar import TradingCalendar
from quant.market.rules import board_opened, limit_free_days
from quant.market.securities import boards as board_of_codes

AT_LIMIT = ("open_at_limit_up", "open_at_limit_down", "close_at_limit_up", "close_at_limit_down")
#: A price this close to a whole fen is one (float noise of a decimal written as binary).
FEN_SLACK = 1e-6


class PanelBuilder:
    """Allocates the panel's arrays for the sessions of ``calendar`` and for ``codes``
    (distinct), takes pieces of checked tidy bars with :meth:`add`, and gives the
    MarketPanel's fields with :meth:`finish`. :meth:`add` raises DataError for a (code,
    date) given twice across pieces."""

    def __init__(
        self,
        calendar: TradingCalendar,
        codes: Sequence[str] | pd.Index,
        *,
        adj_factor: bool = True,
        is_st: bool = False,
        delisting: bool = False,
    ) -> None:
        self.calendar = calendar
        self.dates = calendar.sessions
        self.codes = pd.Index(sorted(set(map(str, codes))), name="code")
        shape = (len(self.dates), len(self.codes))
        self.fen_prices = True
        self.arrays: dict[str, np.ndarray] = {
            name: np.full(shape, np.nan, dtype=np.float32) for name in PRICES
        }
        self.arrays["volume"] = np.full(shape, np.nan)
        self.arrays["amount"] = np.full(shape, np.nan, dtype=np.float32)
        self.factor = np.full(shape, np.nan) if adj_factor else None
        self.has_bar = np.zeros(shape, dtype=bool)
        self.is_st = np.zeros(shape, dtype=bool) if is_st else None
        self.delisting = np.zeros(shape, dtype=bool) if delisting else None
        self.sources: dict[int, str] = {}  # column -> the piece that gave its first bars

    def add(self, frame: pd.DataFrame, source: str = "") -> None:
        """Scatter a checked tidy piece (sorted or not) into the arrays."""
        if not len(frame):
            return
        row = np.searchsorted(self.dates.to_numpy(), frame["date"].to_numpy())
        codes = frame["code"].astype("category")
        col = self.codes.get_indexer(codes.cat.categories.astype(str))[codes.cat.codes.to_numpy()]
        known = self.dates.to_numpy()[np.minimum(row, len(self.dates) - 1)]
        if (col < 0).any() or (known != frame["date"].to_numpy()).any():
            raise DataError(f"{source or 'bars'}: a code or date the first pass did not see")
        taken = self.has_bar[row, col]
        if taken.any():
            i = int(np.flatnonzero(taken)[0])
            earlier = self.sources.get(int(col[i]), "an earlier file")
            raise DataError(
                f"code {self.codes[col[i]]}, date {self.dates[row[i]].date()}: duplicate "
                f"(code, date) rows ({source or 'this piece'} and {earlier}); "
                f"{int(taken.sum())} such rows"
            )
        for column in np.unique(col):
            self.sources.setdefault(int(column), source or "an earlier piece")
        prices = {name: frame[name].to_numpy(dtype=np.float64) for name in PRICES}
        if "_off_fen" in frame.columns:  # check_values has looked
            whole = not frame["_off_fen"].to_numpy().any()
        else:
            whole = all(_whole_fen(values) for values in prices.values())
        if self.fen_prices and not whole:
            self.fen_prices = False  # exact decimals beyond the fen: keep float64
            for name in PRICES:
                self.arrays[name] = self.arrays[name].astype(np.float64)
        for name, values in prices.items():
            self.arrays[name][row, col] = values
        amount = frame["amount"].to_numpy(dtype=np.float64)
        if self.arrays["amount"].dtype == np.float32 and not _float32(amount):
            self.arrays["amount"] = self.arrays["amount"].astype(np.float64)
        self.arrays["amount"][row, col] = amount
        self.arrays["volume"][row, col] = frame["volume"].to_numpy(dtype=np.float64)
        if self.factor is not None and "adj_factor" in frame.columns:
            self.factor[row, col] = frame["adj_factor"].to_numpy(dtype=np.float64)
        if self.is_st is not None and "is_st" in frame.columns:
            self.is_st[row, col] = frame["is_st"].to_numpy(dtype=bool)
        if self.delisting is not None and "delisting" in frame.columns:
            self.delisting[row, col] = frame["delisting"].to_numpy(dtype=bool)
        self.has_bar[row, col] = True

    def finish(self, **facts: Any) -> dict[str, Any]:
        """The MarketPanel's fields: listing spans, adjustment factors filled within each
        code, limit-free days after listings, whether each open and close was at the day's
        limit (see quant.data.panel), the suspect factor changes (``suspect``, the panel's
        ``suspect_factor``), the bars outside their band (``outside``: rows, columns,
        limit kept), and ``facts`` (what the intake knows of the data:
        amount_approximated, code_changes, notes, suspended_at_end)."""
        dates, codes, has_bar = self.dates, self.codes, self.has_bar
        board = board_of_codes(codes)
        _check_board_opened(codes, board, dates, has_bar)
        first_row = np.argmax(has_bar, axis=0)
        last_row = len(dates) - 1 - np.argmax(has_bar[::-1], axis=0)
        rows = np.arange(len(dates))[:, None]
        listed = rows >= first_row[None, :]
        listed &= rows <= last_row[None, :]
        listed &= has_bar.any(axis=0)
        if self.factor is None:
            without = np.ones(len(codes), dtype=bool)
            factor = np.ones(has_bar.shape)
        else:
            without = np.isnan(self.factor).all(axis=0)
            factor = _filled(self.factor)
        free_days = np.array(
            [limit_free_days(b, dates[r]) if r > 0 and b else 0 for b, r in zip(board, first_row)],
            dtype=int,
        )
        new_listing = np.cumsum(has_bar, axis=0, dtype=np.int32) <= free_days[None, :]
        new_listing &= has_bar
        suspect = suspect_days(
            self.arrays["close"], factor, has_bar, board, dates, self.is_st, self.fen_prices,
            self.delisting,
        )  # fmt: skip
        at_limit = {name: np.zeros(has_bar.shape, dtype=bool) for name in AT_LIMIT}
        limits = bands(
            self.arrays, factor, has_bar, new_listing, board, dates, self.is_st,
            suspect, without, self.fen_prices, self.delisting,
        )  # fmt: skip
        cells: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for cols, up, down, outside in limits:
            r, c = np.nonzero(outside)
            cells.append((r, np.arange(len(codes))[cols][c], np.isfinite(up[r, c])))
            for field in ("open", "close"):
                price = exact(self.arrays[field][:, cols], self.fen_prices)
                with np.errstate(invalid="ignore"):
                    at_limit[f"{field}_at_limit_up"][:, cols] = price >= up - LIMIT_TOLERANCE
                    at_limit[f"{field}_at_limit_down"][:, cols] = price <= down + LIMIT_TOLERANCE
        return {
            "dates": dates,
            "codes": codes,
            **self.arrays,
            "adj_factor": factor,
            "listed": listed,
            "has_bar": has_bar,
            "new_listing": new_listing,
            **at_limit,
            "codes_without_adj": tuple(codes[without]),
            "board": board,
            "is_st": self.is_st if self.is_st is not None else np.zeros(has_bar.shape, bool),
            "calendar": self.calendar,
            "st_known": self.is_st is not None,
            "delisting": self.delisting,
            "fen_prices": self.fen_prices,
            "suspect": suspect,
            "outside": tuple(np.concatenate(parts) for parts in zip(*cells)) if cells else None,
            **facts,
        }


def _float32(values: np.ndarray) -> bool:
    """Whether float32 holds every value exactly."""
    return bool((values.astype(np.float32).astype(np.float64) == values).all())


def _whole_fen(values: np.ndarray) -> bool:
    cents = values * 100.0
    with np.errstate(invalid="ignore"):
        return bool((np.abs(cents - np.round(cents)) <= FEN_SLACK * 100).all())


def _filled(factor: np.ndarray) -> np.ndarray:
    """Factors filled forward, then backward, within each code; 1.0 for codes without any
    (in place, COLUMN_BLOCK codes at a time)."""
    for cols in blocks(factor.shape[1], COLUMN_BLOCK):
        block = pd.DataFrame(factor[:, cols]).ffill().bfill().to_numpy(copy=True)
        block[np.isnan(block)] = 1.0
        factor[:, cols] = block
    return factor


def _check_board_opened(
    codes: pd.Index, board: np.ndarray, dates: pd.DatetimeIndex, has_bar: np.ndarray
) -> None:
    """A stock with bars before its board's first rule date (STAR 2019-07-22, Beijing
    2020-07-27, ChiNext 2009-10-30) is mislabelled data: an error naming it."""
    first = np.argmax(has_bar, axis=0)
    for name in np.unique(board[board != ""]):
        opened = board_opened(str(name))
        early = np.flatnonzero((board == name) & (dates[first] < opened))
        if len(early):
            j = early[0]
            raise DataError(
                f"code {codes[j]}, date {dates[first[j]].date()}: a {name} stock with bars "
                f"before its board's rules begin ({opened.date()}); {len(early)} such codes. "
                "Drop the earlier bars, or check the codes"
            )
