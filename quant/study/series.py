"""One stock's (or index's) daily series, ready for the study: its own trading days only
(suspended days have no bar and are dropped), back-adjusted prices so ex-rights gaps are
not mistaken for crashes, and the six features of the paper in its order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data import DataError, MarketPanel, load_bars, resolve_source

#: The paper's six daily features, in its order: x_k = (open, high, close, low, volume, amount).
FEATURES: tuple[str, ...] = ("open", "high", "close", "low", "volume", "amount")
CLOSE = FEATURES.index("close")


@dataclass(frozen=True, eq=False)
class StockSeries:
    code: str
    dates: pd.DatetimeIndex
    values: np.ndarray  # (T, 6) in FEATURES order; prices back-adjusted

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.dates), len(FEATURES)):
            raise ValueError(
                f"{self.code}: values of shape {self.values.shape} do not match "
                f"{len(self.dates)} dates x {len(FEATURES)} features"
            )

    @property
    def close(self) -> np.ndarray:
        return self.values[:, CLOSE]

    def __len__(self) -> int:
        return len(self.dates)

    @classmethod
    def from_panel(cls, panel: MarketPanel, code: str) -> StockSeries:
        """The code's bars from ``panel``, adjusted prices, suspended days dropped."""
        column = panel.column(code)
        rows = panel.has_bar[:, column]
        fields = {
            "open": panel.adjusted("open"),
            "high": panel.adjusted("high"),
            "close": panel.adjusted("close"),
            "low": panel.adjusted("low"),
            "volume": panel.volume,
            "amount": panel.amount,
        }
        values = np.column_stack([fields[f][rows, column] for f in FEATURES])
        return cls(code, panel.dates[rows], values)


def load_series(sources: Sequence[str | Path], codes: Sequence[str]) -> dict[str, StockSeries]:
    """Each code's series from whichever source holds it (stock files, index files or
    "sample"); a code found nowhere is an error naming the sources searched."""
    wanted = set(codes)
    frames = []
    for source in sources:  # stocks or indices: a study reads any series
        bars = load_bars(resolve_source(source), codes=sorted(wanted), kind="mixed")
        frames.append(bars.assign(code=bars["code"].astype(str)))
    frame = pd.concat(frames, ignore_index=True)
    duplicated = frame.duplicated(["code", "date"])
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        raise DataError(
            f"{row['code']} on {row['date'].date()} appears in more than one of the sources "
            f"{', '.join(map(str, sources))}"
        )
    missing = sorted(wanted - set(frame["code"]))
    if missing:
        raise DataError(f"codes {', '.join(missing)} not found in {', '.join(map(str, sources))}")
    panel = MarketPanel.from_frame(frame.sort_values(["code", "date"], ignore_index=True))
    return {code: StockSeries.from_panel(panel, code) for code in codes}
