"""Tidy bars in Parquet or CSV files: one file, several, or folders of them (an akshare
store, an imported store and a synthetic market are such folders, with a manifest).

The first pass reads only the date and code columns of each file, in chunks of whole codes
(quant.data.files.chunks); the second pass reads every column in pieces. A file in another
known layout (akshare, tushare, baostock, qlib) is an error that names the layout and the
import command. A folder's manifest (quant.data.manifest) adds what the bars cannot say:
the fields its import approximated, its notes, the codes its universe lists as listed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.errors import DataError
from quant.data.files import chunks, data_files, header
from quant.data.manifest import manifest_of
from quant.data.readers.base import KEY_ROWS, PIECE_ROWS, Reader, ReadOptions, gathered
from quant.data.readers.layouts import Layout, identify
from quant.data.schema import OPTIONAL_COLUMNS
from quant.data.validate import parse_dates, prepare_columns, tidy_names


class TidyReader(Reader):
    """Tidy Parquet/CSV files (see the module's docstring)."""

    def __init__(self, paths: Sequence[Path], options: ReadOptions | None = None) -> None:
        super().__init__()
        self.paths = list(paths)
        self.options = options or ReadOptions()
        self.name = ", ".join(map(str, self.paths))
        for path in self.paths:
            layout = identify(path, None) if path.is_dir() else None
            if layout is not None:
                raise _other_layout(path, layout)
        self.files = data_files(self.paths)
        for path in self.paths:
            self._read_manifest(path)

    def _read_manifest(self, path: Path) -> None:
        manifest = manifest_of(path)
        if manifest is None:
            return
        self.about.approximated |= set(manifest.get("approximated", {}))
        self.about.notes += list(manifest.get("notes", []))
        universe = manifest.get("universe") or {}
        self.about.listed_at_end |= set(universe.get("listed", []))
        self.about.listed_at_end |= set(manifest.get("listed_at_end", []))

    def keys(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        for path in self.files:
            names = self._columns(path)
            columns = [names["date"], names["code"]]
            rows = 0
            for chunk in chunks(path, KEY_ROWS, self.options.encoding, columns):
                rows += len(chunk)
                frame = chunk.rename(columns={names["date"]: "date", names["code"]: "code"})
                frame = _only(frame, "code", codes)
                if not len(frame):
                    continue
                frame["_source"] = pd.Categorical.from_codes(
                    np.zeros(len(frame), dtype=np.int8), [str(path)]
                )
                frame["date"] = parse_dates(frame, self.options.date_format)
                yield frame
            if not rows:
                raise DataError(f"{path}: no rows (empty file)")

    def _columns(self, path: Path) -> dict[str, object]:
        """Tidy name -> the file's column, for a file in the tidy schema (DataError for a
        file in another layout, or without a date or code column)."""
        columns = header(path, self.options.encoding)
        layout = identify(path, columns)
        if layout is not None:
            raise _other_layout(path, layout)
        names = {tidy: column for column, tidy in tidy_names(pd.Index(columns), str(path)).items()}
        if "date" not in names or "code" not in names:  # the full check, with its hints
            prepare_columns(pd.DataFrame([[None] * len(columns)], columns=columns), str(path))
        if "amount" not in names:
            self.about.approximated.add("amount")
        self.optional |= {c for c in OPTIONAL_COLUMNS if c in names}
        return names

    def pieces(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        yield from gathered(self._prepared(codes))

    def _prepared(self, codes: frozenset[str] | None) -> Iterator[pd.DataFrame]:
        for path in self.files:
            names = self._columns(path)
            for chunk in chunks(path, PIECE_ROWS, self.options.encoding):
                chunk = _only(chunk, names["code"], codes)
                if len(chunk):
                    yield prepare_columns(chunk, str(path), date_format=self.options.date_format)


def _other_layout(path: Path, layout: Layout) -> DataError:
    return DataError(
        f"{path}: this is {layout.description}, not the tidy schema; read it with "
        f"load_bars(..., format={layout.name!r}) or convert it once: "
        f"quant data import --format {layout.name} {path} --out STORE"
    )


def _only(frame: pd.DataFrame, column: object, codes: frozenset[str] | None) -> pd.DataFrame:
    if codes is None:
        return frame
    return frame[frame[column].astype(str).str.strip().isin(codes)]
