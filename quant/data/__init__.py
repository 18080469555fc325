"""Market data: any source -> one intake -> MarketPanel.

Every source is a reader (quant.data.readers: tidy files and stores, a table in memory,
akshare, tushare, baostock and qlib layouts) with one small interface; one intake
(quant.data.intake) runs every check once and builds the panel (quant.data.builder,
quant.data.panel) or the tidy table. See docs/data_sources.md and docs/architecture.md.
"""

from __future__ import annotations

from quant.data.errors import DataError, DataWarning
from quant.data.load import load_bars, load_index, load_panel
from quant.data.panel import MarketPanel
from quant.data.readers import ReadOptions, resolve_source

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
