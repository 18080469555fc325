"""Inputs and labels of the CNN-LSTM strategy (Liu, Zhang, Ma 2017), vectorised over a
:class:`~quant.data.MarketPanel`.

Conventions (docs/cnn_lstm.md explains every choice):

- A *bar* is a tradable day of a code (a bar with positive volume). Daily returns and the
  LSTM windows run over a code's own bars, so a suspended day is skipped, not filled.
- Prices are back-adjusted (raw x adj_factor): the past never changes when a later
  dividend or split is booked, and every feature is a ratio of prices of the same code.
- Month ``k`` is decided at the close of the last trading day of month ``k - 1`` (its
  *decision row*) and held from then until the close before month ``k``'s last day.
- Nothing here looks past the row it serves: the inputs of row ``r`` read rows ``<= r``
  only; labels read the future and are built by separate functions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.market.calendar import Months

MONTHLY_RETURNS = 12  # months t-13 .. t-2
DAILY_RETURNS = 20  # the 20 most recent daily returns, up to the decision day
CNN_WIDTH = MONTHLY_RETURNS + DAILY_RETURNS
HISTORY_MONTHS = MONTHLY_RETURNS + 2  # month ends t-14 .. t-1 must all be in the calendar
WINDOW = 30  # LSTM window length in bars
WINDOW_FIELDS = ("open", "close", "high", "low", "amount", "volume")
HORIZON = 5  # LSTM label: close of d to close of d + 5 trading days
Z_CLIP = 5.0  # standardised CNN inputs are clipped to +/- this many deviations


#: Codes computed at a time where a (T, N) float64 temporary is needed.
COLUMN_BLOCK = 256


def carried_close(panel: MarketPanel) -> np.ndarray:
    """(T, N) adjusted close of each code's last tradable bar on or before each day; NaN
    before its first. A holder of a suspended or delisted code is marked at this price.
    Computed once per panel (in each process), COLUMN_BLOCK codes at a time."""
    cache = panel.__dict__.setdefault("_features", {})
    if "carried_close" not in cache:
        out = np.full(panel.has_bar.shape, np.nan)
        for start in range(0, len(panel.codes), COLUMN_BLOCK):
            cols = slice(start, start + COLUMN_BLOCK)
            adjusted = panel.price("close", slice(None), cols) * panel.adj_factor[:, cols]
            close = np.where(panel.tradable[:, cols], adjusted, np.nan)
            out[:, cols] = pd.DataFrame(close).ffill().to_numpy()
        cache["carried_close"] = out
    return cache["carried_close"]


# -- bars of each code, stacked ------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Bars:
    """The tradable bars of every code, stacked code after code in date order, so that
    "the last n bars of a code" is a slice ``p - n + 1 .. p`` of these flat arrays."""

    row: np.ndarray  # (B,) calendar row of each bar
    col: np.ndarray  # (B,) code column
    index: np.ndarray  # (B,) position of the bar among its code's bars
    number: np.ndarray  # (T, N) that position, -1 where the code has no tradable bar
    start: np.ndarray  # (N,) flat position of each code's first bar
    panel: MarketPanel  # where the bars' values are read (only those asked for)

    @classmethod
    def of(cls, panel: MarketPanel) -> Bars:
        col, row = np.nonzero(panel.tradable.T)  # sorted by code, then date
        count = np.cumsum(panel.tradable, axis=0, dtype=np.int32)
        number = np.where(panel.tradable, count - 1, -1).astype(np.int32)
        start = np.r_[0, np.cumsum(count[-1])[:-1]].astype(np.int64)
        index = (np.arange(len(row)) - start[col]).astype(np.int32)
        return cls(row.astype(np.int32), col.astype(np.int32), index, number, start, panel)

    def values(self, field: str, positions: np.ndarray) -> np.ndarray:
        """float64 values of ``field`` at flat bar ``positions`` (any shape): adjusted
        open/high/low/close (raw x adj_factor, as MarketPanel.adjusted), raw volume and
        amount. Read from the panel where asked, never for every bar at once."""
        rows, cols = self.row[positions], self.col[positions]
        panel = self.panel
        if field in ("open", "high", "low", "close"):
            return panel.adjusted_at(field, rows, cols)
        return getattr(panel, field)[rows, cols].astype(np.float64)

    def position(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Flat position of the bar at (row, col); -1 where that day is not a tradable bar."""
        number = self.number[rows, cols]
        return np.where(number >= 0, self.start[cols] + number, -1)

    def daily_returns(self, positions: np.ndarray) -> np.ndarray:
        """Return at each flat bar position from the previous bar's close of the same code
        (NaN on a code's first bar)."""
        positions = np.asarray(positions, dtype=np.int64)
        close = self.values("close", positions)
        previous = self.values("close", np.maximum(positions - 1, 0))
        out = close / previous - 1
        out[self.index[positions] == 0] = np.nan
        return out


# -- CNN: 32 returns per (decision date, code) ---------------------------------------------
@dataclass(frozen=True)
class CNNInputs:
    """One sample per (holding month, code) that can be scored, sorted by (month, col)."""

    month: np.ndarray  # holding month index into Months
    row: np.ndarray  # decision row
    col: np.ndarray
    x: np.ndarray  # (n, 32): 12 monthly returns then 20 daily returns, oldest first

    def take(self, keep: np.ndarray) -> CNNInputs:
        return CNNInputs(self.month[keep], self.row[keep], self.col[keep], self.x[keep])


def cnn_returns(
    panel: MarketPanel, months: Months, bars: Bars, only: np.ndarray | None = None
) -> CNNInputs:
    """Raw (unstandardised) CNN inputs at every decision date (of the holding months
    ``only``, if given).

    A code is scored for month t when it has a tradable bar on the decision date, a
    month-end price at the end of month t-14 (its carried close, so some trading by then)
    and at least 21 bars. Monthly return of month j: carried close at the end of j over
    that at the end of j-1; daily returns: the last 20 bar-to-bar returns of the code.
    """
    k = scored_months(months)
    if only is not None:
        k = k[np.isin(k, only)]
    end_close = carried_close(panel)[months.last_row]
    monthly = np.full_like(end_close, np.nan)
    monthly[1:] = end_close[1:] / end_close[:-1] - 1
    # months t-13 .. t-2 for each holding month t: shape (K, 12, N)
    lags = np.arange(-13, -1)
    past = monthly[k[:, None] + lags[None, :]]

    n_codes = len(panel.codes)
    rows = np.repeat(months.decision_row[k], n_codes)
    cols = np.tile(np.arange(n_codes), len(k))
    position = bars.position(rows, cols)
    enough = (position >= 0) & (bars.index[np.maximum(position, 0)] >= DAILY_RETURNS)
    daily = np.full((len(position), DAILY_RETURNS), np.nan)
    daily[enough] = bars.daily_returns(position[enough, None] + np.arange(-DAILY_RETURNS + 1, 1))

    x = np.concatenate([past.transpose(0, 2, 1).reshape(-1, MONTHLY_RETURNS), daily], axis=1)
    keep = enough & np.isfinite(x).all(axis=1)
    return CNNInputs(
        month=np.repeat(k, n_codes)[keep],
        row=rows[keep],
        col=cols[keep],
        x=x[keep],
    )


def standardise(inputs: CNNInputs, clip: float = Z_CLIP) -> CNNInputs:
    """Z-score each of the 32 inputs across the codes scored on the same decision date
    (uses that date's data only, so no scaler can leak the future), clipped to +/- clip."""
    frame = pd.DataFrame(inputs.x)
    groups = frame.groupby(inputs.month, sort=False)
    mean = groups.transform("mean").to_numpy()
    std = groups.transform("std", ddof=0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(std > 0, (inputs.x - mean) / std, 0.0)
    return replace(inputs, x=np.clip(z, -clip, clip).astype(np.float32))


def scored_months(months: Months) -> np.ndarray:
    """Holding months with a decision date and the 14 months of history before it."""
    return np.flatnonzero(
        (months.decision_row >= 0)
        & months.consecutive(np.arange(len(months.periods)), HISTORY_MONTHS)
    )


#: Holding months whose inputs are built at a time (their float64 temporaries grow with it).
MONTH_BLOCK = 24


def cnn_inputs(
    panel: MarketPanel, months: Months | None = None, bars: Bars | None = None
) -> CNNInputs:
    """Standardised CNN inputs of every decision date of the panel, built MONTH_BLOCK
    holding months at a time (standardising is per decision date, so blocks give the same
    values as the whole)."""
    months = months or panel.calendar.months
    bars = bars or Bars.of(panel)
    k = scored_months(months)
    blocks = [
        standardise(cnn_returns(panel, months, bars, k[start : start + MONTH_BLOCK]))
        for start in range(0, max(len(k), 1), MONTH_BLOCK)
    ]
    return CNNInputs(
        *(np.concatenate([getattr(b, f.name) for b in blocks]) for f in fields(CNNInputs))
    )


@dataclass(frozen=True)
class CNNLabels:
    ret: np.ndarray  # month t's return, decision close -> month t's last carried close
    label: np.ndarray  # 1.0 above the month's cross-sectional median, 0.0 else, NaN unknown
    end_row: np.ndarray  # the row the label is known at (month t's last day), -1 unknown


def cnn_labels(panel: MarketPanel, months: Months, inputs: CNNInputs) -> CNNLabels:
    """Month t's return of each sample and whether it beats the median of the codes scored
    that month. A code that stops trading within month t keeps the return to its last
    close (what a holder is marked at); it is not dropped. Unknown (NaN) when month t is
    not complete in the data."""
    done = months.complete[inputs.month]
    end_row = np.where(done, months.last_row[inputs.month], -1)
    close = carried_close(panel)
    ret = np.where(
        done,
        close[np.maximum(end_row, 0), inputs.col]
        / panel.adjusted_at("close", inputs.row, inputs.col)
        - 1,
        np.nan,
    )
    median = pd.Series(ret).groupby(inputs.month).transform("median").to_numpy()
    label = np.where(np.isfinite(ret), (ret > median).astype(float), np.nan)
    return CNNLabels(ret, label, end_row)


# -- LSTM: 30 x 6 windows per (code, day) --------------------------------------------------
def window_ends(bars: Bars, max_span: int) -> np.ndarray:
    """(B,) whether the 30 bars ending at each bar form a window: the code has 30 bars by
    then, and they lie within ``max_span`` trading days (no window glued across a long
    suspension)."""
    ok = bars.index >= WINDOW - 1
    first = np.maximum(np.arange(len(ok)) - (WINDOW - 1), 0)
    return ok & (bars.row - bars.row[first] < max_span)


def lstm_windows(bars: Bars, positions: np.ndarray) -> np.ndarray:
    """(M, 30, 6) float32 windows ending at the given flat bar positions (valid window
    ends only), in the order open, close, high, low, amount, volume, normalised within
    the window: prices over the window's last close minus 1; log(1 + amount) and
    log(1 + volume) z-scored over the window (0 where constant)."""
    positions = np.asarray(positions, dtype=np.int64)
    take = positions[:, None] + np.arange(-WINDOW + 1, 1)[None, :]
    last_close = bars.values("close", positions)[:, None]
    columns = []
    for field in WINDOW_FIELDS:
        values = bars.values(field, take)
        if field in ("amount", "volume"):
            values = np.log1p(values)
            std = values.std(axis=1, keepdims=True)
            values = np.where(std > 0, (values - values.mean(axis=1, keepdims=True)) / std, 0.0)
        else:
            values = values / last_close - 1
        columns.append(values)
    return np.stack(columns, axis=2).astype(np.float32)


def forward_returns(
    panel: MarketPanel, rows: np.ndarray, cols: np.ndarray, horizon: int = HORIZON
) -> tuple[np.ndarray, np.ndarray]:
    """LSTM label: return from the close of row d to the carried close of row d + horizon
    (trading days of the calendar; a code suspended then is marked at its last close).
    Returns (ret, label_row); ret is NaN where d + horizon is past the data."""
    rows = np.asarray(rows)
    label_row = rows + horizon
    inside = label_row < len(panel.dates)
    close = carried_close(panel)
    end = close[np.where(inside, label_row, 0), cols]
    ret = np.where(inside, end / panel.adjusted_at("close", rows, cols) - 1, np.nan)
    return ret, label_row
