"""Loading market data: any source through its reader (quant.data.readers) and the one
intake (quant.data.intake), into a MarketPanel or a tidy table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from quant.data.intake import CodeChanges, Selection, panel_fields, read_table
from quant.data.panel import MarketPanel
from quant.data.readers import Source, open_reader
from quant.data.readers.base import ReadOptions


def load_panel(
    source: Source,
    *,
    kind: str = "stock",
    format: str = "tidy",
    options: ReadOptions | None = None,
    calendar: str = "exchange",
    codes: Sequence[str] | None = None,
    code_changes: CodeChanges = None,
    non_stocks: str = "error",
) -> MarketPanel:
    """The MarketPanel of a source: ``"sample"`` (the built-in sample), one or more
    Parquet/CSV files or folders in the tidy schema (a store is such a folder), files in a
    layout named by ``format`` (akshare, tushare, baostock, qlib; ``options``: encoding,
    date format, index, qlib volume), or a tidy table in memory; on the exchange's
    sessions (``calendar = "data"``: the data's own dates).

    ``kind``: "stock" (codes that are not A-share stocks refused, or with ``non_stocks =
    "drop"`` dropped with a warning), "index" (every code must be an index) or "any"
    (indices if the source holds only indices, else stocks). ``codes``: only these (and
    the older codes ``code_changes`` merge into them). ``code_changes``: a file (see
    quant.data.code_changes) or its table, merging re-coded securities under their new
    codes. Read in pieces: peak memory is the panel plus one piece. Raises DataError naming
    the file, row, code and date at fault; warns (DataWarning) about what the data lacks."""
    if kind == "index":
        options = replace(options or ReadOptions(), index=True)
    selection = Selection(kind, codes, code_changes, non_stocks, calendar)
    return MarketPanel(**panel_fields(open_reader(source, format, options), selection))


def load_bars(
    source: Source,
    codes: Sequence[str] | None = None,
    *,
    format: str = "tidy",
    options: ReadOptions | None = None,
    code_changes: CodeChanges = None,
    non_stocks: str = "error",
    calendar: str = "exchange",
    kind: str = "stock",
) -> pd.DataFrame:
    """Checked tidy stock bars, sorted by (code, date), code categorical; only ``codes``
    if given (none of them in the source: an empty table). The same road as
    :func:`load_panel` (the same reader, the same checks), the pieces joined into one
    table: sources and arguments as there (``kind="mixed"``: stocks and indices)."""
    selection = Selection(kind, codes, code_changes, non_stocks, calendar)
    return read_table(open_reader(source, format, options), selection)


def load_index(
    source: Source,
    *,
    format: str = "tidy",
    options: ReadOptions | None = None,
    calendar: str = "exchange",
) -> pd.DataFrame:
    """Checked tidy index bars (the same schema, no adj_factor needed); every code must be
    an index (quant.market.securities). ``format`` and ``options`` as for
    :func:`load_panel` (a layout's index codes must name their exchange, e.g. 000300.SH)."""
    options = replace(options or ReadOptions(), index=True)
    return read_table(open_reader(source, format, options), Selection("index", calendar=calendar))
