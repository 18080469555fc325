"""Market data: sources -> one tidy table -> MarketPanel.

``load_bars(source)`` accepts ``"sample"`` (the built-in real subset) or a path to a
Parquet/CSV file or folder in the tidy schema (an akshare store is such a folder).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from quant.data.files import read_tidy
from quant.data.panel import MarketPanel
from quant.data.sample import SAMPLE_INDEX, SAMPLE_STOCKS
from quant.data.validate import DataError, DataWarning

__all__ = [
    "DataError",
    "DataWarning",
    "MarketPanel",
    "load_bars",
    "load_index",
    "load_panel",
    "resolve_source",
]


def resolve_source(source: str | Path, *, index: bool = False) -> Path:
    """The path behind a source name: ``"sample"`` means the built-in sample."""
    if str(source) == "sample":
        return SAMPLE_INDEX if index else SAMPLE_STOCKS
    return Path(source)


def load_bars(source: str | Path, codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Validated tidy stock bars, sorted by (code, date); only ``codes`` if given."""
    return read_tidy(resolve_source(source), codes)


def load_index(source: str | Path) -> pd.DataFrame:
    """Validated tidy index bars (same schema, no adj_factor needed)."""
    return read_tidy(resolve_source(source, index=True))


def load_panel(source: str | Path) -> MarketPanel:
    return MarketPanel.from_frame(load_bars(source))
