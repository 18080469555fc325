"""Daily price limits from arrays of bars: the reference price (the previous raw close,
adjusted on ex-rights days by the ratio of the adjustment factors: the exchange's
ex-rights reference price) times one plus or minus the day's rate, rounded to the fen.

The rates come from quant.market.rules (board_rules.csv, with their sources); the arrays
from a MarketPanel (quant.data.panel), which calls :func:`price_limits` a block of codes
at a time. This module knows nothing of the panel."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from quant.data.plausibility import suspect_factor_changes
from quant.market.rules import limit_rates, round_to_fen

PRICES = ("open", "high", "low", "close")
#: Half a fen: prices within this of a limit price are at the limit.
LIMIT_TOLERANCE = 0.005


def price_limits(
    bars: dict[str, np.ndarray],
    factor: np.ndarray,
    has_bar: np.ndarray,
    free: np.ndarray,
    rates: np.ndarray,
    suspect: np.ndarray,
    without_factor: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Limit-up and limit-down prices (T, n) float64 yuan, and the (T, n) mask of bars that
    trade outside that band.

    ``bars``: raw open, high, low, close in yuan (float64, NaN without a bar); ``factor``:
    the adjustment factor, filled within each code; ``has_bar``; ``free``: days free of any
    limit (after a listing; after a market-wide hole in the data, whose reference close is
    unknown); ``rates``: the day's rate (NaN: no limit); ``suspect``: ex-rights days whose
    factor change the prices do not bear out (T, n); ``without_factor``: codes without
    any factor (n,), whose ex-rights days are unknown.

    NaN (no limit claimed) without a bar, on free days, and where the reference cannot be
    trusted and the bar trades outside the band: a suspect ex-rights day; a day of a code
    without factors whose bar trades below the band (an ex-rights day nobody recorded
    lowers the reference; it never raises it). A bar outside its band on any other day
    keeps its limit (a stale ST flag, a day of a delisting arrangement, a data error: the
    rules still held, so a one-price bar at such a price stays untradable on the side it
    is stuck on).
    """
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
        below = bars["low"] < limit_down - LIMIT_TOLERANCE
    outside &= has_bar & ~free
    unknown = suspect | (below & without_factor[None, :])
    no_limit = ~has_bar | free | (outside & unknown)
    limit_up[no_limit] = np.nan
    limit_down[no_limit] = np.nan
    return limit_up, limit_down, outside


#: Codes computed at a time where (T, n) float64 temporaries are needed.
COLUMN_BLOCK = 256


def exact(values: np.ndarray, fen_prices: bool) -> np.ndarray:
    """Stored prices as exact float64 yuan: float32 values of whole-fen prices rounded back
    to the fen they were (A-share prices tick in 0.01 yuan); float64 prices as they are."""
    values = np.asarray(values, dtype=np.float64)
    return np.round(values, 2) if fen_prices else values


def blocks(n: int, size: int = COLUMN_BLOCK) -> list[slice]:
    """Slices of ``size`` columns covering ``n``."""
    return [slice(start, start + size) for start in range(0, n, size)]


def suspect_days(
    close: np.ndarray,
    adj_factor: np.ndarray,
    has_bar: np.ndarray,
    board: np.ndarray,
    dates: pd.DatetimeIndex,
    is_st: np.ndarray | None,
    fen_prices: bool,
    delisting: np.ndarray | None = None,
) -> np.ndarray:
    """(T, N) mask of the days whose adj_factor change the raw prices do not bear out
    (quant.data.plausibility.suspect_factor_changes, with each board's rate on each day and
    the risk-warning rate on ST days, the delisting period's on its days), a block of
    codes at a time."""
    out = np.zeros(has_bar.shape, dtype=bool)
    for cols in blocks(has_bar.shape[1], 2 * COLUMN_BLOCK):
        st = is_st[:, cols] if is_st is not None else None
        period = delisting[:, cols] if delisting is not None else None
        out[:, cols] = suspect_factor_changes(
            exact(close[:, cols], fen_prices),
            adj_factor[:, cols],
            has_bar[:, cols],
            limit_rates(board[cols], dates, st, period),
        )
    return out


def bands(
    bars: dict[str, np.ndarray],
    adj_factor: np.ndarray,
    has_bar: np.ndarray,
    new_listing: np.ndarray,
    board: np.ndarray,
    dates: pd.DatetimeIndex,
    is_st: np.ndarray | None,
    suspect: np.ndarray,
    without_factor: np.ndarray,
    fen_prices: bool,
    delisting: np.ndarray | None = None,
) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`price_limits` of every code, COLUMN_BLOCK codes at a time: (columns, limit
    up, limit down, outside the band). ``bars``: the stored open, high, low, close (T, N);
    the session after a session without any bar (a hole in the data) is free of limits,
    its reference close being unknown."""
    hole = ~has_bar.any(axis=1)
    unknown_reference = np.zeros(len(dates), dtype=bool)
    unknown_reference[1:] = hole[:-1]
    for cols in blocks(has_bar.shape[1]):
        st = is_st[:, cols] if is_st is not None else None
        period = delisting[:, cols] if delisting is not None else None
        up, down, outside = price_limits(
            {name: exact(bars[name][:, cols], fen_prices) for name in PRICES},
            adj_factor[:, cols],
            has_bar[:, cols],
            new_listing[:, cols] | unknown_reference[:, None],
            limit_rates(board[cols], dates, st, period),
            suspect[:, cols],
            without_factor[cols],
        )
        yield cols, up, down, outside
