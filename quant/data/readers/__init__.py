"""Readers: every source of daily bars behind one small interface (quant.data.readers.base):
what it holds, and its bars in pieces. :func:`open_reader` picks the reader of a source:

| source | reader |
| --- | --- |
| ``"sample"`` (the built-in sample), tidy Parquet/CSV files or folders, an akshare store, an imported store, a synthetic market | :class:`.tidy.TidyReader` |
| a table in memory | :class:`.frame.FrameReader` |
| akshare, tushare, baostock files; a qlib data folder (``format=``) | :mod:`.layouts` |
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from quant.data.errors import DataError
from quant.data.readers.base import QLIB_VOLUMES, Reader, ReadOptions
from quant.data.readers.frame import FrameReader
from quant.data.readers.layouts import LAYOUTS, identify
from quant.data.readers.tidy import TidyReader
from quant.data.sample import SAMPLE_INDEX, SAMPLE_STOCKS

__all__ = [
    "FORMATS",
    "LAYOUTS",
    "QLIB_VOLUMES",
    "ReadOptions",
    "Reader",
    "identify",
    "open_reader",
    "resolve_source",
]

#: What ``format`` accepts: the tidy schema itself, or one of the layouts.
FORMATS = ("tidy", *LAYOUTS)
Source = str | Path | Sequence[str | Path] | pd.DataFrame


def resolve_source(source: str | Path, *, index: bool = False) -> Path:
    """The path behind a source name: ``"sample"`` means the built-in sample."""
    if str(source) == "sample":
        return SAMPLE_INDEX if index else SAMPLE_STOCKS
    return Path(source)


def open_reader(source: Source, format: str = "tidy", options: ReadOptions | None = None) -> Reader:
    """The reader of a source: a table in memory, ``"sample"``, or one or more paths (files
    or folders) in the tidy schema or the layout ``format``. DataError for an unknown
    format or a path that is not there."""
    options = options or ReadOptions()
    if isinstance(source, pd.DataFrame):
        return FrameReader(source)
    if format not in FORMATS:
        raise DataError(f"unknown format {format!r}: choose one of {', '.join(FORMATS)}")
    names = [source] if isinstance(source, str | Path) else list(source)
    paths = [resolve_source(name, index=options.index) for name in names]
    if format == "tidy":
        return TidyReader(paths, options)
    return LAYOUTS[format].reader(paths, options)
