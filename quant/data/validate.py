"""Validation of tidy daily bars: every error names the file, row, code and date at fault,
so that a user never meets a traceback from deep inside pandas.

Rows carry two helper columns while they are checked: ``_source`` (the file they came
from) and ``_row`` (their 1-based row number in that file). Columns whose names start with
an underscore are helpers that readers of other layouts add (see quant.data.layouts); they
are dropped at the end.

The checks, in order, with the message each gives, are tabled in docs/data_sources.md.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import warnings
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from quant.data.schema import (
    CODE_FORM,
    CODE_PATTERN,
    NUMERIC_COLUMNS,
    OPTIONAL_COLUMNS,
    PRICE_COLUMNS,
    REQUIRED_COLUMNS,
)
from quant.errors import UserError
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
#: adjusted prices); fewer bars outside are single bad rows, which get a warning.
UNITS_MAJORITY = 0.5
#: Float noise allowed in a share count (lots x 100 computed in floating point).
WHOLE_SHARES_SLACK = 1e-3


class DataError(UserError, ValueError):
    """Input data that cannot be used; the message says where and why."""


class DataWarning(UserWarning):
    """Something real data has (zero-volume days, suspensions) that the user should know."""


class CountedWarning(DataWarning):
    """A DataWarning about ``count`` rows of one kind, the first at ``first``: warnings
    about pieces of the same data (quant.data.loader) add up into one."""

    def __init__(self, count: int, text: str, first: str = "") -> None:
        self.count, self.text, self.first = count, text, first
        super().__init__(f"{count} {text.format(first=first)}")


def warn_counted(count: int, text: str, first: str = "") -> None:
    """Warn about ``count`` rows; ``text`` follows the count and may name ``{first}``."""
    warnings.warn(CountedWarning(count, text, first), stacklevel=3)


def number_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The frame with the helper columns ``_source`` and ``_row`` (1-based file rows)."""
    frame = frame.copy(deep=False)
    frame["_source"] = source
    if "_row" not in frame.columns:
        frame["_row"] = np.arange(1, len(frame) + 1)
    return frame


def prepare_columns(
    frame: pd.DataFrame, source: str, *, date_format: str | None = None
) -> pd.DataFrame:
    """Check one file's columns, give it the helper columns and parse its dates (to naive
    Beijing dates, see :func:`parse_dates`); names the file on error. Dates are a property
    of a file (one format, one time zone), so they are parsed file by file."""
    if frame.empty:
        raise DataError(f"{source}: no rows (empty file)")
    frame = frame.rename(columns=lambda c: c if str(c).startswith("_") else str(c).strip().lower())
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
            f"the tidy schema is {', '.join(REQUIRED_COLUMNS)} [+ adj_factor, is_st]"
        )
    keep = [c for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in frame.columns]
    out = number_rows(frame[keep + [c for c in frame.columns if str(c).startswith("_")]], source)
    if approximate_amount:
        out["amount"] = np.nan
    out["_amount_missing"] = approximate_amount
    out["date"] = parse_dates(out, date_format)
    return out


def validate_tidy(frame: pd.DataFrame, *, ordered: bool = True, whole: bool = True) -> pd.DataFrame:
    """Type and check a frame made by :func:`prepare_columns` (one file or several
    concatenated). Returns the tidy table sorted by (code, date), helper columns dropped.

    ``ordered``: each file must list a code's dates in increasing order (a plain tidy file;
    layouts documented newest first pass False). The bars of A-share stock codes must have
    whole share counts and an amount / volume that matches their prices; index codes
    (000300.SH, 399001.SZ) have neither property and are not checked for them. ``whole``:
    the frame is all the data (a piece of it leaves the market's gaps to the caller). Raises
    DataError on the first kind of problem found; warns (DataWarning) on zero-volume bars,
    bars whose open/close lie outside [low, high], single bars whose amount / volume lies
    outside [low, high], and gaps.
    """
    frame = frame.reset_index(drop=True)
    frame["_source"] = frame["_source"].astype("category")
    _check_future(frame)
    frame["code"] = _check_codes(frame)
    for column in [*NUMERIC_COLUMNS, *(c for c in ("adj_factor",) if c in frame.columns)]:
        frame[column] = to_float(frame, column)
    if "is_st" in frame.columns:
        frame["is_st"] = to_bool(frame, "is_st")
    approximated = _approximate_amount(frame)

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

    ordered_frame = _sorted(frame)
    _check_duplicates(ordered_frame)
    if ordered:
        _check_order(frame)
    frame = ordered_frame
    _check_frequency(frame)
    _warn_about(frame, whole)
    frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith("_")])
    frame.attrs["amount_approximated"] = approximated
    return frame


def _approximate_amount(frame: pd.DataFrame) -> bool:
    """Fill the amount of files without that column: volume x (open + high + low + close)
    / 4, the average price of the bar times its shares. Says so in a warning."""
    missing = frame["_amount_missing"].to_numpy(dtype=bool)
    if not missing.any():
        return False
    mean_price = frame.loc[missing, ["open", "high", "low", "close"]].mean(axis=1)
    frame.loc[missing, "amount"] = frame.loc[missing, "volume"] * mean_price
    files = sorted(frame.loc[missing, "_source"].astype(str).unique())
    warn_counted(
        len(files),
        "files have no amount column (first: {first}): amount approximated by volume x "
        "(open + high + low + close) / 4",
        files[0],
    )
    return True


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


def _check_codes(frame: pd.DataFrame) -> pd.Series:
    """Codes as a categorical with sorted categories: the format is checked once per
    distinct code, and grouping or sorting by code becomes integer work."""
    raw = frame["code"]
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        fail_where(frame, raw.notna().to_numpy(), _number_code(raw[raw.notna()].iloc[0]))
    codes = raw.astype("category")
    texts = np.array([isinstance(name, str) for name in codes.cat.categories])
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


# -- units -------------------------------------------------------------------------------


def _stock_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows of A-share stock codes by the securities master (quant.market.securities):
    000001.SZ is Ping An Bank, 000001.SH and 399001.SZ are indices, 510300.SH a fund."""
    names = frame["code"].cat.categories
    stock = (classify(names)["kind"] == "stock").to_numpy() if len(names) else np.array([])
    return stock.astype(bool)[frame["code"].cat.codes.to_numpy()]


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


# -- order, duplicates, frequency ---------------------------------------------------------


def _check_order(frame: pd.DataFrame) -> None:
    step = frame.groupby(["_source", "code"], observed=True, sort=False)["date"].diff()
    fail_where(
        frame,
        (step < pd.Timedelta(0)).to_numpy(),
        "dates are not in increasing order within this code (sort the file by code, date)",
    )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame sorted by (code, date); sorting millions of rows costs seconds, so an
    already sorted frame (the usual case) is only checked."""
    code = frame["code"].cat.codes.to_numpy()
    date = frame["date"].to_numpy()
    same = code[1:] == code[:-1]
    if (np.diff(code) >= 0).all() and (np.diff(date)[same] > np.timedelta64(0)).all():
        return frame
    return frame.iloc[np.lexsort((date, code))].reset_index(drop=True)


def _check_duplicates(frame: pd.DataFrame) -> None:
    """Needs the frame sorted by (code, date): duplicates are then neighbours."""
    code = frame["code"].cat.codes.to_numpy()
    date = frame["date"].to_numpy()
    twin = np.flatnonzero((code[1:] == code[:-1]) & (date[1:] == date[:-1]))
    if len(twin):
        i = twin[0]
        rows = frame.iloc[[i, i + 1]]
        places = "; ".join(f"{s}, row {r}" for s, r in zip(rows["_source"], rows["_row"]))
        raise DataError(
            f"code {rows['code'].iloc[0]}, date {rows['date'].iloc[0].date()}: duplicate "
            f"(code, date) rows ({places}); {len(twin)} duplicates in all"
        )


def _check_frequency(frame: pd.DataFrame) -> None:
    """Needs the frame sorted by (code, date)."""
    gaps = frame.groupby("code", observed=True, sort=False)["date"].diff().dt.days
    median = gaps.groupby(frame["code"], observed=True, sort=False).median()
    counts = frame.groupby("code", observed=True, sort=False).size()
    coarse = median[(median > MAX_MEDIAN_GAP_DAYS) & (counts >= 5)]
    if len(coarse):
        code = coarse.index[0]
        source = frame.loc[frame["code"] == code, "_source"].iloc[0]
        kind = "mixed with daily codes" if len(coarse) < len(median) else "not daily"
        raise DataError(
            f"{source}, code {code}: median gap of {coarse.iloc[0]:.0f} days between bars "
            f"looks weekly or monthly ({kind}: {len(coarse)} such codes); daily bars expected"
        )


def _warn_about(frame: pd.DataFrame, whole: bool) -> None:
    """Needs the frame sorted by (code, date). Without ``whole`` (a piece of the data) the
    gaps, which need all of it, are left to the caller."""
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
    if whole:
        warn_about_gaps(frame)


def warn_about_gaps(frame: pd.DataFrame) -> None:
    """Gaps of the market (no bar for any code for weeks) and of each code (days without a
    bar inside its listing: suspensions), over all the data (needs it sorted by (code,
    date))."""
    calendar = np.sort(frame["date"].unique())
    holes = np.flatnonzero(np.diff(calendar) > np.timedelta64(MARKET_GAP_DAYS, "D"))
    for k in holes[:3]:
        warnings.warn(
            f"no bar for any code between {pd.Timestamp(calendar[k]).date()} and "
            f"{pd.Timestamp(calendar[k + 1]).date()}: a gap in the data",
            DataWarning,
            stacklevel=3,
        )
    position = pd.Series(np.searchsorted(calendar, frame["date"].to_numpy()), index=frame.index)
    skipped = position.groupby(frame["code"], observed=True, sort=False).diff() - 1
    if (skipped > 0).any():
        worst = skipped.idxmax()
        row = frame.loc[worst]
        start = pd.Timestamp(calendar[position[worst] - int(skipped[worst])]).date()
        end = pd.Timestamp(calendar[position[worst] - 1]).date()
        codes = frame.loc[skipped > 0, "code"].nunique()
        warnings.warn(
            f"{codes} codes have trading days without a bar inside their listing "
            f"({int(skipped[skipped > 0].sum())} stock-days, treated as suspensions); "
            f"longest: {row['code']} {start}..{end} ({int(skipped[worst])} days)",
            DataWarning,
            stacklevel=3,
        )
