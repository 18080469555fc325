"""What the layout readers share: options, the description of a layout, code mapping,
unit conversion, and the last step that hands every reader's rows to the tidy checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.akshare_source import normalize_code
from quant.data.schema import REQUIRED_COLUMNS
from quant.data.validate import (
    DataError,
    fail_where,
    to_float,
    validate_tidy,
    where,
)

#: How qlib volumes are read: "adjusted" (qlib's documented convention, raw shares =
#: volume x factor) or "raw" (shares as traded).
QLIB_VOLUMES = ("adjusted", "raw")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source. ``encoding`` and ``date_format`` apply to CSV text (see
    :func:`quant.data.files.read_table` and :func:`quant.data.validate.parse_dates`);
    ``index``: the codes are indices, which must name their exchange (000300.SH), and
    qlib folders keep their indices instead of their stocks; ``qlib_volume``: see
    QLIB_VOLUMES."""

    encoding: str | None = None
    date_format: str | None = None
    index: bool = False
    qlib_volume: str = "adjusted"

    def __post_init__(self) -> None:
        if self.qlib_volume not in QLIB_VOLUMES:
            raise DataError(
                f"qlib volume {self.qlib_volume!r}: choose one of {', '.join(QLIB_VOLUMES)}"
            )


@dataclass(frozen=True)
class Layout:
    """A layout: ``matches(path, columns)`` recognises its files (columns None for a
    folder), ``read(path, options)`` returns its files' rows in tidy names and units,
    prepared by :func:`quant.data.validate.prepare_columns`; ``ordered``: whether its
    files list each code's dates oldest first."""

    name: str
    description: str
    matches: Callable[[Path, frozenset[str] | None], bool]
    read: Callable[[Path, ReadOptions], list[pd.DataFrame]]
    ordered: bool = True


def finish(
    frames: list[pd.DataFrame], layout: Layout, options: ReadOptions, codes: Sequence[str] | None
) -> pd.DataFrame:
    """The validated tidy table of a reader's prepared frames (only ``codes`` if given)."""
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if codes is not None:
        frame = frame[frame["code"].isin(list(codes))]
        if frame.empty:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in REQUIRED_COLUMNS})
    return validate_tidy(frame, ordered=layout.ordered)


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
