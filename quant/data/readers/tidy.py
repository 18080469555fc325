"""Tidy bars in Parquet or CSV files: one file, several, or folders of them (an akshare
store, an imported store and a synthetic market are such folders, with a manifest).

The first pass reads only the date and code columns of each file, in chunks of whole codes
(quant.data.files.chunks); the second pass reads every column in pieces. A file in another
known layout (akshare, tushare, baostock, qlib) is an error that names the layout and the
import command. A folder's manifest (quant.data.manifest) adds what the bars cannot say:
the fields its import approximated, its notes, the codes its universe lists as listed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.errors import DataError
from quant.data.files import chunks, data_files, file_kind, header, parquet_columns, scan_parquet
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
        self._found: list[_Unit] | None = None
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
        for unit in self._units():
            names = unit.names
            rename = {names["date"]: "date", names["code"]: "code"}
            for chunk in unit.read(KEY_ROWS, [names["date"], names["code"]]):
                frame = _only(chunk.rename(columns=rename), "code", codes)
                if len(frame):
                    frame["date"] = parse_dates(frame, self.options.date_format)
                    yield frame

    def pieces(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        yield from gathered(self._prepared(codes))

    def _prepared(self, codes: frozenset[str] | None) -> Iterator[pd.DataFrame]:
        for unit in self._units():
            for chunk in unit.read(PIECE_ROWS, None):
                chunk = _only(chunk, unit.names["code"], codes)
                if len(chunk):
                    source = str(unit.files[0])
                    yield prepare_columns(chunk, source, date_format=self.options.date_format)

    def _units(self) -> list[_Unit]:
        """The files in reading units: a CSV file alone; Parquet files that share their
        columns together (one dataset). Each unit's columns checked (_columns). Found once
        (every Parquet footer is read)."""
        if self._found is not None:
            return self._found
        units: list[_Unit] = []
        for path in self.files:
            if file_kind(path) == "csv":
                units.append(
                    _Unit(
                        [path],
                        self._columns(path, header(path, self.options.encoding)),
                        self.options.encoding,
                    )
                )
                continue
            columns, rows = parquet_columns(path)
            if not rows:
                raise DataError(f"{path}: no rows (empty file)")
            last = units[-1] if units else None
            if last is not None and last.parquet and last.columns == columns:
                last.files.append(path)
                last.counts.append(rows)
            else:
                names = self._columns(path, columns)
                units.append(_Unit([path], names, None, columns, [rows]))
        self._found = units
        return units

    def _columns(self, path: Path, columns: list[object]) -> dict[str, object]:
        """Tidy name -> the file's column, for a file in the tidy schema (DataError for a
        file in another layout, or without a date or code column)."""
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


@dataclass
class _Unit:
    """Files read together: one CSV file, or Parquet files with the same ``columns``;
    ``names``: tidy name -> their column."""

    files: list[Path]
    names: dict[str, object]
    encoding: str | None = None
    columns: list[str] | None = None
    counts: list[int] = field(default_factory=list)

    @property
    def parquet(self) -> bool:
        return self.columns is not None

    def read(self, rows: int, columns: list[object] | None) -> Iterator[pd.DataFrame]:
        """Frames of about ``rows`` rows (only ``columns`` if given) ending where a code
        ends, with ``_source`` and ``_row``; DataError for a CSV file without rows."""
        if self.parquet and len(self.files) > 1:  # many files: one dataset
            wanted = [str(c) for c in (columns or self.columns)]
            yield from scan_parquet(self.files, self.counts, wanted, rows, str(self.names["code"]))
            return
        path, count = self.files[0], 0  # one file: row group by row group
        for chunk in chunks(path, rows, self.encoding, columns):
            count += len(chunk)
            chunk["_source"] = pd.Categorical.from_codes(
                np.zeros(len(chunk), dtype=np.int8), [str(path)]
            )
            yield chunk
        if not count:
            raise DataError(f"{path}: no rows (empty file)")


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
