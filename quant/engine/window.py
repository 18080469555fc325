"""The window a backtest actually runs, and the inputs that must hold bars over all of it.

A window asked for as ``start .. end`` runs on the stock data's sessions (its
TradingCalendar) from **day 0**, the last session before ``start`` (the net value is 1 at
its close, where the first decisions are taken and the benchmark buys its index), to the
last session on or before ``end``. The window's first session is the first on or after
``start``: the first with a return.

**The first usable day** of an input is the session after its first bar: day 0 must be one
of its bars, so no window can start earlier. A strategy that needs history before its
first decision (momentum's 12 months of returns, cnn_lstm's training span) is a separate
matter that the strategy checks in its own ``prepare``; this module checks only that the
bars of the window exist. A window **runs past** the stock data when the session after the
data's last (TradingCalendar.following) falls on or before ``end``.

Every input a run reads must hold a bar on each session from day 0 to the last:

- the stock data: on each session some code has a bar (a session without any is a hole in
  the download; the XSHG calendar finds them, a data-only calendar cannot);
- each index a strategy holds (the benchmark's; AShareStrategy.index_codes): its bars,
  aligned to the stock sessions (quant.engine.feeds.align).

A window reaching before an input's first usable day or past its last bar is an error
naming the window asked for and what each input holds, unless ``clip`` (``--clip``): the
run is then cut to the span every input holds, with a warning and a note in the report. A
session missing inside that span is an error either way: cutting the ends cannot fill it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.engine.config import ConfigError
from quant.market.calendar import TradingCalendar

#: Missing sessions named in an error (then a count).
NAMED = 5


@dataclass(frozen=True, eq=False)
class Coverage:
    """One input's bars on the stock sessions: ``name`` says which input in messages
    (``stock data FILE``, ``index 000001.SH in FILE``); ``has_bar`` (T,) bool, one entry
    per session of the stock calendar."""

    name: str
    has_bar: np.ndarray

    @property
    def first(self) -> int:
        """Row of the first bar (T when there is none)."""
        return int(np.argmax(self.has_bar)) if self.has_bar.any() else len(self.has_bar)

    @property
    def last(self) -> int:
        """Row of the last bar (-1 when there is none)."""
        return (
            len(self.has_bar) - 1 - int(np.argmax(self.has_bar[::-1])) if self.has_bar.any() else -1
        )


def stock_coverage(panel: MarketPanel, source: str) -> Coverage:
    """The stock data's sessions with a bar for some code."""
    return Coverage(f"stock data {source}", panel.has_bar.any(axis=1))


def index_coverage(index_panel: MarketPanel, code: str, source: str) -> Coverage:
    """One index's sessions with a bar; ``index_panel`` aligned to the stock calendar.
    ConfigError when the index data has no such code."""
    if code not in index_panel.codes:
        raise ConfigError(
            f"index {code} is not in the index data {source} (it has "
            f"{', '.join(index_panel.codes)})"
        )
    return Coverage(f"index {code} in {source}", index_panel.has_bar[:, index_panel.column(code)])


@dataclass(frozen=True)
class RunWindow:
    """The window a backtest runs: ``sessions`` from day 0 (net value 1 at its close) to
    the last session, ``rows`` their rows in the stock calendar, the window ``asked`` for
    (start, end), and ``clipped``: the note saying how it was cut to the data (clip =
    true), or ""."""

    asked: tuple[pd.Timestamp, pd.Timestamp]
    sessions: pd.DatetimeIndex
    rows: slice
    clipped: str = ""

    @property
    def day_0(self) -> pd.Timestamp:
        return self.sessions[0]

    @property
    def first(self) -> pd.Timestamp:
        """The first session with a return."""
        return self.sessions[1]

    @property
    def last(self) -> pd.Timestamp:
        return self.sessions[-1]

    def as_dict(self) -> dict[str, Any]:
        """metrics.json's ``window``: the window run (first and last session, day 0, the
        count of sessions with a return), the window asked for, whether it was clipped."""
        return {
            "start": _day(self.first),
            "end": _day(self.last),
            "day_0": _day(self.day_0),
            "sessions": len(self.sessions) - 1,
            "asked": {"start": _day(self.asked[0]), "end": _day(self.asked[1])},
            "clipped": bool(self.clipped),
        }


def run_window(
    calendar: TradingCalendar,
    start: pd.Timestamp,
    end: pd.Timestamp,
    inputs: list[Coverage],
    clip: bool = False,
) -> RunWindow:
    """The window ``start .. end`` on ``calendar`` (the stock data's), checked against
    ``inputs`` (the stock data's coverage first, then the indices'): see the module's
    rules. ConfigError, naming the window asked for and what each input holds, for a
    window beyond an input's first usable day or last bar (unless ``clip``: then cut to
    the span all inputs hold), for a window without any session in the data, and for a
    session without a bar inside the window run."""
    days = calendar.sessions
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    day_0 = int(np.searchsorted(days.to_numpy(), start.to_datetime64(), side="left")) - 1
    last = int(np.searchsorted(days.to_numpy(), end.to_datetime64(), side="right")) - 1
    stock = inputs[0]
    short = [
        f"{c.name} holds {_span(days, c)}"
        for c in inputs
        if day_0 < c.first or last > c.last or (c is stock and calendar.following <= end)
    ]
    lo, hi = max(c.first for c in inputs), min(c.last for c in inputs)
    cut = (max(day_0, lo), min(last, hi))
    asked = f"the window asked for, {start.date()} .. {end.date()},"
    clipped = ""
    if short:
        usable = (
            f"windows from {days[lo + 1].date()} (day 0, the session before the start, needs "
            f"bars) to {days[hi].date()}"
            if hi > lo
            else "no window (they share no two sessions)"
        )
        if cut[1] <= cut[0]:
            raise ConfigError(f"{asked} has no session in the data: {'; '.join(short)}; {usable}")
        run = f"{days[cut[0] + 1].date()} .. {days[cut[1]].date()}"
        if not clip:
            raise ConfigError(
                f"{asked} reaches beyond the data: {'; '.join(short)}; {usable} can run: change "
                f"start/end, or clip = true (--clip) to run {run}"
            )
        clipped = (
            f"clipped: {asked} reaches beyond the data ({'; '.join(short)}); the run covers "
            f"{run} only (net value 1 at the close of {days[cut[0]].date()})"
        )
    elif last <= day_0:  # start .. end between two sessions
        raise ConfigError(f"{asked} has no trading day in {stock.name}")
    rows = slice(cut[0], cut[1] + 1) if short else slice(day_0, last + 1)
    window = RunWindow((start, end), days[rows], rows, clipped)
    check_covered(window, inputs)
    return window


def check_covered(window: RunWindow, inputs: list[Coverage]) -> None:
    """ConfigError naming the first input without a bar on a session of the window run
    (day 0 included), with the missing sessions."""
    for c in inputs:
        missing = window.sessions[~c.has_bar[window.rows]]
        if len(missing):
            named = ", ".join(str(d.date()) for d in missing[:NAMED])
            raise ConfigError(
                f"{c.name} has no bar on {len(missing)} of the {len(window.sessions)} sessions "
                f"of the window run, {window.day_0.date()} (day 0) .. {window.last.date()} "
                f"({named}{', ...' if len(missing) > NAMED else ''}): every input must hold "
                "each session; fill them, or run a window without them"
            )


def _span(days: pd.DatetimeIndex, c: Coverage) -> str:
    if c.last < c.first:
        return "no bar"
    return f"bars {days[c.first].date()} .. {days[c.last].date()}"


def _day(day: pd.Timestamp) -> str:
    return day.date().isoformat()
