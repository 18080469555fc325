"""Read tidy daily bars from Parquet or CSV: one file, or a folder of files; and the
file-level helpers every reader shares (which files a path holds, CSV encodings)."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from quant.data.schema import REQUIRED_COLUMNS
from quant.data.validate import DataError, prepare_columns, validate_tidy

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz")
#: Tried in this order when no encoding is named: UTF-8 (a byte-order mark is dropped),
#: then GB18030, the superset of GBK that Chinese Excel and Windows save. A file that is
#: valid UTF-8 is read as UTF-8 (GBK text practically never is); two candidates, checked
#: strictly, need no statistical guess.
ENCODINGS = ("utf-8-sig", "gb18030")
CHUNK = 1 << 20


def read_tidy(
    path: str | Path,
    codes: Sequence[str] | None = None,
    *,
    encoding: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Load and validate the tidy schema from a file or from every data file in a folder
    (recursively; other files, such as a store's manifest, are ignored). With ``codes``,
    only their rows are read and checked (Parquet files are filtered as they are read).
    ``encoding`` and ``date_format`` apply to CSV files (see :func:`read_table` and
    :func:`quant.data.validate.parse_dates`).
    A file or folder in another known layout (akshare, tushare, baostock, qlib) is an
    error that names the layout and the import command."""
    path = Path(path)
    files = data_files(path)
    frames = [(f, _read_one(f, codes, encoding)) for f in files]
    if codes is not None:  # files without the codes are skipped; none at all: an empty table
        frames = [(f, frame) for f, frame in frames if len(frame)]
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in REQUIRED_COLUMNS})
    frames = [prepare_columns(frame, str(f), date_format=date_format) for f, frame in frames]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return validate_tidy(frame)


def data_files(path: Path) -> list[Path]:
    """The data files a path names: the file itself, or every .parquet/.csv file below a
    folder (hidden and temporary files skipped). Raises DataError when there are none, or
    when the path is a qlib data folder (which holds .bin files)."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and file_kind(p))
        if not files:
            refuse_other_layout(path, None)
            raise DataError(f"{path}: the folder holds no .parquet or .csv files")
        return files
    if not file_kind(path):
        raise DataError(f"{path}: unknown file type; expected .parquet or .csv")
    return [path]


def file_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.startswith("."):  # hidden and temporary files
        return None
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def read_table(path: Path, encoding: str | None = None, text: Iterable[str] = ()) -> pd.DataFrame:
    """One Parquet or CSV file as it is. CSV columns named in ``text`` (compared without
    case or surrounding spaces) are read as text, so that codes keep their leading zeros.
    CSV encoding: ``encoding`` if given (any Python codec name), else UTF-8 with or
    without a byte-order mark, else GBK (see ENCODINGS)."""
    try:
        if file_kind(path) == "parquet":
            return pd.read_parquet(path)
        encoding = encoding or detect_encoding(path)
        wanted = {t.strip().lower() for t in text}
        header = pd.read_csv(path, nrows=0, encoding=encoding).columns
        return pd.read_csv(
            path,
            encoding=encoding,
            dtype={c: str for c in header if str(c).strip().lower() in wanted},
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no rows (empty file)") from None
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: cannot be decoded as {encoding} ({error.reason} at byte {error.start}); "
            "name its encoding with --encoding"
        ) from None
    except (pa.ArrowException, OSError, ValueError, pd.errors.ParserError) as error:
        raise DataError(f"{path}: cannot be read as {file_kind(path)}: {error}") from None


def detect_encoding(path: Path) -> str:
    """The first of ENCODINGS that decodes the whole file (read in 1 MiB chunks)."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with _open_bytes(path) as handle:
                while chunk := handle.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise DataError(
        f"{path}: neither UTF-8 nor GBK text; name its encoding with --encoding "
        "(e.g. --encoding big5)"
    )


def _open_bytes(path: Path):
    if path.name.lower().endswith(".gz"):
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_one(
    path: Path, codes: Sequence[str] | None = None, encoding: str | None = None
) -> pd.DataFrame:
    if codes is not None and file_kind(path) == "parquet":
        try:
            frame = pd.read_parquet(path, filters=[("code", "in", list(codes))])
        except (pa.ArrowException, OSError, ValueError) as error:
            raise DataError(f"{path}: cannot be read as parquet: {error}") from None
    else:
        # Codes are text: read as numbers, 000001.SZ would lose its leading zeros.
        frame = read_table(path, encoding, text=["code"])
    refuse_other_layout(path, frame.columns)
    if codes is None or file_kind(path) == "parquet":
        return frame
    column = next((c for c in frame.columns if str(c).strip().lower() == "code"), None)
    return frame[frame[column].str.strip().isin(codes)] if column is not None else frame


def refuse_other_layout(path: Path, columns: Iterable[object] | None) -> None:
    from quant.data.layouts import identify

    layout = identify(path, columns)
    if layout is not None:
        raise DataError(
            f"{path}: this is {layout.description}, not the tidy schema; read it with "
            f"load_bars(..., format={layout.name!r}) or convert it once: "
            f"quant data import --format {layout.name} {path} --out STORE"
        )
