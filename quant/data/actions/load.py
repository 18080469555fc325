"""Reading corporate-actions files of any known layout into one checked table, and writing
the tidy table (``quant data import --corporate-actions``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from quant.data.actions.layouts import CODE_COLUMNS, LAYOUTS, identify, to_tidy
from quant.data.actions.table import COLUMNS, ActionTable, check_actions
from quant.data.errors import DataError
from quant.data.files import data_files, read_table
from quant.data.validate import number_rows
from quant.io import write_atomic

#: Columns read as text from CSV files, so that codes and YYYYMMDD dates keep their form.
TEXT_COLUMNS = (
    *CODE_COLUMNS,
    "ts_code",
    "ex_date",
    "record_date",
    "pay_date",
    "div_listdate",
    "listing_date",
)


def load_actions(
    paths: str | Path | Sequence[str | Path], encoding: str | None = None
) -> ActionTable:
    """Every row of the files (or folders of files) ``paths`` names, each file in the
    layout its columns show (quant.data.actions.layouts: the tidy schema, tushare,
    baostock, akshare's Sina, cninfo and East Money tables; files of different layouts
    may be mixed, e.g. Sina's dividends beside its rights issues), checked as one table
    (quant.data.actions.table). DataError naming the file, row, code and date at fault, or
    a file whose layout is unknown."""
    names = [paths] if isinstance(paths, str | Path) else list(paths)
    files = data_files([Path(p) for p in names])
    parts, notes, layouts = [], [], []
    for file in files:
        table = read_table(file, encoding, text=TEXT_COLUMNS)
        table = table.rename(columns=lambda c: str(c).strip())
        layout = identify(list(table.columns))
        if layout is None:  # the file's own columns, before ours (_source, _row) are added
            raise DataError(
                f"{file}: not a corporate-actions table of a known layout ({', '.join(LAYOUTS)}; "
                f"columns: {', '.join(map(str, table.columns[:12]))})"
            )
        table = number_rows(table, str(file))
        tidy, found = to_tidy(table, layout, file)
        parts.append(tidy)
        notes += found
        layouts.append(layout.name)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    checked, dropped = check_actions(frame) if len(frame) else check_actions(pd.DataFrame())
    source = ", ".join(str(p) for p in names)
    return ActionTable(checked, source, tuple(dict.fromkeys(layouts)), tuple(notes + dropped))


def write_actions(table: ActionTable, out: str | Path) -> Path:
    """The tidy table to ``out`` (.parquet or .csv, dates as YYYY-MM-DD), written whole
    under a temporary name and renamed. DataError for another suffix."""
    out = Path(out)
    frame = table.frame[list(COLUMNS)].copy()
    if out.suffix == ".parquet":
        return write_atomic(out, lambda path: frame.to_parquet(path, index=False))
    if out.suffix == ".csv":
        for column in ("ex_date", "record_date", "pay_date", "listing_date"):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        return write_atomic(out, lambda path: frame.to_csv(path, index=False))
    raise DataError(f"{out}: write the corporate-actions table as .parquet or .csv")
