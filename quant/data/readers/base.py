"""What every reader is: a source of daily bars that tells what it holds and gives its bars
in pieces, in tidy names and units, for the intake (quant.data.intake) to check once and
build into a panel or a table.

A reader gives
- :meth:`Reader.keys`: the dates and codes of its rows, in chunks (the intake's first
  pass: the calendar, the codes and every check that needs only them);
- :meth:`Reader.pieces`: its rows in pieces of about PIECE_ROWS (the second pass: the
  values), each prepared by quant.data.validate.prepare_columns;
- :attr:`Reader.about`: what it knows beyond the bars (complete once ``keys`` has run):
  which fields were approximated, what it did (padding dropped, a unit measured), which
  codes are suspended at the end rather than delisted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.akshare_source import normalize_code
from quant.data.errors import DataError
from quant.data.schema import OPTIONAL_COLUMNS
from quant.data.validate import fail_where, to_float, where

#: Rows of bars checked and scattered at a time (whole codes; small files gathered).
PIECE_ROWS = 250_000
#: Rows of dates and codes read at a time in the first pass.
KEY_ROWS = 4 * PIECE_ROWS
#: How qlib volumes are read: measured from the data (None), or named: "adjusted" (qlib's
#: documented convention, raw shares = volume x factor) or "raw" (shares as traded).
QLIB_VOLUMES = ("adjusted", "raw")
KEY_COLUMNS = ["date", "code", "_source", "_row"]


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source. ``encoding`` and ``date_format`` apply to CSV text (see
    :func:`quant.data.files.read_table` and :func:`quant.data.validate.parse_dates`);
    ``index``: the codes are indices, which must name their exchange (000300.SH), and
    qlib folders keep their indices instead of their stocks; ``qlib_volume``: None (the
    default: measured from the data, quant.data.readers.qlib) or one of QLIB_VOLUMES."""

    encoding: str | None = None
    date_format: str | None = None
    index: bool = False
    qlib_volume: str | None = None

    def __post_init__(self) -> None:
        if self.qlib_volume is not None and self.qlib_volume not in QLIB_VOLUMES:
            raise DataError(
                f"qlib volume {self.qlib_volume!r}: choose one of {', '.join(QLIB_VOLUMES)}"
            )


@dataclass
class About:
    """What a reader knows beyond its bars. ``approximated``: tidy fields it made up
    (``amount`` from volume x price); ``notes``: one line each, what it did that every
    report must say; ``listed_at_end``: codes it knows to be listed still at the data's end
    (those whose bars stop early are suspended, not delisted); ``code_changes``: re-codings already merged into the bars."""

    approximated: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    listed_at_end: set[str] = field(default_factory=set)
    code_changes: list[dict] = field(default_factory=list)


class Reader(ABC):
    """A source of daily bars (see the module's docstring). ``name``: the source as
    messages call it; ``ordered``: whether each of its files lists a code's dates oldest
    first (checked); ``optional``: the optional tidy columns it has (complete once
    ``keys`` has run)."""

    name: str = ""
    ordered: bool = True

    def __init__(self) -> None:
        self.about = About()
        self.optional: set[str] = set()

    def keys(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        """Chunks of ``date`` (parsed), ``code`` (text, tidy form), ``_source``, ``_row``
        of the rows (only ``codes`` if given). By default the pieces' keys."""
        for piece in self.pieces(codes):
            yield piece[KEY_COLUMNS]

    @abstractmethod
    def pieces(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        """The rows (only ``codes`` if given) in pieces, prepared by
        quant.data.validate.prepare_columns."""


def only(frame: pd.DataFrame, codes: frozenset[str] | None) -> pd.DataFrame:
    """The rows of ``codes`` (all without them)."""
    if codes is None:
        return frame
    return frame[frame["code"].astype(str).isin(codes)]


def gathered(frames: Iterable[pd.DataFrame], rows: int = PIECE_ROWS) -> Iterator[pd.DataFrame]:
    """Frames joined until they hold at least half of ``rows`` rows (many small files
    make a few pieces); empty frames dropped."""
    batch: list[pd.DataFrame] = []
    size = 0
    for frame in frames:
        if not len(frame):
            continue
        batch.append(frame)
        size += len(frame)
        if size >= rows // 2:
            yield pd.concat(batch, ignore_index=True) if len(batch) > 1 else batch[0]
            batch, size = [], 0
    if batch:
        yield pd.concat(batch, ignore_index=True) if len(batch) > 1 else batch[0]


def require(frame: pd.DataFrame, columns: Iterable[str], source: str, what: str) -> None:
    """Raise DataError naming the file and the columns of ``what`` it lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))} of {what} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )


def map_codes(frame: pd.DataFrame, column: str, options: ReadOptions) -> pd.Series:
    """A layout's code column in tidy form (600000.SH), through
    :func:`quant.data.akshare_source.normalize_code` (six digits, sh600000, 600000.SH;
    stocks must be A-shares of the exchange named, indices must name theirs). Each
    distinct code is converted once; a blank or unknown code names its row."""
    raw = frame[column]
    positions, texts = pd.factorize(raw)
    fail_where(frame, positions < 0, f"blank {column}")
    converted = []
    for k, text in enumerate(texts):
        try:
            converted.append(normalize_code(str(text), index=options.index))
        except DataError as error:
            i = int(np.flatnonzero(positions == k)[0])
            raise DataError(f"{where(frame, i)}: {error}") from None
    return pd.Series(np.asarray(converted, dtype=object)[positions], index=frame.index)


def in_shares(frame: pd.DataFrame, column: str, per_unit: float) -> pd.Series:
    """A volume column times ``per_unit`` shares, with the float noise of that product
    removed (525152.77 lots x 100 = 52515277 shares, not 52515276.999999). A count that
    is still fractional is left as it is, for the whole-share check to name."""
    shares = to_float(frame, column) * per_unit
    nearest = np.rint(shares)
    return shares.where(np.abs(shares - nearest) > 1e-6, nearest)


class TableReader(Reader):
    """A reader whose layout is read whole, file by file, into prepared frames (the
    layouts whose files must be seen together: tushare's factor files beside its daily
    bars, baostock's back-adjusted rows beside its raw ones). The frames are read once and
    kept for both passes."""

    def __init__(self, paths: Sequence[Path], options: ReadOptions | None = None) -> None:
        super().__init__()
        self.paths = list(paths)
        self.options = options or ReadOptions()
        self.name = ", ".join(map(str, self.paths))
        self._frames: list[pd.DataFrame] | None = None

    @abstractmethod
    def read(self) -> list[pd.DataFrame]:
        """Every row, in tidy names and units, prepared by prepare_columns."""

    def pieces(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        if self._frames is None:
            self._frames = self.read()
            for frame in self._frames:
                if frame["_amount_missing"].any():
                    self.about.approximated.add("amount")
                self.optional |= {c for c in OPTIONAL_COLUMNS if c in frame.columns}
        yield from gathered(only(frame, codes) for frame in self._frames)
