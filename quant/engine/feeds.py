"""A backtrader data feed backed by plain arrays, built from the MarketPanel.

backtrader's stock PandasData reads one cell at a time; this feed fills each line's buffer
in one go when cerebro preloads, which is what makes a full-market backtest fast.

Every feed of a run spans the same calendar (the backtest window), bar for bar, so that
backtrader never waits for a late-listed stock and never keeps a delisted stock's last
bar forever: days without a real bar carry the last close (0 before the stock's first
bar: nothing later may leak backwards) with zero volume and ``tradable = 0``. Extra lines carry the A-share
rules: ``tradable``, ``listed``, ``buy_blocked`` / ``sell_blocked`` (at a price limit at
the fill price) and ``share_ratio`` (adjustment factor today / yesterday, != 1 on ex-rights
days).
"""

from __future__ import annotations

from array import array

import backtrader as bt
import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel

EXTRA_LINES = ("tradable", "listed", "buy_blocked", "sell_blocked", "share_ratio")
PRICE_LINES = ("open", "high", "low", "close")


class ArrayFeed(bt.feed.DataBase):
    lines = EXTRA_LINES
    params = (("columns", None),)

    def start(self) -> None:
        super().start()
        self._position = 0
        self._length = len(self.p.columns["datetime"])

    def preload(self) -> None:
        """Fill every line's buffer at once instead of bar by bar."""
        for name in self.lines.getlinealiases():
            getattr(self.lines, name).array = array("d", self.p.columns[name])
        self.home()

    def _load(self) -> bool:
        """Bar by bar, for runs without preloading."""
        if self._position >= self._length:
            return False
        for name in self.lines.getlinealiases():
            getattr(self.lines, name)[0] = self.p.columns[name][self._position]
        self._position += 1
        return True


def window_rows(dates: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> slice:
    """Rows of the backtest window: from the last trading day before ``start`` (day 0,
    where net value is 1 and the first decisions are taken) to the last day <= ``end``."""
    first = int(np.searchsorted(dates.to_numpy(), start.to_datetime64(), side="left"))
    last = int(np.searchsorted(dates.to_numpy(), end.to_datetime64(), side="right")) - 1
    if last < first:
        raise ValueError(f"no trading day between {start.date()} and {end.date()} in the data")
    return slice(max(first - 1, 0), last + 1)


def datetime_column(dates: pd.DatetimeIndex) -> list[float]:
    return [bt.date2num(d.to_pydatetime()) for d in dates]


def feed_columns(
    panel: MarketPanel, code: str, rows: slice, fill_at: str, datetimes: list[float]
) -> dict[str, list[float]]:
    """The lines of one code's feed over ``rows`` of ``panel``."""
    j = panel.column(code)
    has_bar = panel.has_bar[:, j]
    # Last close carried forward; 0 before the first bar (a later price would leak the future).
    close = pd.Series(panel.close[:, j]).ffill().fillna(0.0).to_numpy()
    columns: dict[str, list[float]] = {"datetime": datetimes}
    for name in PRICE_LINES:
        columns[name] = np.where(has_bar, getattr(panel, name)[:, j], close)[rows].tolist()
    columns["volume"] = np.nan_to_num(panel.volume[:, j])[rows].tolist()
    columns["openinterest"] = [0.0] * len(datetimes)
    columns["tradable"] = panel.tradable[rows, j].astype(float).tolist()
    columns["listed"] = panel.listed[rows, j].astype(float).tolist()
    at_up = panel.open_at_limit_up if fill_at == "open" else panel.close_at_limit_up
    at_down = panel.open_at_limit_down if fill_at == "open" else panel.close_at_limit_down
    columns["buy_blocked"] = at_up[rows, j].astype(float).tolist()
    columns["sell_blocked"] = at_down[rows, j].astype(float).tolist()
    factor = panel.adj_factor[:, j]
    ratio = np.ones(len(factor))
    ratio[1:] = np.where(has_bar[1:], factor[1:] / factor[:-1], 1.0)
    columns["share_ratio"] = ratio[rows].tolist()
    return columns


def make_feed(panel: MarketPanel, code: str, rows: slice, fill_at: str) -> ArrayFeed:
    datetimes = datetime_column(panel.dates[rows])
    feed = ArrayFeed(columns=feed_columns(panel, code, rows, fill_at, datetimes))
    feed._name = code
    return feed


def align(panel: MarketPanel, dates: pd.DatetimeIndex) -> MarketPanel:
    """``panel`` re-expressed on another calendar (e.g. an index on the stock calendar):
    dates it lacks get no bar."""
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
    )
