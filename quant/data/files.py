"""Read tidy daily bars from Parquet or CSV: one file, or a folder of files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from quant.data.schema import REQUIRED_COLUMNS
from quant.data.validate import DataError, prepare_columns, validate_tidy

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz")


def read_tidy(path: str | Path, codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Load and validate the tidy schema from a file or from every data file in a folder
    (recursively; other files, such as a store's manifest, are ignored). With ``codes``,
    only their rows are read and checked (Parquet files are filtered as they are read)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p))
        if not files:
            raise DataError(f"{path}: the folder holds no .parquet or .csv files")
    else:
        if not _kind(path):
            raise DataError(f"{path}: unknown file type; expected .parquet or .csv")
        files = [path]
    frames = [(f, _read_one(f, codes)) for f in files]
    if codes is not None:  # files without the codes are skipped; none at all: an empty table
        frames = [(f, frame) for f, frame in frames if len(frame)]
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in REQUIRED_COLUMNS})
    frames = [prepare_columns(frame, str(f)) for f, frame in frames]
    return validate_tidy(pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.startswith("."):  # hidden and temporary files
        return None
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def _read_one(path: Path, codes: Sequence[str] | None = None) -> pd.DataFrame:
    try:
        if _kind(path) == "parquet":
            if codes is None:
                return pd.read_parquet(path)
            return pd.read_parquet(path, filters=[("code", "in", list(codes))])
        header = pd.read_csv(path, nrows=0).columns
        # Codes are text: read as numbers, 000001.SZ would lose its leading zeros.
        text = {c: str for c in header if str(c).strip().lower() == "code"}
        frame = pd.read_csv(path, dtype=text)
        if codes is None:
            return frame
        column = next((c for c in frame.columns if str(c).strip().lower() == "code"), None)
        return frame[frame[column].str.strip().isin(codes)] if column is not None else frame
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no rows (empty file)") from None
    except (pa.ArrowException, OSError, ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{path}: cannot be read as {_kind(path)}: {error}") from None
