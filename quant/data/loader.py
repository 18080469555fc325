"""A whole market into a MarketPanel without a whole-market tidy table in memory.

1. A scan reads only the date and code columns of every file, parses and checks them
   (the same functions as validation, so the same errors), and gives the calendar and the
   codes; non-stocks and code changes are resolved on the codes.
2. The panel's arrays are allocated once, in compact types (quant.data.builder).
3. The files are read again in pieces of whole codes (a big Parquet file by row groups, a
   big CSV in chunks, small files gathered until a piece is big enough), each piece is
   validated like a file (quant.data.validate) and scattered into the arrays, then dropped.
4. Warnings about the pieces add up into one per kind; the gaps of the market and of each
   code (which need all of the data) are warned about once, from the panel.

Peak memory is the panel plus one piece (PIECE_ROWS rows), not the whole tidy table.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from quant.data.builder import PanelBuilder, check_closed_days, trading_calendar
from quant.data.code_changes import (
    check_code_changes,
    code_spans,
    codes_to_read,
    read_code_changes,
    renaming,
)
from quant.data.files import (
    data_files,
    detect_encoding,
    file_kind,
    read_table,
    refuse_other_layout,
)
from quant.data.panel import MarketPanel
from quant.data.schema import OPTIONAL_COLUMNS
from quant.data.validate import (
    MARKET_GAP_DAYS,
    CountedWarning,
    DataError,
    DataWarning,
    _check_codes,
    number_rows,
    parse_dates,
    prepare_columns,
    validate_tidy,
)
from quant.market.securities import check_kind, classify

#: Rows of tidy bars validated and scattered at a time (about: whole codes, small files
#: gathered until half of it).
PIECE_ROWS = 250_000
#: What to do with codes that are not A-share stocks in stock data.
NON_STOCKS = ("error", "drop")


@dataclass
class Scan:
    """What the first pass found: the distinct bar dates, each code's first and last bar
    date, and the optional columns present."""

    dates: list[np.ndarray] = field(default_factory=list)
    spans: list[pd.DataFrame] = field(default_factory=list)
    optional: set[str] = field(default_factory=set)

    def bar_dates(self) -> pd.DatetimeIndex:
        return (
            pd.DatetimeIndex(np.unique(np.concatenate(self.dates)))
            if self.dates
            else pd.DatetimeIndex([])
        )

    def code_spans(self) -> pd.DataFrame:
        if not self.spans:
            return pd.DataFrame(columns=["first", "last"])
        spans = pd.concat(self.spans)
        return spans.groupby(level=0).agg({"first": "min", "last": "max"})


def load_panel(
    source: str | Path,
    *,
    kind: str = "stock",
    codes: Sequence[str] | None = None,
    code_changes: str | Path | pd.DataFrame | None = None,
    non_stocks: str = "error",
    calendar: str = "exchange",
    encoding: str | None = None,
    date_format: str | None = None,
    piece_rows: int = PIECE_ROWS,
) -> MarketPanel:
    """The MarketPanel of a tidy file or folder (``"sample"``: the built-in sample), read
    in pieces. ``kind``: ``"stock"`` (non-stocks refused, or dropped with ``non_stocks =
    "drop"``), ``"index"`` (every code must be an index) or ``"any"`` (indices only, or
    else stocks). ``codes``, ``code_changes``, ``calendar``, ``encoding`` and
    ``date_format`` as in :func:`quant.data.load_bars` and MarketPanel.from_frame.
    DataError / UserError name the file, row, code or date at fault."""
    from quant.data import resolve_source

    if non_stocks not in NON_STOCKS:
        raise DataError(f"non_stocks must be 'error' or 'drop', not {non_stocks!r}")
    changes = code_changes
    if changes is not None and not isinstance(changes, pd.DataFrame):
        changes = read_code_changes(changes)
    wanted = list(codes) if codes is not None else None
    if wanted is not None and changes is not None:
        wanted = codes_to_read(wanted, changes)
    path = resolve_source(source, index=kind == "index")
    files = data_files(path)
    scan = _scan(files, wanted, encoding, date_format, calendar)
    spans = scan.code_spans()
    if not len(spans):
        raise DataError(
            f"{path}: no bars" + (f" of the codes {', '.join(wanted)}" if wanted else "")
        )
    found = pd.Index(spans.index)
    if kind == "any":
        kind = "index" if (classify(found)["kind"] == "index").all() else "stock"
    drop, notes = check_kind(found, kind, str(source), drop=non_stocks == "drop")
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=2)
    spans = spans.drop(index=drop)
    applied: list[dict[str, str]] = []
    final = pd.Index(spans.index)
    if changes is not None:
        applied = check_code_changes(spans, changes)
        final = pd.Index(sorted(set(final.to_series().replace(renaming(changes)))))
    builder = PanelBuilder(
        trading_calendar(scan.bar_dates(), calendar),
        final,
        adj_factor="adj_factor" in scan.optional,
        is_st="is_st" in scan.optional,
    )
    del scan, spans
    caught: list[warnings.WarningMessage] = []
    approximated = False
    for piece, sources in _pieces(files, wanted, encoding, date_format, piece_rows):
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            frame = validate_tidy(piece, whole=False)
        del piece  # one piece in memory at a time
        caught += records
        approximated |= bool(frame.attrs.get("amount_approximated"))
        if len(drop):
            frame = frame[~frame["code"].isin(drop)]
        if changes is not None:
            frame = frame.assign(code=frame["code"].astype(str).replace(renaming(changes)))
        builder.add(frame, sources)
    _emit(caught)
    panel = builder.finish(amount_approximated=approximated, code_changes=tuple(applied))
    _warn_about_gaps(panel)
    return panel


def _scan(
    files: list[Path],
    wanted: list[str] | None,
    encoding: str | None,
    date_format: str | None,
    calendar: str,
) -> Scan:
    """Dates and codes of every file, in chunks of whole codes, checked as validation
    checks them (DataError naming file, row, code, date)."""
    scan = Scan()
    for path in files:
        header = _header(path, encoding)
        refuse_other_layout(path, header)
        names = {str(c).strip().lower(): c for c in header}
        if "date" not in names or "code" not in names:  # the full check, with hints
            prepare_columns(read_table(path, encoding, text=["code"]).head(1), str(path))
        scan.optional |= {c for c in OPTIONAL_COLUMNS if c in names}
        for chunk in _chunks(path, encoding, PIECE_ROWS * 4, [names["date"], names["code"]]):
            frame = number_rows(
                chunk.rename(columns={names["date"]: "date", names["code"]: "code"}), str(path)
            )
            codes = _check_codes(frame)
            dates = parse_dates(frame, date_format)
            if wanted is not None:
                keep = codes.astype(str).isin(wanted).to_numpy()
                codes, dates = codes[keep].cat.remove_unused_categories(), dates[keep]
            check_closed_days(dates, codes, calendar, str(path))
            scan.dates.append(np.unique(dates.to_numpy()))
            scan.spans.append(code_spans(codes, dates))
    return scan


def _header(path: Path, encoding: str | None) -> list[object]:
    if file_kind(path) == "parquet":
        return list(pq.read_schema(path).names)
    encoding = encoding or detect_encoding(path)
    return list(pd.read_csv(path, nrows=0, encoding=encoding).columns)


def _pieces(
    files: list[Path],
    wanted: list[str] | None,
    encoding: str | None,
    date_format: str | None,
    piece_rows: int,
) -> Iterator[tuple[pd.DataFrame, str]]:
    """Prepared (columns checked, rows numbered, dates parsed) frames of about
    ``piece_rows`` rows, whole codes of each file, and the files they came from."""
    gathered: list[pd.DataFrame] = []
    size = 0
    for path in files:
        for chunk in _chunks(path, encoding, piece_rows):
            if wanted is not None:
                code = next(c for c in chunk.columns if str(c).strip().lower() == "code")
                chunk = chunk[chunk[code].astype(str).str.strip().isin(wanted)]
                if not len(chunk):
                    continue
            gathered.append(prepare_columns(chunk, str(path), date_format=date_format))
            size += len(chunk)
            if size >= piece_rows // 2:
                piece, gathered, size = _joined(gathered), [], 0
                yield piece
                del piece
    if gathered:
        yield _joined(gathered)


def _joined(frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, str]:
    sources = list(dict.fromkeys(str(f["_source"].iloc[0]) for f in frames))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    label = sources[0] if len(sources) == 1 else f"{sources[0]} (and {len(sources) - 1} more files)"
    return frame, label


def _chunks(
    path: Path, encoding: str | None, piece_rows: int, columns: list[object] | None = None
) -> Iterator[pd.DataFrame]:
    """The rows of one file (only ``columns`` if given) in chunks that end where a code
    ends (the rows of a code that continue in the next chunk are carried over), each with
    its file row numbers (``_row``)."""
    if file_kind(path) == "parquet":
        parts = _parquet_parts(pq.ParquetFile(path), piece_rows, columns)
    else:
        encoding = encoding or detect_encoding(path)
        header = pd.read_csv(path, nrows=0, encoding=encoding).columns
        text = {c: str for c in header if str(c).strip().lower() == "code"}
        parts = pd.read_csv(
            path, encoding=encoding, dtype=text, chunksize=piece_rows, usecols=columns
        )
    carried: pd.DataFrame | None = None
    offset = 1
    for part in parts:
        part = part.assign(_row=np.arange(offset, offset + len(part)))
        offset += len(part)
        if carried is not None:
            part = pd.concat([carried, part], ignore_index=True)
        code = next((c for c in part.columns if str(c).strip().lower() == "code"), None)
        if code is None or not len(part):
            carried = None
            yield part
            continue
        values = part[code].astype(str).to_numpy()
        start = len(values) - 1
        while start > 0 and values[start - 1] == values[-1]:
            start -= 1
        carried = part.iloc[start:]
        if start:
            yield part.iloc[:start]
    if carried is not None and len(carried):
        yield carried


def _parquet_parts(
    parquet: pq.ParquetFile, piece_rows: int, columns: list[object] | None = None
) -> Iterator[pd.DataFrame]:
    """A Parquet file's rows (only ``columns`` if given), row group by row group, in
    slices of at most ``piece_rows``."""
    for group in range(parquet.num_row_groups):
        frame = parquet.read_row_group(group, columns=columns).to_pandas()
        for start in range(0, len(frame), piece_rows):
            yield frame.iloc[start : start + piece_rows]


def _emit(caught: list[warnings.WarningMessage]) -> None:
    """Warnings of the pieces, those about counted rows added up into one per kind."""
    totals: dict[str, CountedWarning] = {}
    for record in caught:
        message = record.message
        if isinstance(message, CountedWarning):
            if message.text in totals:
                first = totals[message.text]
                totals[message.text] = CountedWarning(
                    first.count + message.count, first.text, first.first
                )
            else:
                totals[message.text] = message
        else:
            warnings.warn(message, record.category, stacklevel=3)
    for warning in totals.values():
        warnings.warn(warning, stacklevel=3)


def _warn_about_gaps(panel: MarketPanel) -> None:
    """Gaps over the whole panel: weeks without a bar for any code (with the data's own
    calendar; the exchange calendar names each missing session), and codes with sessions
    without a bar inside their listing (suspensions)."""
    if panel.calendar.source == "data":
        days = panel.dates.to_numpy()
        for k in np.flatnonzero(np.diff(days) > np.timedelta64(MARKET_GAP_DAYS, "D"))[:3]:
            warnings.warn(
                f"no bar for any code between {panel.dates[k].date()} and "
                f"{panel.dates[k + 1].date()}: a gap in the data",
                DataWarning,
                stacklevel=3,
            )
    gaps = panel.listed & ~panel.has_bar
    per_code = gaps.sum(axis=0)
    if not per_code.any():
        return
    run = np.zeros(gaps.shape[1], dtype=np.int64)
    longest = np.zeros(gaps.shape[1], dtype=np.int64)
    end = np.zeros(gaps.shape[1], dtype=np.int64)
    for t in range(gaps.shape[0]):  # one pass over the sessions, vectorised over codes
        run = np.where(gaps[t], run + 1, 0)
        longer = run > longest
        longest = np.where(longer, run, longest)
        end = np.where(longer, t, end)
    j = int(np.argmax(longest))
    first, last = panel.dates[end[j] - longest[j] + 1].date(), panel.dates[end[j]].date()
    warnings.warn(
        f"{int((per_code > 0).sum())} codes have trading days without a bar inside their "
        f"listing ({int(per_code.sum())} stock-days, treated as suspensions); longest: "
        f"{panel.codes[j]} {first}..{last} ({int(longest[j])} days)",
        DataWarning,
        stacklevel=3,
    )
