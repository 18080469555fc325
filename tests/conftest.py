"""Shared test helpers: tiny hand-made markets and access to the team's real data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from quant.market.calendar import exchange_sessions, sessions_from

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_STOCKS = SHARED_DATA / "ashare_daily_2010_2017.parquet"
SHARED_INDEX = SHARED_DATA / "ashare_index_2010_2017.parquet"


def require_shared() -> Path:
    """The shared real data sits beside the project (../shared). CI has it, so there a
    missing copy fails; on a user's clone without it, the real-data tests are skipped."""
    if SHARED_STOCKS.exists() and SHARED_INDEX.exists():
        return SHARED_DATA
    if os.environ.get("CI"):
        pytest.fail(f"shared data missing at {SHARED_DATA}")
    pytest.skip(f"shared real data not found at {SHARED_DATA}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared()


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has ended (as a killed writer's is)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def sessions(
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    periods: int | None = None,
) -> pd.DatetimeIndex:
    """Exchange sessions (XSHG), the trading days test markets must use: from ``start`` to
    ``end``, or ``periods`` of them from ``start`` (or up to ``end``)."""
    known = exchange_sessions()
    if start is not None and periods is not None:
        return sessions_from(start, periods)
    inside = known[known <= pd.Timestamp(end)] if end is not None else known
    if start is not None:
        inside = inside[inside >= pd.Timestamp(start)]
    return inside[-periods:] if periods is not None else inside


def make_bars(
    code: str,
    dates: list[str] | pd.DatetimeIndex,
    close: list[float],
    *,
    open: list[float] | None = None,
    high: list[float] | None = None,
    low: list[float] | None = None,
    volume: list[float] | float = 1_000_000.0,
    adj_factor: list[float] | None = None,
) -> pd.DataFrame:
    """Daily bars of one code; open/high/low default to the close."""
    open = close if open is None else open
    high = [max(o, c) for o, c in zip(open, close)] if high is None else high
    low = [min(o, c) for o, c in zip(open, close)] if low is None else low
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(list(dates)),
            "code": code,
            "open": open,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    )
    frame["amount"] = frame["volume"] * frame["close"]
    if adj_factor is not None:
        frame["adj_factor"] = adj_factor
    return frame
