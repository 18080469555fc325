"""backtrader data feeds backed by the MarketPanel's arrays, stepped by one of them.

A run has one feed per code of the strategy's plan, in its order; their lines are columns
of the run's matrices (:class:`Market`: open, high, low, close, volume, flags, share_ratio,
each (T, F) for T sessions and F feeds). cerebro steps only the first feed, the run's
*clock*; every other feed is *attached* to it: its lines read their matrix column at the
clock's position, so a bar costs the same whether the run has 5 feeds or 5,000 (backtrader
would otherwise advance, measure and compare every feed on every bar). To a strategy they
are ordinary feeds: ``self.datas`` (in the plan's order), ``self.data``,
``self.getdatabyname(code)``, their lines (``feed.close[0]``, ``feed.close[-1]``) and
backtrader's indicators on them.

Every feed spans the same calendar (the backtest window), bar for bar, so that backtrader
never waits for a late-listed stock and never repeats a vanished stock's last bar as if it
traded: days without a real bar carry the last close (0 before the stock's first bar:
nothing later may leak backwards) with zero volume and not tradable. Two extra lines carry
the A-share rules: ``flags`` (tradable, listed, buy blocked at limit-up, sell blocked at
limit-down at the fill price, read with the feed's methods; and a suspect adjustment-factor
change, MarketPanel.suspect_factor, which the broker reads from the matrix) and
``share_ratio`` (adjustment factor today / yesterday, != 1 on ex-rights days).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime as Datetime
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
from backtrader.linebuffer import LineBuffer

from quant.data.builder import AT_LIMIT
from quant.data.panel import MarketPanel
from quant.market.calendar import TradingCalendar

PRICE_LINES = ("open", "high", "low", "close")
MATRIX_LINES = (*PRICE_LINES, "volume", "flags", "share_ratio")
#: Bits of the ``flags`` line (one line instead of five).
TRADABLE, LISTED, BUY_BLOCKED, SELL_BLOCKED, SUSPECT_FACTOR = 1, 2, 4, 8, 16


class ArrayFeed(bt.feed.DataBase):
    lines = ("flags", "share_ratio")
    params = (("columns", None),)
    #: The stock's board (quant.market.securities; "" for an index): its order sizes.
    board: str = ""
    #: Column of the feed in its run's Market matrices (-1 for the clock).
    column: int = -1

    def tradable(self) -> bool:
        return bool(int(self.flags[0]) & TRADABLE)

    def listed(self) -> bool:
        """Has had its first bar (false before the IPO). Whether a stock without bars has
        been delisted cannot be known at the time, so there is no flag for it."""
        return bool(int(self.flags[0]) & LISTED)

    def buy_blocked(self) -> bool:
        """At limit-up at the fill price (the open, or the close with fill_at = close)."""
        return bool(int(self.flags[0]) & BUY_BLOCKED)

    def sell_blocked(self) -> bool:
        return bool(int(self.flags[0]) & SELL_BLOCKED)

    # The clock is the one feed cerebro steps: preloaded arrays, no tick bookkeeping.
    def start(self) -> None:
        super().start()
        self._position = 0
        self._times = self.p.columns["datetime"]
        self._length = len(self._times)
        self._tick_nullify()  # daily bars: the broker reads the bar itself, never ticks

    def preload(self) -> None:
        for name in self.lines.getlinealiases():
            getattr(self.lines, name).array = array("d", self.p.columns[name])
        self.home()

    def home(self) -> None:
        super().home()
        self._position = 0

    def advance_peek(self) -> float:
        return self._times[self._position] if self._position < self._length else float("inf")

    def advance(self, size: int = 1, datamaster: object = None, ticks: bool = True) -> None:
        self.lines.advance(size)
        self._position += size

    def _load(self) -> bool:
        """Bar by bar, for runs without preloading."""
        if self._position >= self._length:
            return False
        for name in self.lines.getlinealiases():
            getattr(self.lines, name)[0] = self.p.columns[name][self._position]
        self._position += 1
        return True


class ClockedBuffer(LineBuffer):
    """A line of an attached feed: one column of the run's matrix, read at the clock's
    position (``clock`` is the clock feed's datetime line)."""

    clock: LineBuffer

    def __getitem__(self, ago: int) -> float:
        return float(self.array[self.clock._idx + ago])

    def get_idx(self) -> int:
        return self.clock._idx

    idx = property(get_idx, LineBuffer.set_idx)

    def __len__(self) -> int:
        return self.clock.lencount


class ClockedTimes(ClockedBuffer):
    """The datetime line of an attached feed. Its datetimes are converted once per session
    (and time zone) for all the run's feeds, in ``datetimes``: backtrader converts one per
    fill to date the position."""

    datetimes: dict[tuple[int, Any, bool], Datetime]

    def datetime(self, ago: int = 0, tz: Any = None, naive: bool = True) -> Datetime:
        key = (self.clock._idx + ago, tz or self._tz, naive)
        value = self.datetimes.get(key)
        if value is None:
            value = self.datetimes[key] = super().datetime(ago, tz, naive)
        return value


@dataclass(eq=False)
class Market:
    """The feeds of one run and the matrices behind them, shape (T, F): T sessions of the
    window, F feeds in the order of ``feeds`` (the lines of MATRIX_LINES, and ``has_bar``:
    whether the code has a bar); the first feed is the clock cerebro steps.
    ``book`` holds the shares held per feed (kept by the broker); ``row`` is today's row
    while the run goes."""

    feeds: list[ArrayFeed]
    matrices: dict[str, np.ndarray]
    book: np.ndarray = field(init=False)
    #: The feed cerebro steps (the plan's first code): every other feed reads its position.
    clock: ArrayFeed = field(init=False)

    def __post_init__(self) -> None:
        self.book = np.zeros(len(self.feeds))
        self.names = [feed._name for feed in self.feeds]
        self.clock = self.feeds[0]

    @property
    def row(self) -> int:
        return self.clock.lines.datetime._idx

    def today(self, line: str) -> np.ndarray:
        """Today's values of a line for every feed, shape (F,)."""
        return self.matrices[line][self.row]

    def attach(self, cerebro: bt.Cerebro) -> None:
        """Add the clock to cerebro, and make the other feeds usable by the broker and
        strategies without cerebro stepping them: each line reads its matrix column at the
        clock's position, and is the feed's own attribute (``feed.close``), which
        backtrader otherwise finds through two fallbacks on every read, millions of reads
        in a wide backtest. Every feed is found by its code (``getdatabyname``)."""
        cerebro.adddata(self.clock, name=self.clock._name)
        clock = self.clock.lines.datetime
        times = np.asarray(self.clock.p.columns["datetime"], dtype=np.float64)
        zeros = np.zeros(len(times))
        datetimes: dict[tuple[int, Any, bool], Datetime] = {}
        for feed in self.feeds[1:]:
            cerebro.datasbyname[feed._name] = feed
            feed.setenvironment(cerebro)
            bt.feed.DataBase.start(feed)
            feed._start_finish()
            feed._tick_nullify()  # daily bars: the broker reads the bar itself, never ticks
            for name in feed.lines.getlinealiases():
                buffer = getattr(feed.lines, name)
                buffer.__class__ = ClockedBuffer
                buffer.clock = clock
                feed.__dict__[name] = buffer
                if name == "datetime":
                    buffer.__class__ = ClockedTimes
                    buffer.array, buffer.datetimes = times, datetimes
                elif name == "openinterest":
                    buffer.array = zeros
                else:
                    buffer.array = self.matrices[name][:, feed.column]


def datetime_column(dates: pd.DatetimeIndex) -> list[float]:
    return [bt.date2num(d.to_pydatetime()) for d in dates]


def market_matrices(
    panel: MarketPanel, codes: list[str], rows: slice, fill_at: str
) -> dict[str, np.ndarray]:
    """The (T, F) matrices of ``codes`` over ``rows`` of ``panel``, all computed at once
    (only the window's rows, and the rows before it for each code's last close)."""
    cols = panel.columns(codes)
    has_bar = panel.has_bar[rows][:, cols]
    before = panel.has_bar[: rows.start][:, cols]
    seen = before.any(axis=0)
    last = len(before) - 1 - np.argmax(before[::-1], axis=0) if len(before) else seen.astype(int)
    # Last close carried forward; 0 before the first bar (a later price would leak the future).
    close = np.where(has_bar, panel.price("close", rows, cols), np.nan)
    if not has_bar[0].all():
        before_close = panel.exact(panel.close[last, cols])
        close[0] = np.where(has_bar[0], close[0], np.where(seen, before_close, np.nan))
    close = pd.DataFrame(close).ffill().fillna(0.0).to_numpy()
    matrices: dict[str, np.ndarray] = {
        name: np.where(has_bar, panel.price(name, rows, cols), close) for name in PRICE_LINES
    }
    matrices["volume"] = np.nan_to_num(panel.volume[rows][:, cols])
    at_up = getattr(panel, f"{fill_at}_at_limit_up")[rows][:, cols]
    at_down = getattr(panel, f"{fill_at}_at_limit_down")[rows][:, cols]
    listed = has_bar.cumsum(axis=0) + seen > 0  # IPO passed; never "delisted": unknowable
    tradable = has_bar & (matrices["volume"] > 0)
    suspect = panel.suspect_factor[rows][:, cols]
    matrices["flags"] = (
        tradable * TRADABLE
        + listed * LISTED
        + at_up * BUY_BLOCKED
        + at_down * SELL_BLOCKED
        + suspect * SUSPECT_FACTOR
    ).astype(np.uint8)
    factor = panel.adj_factor[max(rows.start - 1, 0) : rows.stop][:, cols]
    ratio = np.ones(has_bar.shape)
    if rows.start > 0:
        ratio[:] = np.where(has_bar, factor[1:] / factor[:-1], 1.0)
    else:
        ratio[1:] = np.where(has_bar[1:], factor[1:] / factor[:-1], 1.0)
    matrices["share_ratio"] = ratio
    matrices["has_bar"] = has_bar
    return matrices


def make_market(sources: list[tuple[MarketPanel, list[str]]], rows: slice, fill_at: str) -> Market:
    """The run's Market: for each (panel, codes) of ``sources`` (the index panel and its
    codes, the stock panel and its codes), the codes' feeds over ``rows``; the panels share
    the calendar of the first. The first feed, the clock, holds its own columns (cerebro
    preloads and steps it); the others are attached to it (:meth:`Market.attach`).
    ValueError when no source names a code."""
    dates = sources[0][0].dates[rows]
    parts = [(panel, codes) for panel, codes in sources if codes]
    if not parts:
        raise ValueError("a market needs at least one code")
    blocks = [market_matrices(panel, codes, rows, fill_at) for panel, codes in parts]
    matrices = {name: np.hstack([b[name] for b in blocks]) for name in (*MATRIX_LINES, "has_bar")}
    times = datetime_column(dates)
    own = {name: matrices[name][:, 0] for name in MATRIX_LINES}
    clock_columns = {"datetime": times, "openinterest": np.zeros(len(times)), **own}
    feeds = []
    for panel, codes in parts:
        boards = panel.board[panel.columns(codes)]
        for code, board in zip(codes, boards):
            feed = ArrayFeed(columns=clock_columns if not feeds else {})
            feed._name, feed.board, feed.column = code, str(board), len(feeds)
            feeds.append(feed)
    return Market(feeds, matrices)


def align(panel: MarketPanel, calendar: TradingCalendar) -> MarketPanel:
    """``panel`` re-expressed on another calendar (e.g. an index on the stock calendar):
    dates it lacks get no bar."""
    dates = calendar.sessions
    source = panel.dates.get_indexer(dates)
    present = source >= 0
    take = np.where(present, source, 0)

    def on_calendar(values: np.ndarray, empty: float | bool) -> np.ndarray:
        out = values[take]
        out[~present] = empty
        return out

    arrays = {
        name: on_calendar(getattr(panel, name), np.nan)
        for name in (*PRICE_LINES, "volume", "amount")
    }
    masks = {name: on_calendar(getattr(panel, name), False) for name in AT_LIMIT}
    return MarketPanel(
        dates=dates,
        codes=panel.codes,
        **arrays,
        adj_factor=pd.DataFrame(on_calendar(panel.adj_factor, np.nan)).ffill().bfill().to_numpy(),
        listed=on_calendar(panel.listed, False),
        has_bar=on_calendar(panel.has_bar, False),
        new_listing=on_calendar(panel.new_listing, False),
        **masks,
        codes_without_adj=panel.codes_without_adj,
        board=panel.board,
        is_st=on_calendar(panel.is_st, False),
        calendar=calendar,
        st_known=panel.st_known,
        fen_prices=panel.fen_prices,
        delisting=None if panel.delisting is None else on_calendar(panel.delisting, False),
    )
