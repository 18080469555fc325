"""Read tidy daily bars from Parquet or CSV: one file, or a folder of files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from quant.data.validate import DataError, prepare_columns, validate_tidy

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz")


def read_tidy(path: str | Path) -> pd.DataFrame:
    """Load and validate the tidy schema from a file or from every data file in a folder
    (recursively; other files, such as a store's manifest, are ignored)."""
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
    frames = [prepare_columns(_read_one(f), str(f)) for f in files]
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


def _read_one(path: Path) -> pd.DataFrame:
    try:
        if _kind(path) == "parquet":
            return pd.read_parquet(path)
        header = pd.read_csv(path, nrows=0).columns
        # Codes are text: read as numbers, 000001.SZ would lose its leading zeros.
        text = {c: str for c in header if str(c).strip().lower() == "code"}
        return pd.read_csv(path, dtype=text)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no rows (empty file)") from None
    except (pa.ArrowException, OSError, ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{path}: cannot be read as {_kind(path)}: {error}") from None
