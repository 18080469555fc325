"""The layouts people hold their daily bars in, each mapping names, codes, units and dates
into the tidy schema (quant.data.schema) with its documentation as the source (cited in
each reader's module):

| layout | what | module |
| --- | --- | --- |
| akshare | ``stock_zh_a_hist`` exports: Chinese columns, volume in lots | :mod:`.akshare` |
| tushare | ``daily`` (+ ``adj_factor``) exports: lots, thousands of yuan | :mod:`.tushare` |
| baostock | ``query_history_k_data_plus`` exports: sh.600000, adjustflag | :mod:`.baostock` |
| qlib | a qlib data folder: float32 .day.bin files of adjusted prices | :mod:`.qlib` |

:func:`identify` recognises a layout, so that loading one as tidy can say which it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from quant.data.readers import akshare, baostock, qlib, tushare  # the submodules
from quant.data.readers.base import Reader, ReadOptions


@dataclass(frozen=True)
class Layout:
    """A layout: ``matches(path, columns)`` recognises its files (columns None for a
    folder); ``reader(paths, options)`` reads them."""

    name: str
    description: str
    matches: Callable[[Path, frozenset[str] | None], bool]
    reader: Callable[[Sequence[Path], ReadOptions], Reader]


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("akshare", akshare.DESCRIPTION, akshare.matches, akshare.AkshareReader),
        Layout("tushare", tushare.DESCRIPTION, tushare.matches, tushare.TushareReader),
        Layout("baostock", baostock.DESCRIPTION, baostock.matches, baostock.BaostockReader),
        Layout("qlib", qlib.DESCRIPTION, qlib.matches, qlib.QlibReader),
    )
}


def identify(path: Path, columns: Iterable[object] | None) -> Layout | None:
    """The layout a file's columns (or, with ``columns`` None, a folder) belong to."""
    names = None if columns is None else frozenset(str(c).strip() for c in columns)
    return next((layout for layout in LAYOUTS.values() if layout.matches(path, names)), None)
