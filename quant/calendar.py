"""Trading-calendar helpers shared by signals and strategies."""

from __future__ import annotations

import numpy as np
import pandas as pd


def month_end_rows(dates: pd.DatetimeIndex) -> np.ndarray:
    """Rows of the last trading day of each month. The calendar's final day counts only
    if it is its month's last business day (the data may stop mid-month)."""
    period = dates.to_period("M")
    last = np.zeros(len(dates), dtype=bool)
    last[:-1] = period[1:] != period[:-1]
    if len(dates):
        last[-1] = dates[-1] >= (dates[-1] + pd.offsets.BMonthEnd(0)).normalize()
    return np.flatnonzero(last)
