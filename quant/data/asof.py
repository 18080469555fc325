"""The panel as it is known at a session's close: its rows up to that session, then the
next session of the calendar without any bar. A paper book's evening (quant.live) hands a
strategy this panel, which is what a backtest's window looks like on that evening: the
past, today's close, and a next session whose bars are not known yet (the exchange
publishes its calendar in advance, so month ends and the session after today are known).

Every array of the panel with a row per session is cut after ``session`` and given one
more row: no bar, no volume, no limit, the adjustment factor of the last row. Nothing
computed from later rows survives: ``listed`` (a code's first to last bar) is computed
again from the rows kept, and cached values (suspect factors) are cut the same way.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.market.calendar import TradingCalendar, exchange_sessions


def next_session(panel: MarketPanel, row: int) -> pd.Timestamp:
    """The session after row ``row`` of ``panel``: its next row, or past its end the
    calendar's next session (the exchange's, else the next weekday)."""
    if row + 1 < len(panel.dates):
        return panel.dates[row + 1]
    return panel.calendar.following


def as_of(panel: MarketPanel, session: pd.Timestamp) -> MarketPanel:
    """``panel`` as known at the close of ``session`` (a session of its calendar), with the
    next session as its last row, without bars (see the module). KeyError naming the date
    when ``session`` is not a session of the panel."""
    session = pd.Timestamp(session)
    row = panel.dates.get_indexer([session])[0]
    if row < 0:
        raise KeyError(f"{session.date()} is not a session of the data")
    following = next_session(panel, row)
    rows, size = slice(0, row + 1), len(panel.dates)
    values = {}
    for item in dataclasses.fields(MarketPanel):
        value = getattr(panel, item.name)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == size:
            value = _padded(value[rows], fill_last=item.name == "adj_factor")
        values[item.name] = value
    has_bar = values["has_bar"]
    seen = np.cumsum(has_bar, axis=0) > 0
    after = np.cumsum(has_bar[::-1], axis=0)[::-1] > 0
    values["listed"] = seen & after
    values["dates"] = panel.dates[rows].append(pd.DatetimeIndex([following]))
    exchange = panel.calendar.source != "data"  # a data-only calendar knows no holiday
    values["calendar"] = TradingCalendar(
        values["dates"], panel.calendar.source, _session_after(following) if exchange else None
    )
    values["suspended_at_end"] = panel.suspended_at_end if row == size - 1 else ()
    suspect = _padded(panel.suspect_factor[rows], fill_last=False)
    return MarketPanel(**values, suspect=suspect)


def _padded(values: np.ndarray, fill_last: bool) -> np.ndarray:
    """``values`` with one more row: a copy of the last (``fill_last``), else NaN for
    floats, False for booleans, 0 for integers."""
    if fill_last:
        extra = values[-1:]
    else:
        extra = np.zeros((1, *values.shape[1:]), dtype=values.dtype)
        if values.dtype.kind == "f":
            extra[:] = np.nan
    return np.concatenate([values, extra])


def _session_after(day: pd.Timestamp) -> pd.Timestamp | None:
    known = exchange_sessions()
    later = known[known > day]
    return later[0] if len(later) else None
