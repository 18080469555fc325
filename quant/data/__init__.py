"""Market data: sources -> one tidy table -> MarketPanel.

``load_bars(source)`` accepts ``"sample"`` (the built-in real subset) or a path to a
Parquet/CSV file or folder in the tidy schema (an akshare store or an imported store is
such a folder); with ``format=`` one of the layouts of :mod:`quant.data.layouts`
(akshare, tushare, baostock, qlib), it reads that layout directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from quant.data.files import read_tidy
from quant.data.layouts import ReadOptions, read_layout
from quant.data.panel import MarketPanel
from quant.data.sample import SAMPLE_INDEX, SAMPLE_STOCKS
from quant.data.validate import DataError, DataWarning

__all__ = [
    "DataError",
    "DataWarning",
    "MarketPanel",
    "ReadOptions",
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


def load_bars(
    source: str | Path,
    codes: Sequence[str] | None = None,
    *,
    format: str = "tidy",
    options: ReadOptions | None = None,
) -> pd.DataFrame:
    """Validated tidy stock bars, sorted by (code, date); only ``codes`` if given.
    ``format``: "tidy" or a layout of :mod:`quant.data.layouts`; ``options``: encoding,
    date format and layout options (:class:`quant.data.layouts.ReadOptions`).
    Raises DataError naming the file, row, code and date at fault."""
    return _read(resolve_source(source), codes, format, options or ReadOptions())


def load_index(
    source: str | Path, *, format: str = "tidy", options: ReadOptions | None = None
) -> pd.DataFrame:
    """Validated tidy index bars (same schema, no adj_factor needed; index codes must name
    their exchange when a layout's codes are mapped)."""
    options = replace(options or ReadOptions(), index=True)
    return _read(resolve_source(source, index=True), None, format, options)


def _read(
    path: Path, codes: Sequence[str] | None, format: str, options: ReadOptions
) -> pd.DataFrame:
    if format != "tidy":
        return read_layout(path, format, options, codes)
    return read_tidy(path, codes, encoding=options.encoding, date_format=options.date_format)


def load_panel(source: str | Path) -> MarketPanel:
    return MarketPanel.from_frame(load_bars(source))
