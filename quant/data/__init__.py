"""Market data: sources -> one tidy table -> MarketPanel.

``load_bars(source)`` accepts ``"sample"`` (the built-in real subset) or a path to a
Parquet/CSV file or folder in the tidy schema (an akshare store or an imported store is
such a folder); with ``format=`` one of the layouts of :mod:`quant.data.layouts`
(akshare, tushare, baostock, qlib), it reads that layout directly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from quant.data.code_changes import apply_code_changes, codes_to_read, read_code_changes
from quant.data.files import read_tidy
from quant.data.layouts import ReadOptions, read_layout
from quant.data.panel import MarketPanel
from quant.data.sample import SAMPLE_INDEX, SAMPLE_STOCKS
from quant.data.validate import DataError, DataWarning
from quant.market.securities import check_kind

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

#: What to do with codes that are not A-share stocks in stock data.
NON_STOCKS = ("error", "drop")


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
    code_changes: str | Path | pd.DataFrame | None = None,
    non_stocks: str = "error",
) -> pd.DataFrame:
    """Validated tidy stock bars, sorted by (code, date); only ``codes`` if given.

    ``format``: "tidy" or a layout of :mod:`quant.data.layouts` (akshare, tushare,
    baostock, qlib); ``options``: encoding, date format and layout options
    (:class:`quant.data.layouts.ReadOptions`). ``code_changes`` (a file, see
    quant.data.code_changes, or its table) merges re-coded securities under their new
    codes. Codes that are not A-share stocks (indices, funds, bonds, B shares:
    quant.market.securities) are an error naming them, or with ``non_stocks = "drop"``
    dropped with a warning. Raises DataError naming the file, row, code and date at fault.
    """
    changes = _code_changes(code_changes)
    if codes is not None and changes is not None:
        codes = codes_to_read(list(codes), changes)
    frame = _read(resolve_source(source), codes, format, options)
    return _stock_bars(frame, str(source), changes, non_stocks)


def load_index(
    source: str | Path, *, format: str = "tidy", options: ReadOptions | None = None
) -> pd.DataFrame:
    """Validated tidy index bars (same schema, no adj_factor needed); every code must be an
    index (quant.market.securities). ``format`` and ``options`` as for :func:`load_bars`
    (a layout's index codes must name their exchange, e.g. 000300.SH)."""
    options = replace(options or ReadOptions(), index=True)
    frame = _read(resolve_source(source, index=True), None, format, options)
    return _only(frame, "index", str(source))


def _read(
    path: Path, codes: Sequence[str] | None, format: str, options: ReadOptions | None
) -> pd.DataFrame:
    options = options or ReadOptions()
    if format != "tidy":
        return read_layout(path, format, options, codes)
    return read_tidy(path, codes, encoding=options.encoding, date_format=options.date_format)


def load_panel(
    source: str | Path,
    *,
    kind: str = "stock",
    format: str = "tidy",
    options: ReadOptions | None = None,
    calendar: str = "exchange",
    **selection: object,
) -> MarketPanel:
    """The MarketPanel of stock bars (``kind="index"``: index bars; ``"any"``: indices if
    the source holds only indices, else stocks) on the exchange's sessions (``calendar``).
    Tidy data is read in pieces, never as one whole table (quant.data.loader);
    ``selection``: ``codes``, ``code_changes`` and ``non_stocks`` as for
    :func:`load_bars`. Other layouts (``format``) are read whole and then built."""
    options = options or ReadOptions()
    if format != "tidy":
        if kind == "index":
            return MarketPanel.from_frame(
                load_index(source, format=format, options=options), calendar
            )
        return MarketPanel.from_frame(
            load_bars(source, format=format, options=options, **selection), calendar
        )
    from quant.data.loader import load_panel as load_in_pieces

    return load_in_pieces(
        source,
        kind=kind,
        calendar=calendar,
        encoding=options.encoding,
        date_format=options.date_format,
        **selection,
    )


def _code_changes(code_changes: str | Path | pd.DataFrame | None) -> pd.DataFrame | None:
    if code_changes is None or isinstance(code_changes, pd.DataFrame):
        return code_changes
    return read_code_changes(code_changes)


def _stock_bars(
    frame: pd.DataFrame, source: str, changes: pd.DataFrame | None, non_stocks: str
) -> pd.DataFrame:
    if non_stocks not in NON_STOCKS:
        raise DataError(f"non_stocks must be 'error' or 'drop', not {non_stocks!r}")
    if not len(frame):
        return frame
    frame = _only(frame, "stock", source, drop=non_stocks == "drop")
    return apply_code_changes(frame, changes) if changes is not None else frame


def _only(frame: pd.DataFrame, kind: str, source: str, drop: bool = False) -> pd.DataFrame:
    codes = pd.Index(
        frame["code"].cat.categories if hasattr(frame["code"], "cat") else frame["code"].unique()
    )
    wrong, notes = check_kind(codes, kind, source, drop=drop)
    if not len(wrong):
        return frame
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=3)
    kept = frame[~frame["code"].isin(wrong)]
    kept = kept.assign(code=kept["code"].cat.remove_unused_categories()).reset_index(drop=True)
    kept.attrs = frame.attrs
    return kept
