"""The files of a source: which files a path names, what kind each is, and reading them
(whole, their header, or in chunks that end where a code ends) with one-line errors for
what cannot be read: a missing, empty, truncated or mislabelled file, a FIFO or device, an
encoding that does not decode."""

from __future__ import annotations

import codecs
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import union_categoricals

from quant.data.errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz")
#: Tried in this order when no encoding is named: UTF-8 (a byte-order mark is dropped),
#: then GB18030, the superset of GBK that Chinese Excel and Windows save. A file that is
#: valid UTF-8 is read as UTF-8 (GBK text practically never is); two candidates, checked
#: strictly, need no statistical guess.
ENCODINGS = ("utf-8-sig", "gb18030")
CHUNK = 1 << 20
#: A Parquet file starts and ends with these four bytes (the format's magic number).
PARQUET_MAGIC = b"PAR1"


def data_files(paths: Path | Sequence[Path]) -> list[Path]:
    """The data files the paths name: a file itself, or every .parquet/.csv file below a
    folder (hidden and temporary files skipped), in order. DataError for a path that does
    not exist, is not a regular file (a FIFO, a device), or a folder without data files."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if file_kind(p) and _regular(p))
            if not found:
                raise DataError(f"{path}: the folder holds no .parquet or .csv files")
            files += found
            continue
        if not _regular(path):
            raise DataError(f"{path}: not a regular file (a FIFO, socket or device); give a file")
        if not file_kind(path):
            raise DataError(f"{path}: unknown file type; expected .parquet or .csv")
        files.append(path)
    return list(dict.fromkeys(files))


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def file_kind(path: Path) -> str | None:
    """ "parquet", "csv" or None (not a data file), by the name."""
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
    with _reading(path, encoding):
        if file_kind(path) == "parquet":
            _check_parquet(path)
            return pd.read_parquet(path)
        encoding = encoding or detect_encoding(path)
        return pd.read_csv(path, encoding=encoding, dtype=_text_columns(path, encoding, text))


def header(path: Path, encoding: str | None = None) -> list[object]:
    """The column names of a file (DataError for a file that cannot be read as its kind,
    or has no columns)."""
    with _reading(path, encoding):
        if file_kind(path) == "parquet":
            _check_parquet(path)
            return list(pq.read_schema(path).names)
        return list(pd.read_csv(path, nrows=0, encoding=encoding or detect_encoding(path)).columns)


def chunks(
    path: Path,
    rows: int,
    encoding: str | None = None,
    columns: list[object] | None = None,
    text: Iterable[str] = ("code",),
) -> Iterator[pd.DataFrame]:
    """The rows of one file (only ``columns`` if given) in chunks of about ``rows`` rows,
    each with its file row numbers (``_row``, 1-based). A chunk ends where a code ends:
    the rows of the last code continue into the next chunk, unless that code alone has
    more than ``rows`` rows (then it is cut: memory stays bounded whatever the file
    holds). The code column is found by name (any case)."""
    with _reading(path, encoding):
        if file_kind(path) == "parquet":
            _check_parquet(path)
            parts = _parquet_parts(pq.ParquetFile(path), rows, columns)
        else:
            encoding = encoding or detect_encoding(path)
            parts = pd.read_csv(
                path,
                encoding=encoding,
                dtype=_text_columns(path, encoding, text),
                chunksize=rows,
                usecols=columns,
            )
        yield from _whole_codes(parts, rows)


def _whole_codes(
    parts: Iterable[pd.DataFrame], rows: int, code: object | None = None
) -> Iterator[pd.DataFrame]:
    """The parts with row numbers (unless they have theirs), the rows of each part's last
    code moved to the next part (the last part keeps them), unless that code alone has
    more than ``rows``."""
    parts = iter(parts)
    part = next(parts, None)
    carried: pd.DataFrame | None = None
    offset = 1
    while part is not None:
        if "_row" not in part.columns:
            part = part.assign(_row=np.arange(offset, offset + len(part)))
            offset += len(part)
        if carried is not None:
            part = _joined(carried, part)
            carried = None
        following = next(parts, None)
        column = code
        if column is None:
            column = next((c for c in part.columns if str(c).strip().lower() == "code"), None)
        if following is None or column is None or not len(part):
            if len(part):
                yield part
            part = following
            continue
        keys = part[column]
        values = (
            keys.cat.codes.to_numpy()
            if isinstance(keys.dtype, pd.CategoricalDtype)
            else pd.factorize(keys)[0]
        )
        other = np.flatnonzero(values != values[-1])
        start = int(other[-1]) + 1 if len(other) else 0
        if start == 0 and len(part) > rows:  # one code longer than a chunk: cut it
            yield part
        else:
            carried = part.iloc[start:]
            if start:
                yield part.iloc[:start]
        part = following


def parquet_columns(path: Path) -> tuple[list[str], int]:
    """A Parquet file's column names and row count, from its footer (DataError for a file
    that is not, or no longer, a Parquet file)."""
    with _reading(path, None):
        _check_parquet(path)
        meta = pq.read_metadata(path)
        return list(meta.schema.to_arrow_schema().names), meta.num_rows


def scan_parquet(
    files: Sequence[Path],
    counts: Sequence[int],
    columns: list[str],
    rows: int,
    code: str | None = None,
) -> Iterator[pd.DataFrame]:
    """The rows of Parquet files that share their columns (``counts``: each file's rows),
    read a group of files at a time as one pyarrow dataset (many small files read at once:
    a per-code store of 5,200 files in seconds, where opening them one by one takes a
    minute; a group at a time, so memory stays bounded whatever the number of files), in
    frames of whole files, about ``rows`` rows each (``code``: the code column, read as a
    dictionary), with ``_source`` (the file, categorical) and ``_row`` (1-based, in the
    file)."""
    import pyarrow.dataset as ds

    names = pd.Index([str(f) for f in files])
    options = ds.ParquetReadOptions(dictionary_columns=[code] if code is not None else None)
    form = ds.ParquetFileFormat(read_options=options)  # codes as a dictionary, not strings

    def frames() -> Iterator[pd.DataFrame]:
        start = 0
        while start < len(files):
            end, size = start, 0
            while end < len(files) and (size < rows or end == start):
                size += counts[end]
                end += 1
            table = ds.dataset([str(f) for f in files[start:end]], format=form).to_table(
                columns=[*columns, "__fragment_index"], memory_pool=pa.system_memory_pool()
            )
            fragment = table.column("__fragment_index").to_numpy() + start
            frame = table.drop_columns(["__fragment_index"]).replace_schema_metadata(None)
            frame = frame.unify_dictionaries().to_pandas()
            del table
            step = np.diff(fragment)
            if (step < 0).any():  # not file by file: number rows the slow way
                frame["_row"] = pd.Series(fragment).groupby(fragment).cumcount().to_numpy() + 1
            else:  # each file's rows together: count from where it starts
                starts = np.r_[0, np.flatnonzero(step) + 1]
                lengths = np.diff(np.r_[starts, len(fragment)])
                frame["_row"] = np.arange(len(fragment)) - np.repeat(starts, lengths) + 1
            frame["_source"] = pd.Categorical.from_codes(fragment, categories=names)
            yield frame
            start = end

    with _reading(Path(names[0]), None):
        yield from frames()


def release_memory(trim: bool = True) -> None:
    """Give back to the system the memory kept for reuse after reading: pyarrow's pool
    (freed buffers: a third of a gigabyte after a 5,200-code store) and, on Linux, the C
    heap's free pages (the reader threads' arenas: as much again after 5,200 files)."""
    pa.default_memory_pool().release_unused()
    if trim and _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> object | None:
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


def _joined(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Two frames one after the other; categorical columns stay categorical (with the
    union of their categories) where pandas would turn them into text."""
    categorical = [
        c
        for c in first.columns
        if isinstance(first[c].dtype, pd.CategoricalDtype)
        and c in second.columns
        and isinstance(second[c].dtype, pd.CategoricalDtype)
        and not first[c].cat.categories.equals(second[c].cat.categories)
    ]
    joined = pd.concat([first, second], ignore_index=True)
    for column in categorical:
        joined[column] = union_categoricals([first[column], second[column]], ignore_order=True)
    return joined


def _parquet_parts(
    parquet: pq.ParquetFile, rows: int, columns: list[object] | None
) -> Iterator[pd.DataFrame]:
    for batch in parquet.iter_batches(batch_size=rows, columns=columns):
        yield batch.to_pandas()


def _check_parquet(path: Path) -> None:
    """A file named .parquet that does not start and end with the Parquet magic number is
    not (or no longer, truncated) a Parquet file: say so before pyarrow does."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(max(size - 4, 0))
        tail = handle.read(4)
    if size == 0:
        raise DataError(f"{path}: no rows (empty file)")
    if head != PARQUET_MAGIC:
        raise DataError(
            f"{path}: cannot be read as parquet: not a Parquet file (it does not start with PAR1)"
        )
    if tail != PARQUET_MAGIC or size < 12:
        raise DataError(
            f"{path}: cannot be read as parquet: truncated (it does not end with PAR1, as a "
            "whole Parquet file does)"
        )


class _reading:
    """Turns what pandas and pyarrow raise about one file into a DataError naming it."""

    def __init__(self, path: Path, encoding: str | None) -> None:
        self.path, self.encoding = path, encoding

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or isinstance(error, DataError):
            return False
        path, kind_name = self.path, file_kind(self.path)
        if isinstance(error, pd.errors.EmptyDataError):
            raise DataError(f"{path}: no rows (empty file)") from None
        if isinstance(error, LookupError):
            raise DataError(f"{path}: unknown encoding {self.encoding!r}") from None
        if isinstance(error, UnicodeDecodeError):
            raise DataError(
                f"{path}: cannot be decoded as {error.encoding} ({error.reason} at byte "
                f"{error.start}); name its encoding with --encoding"
            ) from None
        if isinstance(error, pa.ArrowException | OSError | ValueError | pd.errors.ParserError):
            first = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            raise DataError(f"{path}: cannot be read as {kind_name}: {first}") from None
        return False


def _text_columns(path: Path, encoding: str, text: Iterable[str]) -> dict[object, type]:
    wanted = {t.strip().lower() for t in text}
    if not wanted:
        return {}
    names = pd.read_csv(path, nrows=0, encoding=encoding).columns
    return {c: str for c in names if str(c).strip().lower() in wanted}


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
