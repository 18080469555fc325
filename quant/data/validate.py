"""The checks of rows: every error names the file, row, code and date at fault, so that a
user never meets a traceback from deep inside pandas. The intake (quant.data.intake) runs
them, once, on what every reader gives it:

- :func:`prepare_columns`: one file's columns (our names and their aliases), helper
  columns, dates parsed;
- :func:`check_keys`: the dates and codes of a chunk of rows (the first pass, before any
  value is read): code format, dates, bars on closed days, duplicates, order, frequency;
- :func:`check_values`: the values of a piece of rows: types, prices, volume and amount,
  units against the prices, whole shares, the fen grid, then the warnings of single rows.

Rows carry two helper columns while they are checked: ``_source`` (the file they came
from) and ``_row`` (their 1-based row number in that file). Columns whose names start with
an underscore are helpers that readers add; the intake drops them.

The checks, in order, with the message each gives, are tabled in docs/data_sources.md.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import re
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from quant.data.errors import DataError, warn_counted
from quant.data.schema import (
    ALIASES,
    CODE_FORM,
    CODE_PATTERN,
    FLAG_COLUMNS,
    NUMERIC_COLUMNS,
    OPTIONAL_COLUMNS,
    PRICE_COLUMNS,
    REQUIRED_COLUMNS,
)
from quant.market.calendar import exchange_sessions
from quant.market.securities import classify

#: A code whose median gap between bars exceeds this many calendar days is not daily data.
MAX_MEDIAN_GAP_DAYS = 5
#: No bar at all in the market for longer than this (calendar days) is worth a warning;
#: the Spring Festival and National Day breaks last up to 10.
MARKET_GAP_DAYS = 14
#: The exchanges' time zone: time-zone stamps are converted to its date.
EXCHANGE_TZ = ZoneInfo("Asia/Shanghai")
#: A file whose dates all carry the same time of day holds daily bars stamped at that
#: time (the close, 15:00, or 08:00 for UTC midnight seen from Beijing). Without a time
#: zone such a stamp is taken as Beijing time up to the close; a later one, such as 16:00,
#: is what Beijing midnight becomes when written in UTC without its offset, and taking its
#: date would move every bar to the day before.
LATEST_DAILY_STAMP = pd.Timedelta(hours=15)
#: Day and month first, year last (03/01/2017, 3.1.17): 3 January or 1 March?
AMBIGUOUS_DATE = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?!\d)")
#: A time of day followed by an ISO 8601 time-zone designator, ending a date text.
ZONE_SUFFIX = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
#: amount / volume is the day's average traded price, which lies in [low, high]; this
#: much room is left on either side (lots rounding the volume of small bars, float32
#: amounts). Unit mistakes are factors of 10, 100 or 1,000; on the shared 2010-2017 data
#: all but 4 of 4.0 M bars lie within 0.04 % of [low, high], and those 4 are ~100 times
#: off (scripts/plausibility_figures.py).
UNITS_TOLERANCE = 0.01
#: A code with more than this share of its traded bars outside is in the wrong units (or
#: adjusted prices); fewer bars outside are single bad rows, which get a warning. The same
#: share decides between an error and a warning for prices off the fen grid.
UNITS_MAJORITY = 0.5
#: Float noise allowed in a share count (lots x 100 computed in floating point).
WHOLE_SHARES_SLACK = 1e-3
#: A price this close to a whole fen is one (float noise of a decimal written as binary).
#: A-share prices move in steps of 0.01 yuan (SSE and SZSE trading rules, 申报价格最小变动
#: 单位 0.01 元).
FEN_SLACK = 1e-6


def number_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The frame with the helper columns ``_source`` and ``_row`` (1-based file rows),
    unless it has them (a reader that names each row's file: qlib's instrument folders)."""
    frame = frame.copy(deep=False)
    if "_source" not in frame.columns:  # one category: no string per row
        frame["_source"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), [source])
    if "_row" not in frame.columns:
        frame["_row"] = np.arange(1, len(frame) + 1)
    return frame


def tidy_names(columns: pd.Index, source: str) -> dict[object, str]:
    """The tidy name of each column a file has (ours, in any case and spacing, or one of
    ALIASES); helper columns keep theirs, others are left out. DataError when two columns
    name the same tidy column (``is_st`` and ``isST``)."""
    names: dict[object, str] = {}
    for column in columns:
        if str(column).startswith("_"):
            names[column] = str(column)
            continue
        name = str(column).strip().lower()
        name = name if name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS else ALIASES.get(name, name)
        if name in names.values():
            first = next(c for c, n in names.items() if n == name)
            raise DataError(
                f"{source}: columns {str(first)!r} and {str(column)!r} both give {name!r}; keep one"
            )
        names[column] = name
    return names


def prepare_columns(
    frame: pd.DataFrame, source: str, *, date_format: str | None = None, dates: bool = True
) -> pd.DataFrame:
    """Check one file's columns, give it the helper columns and parse its dates (to naive
    Beijing dates, see :func:`parse_dates`; ``dates=False`` leaves them); names the file on
    error. Dates are a property of a file (one format, one time zone), so they are parsed
    file by file. Our columns are found in any case and under their aliases
    (quant.data.schema.ALIASES: baostock's ``isST`` is ``is_st``); a file without an
    amount column gets NaN there and the flag ``_amount_missing`` (approximated by
    :func:`check_values`)."""
    if frame.empty:
        raise DataError(f"{source}: no rows (empty file)")
    names = tidy_names(frame.columns, source)
    frame = frame.rename(columns=names)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    misspelt = {name: difflib.get_close_matches(name, extra, n=1, cutoff=0.6) for name in missing}
    # some sources have no amount at all: it is approximated later (a misspelt one is an error)
    approximate_amount = missing == ["amount"] and not misspelt["amount"]
    if missing and not approximate_amount:
        hints = [
            f"'{name}'" + (f" (found '{close[0]}': misspelt?)" if close else "")
            for name, close in misspelt.items()
        ]
        raise DataError(
            f"{source}: missing column(s) {', '.join(hints)}; "
            f"the tidy schema is {', '.join(REQUIRED_COLUMNS)} [+ adj_factor, is_st, delisting]"
        )
    keep = [c for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in frame.columns]
    out = number_rows(frame[keep + [c for c in frame.columns if str(c).startswith("_")]], source)
    if approximate_amount:
        out["amount"] = np.nan
    out["_amount_missing"] = approximate_amount
    if dates:
        out["date"] = parse_dates(out, date_format)
    return out


def where(frame: pd.DataFrame, i: int) -> str:
    """'file, row R, code C, date D' of the frame's i-th row (code and date if known)."""
    row = frame.iloc[i]
    parts = [f"{row['_source']}, row {row['_row']}"]
    if "code" in frame.columns and not pd.isna(row["code"]):
        parts.append(f"code {row['code']}")
    if "date" in frame.columns:
        date = row["date"]
        if isinstance(date, pd.Timestamp):
            parts.append(f"date {date.date()}")
        elif date is not None and not pd.isna(date):
            parts.append(f"date {date!r}")
    return ", ".join(parts)


def fail_where(frame: pd.DataFrame, mask: np.ndarray, message: str) -> None:
    """Raise DataError naming the first row where ``mask`` holds, and how many more."""
    bad = np.flatnonzero(mask)
    if len(bad):
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        raise DataError(f"{where(frame, bad[0])}: {message}{more}")


# -- dates -------------------------------------------------------------------------------


def parse_dates(frame: pd.DataFrame, date_format: str | None = None) -> pd.Series:
    """One file's ``date`` column as naive Beijing dates (datetime64[ns] at midnight).

    Accepted without ``date_format``: datetime columns, YYYYMMDD integers, and texts
    with the year first (ISO 8601 2017-01-03, 2017/1/3, 2017.01.03, with or without a
    time) or a month name. Day-and-month-first texts (03/01/2017) are ambiguous and
    refused unless ``date_format`` (a strptime format such as ``%d/%m/%Y``) is given.
    Stamps with a time zone are converted to Beijing time; a time of day that every row
    of the file shares is a daily stamp and is dropped (see LATEST_DAILY_STAMP); times
    that differ between rows are intraday bars, an error.
    """
    raw = frame["date"]
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        stamps, zoned = raw.dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None), True
    elif pd.api.types.is_datetime64_any_dtype(raw):
        stamps, zoned = raw, False
    else:
        stamps, zoned = _parse_texts(frame, raw, date_format)
    fail_where(frame, stamps.isna().to_numpy(), "missing date")
    return _daily(frame, stamps.astype("datetime64[ns]"), zoned)


def _parse_texts(
    frame: pd.DataFrame, raw: pd.Series, date_format: str | None
) -> tuple[pd.Series, bool]:
    """Parse each distinct text once; returns the stamps and whether they had a zone."""
    if pd.api.types.is_integer_dtype(raw):
        raw, date_format = raw.astype(str), date_format or "%Y%m%d"  # 20140102 style
    positions, texts = pd.factorize(raw)
    texts = pd.Index(texts.astype(str)).str.strip()

    def first_row(k: int) -> int:
        return int(np.flatnonzero(positions == k)[0])

    if date_format is not None:
        parsed = pd.Series(
            pd.to_datetime(texts, format=date_format, errors="coerce", utc="%z" in date_format)
        )
        zoned = "%z" in date_format
    else:
        ambiguous = np.flatnonzero(texts.str.match(AMBIGUOUS_DATE.pattern))
        if len(ambiguous):
            text = texts[ambiguous[0]]
            raise DataError(
                f"{where(frame, first_row(ambiguous[0]))}: date {text!r} is ambiguous "
                "(day or month first?); give its format, e.g. --date-format %d/%m/%Y or "
                "%m/%d/%Y (quant data import --format tidy SRC --out STORE --date-format ...)"
            )
        zone = np.asarray(texts.str.contains(ZONE_SUFFIX.pattern), dtype=bool)
        if zone.any() and not zone.all():
            k = int(np.flatnonzero(zone != zone[0])[0])
            raise DataError(
                f"{where(frame, first_row(k))}: date {texts[k]!r}: some dates of this file "
                "carry a time zone and others do not"
            )
        zoned = bool(zone.all()) and len(texts) > 0
        parsed = pd.Series(pd.to_datetime(texts, format="ISO8601", errors="coerce", utc=zoned))
        retry = parsed.isna().to_numpy()
        if retry.any():  # other spellings, e.g. 2014/01/02; slow, so only where needed
            parsed[retry] = pd.to_datetime(texts[retry], format="mixed", errors="coerce", utc=zoned)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        expected = f" in the format {date_format!r}" if date_format else ""
        raise DataError(
            f"{where(frame, first_row(bad[0]))}: {texts[bad[0]]!r} is not a date{expected}"
        )
    if zoned:
        parsed = parsed.dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None)
    values = parsed.to_numpy(dtype="datetime64[ns]")
    stamps = np.where(positions >= 0, values[positions], np.datetime64("NaT"))
    return pd.Series(stamps, index=raw.index, dtype="datetime64[ns]"), zoned


def _daily(frame: pd.DataFrame, stamps: pd.Series, zoned: bool) -> pd.Series:
    days = stamps.dt.normalize()
    time = (stamps - days).to_numpy()
    if not time.any():
        return days
    shown = frame.assign(date=stamps)
    other = time != time[0]
    if other.any():
        fail_where(
            shown,
            other,
            f"stamped {_clock(time[other][0])}, the file's first row {_clock(time[0])}: "
            "intraday bars mixed with daily ones (daily bars expected)",
        )
    if not zoned and pd.Timedelta(time[0]) > LATEST_DAILY_STAMP:
        raise DataError(
            f"{where(shown, 0)}: every bar is stamped at {_clock(time[0])} without a time "
            "zone, after the 15:00 close: Beijing midnight written in UTC? Give the dates "
            "with their time zone (e.g. +08:00 or Z) or as plain dates"
        )
    return days


def _clock(time: np.timedelta64) -> str:
    seconds = int(pd.Timedelta(time).total_seconds())
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}" + (
        f":{seconds % 60:02d}" if seconds % 60 else ""
    )


def _check_future(frame: pd.DataFrame) -> None:
    today = np.datetime64(dt.datetime.now(EXCHANGE_TZ).date(), "ns")
    dates = frame["date"].to_numpy()
    if dates.max() > today:
        fail_where(frame, dates > today, f"date after today ({str(today)[:10]}, Beijing)")


# -- codes and values --------------------------------------------------------------------


def check_codes(frame: pd.DataFrame) -> pd.Series:
    """Codes as a categorical with sorted categories: the format is checked once per
    distinct code, and grouping or sorting by code becomes integer work."""
    raw = frame["code"]
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        fail_where(frame, raw.notna().to_numpy(), _number_code(raw[raw.notna()].iloc[0]))
    codes = raw.astype("category")
    categories = codes.cat.categories
    texts = (
        np.ones(len(categories), dtype=bool)
        if categories.inferred_type == "string"
        else np.array([isinstance(name, str) for name in categories], dtype=bool)
    )
    if not texts.all():
        fail_where(
            frame,
            codes.isin(codes.cat.categories[~texts]).to_numpy(),
            _number_code(codes.cat.categories[~texts][0]),
        )
    names = codes.cat.categories.astype(str)
    if not (names == names.str.strip()).all():
        codes = raw.astype("string").str.strip().astype("category")
        names = codes.cat.categories.astype(str)
    fail_where(frame, (codes.isna() | (codes == "")).to_numpy(), f"blank code ({CODE_FORM})")
    ok = np.asarray(names.str.match(CODE_PATTERN.pattern), dtype=bool)
    if not ok.all():
        bad = names[~ok][0]
        i = int(np.flatnonzero((codes == bad).to_numpy())[0])
        raise DataError(
            f"{where(frame, i)}: unknown code format {frame['code'].iloc[i]!r}; "
            f"expected {CODE_FORM}"
        )
    return codes.cat.set_categories(names.sort_values())


def _number_code(value: object) -> str:
    return (
        f"code {value} is a number, not text ({CODE_FORM}); a number loses the leading "
        "zeros of codes such as 000001: store codes as text"
    )


def to_float(frame: pd.DataFrame, column: str) -> pd.Series:
    """A numeric column as float64; booleans, texts that are not numbers and infinite
    values are errors naming the row."""
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        fail_where(
            frame,
            raw.notna().to_numpy(),
            f"{column} is a column of booleans (True/False), not numbers",
        )
    if not (pd.api.types.is_numeric_dtype(raw) or raw.isna().all()):
        flags = np.fromiter(
            (isinstance(v, bool | np.bool_) for v in raw.to_numpy()), bool, len(raw)
        )
        fail_where(frame, flags, f"{column} is a boolean (True/False), not a number")
        values = pd.to_numeric(raw, errors="coerce")
        bad = (values.isna() & raw.notna()).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{where(frame, i)}: {column} {raw.iloc[i]!r} is not a number")
        raw = values
    values = raw.astype("float64")
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        value = values.to_numpy()[infinite][0]
        fail_where(frame, infinite, f"{column} is {value} (not a finite number)")
    return values


#: Spellings of a boolean flag accepted in text files (case-insensitive).
TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")


def to_bool(frame: pd.DataFrame, column: str) -> pd.Series:
    """A flag column as bool: booleans, 0/1, or the words of TRUE_WORDS / FALSE_WORDS. Rows
    of files that lack the column (NaN after concatenation) are False; any other value is
    an error naming the row."""
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(bool)
    text = raw.astype("string").str.strip().str.lower()
    text = text.str.replace(r"\.0$", "", regex=True)  # 1.0 / 0.0 from a float column
    true, false = text.isin(TRUE_WORDS), text.isin(FALSE_WORDS)
    bad = (~(true | false) & raw.notna()).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where(frame, i)}: {column} {raw.iloc[i]!r} is not a flag (true/false, 1/0 or yes/no)"
        )
    return true.fillna(False).astype(bool)


# -- the keys: dates and codes, before any value is read ---------------------------------


def closed_days(dates: np.ndarray, calendar: str = "exchange") -> np.ndarray:
    """Which of ``dates`` are days the exchange was closed (within the years the exchange
    calendar knows; none with the data's own calendar, ``calendar = "data"``)."""
    if calendar != "exchange":
        return np.zeros(len(dates), dtype=bool)
    known = exchange_sessions().to_numpy()
    days, back = np.unique(np.asarray(dates, dtype="datetime64[ns]"), return_inverse=True)
    at = np.minimum(np.searchsorted(known, days), len(known) - 1)
    inside = (days >= known[0]) & (days <= known[-1])
    return (inside & (known[at] != days))[back]


def check_keys(frame: pd.DataFrame, *, calendar: str = "exchange", ordered: bool = True) -> None:
    """Check the keys of a chunk of rows (``code`` as text, ``date`` parsed, helper
    columns; whole codes of one or more files): the code format, no date after today, no
    bar on a day the exchange was closed (``calendar``), no (code, date) twice, dates
    increasing within each code of a file (``ordered``: a plain tidy file; layouts
    documented newest first pass False), and daily bars. Replaces ``code`` by a
    categorical with sorted categories. DataError names the first row at fault."""
    frame["code"] = check_codes(frame)
    _check_future(frame)
    code = frame["code"].cat.codes.to_numpy()
    date = frame["date"].to_numpy()
    order = np.lexsort((date, code))
    _check_duplicates(frame, order)
    if ordered:
        _check_order(frame)
    _check_frequency(frame, order)
    _check_closed_days(frame, calendar)


def _check_closed_days(frame: pd.DataFrame, calendar: str) -> None:
    closed = closed_days(frame["date"].to_numpy(), calendar)
    if not closed.any():
        return
    days = pd.DatetimeIndex(np.unique(frame["date"].to_numpy()[closed]))
    fail_where(
        frame,
        closed,
        f"a bar on a day the exchange was closed ({len(days)} such days: "
        f"{', '.join(str(d.date()) for d in days[:5])}{', ...' if len(days) > 5 else ''}); "
        "fix the dates, or use calendar = 'data' to trust the data's own dates",
    )


def _check_duplicates(frame: pd.DataFrame, order: np.ndarray) -> None:
    code = frame["code"].cat.codes.to_numpy()[order]
    date = frame["date"].to_numpy()[order]
    twin = np.flatnonzero((code[1:] == code[:-1]) & (date[1:] == date[:-1]))
    if len(twin):
        first, second = order[twin[0]], order[twin[0] + 1]
        rows = frame.iloc[sorted([first, second])]
        places = "; ".join(f"{s}, row {r}" for s, r in zip(rows["_source"], rows["_row"]))
        raise DataError(
            f"code {rows['code'].iloc[0]}, date {pd.Timestamp(rows['date'].iloc[0]).date()}: "
            f"duplicate (code, date) rows ({places}); {len(twin)} duplicates in this piece"
        )


def _check_order(frame: pd.DataFrame) -> None:
    source = frame["_source"].astype("category").cat.codes.to_numpy()
    code = frame["code"].cat.codes.to_numpy()
    date = frame["date"].to_numpy()
    same = (source[1:] == source[:-1]) & (code[1:] == code[:-1])
    back = np.zeros(len(frame), dtype=bool)
    back[1:] = same & (date[1:] < date[:-1])
    fail_where(
        frame,
        back,
        "dates are not in increasing order within this code (sort the file by code, date)",
    )


def _check_frequency(frame: pd.DataFrame, order: np.ndarray) -> None:
    code = frame["code"].cat.codes.to_numpy()[order]
    days = frame["date"].to_numpy()[order].astype("datetime64[D]").astype(np.int64)
    gaps = pd.Series(np.diff(days).astype(float))
    gaps[code[1:] != code[:-1]] = np.nan
    median = gaps.groupby(code[1:]).median()
    counts = np.bincount(code, minlength=len(frame["code"].cat.categories))
    coarse = median[(median > MAX_MEDIAN_GAP_DAYS) & (counts[median.index] >= 5)]
    if len(coarse):
        j = int(coarse.index[0])
        name = frame["code"].cat.categories[j]
        source = frame["_source"].to_numpy()[order][np.flatnonzero(code == j)[0]]
        kind = "mixed with daily codes" if len(coarse) < median.notna().sum() else "not daily"
        raise DataError(
            f"{source}, code {name}: median gap of {coarse.iloc[0]:.0f} days between bars "
            f"looks weekly or monthly ({kind}: {len(coarse)} such codes); daily bars expected"
        )


# -- the values of a piece ---------------------------------------------------------------


def check_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Type and check the values of a piece made by :func:`prepare_columns` and checked by
    :func:`check_keys` (``code`` categorical). Returns it typed (numbers float64, is_st
    bool, the amount of files without one approximated). The bars of A-share stock codes
    must have whole share counts, an amount / volume that matches their prices and prices
    on the fen grid; index codes (000300.SH, 399001.SZ) have none of these properties and
    are not checked for them. Raises DataError on the first kind of problem found; warns
    (CountedWarning) on zero-volume bars, bars whose open/close lie outside [low, high],
    and single bars whose amount / volume or prices are off."""
    frame = frame.reset_index(drop=True)
    for column in [*NUMERIC_COLUMNS, *(c for c in ("adj_factor",) if c in frame.columns)]:
        frame[column] = to_float(frame, column)
    for column in FLAG_COLUMNS:
        if column in frame.columns:
            frame[column] = to_bool(frame, column)
    _approximate_amount(frame)
    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    for j, column in enumerate(PRICE_COLUMNS):
        fail_where(frame, np.isnan(prices[:, j]), f"missing (NaN) {column} price")
        fail_where(frame, prices[:, j] <= 0, f"non-positive {column} price")
    for column in ("volume", "amount"):
        values = frame[column].to_numpy()
        fail_where(frame, np.isnan(values), f"missing (NaN) {column}")
        fail_where(frame, values < 0, f"negative {column}")
    if "adj_factor" in frame.columns:
        fail_where(frame, frame["adj_factor"].to_numpy() <= 0, "non-positive adj_factor")
    high, low = frame["high"].to_numpy(), frame["low"].to_numpy()
    fail_where(frame, high < low, "high is below low")
    stock = _stock_rows(frame)
    _check_units(frame, stock)
    _check_whole_shares(frame, stock)
    _check_fen_grid(frame, stock)
    _warn_about_rows(frame)
    return frame


def _approximate_amount(frame: pd.DataFrame) -> None:
    """Fill the amount of files without that column: volume x (open + high + low + close)
    / 4, the average price of the bar times its shares. Says so in a warning."""
    missing = frame["_amount_missing"].to_numpy(dtype=bool)
    if not missing.any():
        return
    mean_price = frame.loc[missing, ["open", "high", "low", "close"]].mean(axis=1)
    frame.loc[missing, "amount"] = frame.loc[missing, "volume"] * mean_price
    files = sorted(map(str, frame.loc[missing, "_source"].drop_duplicates()))
    warn_counted(
        len(files),
        "files have no amount column (first: {first}): amount approximated by volume x "
        "(open + high + low + close) / 4",
        files[0],
    )


# -- units -------------------------------------------------------------------------------


def _stock_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows of A-share stock codes by the securities master (quant.market.securities):
    000001.SZ is Ping An Bank, 000001.SH and 399001.SZ are indices, 510300.SH a fund."""
    names = tuple(frame["code"].cat.categories.to_numpy(dtype=object))
    return _stocks(names)[frame["code"].cat.codes.to_numpy()]


@functools.lru_cache(maxsize=8)
def _stocks(names: tuple[str, ...]) -> np.ndarray:
    """Which of the codes are A-share stocks (the pieces of one source share their codes:
    classified once)."""
    if not names:
        return np.zeros(0, dtype=bool)
    return (classify(pd.Index(names))["kind"] == "stock").to_numpy(dtype=bool)


def _check_whole_shares(frame: pd.DataFrame, stock: np.ndarray) -> None:
    volume = frame["volume"].to_numpy()
    fractional = stock & (np.abs(volume - np.rint(volume)) > WHOLE_SHARES_SLACK)
    if fractional.any():
        value = volume[fractional][0]
        fail_where(
            frame,
            fractional,
            f"volume {value:g} is not a whole number of shares (lots with decimals, such as "
            "tushare's vol? the tidy schema wants shares)",
        )


def _check_units(frame: pd.DataFrame, stock: np.ndarray) -> None:
    """amount / volume, the day's average traded price, must lie in [low, high] (within
    UNITS_TOLERANCE). A code with most of its bars outside has volume or amount in other
    units (or adjusted prices): an error. A few bars outside: a warning."""
    volume, amount = frame["volume"].to_numpy(), frame["amount"].to_numpy()
    low, high = frame["low"].to_numpy(), frame["high"].to_numpy()
    traded = stock & (volume > 0) & ~frame["_amount_missing"].to_numpy(dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = amount / volume
    outside = traded & (
        (average < low * (1 - UNITS_TOLERANCE)) | (average > high * (1 + UNITS_TOLERANCE))
    )
    if not outside.any():
        return
    code = frame["code"].cat.codes.to_numpy()
    n = len(frame["code"].cat.categories)
    share = np.bincount(code, outside, n) / np.maximum(np.bincount(code, traded, n), 1)
    wrong = outside & (share[code] > UNITS_MAJORITY)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        ratio = average[i] / ((low[i] + high[i]) / 2)
        fail_where(
            frame,
            wrong,
            f"amount / volume = {average[i]:.4g} yuan a share, outside the day's prices "
            f"{low[i]:g}..{high[i]:g} on {share[code[i]]:.0%} of this code's bars: "
            f"{_units_hint(ratio)}. The tidy schema wants volume in shares and amount in "
            "yuan; quant data import --format akshare|tushare|baostock|qlib converts "
            "those layouts",
        )
    warn_counted(
        int(outside.sum()),
        "bars have amount / volume outside the day's [low, high] (first: {first}): a wrong "
        "volume or amount on those days",
        where(frame, int(np.flatnonzero(outside)[0])),
    )


def _units_hint(ratio: float) -> str:
    """What amount / volume at ``ratio`` times the day's middle price suggests."""
    power = math.log10(ratio)
    if abs(power + 1) < 0.1:
        return (
            "a tenth of the price, as with volume in lots of 100 shares and amount in "
            "thousands of yuan (tushare's daily vol and amount)"
        )
    if abs(power - 2) < 0.1:
        return "100 times the price, as with volume in lots of 100 shares (akshare)"
    return (
        f"{ratio:.3g} times the price: adjusted (qfq or hfq) prices, or volume or amount in "
        "other units? amount / volume is the raw price actually paid, and the tidy schema "
        "wants raw prices (with adj_factor)"
    )


def _check_fen_grid(frame: pd.DataFrame, stock: np.ndarray) -> None:
    """A-share prices move in fen (0.01 yuan): a stock's price off that grid is a data
    error or an adjusted price: a warning with the count of such bars, naming the first;
    the prices are used as given (the panel then keeps them in float64). Every row's
    answer (indices' too) is left in the helper column ``_off_fen``."""
    off_fen = np.zeros(len(frame), dtype=bool)
    for column in PRICE_COLUMNS:
        cents = frame[column].to_numpy() * 100.0
        off_fen |= np.abs(cents - np.rint(cents)) > FEN_SLACK * 100
    frame["_off_fen"] = off_fen
    off = stock & off_fen
    if not off.any():
        return
    i = int(np.flatnonzero(off)[0])
    first = ", ".join(f"{c} {frame[c].iloc[i]:g}" for c in PRICE_COLUMNS)
    warn_counted(
        int(off.sum()),
        "bars have a price that is not a whole fen (0.01 yuan, the price step of A-shares; "
        "first: {first}): adjusted prices taken for raw ones, or a data error? The prices "
        "are used as given",
        f"{where(frame, i)}: {first}",
    )


def _warn_about_rows(frame: pd.DataFrame) -> None:
    zero = frame["volume"].to_numpy() == 0
    if zero.any():
        warn_counted(
            int(zero.sum()),
            "bars have zero volume (first: {first}); the panel treats them as untradable",
            where(frame, int(np.flatnonzero(zero)[0])),
        )
    price = frame[["open", "close"]].to_numpy()
    outside = (price > frame[["high"]].to_numpy() + 1e-6) | (
        price < frame[["low"]].to_numpy() - 1e-6
    )
    outside = outside.any(axis=1)
    if outside.any():
        warn_counted(
            int(outside.sum()),
            "bars have open or close outside [low, high] (first: {first})",
            where(frame, int(np.flatnonzero(outside)[0])),
        )
