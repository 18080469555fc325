"""Market data: sources -> one tidy table -> MarketPanel.

``load_bars(source)`` accepts ``"sample"`` (the built-in real subset) or a path to a
Parquet/CSV file or folder in the tidy schema (an akshare store is such a folder).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from quant.data.code_changes import apply_code_changes, codes_to_read, read_code_changes
from quant.data.files import read_tidy
from quant.data.panel import MarketPanel
from quant.data.sample import SAMPLE_INDEX, SAMPLE_STOCKS
from quant.data.validate import DataError, DataWarning
from quant.market.securities import check_kind, classify

__all__ = [
    "DataError",
    "DataWarning",
    "MarketPanel",
    "load_any",
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
    code_changes: str | Path | pd.DataFrame | None = None,
    non_stocks: str = "error",
) -> pd.DataFrame:
    """Validated tidy stock bars, sorted by (code, date); only ``codes`` if given.

    ``code_changes`` (a file, see quant.data.code_changes, or its table) merges re-coded
    securities under their new codes. Codes that are not A-share stocks (indices, funds,
    bonds, B shares: quant.market.securities) are an error naming them, or with
    ``non_stocks = "drop"`` dropped with a warning.
    """
    changes = _code_changes(code_changes)
    if codes is not None and changes is not None:
        codes = codes_to_read(list(codes), changes)
    return _stock_bars(read_tidy(resolve_source(source), codes), str(source), changes, non_stocks)


def load_any(
    source: str | Path,
    *,
    code_changes: str | Path | pd.DataFrame | None = None,
    non_stocks: str = "error",
) -> tuple[pd.DataFrame, str]:
    """Bars of a source that holds either indices only (kind ``"index"``) or stocks (kind
    ``"stock"``, checked as by :func:`load_bars`); read once."""
    frame = read_tidy(resolve_source(source))
    codes = pd.Index(frame["code"].cat.categories)
    if len(codes) and (classify(codes)["kind"] == "index").all():
        return frame, "index"
    return _stock_bars(frame, str(source), _code_changes(code_changes), non_stocks), "stock"


def load_index(source: str | Path) -> pd.DataFrame:
    """Validated tidy index bars (same schema, no adj_factor needed); every code must be an
    index (quant.market.securities)."""
    return _only(read_tidy(resolve_source(source, index=True)), "index", str(source))


def load_panel(source: str | Path, **options) -> MarketPanel:
    """The MarketPanel of stock bars; ``options`` go to :func:`load_bars`."""
    return MarketPanel.from_frame(load_bars(source, **options))


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
