"""Building a MarketPanel piece by piece, so that a whole market never has to sit in memory
as a tidy table: the calendar and the codes come first (from a light scan of the dates and
codes), the (session x code) arrays are allocated once in compact types, and each piece of
validated bars (a file, or whole codes of a big file) is scattered into them and dropped.

Compact types (5,200 stocks x 3,966 sessions: 20.6 M cells): open, high, low and close are
float32 when every price is a whole fen (A-share prices tick in 0.01 yuan; the panel's
``price()`` restores the exact yuan value), float64 otherwise; volume float64 (share counts
beyond float32's 16.7 M); amount float32 (7 significant digits of a day's yuan turnover);
adj_factor float64; limit prices float32 (whole fen); masks bool.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from quant.data.panel import LIMIT_TOLERANCE, PRICES, MarketPanel
from quant.data.validate import DataError, DataWarning
from quant.market.calendar import Gaps, TradingCalendar, exchange_sessions
from quant.market.rules import board_opened, limit_free_days, limit_rates, round_to_fen
from quant.market.securities import boards as board_of_codes

#: Columns of the panel computed at a time where (T, N) float64 temporaries are needed.
COLUMN_BLOCK = 256
#: A price this close to a whole fen is one (float noise of a decimal written as binary).
FEN_SLACK = 1e-6


def trading_calendar(bar_dates: pd.DatetimeIndex, kind: str = "exchange") -> TradingCalendar:
    """The calendar spanning the data's distinct bar dates, with a warning for sessions the
    data lacks and for dates the exchange calendar does not cover (bars on closed days are
    the caller's check: :func:`check_closed_days`, which can name the code)."""
    calendar, gaps = TradingCalendar.of(bar_dates, kind)
    _warn_about_gaps(gaps, kind)
    return calendar


def closed_days(dates: pd.Series | np.ndarray, kind: str = "exchange") -> np.ndarray:
    """Which of ``dates`` are days the exchange was closed (within the years the exchange
    calendar knows; none with the data's own calendar)."""
    if kind != "exchange":
        return np.zeros(len(dates), dtype=bool)
    known = exchange_sessions()
    dates = np.asarray(dates, dtype="datetime64[ns]")
    inside = (dates >= known[0].to_datetime64()) & (dates <= known[-1].to_datetime64())
    return inside & ~np.isin(dates, known.to_numpy())


class PanelBuilder:
    """Allocates the panel's arrays for the sessions of ``calendar`` and for ``codes``
    (distinct), takes pieces of validated tidy bars with :meth:`add`, and makes the
    MarketPanel with :meth:`finish`. :meth:`add` raises DataError for a (code, date) given
    twice across pieces."""

    def __init__(
        self,
        calendar: TradingCalendar,
        codes: Sequence[str] | pd.Index,
        *,
        adj_factor: bool = True,
        is_st: bool = False,
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
        self.sources: dict[int, str] = {}  # column -> the piece that gave its first bars

    def add(self, frame: pd.DataFrame, source: str = "") -> None:
        """Scatter a validated tidy piece (sorted or not) into the arrays."""
        if not len(frame):
            return
        row = np.searchsorted(self.dates.to_numpy(), frame["date"].to_numpy())
        codes = frame["code"].astype("category")
        col = self.codes.get_indexer(codes.cat.categories.astype(str))[codes.cat.codes.to_numpy()]
        known = self.dates.to_numpy()[np.minimum(row, len(self.dates) - 1)]
        if (col < 0).any() or (known != frame["date"].to_numpy()).any():
            raise DataError(f"{source or 'bars'}: a code or date the scan of the data did not see")
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
        if self.fen_prices and not all(_whole_fen(values) for values in prices.values()):
            self.fen_prices = False  # exact decimals beyond the fen: keep float64
            for name in PRICES:
                self.arrays[name] = self.arrays[name].astype(np.float64)
        for name, values in prices.items():
            self.arrays[name][row, col] = values
        for name in ("volume", "amount"):
            self.arrays[name][row, col] = frame[name].to_numpy(dtype=np.float64)
        if self.factor is not None and "adj_factor" in frame.columns:
            self.factor[row, col] = frame["adj_factor"].to_numpy(dtype=np.float64)
        if self.is_st is not None and "is_st" in frame.columns:
            self.is_st[row, col] = frame["is_st"].to_numpy(dtype=bool)
        self.has_bar[row, col] = True

    def finish(
        self, amount_approximated: bool = False, code_changes: tuple[dict, ...] = ()
    ) -> MarketPanel:
        """The panel: listing spans, adjustment factors filled within each code, limit-free
        days after listings, and the day's limit prices (see quant.data.panel).
        ``code_changes``: those merged into it (quant.data.code_changes), for the record."""
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
        at_limit = {name: np.zeros(has_bar.shape, dtype=bool) for name in AT_LIMIT}
        panel = MarketPanel(
            dates=dates,
            codes=codes,
            **self.arrays,
            adj_factor=factor,
            listed=listed,
            has_bar=has_bar,
            new_listing=new_listing,
            **at_limit,
            codes_without_adj=tuple(codes[without]),
            board=board,
            is_st=self.is_st if self.is_st is not None else np.zeros(has_bar.shape, dtype=bool),
            calendar=self.calendar,
            st_known=self.is_st is not None,
            amount_approximated=amount_approximated,
            fen_prices=self.fen_prices,
            code_changes=code_changes,
        )
        for cols, up, down in _limit_blocks(panel):
            for field in ("open", "close"):
                price = panel.price(field, slice(None), cols)
                with np.errstate(invalid="ignore"):
                    at_limit[f"{field}_at_limit_up"][:, cols] = price >= up - LIMIT_TOLERANCE
                    at_limit[f"{field}_at_limit_down"][:, cols] = price <= down + LIMIT_TOLERANCE
        return panel


AT_LIMIT = ("open_at_limit_up", "open_at_limit_down", "close_at_limit_up", "close_at_limit_down")


def limit_prices(panel: MarketPanel) -> tuple[np.ndarray, np.ndarray]:
    """The panel's limit-up and limit-down prices, (T, N) float64 yuan, NaN where no limit
    is claimed (see quant.data.panel), computed COLUMN_BLOCK codes at a time."""
    up = np.full(panel.has_bar.shape, np.nan)
    down = np.full(panel.has_bar.shape, np.nan)
    for cols, block_up, block_down in _limit_blocks(panel):
        up[:, cols], down[:, cols] = block_up, block_down
    return up, down


def _limit_blocks(panel: MarketPanel) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    hole = ~panel.has_bar.any(axis=1)  # a session without any bar: a hole in the data
    unknown_reference = np.zeros(len(panel.dates), dtype=bool)
    unknown_reference[1:] = hole[:-1]
    for start in range(0, len(panel.codes), COLUMN_BLOCK):
        cols = slice(start, start + COLUMN_BLOCK)
        is_st = panel.is_st[:, cols] if panel.st_known else None
        up, down = price_limits(
            {name: panel.price(name, slice(None), cols) for name in PRICES},
            panel.adj_factor[:, cols],
            panel.has_bar[:, cols],
            panel.new_listing[:, cols] | unknown_reference[:, None],
            limit_rates(panel.board[cols], panel.dates, is_st),
        )
        yield cols, up, down


def _whole_fen(values: np.ndarray) -> bool:
    cents = values * 100.0
    with np.errstate(invalid="ignore"):
        return bool((np.abs(cents - np.round(cents)) <= FEN_SLACK * 100).all())


def _filled(factor: np.ndarray) -> np.ndarray:
    """Factors filled forward, then backward, within each code; 1.0 for codes without any
    (in place, COLUMN_BLOCK codes at a time)."""
    for start in range(0, factor.shape[1], COLUMN_BLOCK):
        cols = slice(start, start + COLUMN_BLOCK)
        block = pd.DataFrame(factor[:, cols]).ffill().bfill().to_numpy(copy=True)
        block[np.isnan(block)] = 1.0
        factor[:, cols] = block
    return factor


def price_limits(
    bars: dict[str, np.ndarray],
    factor: np.ndarray,
    has_bar: np.ndarray,
    free: np.ndarray,
    rates: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Limit-up and limit-down prices (T, n) from raw ``bars`` (open, high, low, close in
    yuan, float64), the adjustment ``factor``, the daily ``rates`` (NaN: no limit) and the
    days ``free`` of any limit; NaN where no limit is claimed (see quant.data.panel)."""
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


def check_closed_days(
    dates: pd.Series, codes: pd.Series, kind: str = "exchange", source: str = ""
) -> None:
    """DataError naming the first bar (code, date, file) on a day the exchange was closed."""
    closed = closed_days(dates, kind)
    if not closed.any():
        return
    first = int(np.flatnonzero(closed)[0])
    days = pd.DatetimeIndex(np.unique(np.asarray(dates)[closed]))
    raise DataError(
        f"{source + ', ' if source else ''}code {codes.iloc[first]}, date "
        f"{pd.Timestamp(dates.iloc[first]).date()}: a bar on a day the exchange was closed "
        f"({int(closed.sum())} such bars on {len(days)} days: "
        f"{', '.join(str(d.date()) for d in days[:5])}{', ...' if len(days) > 5 else ''}); "
        "fix the dates, or use calendar = 'data' to trust the data's own dates"
    )


def _warn_about_gaps(gaps: Gaps, calendar: str) -> None:
    if len(gaps.missing):
        days = ", ".join(str(d.date()) for d in gaps.missing[:5])
        warnings.warn(
            f"{len(gaps.missing)} exchange sessions have no bar for any code ({days}"
            f"{', ...' if len(gaps.missing) > 5 else ''}): a hole in the data; the session "
            "after each claims no price limit (its reference close is unknown)",
            DataWarning,
            stacklevel=4,
        )
    if gaps.data_only is not None and calendar == "exchange":
        warnings.warn(
            f"{len(gaps.data_only)} days from {gaps.data_only[0].date()} lie beyond the "
            "sessions exchange_calendars knows (XSHG): there the data's own dates are the "
            "trading days, and a hole in the data cannot be told from a holiday",
            DataWarning,
            stacklevel=4,
        )
    if calendar == "data":
        warnings.warn(
            "calendar = 'data': the trading days are the data's own dates; holes in the data "
            "and bars on closed days are not detected",
            DataWarning,
            stacklevel=4,
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
