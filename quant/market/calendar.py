"""The trading calendar: which days the exchanges were open, and every question about
trading days the platform asks (month ends and decision dates, the session after the
data's last, sessions per year for annualisation; a backtest's window is
quant.engine.window's).

Sessions come from ``exchange_calendars`` (calendar ``XSHG``: the Shanghai, Shenzhen and
Beijing exchanges keep the same holidays). The library records the holidays only up to a
year (its ``bound_max``, 2026-12-31 in version 4.13); data beyond that, or a user who asks
for it (``calendar = "data"``), falls back to the data's own dates, with a warning: on
those days a hole in the data cannot be told from a holiday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np
import pandas as pd

from quant.errors import UserError
from quant.metrics.performance import sessions_per_year_of

EXCHANGE_CALENDAR = "XSHG"
CALENDAR_KINDS = ("exchange", "data")


class CalendarError(UserError, ValueError):
    """A calendar that cannot be used (an unknown kind, a window without sessions)."""


@cache
def exchange_sessions() -> pd.DatetimeIndex:
    """Every XSHG session exchange_calendars knows (its bound_min .. bound_max)."""
    # 0.5 s to import: only when a calendar is built
    from exchange_calendars.exchange_calendar_xshg import XSHGExchangeCalendar as XSHG

    calendar = XSHG(start=XSHG.bound_min(), end=XSHG.bound_max())
    return pd.DatetimeIndex(calendar.sessions.astype("datetime64[ns]"), name=None)


def sessions_from(start: str | pd.Timestamp, count: int) -> pd.DatetimeIndex:
    """``count`` consecutive XSHG sessions from ``start`` on; past the last year the library
    knows, weekdays stand in (a synthetic market may run into the future)."""
    known = exchange_sessions()
    sessions = known[known >= pd.Timestamp(start)][:count]
    if len(sessions) < count:
        after = sessions[-1] if len(sessions) else pd.Timestamp(start) - pd.offsets.BDay(1)
        more = pd.bdate_range(after + pd.offsets.BDay(1), periods=count - len(sessions))
        sessions = sessions.append(more)
    return pd.DatetimeIndex(sessions.astype("datetime64[ns]"))


@dataclass(frozen=True)
class Months:
    """The calendar cut into calendar months (only months with sessions).

    Month ``k`` is decided at the close of the last session of month ``k - 1`` (its
    decision row) and held until the close before its own last session.
    """

    periods: pd.PeriodIndex
    first_row: np.ndarray
    last_row: np.ndarray
    #: False only for the last month when the sessions stop before that month's end.
    complete: np.ndarray
    n_rows: int

    @classmethod
    def of(cls, sessions: pd.DatetimeIndex, last_complete: bool) -> Months:
        periods = sessions.to_period("M")
        change = np.flatnonzero(periods[1:] != periods[:-1]) + 1
        first_row = np.r_[0, change]
        last_row = np.r_[change - 1, len(sessions) - 1]
        complete = np.ones(len(first_row), dtype=bool)
        complete[-1] = last_complete
        return cls(periods[first_row], first_row, last_row, complete, len(sessions))

    @cached_property
    def ordinal(self) -> np.ndarray:
        return np.asarray(self.periods.year * 12 + self.periods.month)

    def consecutive(self, k: np.ndarray, back: int) -> np.ndarray:
        """Whether month ``k`` and the ``back`` months before it are all in the calendar."""
        k = np.asarray(k)
        ok = k >= back
        earlier = np.where(ok, k - back, 0)
        return ok & (self.ordinal[k] - self.ordinal[earlier] == back)

    @cached_property
    def decision_row(self) -> np.ndarray:
        """Row deciding each month (last session of the previous month), -1 where none."""
        k = np.arange(len(self.periods))
        has = self.consecutive(k, 1)
        return np.where(has, self.last_row[np.maximum(k - 1, 0)], -1)

    @cached_property
    def end_rows(self) -> np.ndarray:
        """Rows of the last session of each complete month."""
        return self.last_row[self.complete]

    def holding_rows(self, k: int) -> np.ndarray:
        """Rows on which month ``k``'s holdings are decided: its decision row up to the day
        before its last session (that session decides month ``k + 1``); to the calendar's
        end if the month is incomplete."""
        if self.decision_row[k] < 0:
            raise ValueError(f"month {self.periods[k]} has no decision date in the data")
        stop = self.last_row[k] if self.complete[k] else self.n_rows
        return np.arange(self.decision_row[k], stop)

    def index(self, month: str | pd.Period) -> int:
        """Position of a calendar month; a clear error if it has no session."""
        period = pd.Period(month, freq="M")
        found = np.flatnonzero(self.periods == period)
        if not len(found):
            raise ValueError(
                f"month {period} has no trading day in the data "
                f"({self.periods[0]}..{self.periods[-1]})"
            )
        return int(found[0])


@dataclass(frozen=True, eq=False)
class TradingCalendar:
    """The sessions of a panel (its rows) and what follows from them.

    ``source`` is ``"XSHG"`` when every session comes from the exchange calendar, ``"data"``
    when they are the data's own dates, ``"XSHG+data"`` when the data runs past the
    library's last known year. ``next_session`` is the session after the last one when the
    exchange calendar knows it (None otherwise): it says whether the last month is complete.
    """

    sessions: pd.DatetimeIndex
    source: str = "data"
    next_session: pd.Timestamp | None = None

    @classmethod
    def of(cls, dates: pd.DatetimeIndex, kind: str = "exchange") -> tuple[TradingCalendar, Gaps]:
        """The calendar spanning ``dates`` (the sorted distinct dates of the data's bars),
        and what the data lacks or has too many of (see :class:`Gaps`)."""
        if kind not in CALENDAR_KINDS:
            raise CalendarError(f"calendar must be 'exchange' or 'data', not {kind!r}")
        dates = pd.DatetimeIndex(dates).astype("datetime64[ns]")
        if kind == "data" or not len(dates):
            return cls(dates, "data"), Gaps(data_only=dates if len(dates) else None)
        known = exchange_sessions()
        lo, hi = known[0], known[-1]
        inside = (dates >= lo) & (dates <= hi)
        sessions = known[(known >= dates[0]) & (known <= dates[-1])]
        closed = dates[inside].difference(sessions)
        missing = sessions.difference(dates)
        outside = dates[~inside]
        after = known[known > dates[-1]]
        calendar = cls(
            sessions.union(outside),
            "XSHG" if not len(outside) else "XSHG+data",
            after[0] if len(after) else None,
        )
        return calendar, Gaps(closed, missing, outside if len(outside) else None)

    # -- months --------------------------------------------------------------------------
    @cached_property
    def months(self) -> Months:
        return Months.of(self.sessions, self.last_month_complete)

    @property
    def last_month_complete(self) -> bool:
        """Whether the last session is its month's last: known from the exchange calendar;
        for data-only calendars, assumed when no weekday of the month follows it."""
        if not len(self.sessions):
            return False
        return self.following.to_period("M") != self.sessions[-1].to_period("M")

    @property
    def following(self) -> pd.Timestamp:
        """The session after the last one: the exchange's when the calendar knows it, else
        the next weekday (a data-only calendar cannot know the holidays). A backtest window
        ending on or after it runs past the data."""
        if self.next_session is not None:
            return self.next_session
        return self.sessions[-1] + pd.offsets.BDay(1)

    def month_end_rows(self) -> np.ndarray:
        """Rows of the last session of each complete month (decision dates of monthly
        strategies)."""
        return self.months.end_rows

    # -- years ---------------------------------------------------------------------
    def sessions_per_year(self, rows: slice | None = None) -> float:
        """Sessions per year of calendar time over ``rows`` (all by default): the count of
        daily returns (sessions - 1) over the years between the first and last session.
        The annualisation factor of daily volatility and Sharpe (about 243 on the SSE)."""
        try:
            return sessions_per_year_of(self.sessions[rows] if rows is not None else self.sessions)
        except ValueError as error:
            raise CalendarError(str(error)) from None


@dataclass(frozen=True)
class Gaps:
    """What the data's dates say against the exchange calendar: ``closed`` dates with bars
    on which the exchange was closed (an error), sessions ``missing`` from the data (no bar
    for any code: a hole in the download), and dates the calendar does not cover
    (``data_only``: beyond the library's known years, or every date with calendar = data)."""

    closed: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    missing: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    data_only: pd.DatetimeIndex | None = None
