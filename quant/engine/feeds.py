"""A backtrader data feed backed by plain arrays, built from the MarketPanel.

backtrader's stock PandasData reads one cell at a time; this feed fills each line's buffer
in one go when cerebro preloads, which is what makes a full-market backtest fast.

Every feed of a run spans the same calendar (the backtest window), bar for bar, so that
backtrader never waits for a late-listed stock and never repeats a vanished stock's last
bar as if it traded: days without a real bar carry the last close (0 before the stock's
first bar: nothing later may leak backwards) with zero volume and not tradable. Two extra lines carry the A-share
rules: ``flags`` (tradable, listed, buy blocked at limit-up, sell blocked at limit-down at
the fill price; read them with the feed's methods) and ``share_ratio`` (adjustment factor
today / yesterday, != 1 on ex-rights days).
"""

from __future__ import annotations

from array import array

import backtrader as bt
import numpy as np
import pandas as pd
from backtrader.linebuffer import LineBuffer

from quant.data.panel import MarketPanel
from quant.market.calendar import TradingCalendar

PRICE_LINES = ("open", "high", "low", "close")
#: Bits of the ``flags`` line (one line instead of four: every line costs time per bar).
TRADABLE, LISTED, BUY_BLOCKED, SELL_BLOCKED = 1, 2, 4, 8


class ArrayFeed(bt.feed.DataBase):
    lines = ("flags", "share_ratio")
    params = (("columns", None),)
    #: The stock's board (quant.market.securities; "" for an index): its order sizes.
    board: str = ""

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

    def start(self) -> None:
        super().start()
        self._position = 0
        self._buffers = None
        self._times = self.p.columns["datetime"]
        self._length = len(self._times)
        self._tick_nullify()  # daily bars: the broker reads the bar itself, never ticks

    def preload(self) -> None:
        """Fill every line's buffer at once instead of bar by bar."""
        for name in self.lines.getlinealiases():
            getattr(self.lines, name).array = array("d", self.p.columns[name])
        self.home()
        buffers = list(self.lines)
        unbounded = all(b.mode == LineBuffer.UnBounded and not b.bindings for b in buffers)
        self._buffers = buffers if unbounded else None

    def home(self) -> None:
        super().home()
        self._position = 0

    # All feeds of a run share one calendar, so stepping needs none of backtrader's
    # resampling and tick bookkeeping (which costs more than the strategy itself).
    def advance_peek(self) -> float:
        return self._times[self._position] if self._position < self._length else float("inf")

    def advance(self, size: int = 1, datamaster: object = None, ticks: bool = True) -> None:
        if self._buffers is None:
            self.lines.advance(size)
        else:  # LineBuffer.advance without its property calls: the hot loop of a backtest
            for buffer in self._buffers:
                buffer._idx += size
                buffer.lencount += size
        self._position += size

    def _load(self) -> bool:
        """Bar by bar, for runs without preloading."""
        if self._position >= self._length:
            return False
        for name in self.lines.getlinealiases():
            getattr(self.lines, name)[0] = self.p.columns[name][self._position]
        self._position += 1
        return True


def datetime_column(dates: pd.DatetimeIndex) -> list[float]:
    return [bt.date2num(d.to_pydatetime()) for d in dates]


def make_feeds(panel: MarketPanel, codes: list[str], rows: slice, fill_at: str) -> list[ArrayFeed]:
    """Feeds for ``codes`` over ``rows`` of ``panel``, all columns computed at once."""
    if not codes:
        return []
    cols = np.array([panel.column(code) for code in codes])
    has_bar = panel.has_bar[:, cols]
    # Last close carried forward; 0 before the first bar (a later price would leak the future).
    close = pd.DataFrame(panel.close[:, cols]).ffill().fillna(0.0).to_numpy()
    columns: dict[str, np.ndarray] = {
        name: np.where(has_bar, getattr(panel, name)[:, cols], close)[rows] for name in PRICE_LINES
    }
    columns["volume"] = np.nan_to_num(panel.volume[rows][:, cols])
    at_up = panel.open_at_limit_up if fill_at == "open" else panel.close_at_limit_up
    at_down = panel.open_at_limit_down if fill_at == "open" else panel.close_at_limit_down
    has_listed = np.cumsum(has_bar, axis=0) > 0  # IPO passed; never "delisted": unknowable
    columns["flags"] = (
        panel.tradable[rows][:, cols] * TRADABLE
        + has_listed[rows] * LISTED
        + at_up[rows][:, cols] * BUY_BLOCKED
        + at_down[rows][:, cols] * SELL_BLOCKED
    ).astype(float)
    factor = panel.adj_factor[:, cols]
    ratio = np.ones(factor.shape)
    ratio[1:] = np.where(has_bar[1:], factor[1:] / factor[:-1], 1.0)
    columns["share_ratio"] = ratio[rows]
    times = datetime_column(panel.dates[rows])
    zeros = [0.0] * len(times)
    feeds = []
    for k, code in enumerate(codes):
        lines = {name: values[:, k].tolist() for name, values in columns.items()}
        feed = ArrayFeed(columns={"datetime": times, "openinterest": zeros, **lines})
        feed._name = code
        feed.board = str(panel.board[cols[k]])
        feeds.append(feed)
    return feeds


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
        for name in (*PRICE_LINES, "volume", "amount", "limit_up", "limit_down")
    }
    return MarketPanel(
        dates=dates,
        codes=panel.codes,
        **arrays,
        adj_factor=pd.DataFrame(on_calendar(panel.adj_factor, np.nan)).ffill().bfill().to_numpy(),
        listed=on_calendar(panel.listed, False),
        has_bar=on_calendar(panel.has_bar, False),
        new_listing=on_calendar(panel.new_listing, False),
        codes_without_adj=panel.codes_without_adj,
        board=panel.board,
        is_st=on_calendar(panel.is_st, False),
        calendar=calendar,
        st_known=panel.st_known,
    )
