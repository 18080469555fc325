"""MarketPanel: a tidy table turned into aligned (session x code) arrays with the masks that
the A-share rules need. Every heavy computation of the platform reads these arrays.

Definitions (all arrays have shape (T, N), rows = the sessions of the panel's
:class:`~quant.market.TradingCalendar`, columns = codes):

- rows: the exchange's sessions from the data's first to its last day (exchange_calendars'
  XSHG); a bar on a day the exchange was closed is an error, a session without a bar for
  any code a warning (a hole in the data). ``calendar = "data"`` uses the data's own dates.
- ``listed``: from a code's first bar to its last bar, inclusive.
- ``has_bar``: the code has a bar that day; ``suspended`` = listed without a bar.
- ``tradable``: a bar with positive volume (zero-volume bars cannot be traded).
- ``board``: each code's board from the securities master (quant.market.securities):
  ``main``, ``chinext``, ``star``, ``bse``; empty for indices. Shape (N,).
- ``is_st``: the stock was under risk warning (ST/*ST) that day, from the data's optional
  ``is_st`` column; all false, and ``st_known`` false, without it.
- ``delisting``: the day is in the stock's delisting arrangement period (退市整理期), from
  the data's optional ``delisting`` column: the board's ordinary limit then, ST or not,
  and none on the period's first day under the 2020 listing rules (quant.market.rules);
  None without the column (those days then trade under the ordinary rules).
- ``new_listing``: the limit-free days after an IPO (quant.market.rules.limit_free_days: the
  listing day, or the first 5 days of registration-system IPOs). A code whose first bar is
  the first session of the data is not counted as new: its listing is older.
- ``limit_up`` / ``limit_down``: reference price x (1 +/- rate), rounded half up to the fen,
  with the rate of the code's board and ST status on that date (quant.market.rules). The
  reference is the previous raw close, adjusted on ex-rights days by the ratio of the
  adjustment factors (the exchange's ex-rights reference price). NaN (no limit claimed) on
  days without a bar, the limit-free days after a listing, the session after a market-wide
  hole in the data (the reference close is unknown), and days whose reference is not to be
  trusted and whose bar trades outside the computed band (an ex-rights day of a code
  without factors; an ex-rights day whose factor change is suspect). Any other bar outside
  its band keeps its limit and is listed in ``outside_band`` (a stale ST flag, a day of a
  delisting arrangement, a data error: quant.data.limits).
- ``adj_factor``: raw x adj_factor = back-adjusted price, filled forward and backward within
  each code; 1.0 for codes that have none (``codes_without_adj``), so adjusted = raw there.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from quant.data.errors import DataError
from quant.data.limits import LIMIT_TOLERANCE, PRICES, bands, exact, suspect_days
from quant.market.calendar import TradingCalendar
from quant.market.rules import limit_rates

__all__ = ["LIMIT_TOLERANCE", "PRICES", "CodeNotInData", "MarketPanel"]

#: A stock to be delisted trades this many sessions in its delisting arrangement period
#: (退市整理期: 15 sessions under the 2020 rules, 30 before; SSE/SZSE listing rules).
DELISTING_ARRANGEMENT_SESSIONS = 30
#: A new code whose first open lies within this fraction of an ending code's last close
#: the session before is a possible code change (quant.data.code_changes).
CODE_CHANGE_GAP = 0.05
FIELDS = ("open", "high", "low", "close", "volume", "amount")


class CodeNotInData(DataError, KeyError):
    """A code asked of the panel that the data does not hold."""

    __str__ = DataError.__str__  # the message, not KeyError's quoted repr of it


@dataclass(frozen=True, eq=False)
class MarketPanel:
    dates: pd.DatetimeIndex
    codes: pd.Index
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    amount: np.ndarray
    adj_factor: np.ndarray
    listed: np.ndarray
    has_bar: np.ndarray
    new_listing: np.ndarray
    open_at_limit_up: np.ndarray
    open_at_limit_down: np.ndarray
    close_at_limit_up: np.ndarray
    close_at_limit_down: np.ndarray
    codes_without_adj: tuple[str, ...]
    board: np.ndarray
    is_st: np.ndarray
    calendar: TradingCalendar
    st_known: bool = False  # the data has an is_st column
    amount_approximated: bool = False  # the source had no amount column (see validate)

    fen_prices: bool = True  # prices are whole fen: open..close kept as float32, exactly
    code_changes: tuple[dict, ...] = ()  # re-codings merged into it (old, new, date)
    #: What the intake found that every report must say (quant.data.notes): padded days
    #: dropped, the volume convention it measured, what the source's manifest records.
    notes: tuple[str, ...] = ()
    #: Codes the source knows to be listed but suspended on the data's last day (a qlib
    #: folder pads them to the end; a store's universe lists them): not delisted.
    suspended_at_end: tuple[str, ...] = ()
    #: (T, N) bool: days of a delisting arrangement period; None: the data does not say.
    delisting: np.ndarray | None = None
    #: What the builder computed on the way (suspect_factor; the bars outside their band
    #: as rows, columns and whether each keeps its limit), kept as the cached values.
    suspect: InitVar[np.ndarray | None] = None
    outside: InitVar[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = None

    def __post_init__(self, suspect: np.ndarray | None, outside: tuple | None) -> None:
        if suspect is not None:
            self.__dict__["suspect_factor"] = suspect  # the cached_property's value
        if outside is not None:
            self.__dict__["_outside_cells"] = outside

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, calendar: str = "exchange") -> MarketPanel:
        """The panel of a tidy table in memory (``load_bars`` gives one) on the exchange's
        sessions (``calendar = "data"``: the data's own dates): the same intake as any
        source (quant.data.intake), so the same checks. Raises DataError naming the row,
        code and date at fault; warns (DataWarning) as the intake does."""
        from quant.data.intake import Selection, panel_fields
        from quant.data.readers.frame import FrameReader

        return cls(**panel_fields(FrameReader(frame), Selection("mixed", calendar=calendar)))

    # -- exact prices ----------------------------------------------------------------
    def price(
        self, field: str, rows: slice | np.ndarray = slice(None), cols: Any = slice(None)
    ) -> np.ndarray:
        """Raw open/high/low/close in yuan, float64, of ``rows`` x ``cols``: the stored
        float32 values rounded back to the fen they were (A-share prices tick in 0.01 yuan),
        so every computation sees exactly the prices of the data."""
        if field not in PRICES:
            raise ValueError(f"no price {field!r}: choose open, high, low or close")
        block = getattr(self, field)[rows]
        if not (isinstance(cols, slice) and cols == slice(None)):
            block = block[:, cols]
        return self.exact(block)

    def exact(self, prices: np.ndarray) -> np.ndarray:
        """Stored prices (any selection of open/high/low/close cells) as exact float64 yuan."""
        return exact(prices, self.fen_prices)

    # -- derived masks -------------------------------------------------------------
    @property
    def suspended(self) -> np.ndarray:
        return self.listed & ~self.has_bar

    @cached_property
    def tradable(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return self.has_bar & (self.volume > 0)

    @cached_property
    def limit_up(self) -> np.ndarray:
        """(T, N) limit-up prices in yuan, float64, NaN where no limit is claimed (computed
        on first use; the panel keeps only whether the open and the close were at it)."""
        return self._limits[0]

    @cached_property
    def limit_down(self) -> np.ndarray:
        return self._limits[1]

    @cached_property
    def _limits(self) -> tuple[np.ndarray, np.ndarray]:
        up = np.full(self.has_bar.shape, np.nan)
        down = np.full(self.has_bar.shape, np.nan)
        for cols, block_up, block_down, _ in self._bands():
            up[:, cols], down[:, cols] = block_up, block_down
        return up, down

    def _bands(self):
        without = self.codes.isin(self.codes_without_adj)
        return bands(
            {name: getattr(self, name) for name in PRICES},
            self.adj_factor,
            self.has_bar,
            self.new_listing,
            self.board,
            self.dates,
            self.is_st if self.st_known else None,
            self.suspect_factor,
            without,
            self.fen_prices,
            self.delisting,
        )

    @cached_property
    def suspect_factor(self) -> np.ndarray:
        """(T, N) bool: days whose adj_factor change the raw prices do not bear out
        (quant.data.limits.suspect_days)."""
        return suspect_days(
            self.close,
            self.adj_factor,
            self.has_bar,
            self.board,
            self.dates,
            self.is_st if self.st_known else None,
            self.fen_prices,
            self.delisting,
        )

    @cached_property
    def outside_band(self) -> pd.DataFrame:
        """The bars that trade outside the limit band computed for their day, one row each:
        code, date, low, high, ``limit_kept`` (the limit is dropped only where the reference
        cannot be trusted: a code without adj_factor, whose ex-rights days are unknown; a
        suspect ex-rights day; elsewhere it is kept, quant.data.limits.price_limits) and
        ``reason``, what the bar may be (:meth:`_outside_reason`)."""
        r, c, kept = self._outside_cells
        frame = pd.DataFrame(
            {
                "code": self.codes[c],
                "date": self.dates[r],
                "low": self.exact(self.low[r, c]),
                "high": self.exact(self.high[r, c]),
                "limit_kept": kept,
                "reason": [
                    self._outside_reason(i, j, k)
                    for i, j, k in zip(r.tolist(), c.tolist(), kept.tolist())
                ],
            }
        )
        return frame.sort_values(["code", "date"], ignore_index=True)

    @cached_property
    def _outside_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and whether the limit is kept, of the bars outside their band."""
        rows, cols, kept = [], [], []
        for block, up, _, outside in self._bands():
            r, c = np.nonzero(outside)
            rows.append(r)
            cols.append(np.arange(len(self.codes))[block][c])
            kept.append(np.isfinite(up[r, c]))
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(kept)

    def _outside_reason(self, row: int, col: int, kept: bool) -> str:
        """What a bar outside its band may be: an unrecorded ex-rights day (a bar below the
        band of a code without adj_factor), a suspect ex-rights day, a day of a delisting arrangement (among the
        last DELISTING_ARRANGEMENT_SESSIONS of a code whose bars stop early; its limit is
        the board's, ST or not), a stale ST flag (its move fits the limit of the other ST
        status), the first bar after
        a suspension (a resumption after a restructuring, which may trade without a limit
        on its first day), else a data error."""
        if self.codes[col] in self.codes_without_adj and not kept:
            return "ex-rights day of a code without adj_factor?"
        if self.suspect_factor[row, col]:
            return "suspect ex-rights day"
        last = self.last_bar_row[col]
        if last < len(self.dates) - 1 and last - row < DELISTING_ARRANGEMENT_SESSIONS:
            return "delisting arrangement?"
        if self.st_known:
            other = np.array([[not self.is_st[row, col]]])
            rate = limit_rates(self.board[[col]], self.dates[[row]], other)[0, 0]
            closes = self.exact(self.close[:row, col])
            closes = closes[~np.isnan(closes)]
            if len(closes) and not np.isnan(rate):
                reference = closes[-1] * self.adj_factor[row - 1, col] / self.adj_factor[row, col]
                slack = 2 * LIMIT_TOLERANCE
                high, low = self.exact(self.high[row, col]), self.exact(self.low[row, col])
                if reference * (1 - rate) - slack <= low and high <= reference * (1 + rate) + slack:
                    return "stale ST flag?"
        if row > 0 and not self.has_bar[row - 1, col]:
            before = np.flatnonzero(self.has_bar[:row, col])
            gap = row - 1 - (before[-1] if len(before) else -1)
            return f"resuming after {gap} suspended sessions?"
        return "data error?"

    # -- adjusted prices -----------------------------------------------------------
    def adjusted(self, field: str) -> np.ndarray:
        """Back-adjusted open/high/low/close (raw x adj_factor), float64 (T, N); cached per
        field."""
        cache = self.__dict__.setdefault("_adjusted", {})
        if field not in cache:
            cache[field] = self.price(field) * self.adj_factor
        return cache[field]

    def adjusted_at(self, field: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Back-adjusted ``field`` at the cells (rows[i], cols[i]), float64, without the
        (T, N) cache of :meth:`adjusted` (the same values)."""
        return self.exact(getattr(self, field)[rows, cols]) * self.adj_factor[rows, cols]

    @property
    def adj_close(self) -> np.ndarray:
        return self.adjusted("close")

    # -- lookup and summary --------------------------------------------------------
    def column(self, code: str) -> int:
        """Column of a code; a clear error for codes not in the panel."""
        position = self.codes.get_indexer([code])[0]
        if position < 0:
            raise CodeNotInData(f"code {code} is not in the data ({len(self.codes)} codes)")
        return int(position)

    def columns(self, codes: list[str]) -> np.ndarray:
        """Columns of several codes (shape (len(codes),)); KeyError naming the first code
        not in the panel."""
        found = self.codes.get_indexer(codes)
        if (found < 0).any():
            self.column(codes[int(np.argmax(found < 0))])
        return found

    @property
    def last_bar_row(self) -> np.ndarray:
        """Row of each code's last bar (a delisted code's last day of trading)."""
        return len(self.dates) - 1 - np.argmax(self.has_bar[::-1], axis=0)

    @property
    def first_bar_row(self) -> np.ndarray:
        """Row of each code's first bar."""
        return np.argmax(self.has_bar, axis=0)

    @cached_property
    def code_change_candidates(self) -> pd.DataFrame:
        """Pairs of codes that look like one security re-coded: the old code's bars stop,
        the new code's start on the next session, on the same exchange and board, with a
        first open within CODE_CHANGE_GAP (5 %) of the old code's last close (a new
        listing has no such anchor, but may match by chance: a suggestion to check, not a
        finding). Only pairs where one old code meets one new code: a new code near two
        ending codes' closes (or an ending code near two new ones) is no evidence of either.
        One row per pair: old, new, last_date, first_date, last_close, first_open. Name
        real code changes in a code-changes file (quant.data.code_changes) so that the
        histories are merged."""
        last, first = self.last_bar_row, self.first_bar_row
        ending = (last < len(self.dates) - 1) & ~self.codes.isin(self.suspended_at_end)
        ends = np.flatnonzero(ending)
        starts = np.flatnonzero(first > 0)
        exchange = np.array([c[-2:] for c in self.codes])
        records = []
        for old in ends:  # few codes end early; each is compared with the next day's new codes
            for new in starts[first[starts] == last[old] + 1]:
                if exchange[new] != exchange[old] or self.board[new] != self.board[old]:
                    continue
                last_close = self.close[last[old], old]
                first_open = self.open[first[new], new]
                if abs(first_open / last_close - 1.0) <= CODE_CHANGE_GAP:
                    records.append(
                        (
                            self.codes[old],
                            self.codes[new],
                            self.dates[last[old]].date().isoformat(),
                            self.dates[first[new]].date().isoformat(),
                            float(last_close),
                            float(first_open),
                        )
                    )
        columns = ["old", "new", "last_date", "first_date", "last_close", "first_open"]
        pairs = pd.DataFrame(records, columns=columns)
        alone = ~pairs["old"].duplicated(keep=False) & ~pairs["new"].duplicated(keep=False)
        return pairs[alone].reset_index(drop=True)

    def summary(self) -> dict[str, object]:
        listed_days = int(self.listed.sum())
        return {
            "codes": len(self.codes),
            "first_date": self.dates[0].date().isoformat(),
            "last_date": self.dates[-1].date().isoformat(),
            "trading_days": len(self.dates),
            "calendar": self.calendar.source,
            "rows": int(self.has_bar.sum()),
            "boards": {str(b): int((self.board == b).sum()) for b in np.unique(self.board) if b},
            "suspended_share": float(self.suspended.sum() / listed_days) if listed_days else 0.0,
            "zero_volume_bars": int((self.has_bar & ~self.tradable).sum()),
            "st_stock_days": int(self.is_st.sum()) if self.st_known else None,
            "delisting_stock_days": int(self.delisting.sum())
            if self.delisting is not None
            else None,
            "codes_without_adj_factor": len(self.codes_without_adj),
            "codes_ending_early": int((self.last_bar_row < len(self.dates) - 1).sum()),
            "codes_suspended_at_end": len(self.suspended_at_end),
            "amount_approximated": self.amount_approximated,
        }
