"""Readers for the layouts people hold their daily bars in, each mapping names, codes,
units and dates into the tidy schema (quant.data.schema) with its documentation as the
source (cited in each module):

| layout | what | module |
| --- | --- | --- |
| akshare | ``stock_zh_a_hist`` exports: Chinese columns, volume in lots | :mod:`.akshare` |
| tushare | ``daily`` (+ ``adj_factor``) exports: lots, thousands of yuan | :mod:`.tushare` |
| baostock | ``query_history_k_data_plus`` exports: sh.600000, adjustflag | :mod:`.baostock` |
| qlib | a qlib data folder: float32 .day.bin files of adjusted prices | :mod:`.qlib` |

``read_layout(path, name)`` returns the validated tidy table (the same checks as any tidy
file); ``quant data import`` writes it into a store, and ``load_bars(path, format=name)``
reads it directly. ``identify`` recognises a layout, so that loading one as tidy can say
which it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from quant.data.layouts import akshare, baostock, qlib, tushare
from quant.data.layouts.common import QLIB_VOLUMES, Layout, ReadOptions, finish
from quant.data.validate import DataError

__all__ = ["FORMATS", "LAYOUTS", "QLIB_VOLUMES", "Layout", "ReadOptions", "identify", "read_layout"]

LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (akshare.LAYOUT, tushare.LAYOUT, baostock.LAYOUT, qlib.LAYOUT)
}
#: What ``--format`` accepts: the tidy schema itself, or one of the layouts.
FORMATS = ("tidy", *LAYOUTS)


def identify(path: Path, columns: Iterable[object] | None) -> Layout | None:
    """The layout a file's columns (or, with ``columns`` None, a folder) belong to."""
    names = None if columns is None else frozenset(str(c).strip() for c in columns)
    return next((layout for layout in LAYOUTS.values() if layout.matches(path, names)), None)


def read_layout(
    path: str | Path,
    name: str,
    options: ReadOptions | None = None,
    codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Validated tidy bars from a file or folder in the layout ``name`` (only ``codes``,
    in tidy form, if given). Raises DataError naming the file, row, code and date at
    fault, as for tidy files."""
    if name not in LAYOUTS:
        raise DataError(f"unknown format {name!r}: choose one of {', '.join(FORMATS)}")
    layout, options = LAYOUTS[name], options or ReadOptions()
    return finish(layout.read(Path(path), options), layout, options, codes)
