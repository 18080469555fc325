"""The one road from any source to the panel: a reader (quant.data.readers) gives its
dates and codes, then its bars in pieces; the intake runs every check once, in this order,
whichever the source:

1. the first pass over the keys (dates and codes, no values): the code format, dates, bars
   on closed days, duplicates, order, frequency (quant.data.validate.check_keys), adding
   up the calendar and each code's first and last bar;
2. what the codes are: the kind of security (quant.market.securities: stocks, indices),
   code changes (quant.data.code_changes), the calendar (quant.market.calendar, with a
   warning for sessions without any bar);
3. the second pass over the values, piece by piece (check_values), each piece scattered
   into the panel's arrays (quant.data.builder) or kept for a table;
4. the gaps of the market and of each code (suspensions), from the bars that arrived.

:func:`panel_fields` gives the MarketPanel's fields (quant.data.panel builds the panel),
:func:`read_table` the tidy table: the same pieces, joined. Peak memory of the panel road is
the panel plus one piece, never the whole tidy table. Warnings about single rows of the
pieces add up into one per kind.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant.data.builder import PanelBuilder
from quant.data.code_changes import (
    check_code_changes,
    codes_to_read,
    read_code_changes,
    renaming,
)
from quant.data.errors import CountedWarning, DataError, DataWarning
from quant.data.files import release_memory
from quant.data.readers.base import Reader
from quant.data.schema import FLAG_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from quant.data.validate import MARKET_GAP_DAYS, check_codes, check_keys, check_values
from quant.market.calendar import Gaps, TradingCalendar
from quant.market.securities import check_kind, classify

#: What to do with codes that are not A-share stocks in stock data.
NON_STOCKS = ("error", "drop")
KINDS = ("stock", "index", "any", "mixed")
CodeChanges = str | Path | pd.DataFrame | None


@dataclass(frozen=True)
class Selection:
    """What to take from a source: ``kind`` "stock" (non-stocks refused, or dropped with
    ``non_stocks = "drop"``), "index" (every code must be an index), "any" (indices only,
    or else stocks), "mixed" (stocks and indices together, for a study of any series);
    ``codes`` (None: all; the older codes of ``code_changes`` are read with them);
    ``code_changes`` (a file, quant.data.code_changes, or its table); ``calendar``
    ("exchange": the XSHG sessions; "data": the data's own dates)."""

    kind: str = "stock"
    codes: Sequence[str] | None = None
    code_changes: CodeChanges = None
    non_stocks: str = "error"
    calendar: str = "exchange"


class NoBars(DataError):
    """A source without any bar (of the codes asked for)."""


@dataclass
class Plan:
    """What the first pass found and decided: the calendar, the codes read (``wanted``,
    None: all), those dropped as another kind, the code changes that apply, and the codes
    of the result."""

    calendar: TradingCalendar
    kind: str
    wanted: frozenset[str] | None
    drop: frozenset[str]
    rename: dict[str, str]
    applied: list[dict[str, str]]
    codes: pd.Index


def plan(reader: Reader, selection: Selection) -> Plan:
    """The first pass over a reader's keys, and what follows from them (steps 1 and 2 of
    the module's docstring), for ``selection``. Raises DataError / UserError naming the
    file, row, code or date (NoBars: no bar of the codes asked for)."""
    kind, non_stocks, calendar = selection.kind, selection.non_stocks, selection.calendar
    if non_stocks not in NON_STOCKS:
        raise DataError(f"non_stocks must be 'error' or 'drop', not {non_stocks!r}")
    if kind not in KINDS:
        raise DataError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    changes = selection.code_changes
    if changes is not None and not isinstance(changes, pd.DataFrame):
        changes = read_code_changes(changes)
    wanted = None if selection.codes is None else list(selection.codes)
    if wanted is not None and changes is not None:
        wanted = codes_to_read(wanted, changes)
    wanted_set = None if wanted is None else frozenset(wanted)
    dates, spans = _first_pass(reader, wanted_set, calendar)
    if not len(spans):
        raise NoBars(
            f"{reader.name}: no bars" + (f" of the codes {', '.join(wanted)}" if wanted else "")
        )
    found = pd.Index(spans.index)
    if kind == "any":
        kind = "index" if (classify(found)["kind"] == "index").all() else "stock"
    drop, notes = pd.Index([]), []
    if kind != "mixed":
        drop, notes = check_kind(found, kind, reader.name, drop=non_stocks == "drop")
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=3)
    spans = spans.drop(index=drop)
    applied: list[dict[str, str]] = []
    rename: dict[str, str] = {}
    final = pd.Index(spans.index)
    if changes is not None:
        applied = check_code_changes(spans, changes)
        rename = renaming(changes)
        final = pd.Index(sorted(set(final.to_series().replace(rename))))
    return Plan(
        trading_calendar(dates, calendar),
        kind,
        wanted_set,
        frozenset(drop),
        rename,
        applied,
        final,
    )


def _first_pass(
    reader: Reader, wanted: frozenset[str] | None, calendar: str
) -> tuple[pd.DatetimeIndex, pd.DataFrame]:
    """The distinct bar dates and each code's first and last bar date (index: the codes),
    every chunk of keys checked (check_keys), and across chunks: no (code, date) twice at
    the seam of two chunks of one file, dates increasing there."""
    dates: list[np.ndarray] = []
    spans: list[pd.DataFrame] = []
    seam: tuple[str, str, np.datetime64] | None = None
    for chunk in reader.keys(wanted):
        if not len(chunk):
            continue
        check_keys(chunk, calendar=calendar, ordered=reader.ordered)
        _check_seam(chunk, seam, reader.ordered)
        last = chunk.iloc[-1]
        seam = (str(last["_source"]), str(last["code"]), last["date"].to_datetime64())
        day = chunk["date"].to_numpy()
        dates.append(np.unique(day))
        frame = pd.DataFrame({"code": chunk["code"], "date": day})
        spans.append(frame.groupby("code", observed=True)["date"].agg(["min", "max"]))
    release_memory()
    if not spans:
        return pd.DatetimeIndex([]), pd.DataFrame(columns=["first", "last"])
    span = pd.concat(spans)
    span.index = span.index.astype(str)
    span = span.groupby(level=0).agg({"min": "min", "max": "max"})
    span = span.rename(columns={"min": "first", "max": "last"})
    return pd.DatetimeIndex(np.unique(np.concatenate(dates))), span


def _check_seam(chunk: pd.DataFrame, seam: tuple | None, ordered: bool) -> None:
    if seam is None:
        return
    first = chunk.iloc[0]
    if (str(first["_source"]), str(first["code"])) != seam[:2]:
        return
    date = first["date"].to_datetime64()
    where = f"{first['_source']}, row {first['_row']}, code {first['code']}, date {first['date'].date()}"
    if date == seam[2]:
        raise DataError(f"{where}: duplicate (code, date) rows (the row before it is the same bar)")
    if ordered and date < seam[2]:
        raise DataError(
            f"{where}: dates are not in increasing order within this code (sort the file by "
            "code, date)"
        )


def trading_calendar(bar_dates: pd.DatetimeIndex, kind: str = "exchange") -> TradingCalendar:
    """The calendar spanning the data's distinct bar dates, with a warning for sessions the
    data lacks and for dates the exchange calendar does not cover."""
    calendar, gaps = TradingCalendar.of(bar_dates, kind)
    _warn_about_calendar(gaps, kind)
    return calendar


def _warn_about_calendar(gaps: Gaps, calendar: str) -> None:
    if len(gaps.missing):
        days = ", ".join(str(d.date()) for d in gaps.missing[:5])
        warnings.warn(
            f"{len(gaps.missing)} exchange sessions have no bar for any code ({days}"
            f"{', ...' if len(gaps.missing) > 5 else ''}): a hole in the data; the session "
            "after each claims no price limit (its reference close is unknown)",
            DataWarning,
            stacklevel=4,
        )
    if gaps.data_only is not None and calendar == "exchange":
        warnings.warn(
            f"{len(gaps.data_only)} days from {gaps.data_only[0].date()} lie beyond the "
            "sessions exchange_calendars knows (XSHG): there the data's own dates are the "
            "trading days, and a hole in the data cannot be told from a holiday",
            DataWarning,
            stacklevel=4,
        )
    if calendar == "data":
        warnings.warn(
            "calendar = 'data': the trading days are the data's own dates; holes in the data "
            "and bars on closed days are not detected",
            DataWarning,
            stacklevel=4,
        )


# -- the second pass ---------------------------------------------------------------------


def _checked_pieces(reader: Reader, plan: Plan) -> Iterator[tuple[pd.DataFrame, str]]:
    """Every piece of the reader, its values checked, other kinds dropped, old codes
    renamed; with the file(s) it came from. Warnings about rows add up (one per kind)."""
    caught: list[warnings.WarningMessage] = []
    try:
        for piece in reader.pieces(plan.wanted):
            label = _label(piece)
            with warnings.catch_warnings(record=True) as records:
                warnings.simplefilter("always")
                piece = piece.assign(code=check_codes(piece))
                piece = check_values(piece)
            caught += records
            if plan.drop:
                piece = piece[~piece["code"].isin(plan.drop)]
            if plan.rename:
                piece = piece.assign(code=piece["code"].astype(str).replace(plan.rename))
            yield piece, label
            release_memory(trim=False)  # what reading the piece left in pyarrow's pool
    finally:
        release_memory()
        _emit(caught)


def _label(piece: pd.DataFrame) -> str:
    sources = piece["_source"].astype("category").cat.categories
    if len(sources) == 1:
        return str(sources[0])
    return f"{sources[0]} (and {len(sources) - 1} more files)"


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
            warnings.warn(message, record.category, stacklevel=4)
    for warning in totals.values():
        warnings.warn(warning, stacklevel=4)


def panel_fields(reader: Reader, selection: Selection | None = None) -> dict[str, Any]:
    """The MarketPanel's fields of a reader's bars (every step of the module's docstring)."""
    found = plan(reader, selection or Selection())
    builder = PanelBuilder(
        found.calendar,
        found.codes,
        adj_factor="adj_factor" in reader.optional,
        is_st="is_st" in reader.optional,
        delisting="delisting" in reader.optional,
    )
    approximated = "amount" in reader.about.approximated
    for piece, label in _checked_pieces(reader, found):
        approximated |= bool(piece["_amount_missing"].any())
        builder.add(piece, label)
    warn_about_gaps(builder.has_bar, builder.dates, builder.codes, found.calendar.source)
    last = len(builder.dates) - 1 - np.argmax(builder.has_bar[::-1], axis=0)
    ending = builder.codes[last < len(builder.dates) - 1]
    return builder.finish(
        amount_approximated=approximated,
        code_changes=tuple(reader.about.code_changes + found.applied),
        notes=tuple(dict.fromkeys(reader.about.notes)),
        suspended_at_end=tuple(c for c in ending if c in reader.about.listed_at_end),
    )


def read_table(reader: Reader, selection: Selection | None = None) -> pd.DataFrame:
    """The tidy table of a reader's bars, sorted by (code, date), code categorical: the
    same checks and pieces as :func:`panel_fields`, joined. ``attrs`` keep what a panel
    built from the table must know (amount_approximated, code_changes, notes,
    listed_at_end). With ``codes``, a source without any of them gives an empty table."""
    selection = selection or Selection()
    columns = [*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in reader.optional)]
    try:
        found = plan(reader, selection)
    except NoBars:
        if selection.codes is None:
            raise
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    pieces = [piece for piece, _ in _checked_pieces(reader, found)]
    columns = [*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in reader.optional)]
    frame = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    approximated = "amount" in reader.about.approximated or bool(frame["_amount_missing"].any())
    frame = _sorted(frame.reindex(columns=[*columns, "_source", "_row"]))
    _check_duplicates(frame)
    sessions = found.calendar.sessions
    has_bar = np.zeros((len(sessions), len(frame["code"].cat.categories)), dtype=bool)
    has_bar[
        np.searchsorted(sessions.to_numpy(), frame["date"].to_numpy()),
        frame["code"].cat.codes.to_numpy(),
    ] = True
    warn_about_gaps(has_bar, sessions, frame["code"].cat.categories, found.calendar.source)
    frame = frame[columns]
    for column in FLAG_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].fillna(False).astype(bool)
    frame.attrs.update(
        amount_approximated=approximated,
        code_changes=reader.about.code_changes + found.applied,
        notes=list(dict.fromkeys(reader.about.notes)),
        listed_at_end=sorted(reader.about.listed_at_end),
    )
    return frame


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame sorted by (code, date), code a categorical of sorted codes; an already
    sorted frame (the usual case) is only checked."""
    frame = frame.assign(code=frame["code"].astype(str).astype("category"))
    code = frame["code"].cat.codes.to_numpy()
    date = frame["date"].to_numpy()
    same = code[1:] == code[:-1]
    if (np.diff(code) >= 0).all() and (np.diff(date)[same] > np.timedelta64(0)).all():
        return frame.reset_index(drop=True)
    return frame.iloc[np.lexsort((date, code))].reset_index(drop=True)


def _check_duplicates(frame: pd.DataFrame) -> None:
    """(code, date) twice across pieces (a code in two files): neighbours once sorted."""
    code = frame["code"].cat.codes.to_numpy()
    date = frame["date"].to_numpy()
    twin = np.flatnonzero((code[1:] == code[:-1]) & (date[1:] == date[:-1]))
    if len(twin):
        rows = frame.iloc[[twin[0], twin[0] + 1]]
        places = "; ".join(f"{s}, row {r}" for s, r in zip(rows["_source"], rows["_row"]))
        raise DataError(
            f"code {rows['code'].iloc[0]}, date {rows['date'].iloc[0].date()}: duplicate "
            f"(code, date) rows ({places}); {len(twin)} duplicates in all"
        )


def warn_about_gaps(
    has_bar: np.ndarray, dates: pd.DatetimeIndex, codes: pd.Index, calendar: str
) -> None:
    """Gaps over all the data: weeks without a bar for any code (with the data's own
    calendar; the exchange calendar names each missing session), and codes with sessions
    without a bar inside their listing (suspensions), the longest named. ``has_bar``: (T,
    N) on the sessions ``dates``."""
    if calendar == "data":
        days = dates.to_numpy()
        for k in np.flatnonzero(np.diff(days) > np.timedelta64(MARKET_GAP_DAYS, "D"))[:3]:
            warnings.warn(
                f"no bar for any code between {dates[k].date()} and {dates[k + 1].date()}: a "
                "gap in the data",
                DataWarning,
                stacklevel=3,
            )
    if not has_bar.size:
        return
    first = np.argmax(has_bar, axis=0)
    last = len(dates) - 1 - np.argmax(has_bar[::-1], axis=0)
    run = np.zeros(has_bar.shape[1], dtype=np.int64)
    longest = np.zeros(has_bar.shape[1], dtype=np.int64)
    end = np.zeros(has_bar.shape[1], dtype=np.int64)
    total = np.zeros(has_bar.shape[1], dtype=np.int64)
    for t in range(has_bar.shape[0]):  # one pass over the sessions, vectorised over codes
        gap = ~has_bar[t] & (first <= t) & (t <= last)
        run = np.where(gap, run + 1, 0)
        total += gap
        longer = run > longest
        longest = np.where(longer, run, longest)
        end = np.where(longer, t, end)
    if not total.any():
        return
    j = int(np.argmax(longest))
    start, stop = dates[end[j] - longest[j] + 1].date(), dates[end[j]].date()
    warnings.warn(
        f"{int((total > 0).sum())} codes have trading days without a bar inside their "
        f"listing ({int(total.sum())} stock-days, treated as suspensions); longest: "
        f"{codes[j]} {start}..{stop} ({int(longest[j])} days)",
        DataWarning,
        stacklevel=3,
    )
