"""MarketPanel: a tidy table turned into aligned (trading day x code) arrays with the masks
that the A-share rules need. Every heavy computation of the platform reads these arrays.

Definitions (all arrays have shape (T, N), rows = trading calendar, columns = codes):

- calendar: every date on which at least one code has a bar.
- ``listed``: from a code's first bar to its last bar, inclusive.
- ``has_bar``: the code has a bar that day; ``suspended`` = listed without a bar.
- ``tradable``: a bar with positive volume (zero-volume bars cannot be traded).
- ``new_listing``: the limit-free days after an IPO (first day; first 5 days under the
  registration system, see :func:`quant.data.schema.limit_free_days`). A code whose first
  bar is the first day of the data is not counted as new: its listing is older.
- ``limit_up`` / ``limit_down``: reference price x (1 +/- rate), rounded to the fen. The
  reference is the previous raw close, adjusted on ex-rights days by the ratio of the
  adjustment factors (the exchange's ex-rights reference price); without a factor change it
  is exactly the previous raw close. NaN on days without a bar or without a limit, and on
  days whose bar trades outside the computed band: the reference was then wrong (an
  ex-rights day of a code without adjustment factors) and the true band is unknown.
- ``adj_factor``: raw x adj_factor = back-adjusted price, filled forward and backward within
  each code; 1.0 for codes that have none (``codes_without_adj``), so adjusted = raw there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from quant.data.schema import limit_free_days, limit_rates, round_to_fen

#: Half a fen: prices within this of a limit price are at the limit.
LIMIT_TOLERANCE = 0.005
FIELDS = ("open", "high", "low", "close", "volume", "amount")


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
    amount_approximated: bool = False  # the source had no amount column (see validate)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> MarketPanel:
        """Build from a validated tidy table (see :func:`quant.data.load_bars`)."""
        dates = pd.DatetimeIndex(np.unique(frame["date"].to_numpy()))
        row = np.searchsorted(dates.to_numpy(), frame["date"].to_numpy())
        col, codes = pd.factorize(frame["code"], sort=True)
        codes = pd.Index(codes.astype(str), name="code")
        shape = (len(dates), len(codes))

        def grid(values: np.ndarray) -> np.ndarray:
            out = np.full(shape, np.nan)
            out[row, col] = values
            return out

        arrays = {f: grid(frame[f].to_numpy(dtype=float)) for f in FIELDS}
        has_bar = np.zeros(shape, dtype=bool)
        has_bar[row, col] = True

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
            [limit_free_days(code, dates[r]) if r > 0 else 0 for code, r in zip(codes, first_row)]
        )
        new_listing = has_bar & (bars_so_far <= free_days[None, :])

        last_close = pd.DataFrame(arrays["close"]).ffill().to_numpy()
        reference = np.full(shape, np.nan)
        reference[1:] = last_close[:-1] * factor[:-1] / factor[1:]
        reference = round_to_fen(reference)
        rates = limit_rates(codes, dates)
        limit_up = round_to_fen(reference * (1 + rates))
        limit_down = round_to_fen(reference * (1 - rates))
        with np.errstate(invalid="ignore"):
            outside = (arrays["high"] > limit_up + LIMIT_TOLERANCE) | (
                arrays["low"] < limit_down - LIMIT_TOLERANCE
            )
        no_limit = ~has_bar | new_listing | outside
        limit_up[no_limit] = np.nan
        limit_down[no_limit] = np.nan

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
            raise KeyError(f"code {code} is not in the data ({len(self.codes)} codes)")
        return int(position)

    @property
    def last_bar_row(self) -> np.ndarray:
        """Row of each code's last bar (a delisted code's last day of trading)."""
        return len(self.dates) - 1 - np.argmax(self.has_bar[::-1], axis=0)

    def summary(self) -> dict[str, object]:
        listed_days = int(self.listed.sum())
        return {
            "codes": len(self.codes),
            "first_date": self.dates[0].date().isoformat(),
            "last_date": self.dates[-1].date().isoformat(),
            "trading_days": len(self.dates),
            "rows": int(self.has_bar.sum()),
            "suspended_share": float(self.suspended.sum() / listed_days) if listed_days else 0.0,
            "zero_volume_bars": int((self.has_bar & ~self.tradable).sum()),
            "codes_without_adj_factor": len(self.codes_without_adj),
            "codes_ending_early": int((self.last_bar_row < len(self.dates) - 1).sum()),
            "amount_approximated": self.amount_approximated,
        }


def _at_or_above(price: np.ndarray, limit: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return price >= limit - LIMIT_TOLERANCE
