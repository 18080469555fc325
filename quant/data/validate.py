"""Validation of tidy daily bars: every error names the file, row, code and date at fault,
so that a user never meets a traceback from deep inside pandas.

Rows carry two helper columns while they are checked: ``_source`` (the file they came
from) and ``_row`` (their 1-based row number in that file).
"""

from __future__ import annotations

import difflib
import warnings

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

#: A code whose median gap between bars exceeds this many calendar days is not daily data.
MAX_MEDIAN_GAP_DAYS = 5
#: No bar at all in the market for longer than this (calendar days) is worth a warning;
#: the Spring Festival and National Day breaks last up to 10.
MARKET_GAP_DAYS = 14


class DataError(UserError, ValueError):
    """Input data that cannot be used; the message says where and why."""


class DataWarning(UserWarning):
    """Something real data has (zero-volume days, suspensions) that the user should know."""


def prepare_columns(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check one file's columns and give it the helper columns; names the file on error."""
    if frame.empty:
        raise DataError(f"{source}: no rows (empty file)")
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
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
    out = frame[keep].copy()
    if approximate_amount:
        out["amount"] = np.nan
    out["_amount_missing"] = approximate_amount
    out["_source"] = source
    out["_row"] = np.arange(1, len(out) + 1)
    return out


def validate_tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Type and check a frame made by :func:`prepare_columns` (one file or several
    concatenated). Returns the tidy table sorted by (code, date), helper columns dropped.
    Raises DataError on the first kind of problem found; warns (DataWarning) on
    zero-volume bars, bars whose open/close lie outside [low, high], and gaps.
    """
    frame = frame.reset_index(drop=True)
    frame["_source"] = frame["_source"].astype("category")
    frame["date"] = _parse_dates(frame)
    frame["code"] = _check_codes(frame)
    for column in [*NUMERIC_COLUMNS, *(c for c in ("adj_factor",) if c in frame.columns)]:
        frame[column] = _to_float(frame, column)
    if "is_st" in frame.columns:
        frame["is_st"] = _to_bool(frame, "is_st")
    approximated = _approximate_amount(frame)

    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    for j, column in enumerate(PRICE_COLUMNS):
        _fail_where(frame, np.isnan(prices[:, j]), f"missing (NaN) {column} price")
        _fail_where(frame, prices[:, j] <= 0, f"non-positive {column} price")
    for column in ("volume", "amount"):
        values = frame[column].to_numpy()
        _fail_where(frame, np.isnan(values), f"missing (NaN) {column}")
        _fail_where(frame, values < 0, f"negative {column}")
    if "adj_factor" in frame.columns:
        _fail_where(frame, frame["adj_factor"].to_numpy() <= 0, "non-positive adj_factor")
    high, low = frame["high"].to_numpy(), frame["low"].to_numpy()
    _fail_where(frame, high < low, "high is below low")

    ordered = _sorted(frame)
    _check_duplicates(ordered)
    _check_order(frame)
    frame = ordered
    _check_frequency(frame)
    _warn_about(frame)
    frame = frame.drop(columns=["_source", "_row", "_amount_missing"])
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
    warnings.warn(
        f"no amount column in {', '.join(files[:3])}{' and others' if len(files) > 3 else ''}: "
        "amount approximated by volume x (open + high + low + close) / 4",
        DataWarning,
        stacklevel=3,
    )
    return True


def _where(frame: pd.DataFrame, i: int) -> str:
    row = frame.iloc[i]
    parts = [f"{row['_source']}, row {row['_row']}"]
    if "code" in frame.columns and not pd.isna(row["code"]):
        parts.append(f"code {row['code']}")
    date = row["date"]
    if isinstance(date, pd.Timestamp):
        parts.append(f"date {date.date()}")
    elif date is not None and not pd.isna(date):
        parts.append(f"date {date!r}")
    return ", ".join(parts)


def _fail_where(frame: pd.DataFrame, mask: np.ndarray, message: str) -> None:
    bad = np.flatnonzero(mask)
    if len(bad):
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        raise DataError(f"{_where(frame, bad[0])}: {message}{more}")


def _parse_dates(frame: pd.DataFrame) -> pd.Series:
    raw = frame["date"]
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        # Exchange-local naive dates: a tz-aware index shifts days in backtrader.
        dates = raw.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(raw):
        dates = raw
    else:
        if pd.api.types.is_integer_dtype(raw):
            raw = raw.astype(str)  # 20140102 style
            dates = pd.to_datetime(raw, format="%Y%m%d", errors="coerce")
        else:
            dates = pd.to_datetime(raw, format="ISO8601", errors="coerce")
            retry = dates.isna() & raw.notna()
            if retry.any():  # other spellings, e.g. 2014/01/02; slow, so only where needed
                dates[retry] = pd.to_datetime(raw[retry], format="mixed", errors="coerce")
        bad = dates.isna() & raw.notna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{_where(frame, i)}: {raw.iloc[i]!r} is not a date")
    _fail_where(frame, dates.isna().to_numpy(), "missing date")
    dates = dates.astype("datetime64[ns]")
    intraday = (dates != dates.dt.normalize()).to_numpy()
    _fail_where(
        frame.assign(date=dates),
        intraday,
        "has a time of day: intraday bars mixed with daily ones (daily bars expected)",
    )
    return dates


def _check_codes(frame: pd.DataFrame) -> pd.Series:
    """Codes as a categorical with sorted categories: the format is checked once per
    distinct code, and grouping or sorting by code becomes integer work."""
    codes = frame["code"].astype("category")
    names = codes.cat.categories.astype(str)
    if not (names == names.str.strip()).all():
        codes = frame["code"].astype(str).str.strip().astype("category")
        names = codes.cat.categories.astype(str)
    ok = np.asarray(names.str.match(CODE_PATTERN.pattern), dtype=bool)
    if not ok.all():
        bad = names[~ok][0]
        i = int(np.flatnonzero((codes == bad).to_numpy())[0])
        raise DataError(
            f"{_where(frame, i)}: unknown code format {frame['code'].iloc[i]!r}; "
            f"expected {CODE_FORM}"
        )
    return codes.cat.set_categories(names.sort_values())


def _to_float(frame: pd.DataFrame, column: str) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw) or not (
        pd.api.types.is_numeric_dtype(raw) or raw.isna().all()
    ):
        values = pd.to_numeric(raw, errors="coerce")
        bad = (values.isna() & raw.notna()).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{_where(frame, i)}: {column} {raw.iloc[i]!r} is not a number")
        raw = values
    return raw.astype("float64")


#: Spellings of a boolean flag accepted in text files (case-insensitive).
TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")


def _to_bool(frame: pd.DataFrame, column: str) -> pd.Series:
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
            f"{_where(frame, i)}: {column} {raw.iloc[i]!r} is not a flag "
            "(true/false, 1/0 or yes/no)"
        )
    return true.fillna(False).astype(bool)


def _check_order(frame: pd.DataFrame) -> None:
    step = frame.groupby(["_source", "code"], observed=True, sort=False)["date"].diff()
    _fail_where(
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


def _warn_about(frame: pd.DataFrame) -> None:
    """Needs the frame sorted by (code, date)."""
    zero = frame["volume"].to_numpy() == 0
    if zero.any():
        warnings.warn(
            f"{int(zero.sum())} bars have zero volume (first: {_where(frame, int(np.flatnonzero(zero)[0]))}); "
            "the panel treats them as untradable",
            DataWarning,
            stacklevel=3,
        )
    price = frame[["open", "close"]].to_numpy()
    outside = (price > frame[["high"]].to_numpy() + 1e-6) | (
        price < frame[["low"]].to_numpy() - 1e-6
    )
    outside = outside.any(axis=1)
    if outside.any():
        warnings.warn(
            f"{int(outside.sum())} bars have open or close outside [low, high] "
            f"(first: {_where(frame, int(np.flatnonzero(outside)[0]))})",
            DataWarning,
            stacklevel=3,
        )
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
