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
- ``new_listing``: the limit-free days after an IPO (quant.market.rules.limit_free_days: the
  listing day, or the first 5 days of registration-system IPOs). A code whose first bar is
  the first session of the data is not counted as new: its listing is older.
- ``limit_up`` / ``limit_down``: reference price x (1 +/- rate), rounded half up to the fen,
  with the rate of the code's board and ST status on that date (quant.market.rules). The
  reference is the previous raw close, adjusted on ex-rights days by the ratio of the
  adjustment factors (the exchange's ex-rights reference price). NaN (no limit claimed) on
  days without a bar, the limit-free days after a listing, the session after a market-wide
  hole in the data (the reference close is unknown), and days whose bar trades outside the
  computed band (the reference was then wrong: an ex-rights day of a code without factors).
- ``adj_factor``: raw x adj_factor = back-adjusted price, filled forward and backward within
  each code; 1.0 for codes that have none (``codes_without_adj``), so adjusted = raw there.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from quant.data.validate import DataError, DataWarning
from quant.market.calendar import TradingCalendar
from quant.market.rules import (
    board_opened,
    limit_free_days,
    limit_rates,
    round_to_fen,
)
from quant.market.securities import boards as board_of_codes

#: Half a fen: prices within this of a limit price are at the limit.
LIMIT_TOLERANCE = 0.005
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
    limit_up: np.ndarray
    limit_down: np.ndarray
    codes_without_adj: tuple[str, ...]
    board: np.ndarray
    is_st: np.ndarray
    calendar: TradingCalendar
    st_known: bool = False  # the data has an is_st column
    amount_approximated: bool = False  # the source had no amount column (see validate)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, calendar: str = "exchange") -> MarketPanel:
        """Build from a validated tidy table (see :func:`quant.data.load_bars`) on the
        exchange's sessions (``calendar = "data"``: the data's own dates).

        Raises DataError for bars on days the exchange was closed and for stocks with bars
        before their board opened; warns (DataWarning) about sessions without any bar and
        data the exchange calendar does not cover.
        """
        bar_dates = pd.DatetimeIndex(np.unique(frame["date"].to_numpy()))
        trading, gaps = TradingCalendar.of(bar_dates, calendar)
        _check_closed_days(frame, gaps.closed)
        _warn_about_gaps(gaps, calendar)
        dates = trading.sessions
        row = np.searchsorted(dates.to_numpy(), frame["date"].to_numpy())
        col, codes = pd.factorize(frame["code"], sort=True)
        codes = pd.Index(codes.astype(str), name="code")
        shape = (len(dates), len(codes))

        def grid(values: np.ndarray, empty: float | bool = np.nan) -> np.ndarray:
            out = np.full(shape, empty, dtype=values.dtype if empty is False else float)
            out[row, col] = values
            return out

        arrays = {f: grid(frame[f].to_numpy(dtype=float)) for f in FIELDS}
        has_bar = np.zeros(shape, dtype=bool)
        has_bar[row, col] = True
        board = board_of_codes(codes)
        _check_board_opened(codes, board, dates, has_bar)
        st_known = "is_st" in frame.columns
        is_st = grid(frame["is_st"].to_numpy(dtype=bool), False) if st_known else None

        bars_so_far = np.cumsum(has_bar, axis=0)
        listed = (bars_so_far > 0) & (bars_so_far < bars_so_far[-1])
        listed |= has_bar  # includes the last bar itself

        if "adj_factor" in frame.columns:
            factor = pd.DataFrame(grid(frame["adj_factor"].to_numpy(dtype=float)))
            without = factor.isna().all().to_numpy()
            factor = factor.ffill().bfill().fillna(1.0).to_numpy()
        else:
            without = np.ones(len(codes), dtype=bool)
            factor = np.ones(shape)

        first_row = np.argmax(has_bar, axis=0)
        free_days = np.array(
            [limit_free_days(b, dates[r]) if r > 0 and b else 0 for b, r in zip(board, first_row)],
            dtype=int,
        )
        new_listing = has_bar & (bars_so_far <= free_days[None, :])
        hole = ~has_bar.any(axis=1)  # a session without any bar: a hole in the data
        unknown_reference = np.zeros(len(dates), dtype=bool)
        unknown_reference[1:] = hole[:-1]
        limit_up, limit_down = price_limits(
            arrays,
            factor,
            has_bar,
            new_listing | unknown_reference[:, None],
            limit_rates(board, dates, is_st),
        )
        return cls(
            dates=dates,
            codes=codes,
            **arrays,
            adj_factor=factor,
            listed=listed,
            has_bar=has_bar,
            new_listing=new_listing,
            limit_up=limit_up,
            limit_down=limit_down,
            codes_without_adj=tuple(codes[without]),
            board=board,
            is_st=is_st if is_st is not None else np.zeros(shape, dtype=bool),
            calendar=trading,
            st_known=st_known,
            amount_approximated=bool(frame.attrs.get("amount_approximated", False)),
        )

    # -- derived masks -------------------------------------------------------------
    @property
    def suspended(self) -> np.ndarray:
        return self.listed & ~self.has_bar

    @cached_property
    def tradable(self) -> np.ndarray:
        return self.has_bar & (np.nan_to_num(self.volume) > 0)

    @cached_property
    def open_at_limit_up(self) -> np.ndarray:
        return _at_or_above(self.open, self.limit_up)

    @cached_property
    def open_at_limit_down(self) -> np.ndarray:
        return _at_or_above(-self.open, -self.limit_down)

    @cached_property
    def close_at_limit_up(self) -> np.ndarray:
        return _at_or_above(self.close, self.limit_up)

    @cached_property
    def close_at_limit_down(self) -> np.ndarray:
        return _at_or_above(-self.close, -self.limit_down)

    # -- adjusted prices -----------------------------------------------------------
    def adjusted(self, field: str) -> np.ndarray:
        """Back-adjusted open/high/low/close (raw x adj_factor); cached per field."""
        if field not in ("open", "high", "low", "close"):
            raise ValueError(f"no adjusted {field!r}: choose open, high, low or close")
        cache = self.__dict__.setdefault("_adjusted", {})
        if field not in cache:
            cache[field] = getattr(self, field) * self.adj_factor
        return cache[field]

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
        finding). One row per pair: old, new, last_date, first_date, last_close,
        first_open. Name real code changes in a code-changes file (quant.data.code_changes)
        so that the histories are merged."""
        last, first = self.last_bar_row, self.first_bar_row
        ends = np.flatnonzero(last < len(self.dates) - 1)
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
        return pd.DataFrame(records, columns=columns)

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
            "codes_without_adj_factor": len(self.codes_without_adj),
            "codes_ending_early": int((self.last_bar_row < len(self.dates) - 1).sum()),
            "amount_approximated": self.amount_approximated,
        }


def price_limits(
    bars: dict[str, np.ndarray],
    factor: np.ndarray,
    has_bar: np.ndarray,
    free: np.ndarray,
    rates: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Limit-up and limit-down prices (T, N) from raw ``bars`` (open, high, low, close),
    the adjustment ``factor``, the daily ``rates`` (NaN: no limit) and the days ``free``
    of any limit; NaN where no limit is claimed (see the module's definitions)."""
    last_close = pd.DataFrame(bars["close"]).ffill().to_numpy()
    reference = np.full(has_bar.shape, np.nan)
    reference[1:] = last_close[:-1] * factor[:-1] / factor[1:]
    reference = round_to_fen(reference)
    limit_up = round_to_fen(reference * (1 + rates))
    limit_down = round_to_fen(reference * (1 - rates))
    with np.errstate(invalid="ignore"):
        outside = (bars["high"] > limit_up + LIMIT_TOLERANCE) | (
            bars["low"] < limit_down - LIMIT_TOLERANCE
        )
    no_limit = ~has_bar | free | outside
    limit_up[no_limit] = np.nan
    limit_down[no_limit] = np.nan
    return limit_up, limit_down


def _check_closed_days(frame: pd.DataFrame, closed: pd.DatetimeIndex) -> None:
    if not len(closed):
        return
    rows = frame[frame["date"].isin(closed)]
    first = rows.iloc[0]
    raise DataError(
        f"code {first['code']}, date {first['date'].date()}: a bar on a day the exchange was "
        f"closed ({len(rows)} such bars on {len(closed)} days: "
        f"{', '.join(str(d.date()) for d in closed[:5])}{', ...' if len(closed) > 5 else ''}); "
        "fix the dates, or use calendar = 'data' to trust the data's own dates"
    )


def _warn_about_gaps(gaps, calendar: str) -> None:
    if len(gaps.missing):
        days = ", ".join(str(d.date()) for d in gaps.missing[:5])
        warnings.warn(
            f"{len(gaps.missing)} exchange sessions have no bar for any code ({days}"
            f"{', ...' if len(gaps.missing) > 5 else ''}): a hole in the data; the session "
            "after each claims no price limit (its reference close is unknown)",
            DataWarning,
            stacklevel=3,
        )
    if gaps.data_only is not None and calendar == "exchange":
        warnings.warn(
            f"{len(gaps.data_only)} days from {gaps.data_only[0].date()} lie beyond the "
            "sessions exchange_calendars knows (XSHG): there the data's own dates are the "
            "trading days, and a hole in the data cannot be told from a holiday",
            DataWarning,
            stacklevel=3,
        )
    if calendar == "data":
        warnings.warn(
            "calendar = 'data': the trading days are the data's own dates; holes in the data "
            "and bars on closed days are not detected",
            DataWarning,
            stacklevel=3,
        )


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


def _at_or_above(price: np.ndarray, limit: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return price >= limit - LIMIT_TOLERANCE
