"""The corporate-actions table: its tidy schema and the checks every row passes, whatever
layout it came from (quant.data.actions.layouts).

One row per action of one stock on one ex date (two rows when a dividend and a rights issue
share an ex date):

| column | meaning | unit | if absent |
| --- | --- | --- | --- |
| code | the stock (600000.SH, or any form quant.data.akshare_source.normalize_code reads) | | required |
| ex_date | ex-dividend / ex-rights date (除权除息日, 除权日) | date | required |
| record_date | record date (股权登记日): holders at its close are entitled | date | the session before ex_date |
| pay_date | a dividend: the day the cash is paid (派息日); a rights issue: the first day of payment (缴款起始日) | date | a dividend: ex_date; a rights issue: the session after record_date |
| cash | cash dividend per share, **before tax** | yuan | 0 |
| bonus | bonus shares (送股, from retained earnings: taxed at par) per share | shares | 0 |
| transfer | shares transferred from the capital reserve (转增, not taxed) per share | shares | 0 |
| rights | rights shares offered (配股) per share held | shares | 0 |
| rights_price | subscription price of a rights share | yuan | required when rights > 0 |
| listing_date | the day the new shares (bonus, transferred, rights) can be sold (红股上市日, 配股上市日) | date | ex_date |
| source | where the row comes from (free text: a derived row says how it was derived) | | the file |

Checks (each failure one line naming the file, row, code and date): a code that is not an
A share; a date that cannot be read; a record date on or after the ex date; a pay or
listing date before the record / ex date; negative, infinite or implausible amounts (more
than 100 yuan or 10 shares per share, rights above 1 per share, a rights issue without a
positive price); a dividend and a rights issue in one row; two different rows for the
same stock, ex date and kind of action. Rows that give nothing (all amounts 0: a plan that
pays nothing) are dropped and counted in the table's notes; exact repeats are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from quant.data.akshare_source import normalize_code
from quant.data.errors import DataError
from quant.data.validate import fail_where, parse_dates, to_float, where

DATES = ("ex_date", "record_date", "pay_date", "listing_date")
AMOUNTS = ("cash", "bonus", "transfer", "rights", "rights_price")
COLUMNS = ("code", *DATES, *AMOUNTS[:4], "rights_price", "source")
#: Plausibility bounds (per share): the largest A-share cash dividends are about 30 yuan a
#: share (Kweichow Moutai); bonus and transfer plans reach 3 shares a share (10转30);
#: a rights issue may offer at most 30 % of the shares (CSRC: 配股不超过本次配售前股本总额的30%).
MAX_CASH = 100.0
MAX_SHARES = 10.0
MAX_RIGHTS = 1.0
#: Blank spellings of a missing date in saved tables (pandas writes NaT, baostock "").
BLANKS = frozenset({"", "nat", "nan", "none", "null", "--"})
#: Sina writes an unknown date as 1900-01-01 (akshare's documented sample of 000002's
#: rights issues): read as blank.
UNKNOWN_DATE = pd.Timestamp("1900-01-01")


@dataclass(frozen=True)
class ActionTable:
    """A checked corporate-actions table. ``frame``: the tidy columns (COLUMNS; dates as
    datetime64, amounts float64, 0 where absent) and each row's file and line (``_source``,
    ``_row``), sorted by code and ex date; ``source``:
    the files read; ``layouts``: the layouts they were in; ``notes``: what the reading
    dropped or assumed, one line each."""

    frame: pd.DataFrame
    source: str
    layouts: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.frame)

    def kinds(self) -> dict[str, int]:
        """Rows per kind of action: cash, bonus, transfer, rights (a row may count twice)."""
        return {k: int((self.frame[k] > 0).sum()) for k in ("cash", "bonus", "transfer", "rights")}


def check_actions(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows of a layout in tidy names (any of COLUMNS, with ``_source`` and ``_row``
    naming each row's file and line) checked and typed; returns the frame and the notes
    of what was dropped. DataError naming the file, row, code and date at fault."""
    if frame.empty:
        return _empty(), []
    missing = [c for c in ("code", "ex_date") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{frame['_source'].iloc[0]}: missing column(s) {', '.join(missing)} of the "
            f"corporate-actions table (columns: {', '.join(map(str, frame.columns))})"
        )
    if not any(c in frame.columns for c in ("cash", "bonus", "transfer", "rights")):
        raise DataError(
            f"{frame['_source'].iloc[0]}: no action column (cash, bonus, transfer or rights)"
        )
    out = frame.reset_index(drop=True).copy()
    out["date"] = out["ex_date"]  # what an error line names
    out["code"] = _codes(out)
    for column in DATES:
        out[column] = _dates(out, column) if column in out.columns else pd.NaT
    out["date"] = out["ex_date"]
    fail_where(out, out["ex_date"].isna().to_numpy(), "missing ex_date")
    for column in AMOUNTS:
        if column in out.columns:
            values = to_float(out, column)
            fail_where(out, (values < 0).to_numpy(), f"{column} is negative")
            out[column] = values.fillna(0.0)
        else:
            out[column] = 0.0
    if "source" not in out.columns:
        out["source"] = out["_source"].astype(str)
    out["source"] = out["source"].astype("string").fillna(out["_source"].astype(str))
    _check_plausible(out)
    _check_dates(out)
    nothing = (out[["cash", "bonus", "transfer", "rights"]] == 0).all(axis=1).to_numpy()
    notes = []
    if nothing.any():
        notes.append(
            f"{int(nothing.sum())} rows with no cash, bonus, transfer or rights (plans that "
            "pay nothing) were dropped"
        )
    out = out[~nothing]
    out, repeats = _without_repeats(out)
    if repeats:
        notes.append(f"{repeats} exact repeats of a row were dropped")
    typed = out[[*COLUMNS, "_source", "_row"]].sort_values(
        ["code", "ex_date", "rights"], kind="stable"
    )
    return typed.reset_index(drop=True), notes


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in AMOUNTS})
    for column in DATES:
        frame[column] = pd.Series(dtype="datetime64[ns]")
    frame["code"] = pd.Series(dtype="string")
    frame["source"] = pd.Series(dtype="string")
    frame["_source"] = pd.Series(dtype="string")
    frame["_row"] = pd.Series(dtype="int64")
    return frame[[*COLUMNS, "_source", "_row"]]


def _codes(frame: pd.DataFrame) -> pd.Series:
    positions, texts = pd.factorize(frame["code"].astype("string").str.strip())
    fail_where(frame, positions < 0, "blank code")
    converted = []
    for k, text in enumerate(texts):
        try:
            converted.append(normalize_code(str(text)))
        except DataError as error:
            i = int(np.flatnonzero(positions == k)[0])
            raise DataError(f"{where(frame, i)}: {error}") from None
    return pd.Series(np.asarray(converted, dtype=object)[positions], index=frame.index)


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    """A date column (datetime, date objects, YYYYMMDD numbers or texts, ISO texts) as
    datetime64 Beijing dates, as the bars' (parse_dates: stamps with a zone converted,
    a time every row shares dropped); blanks are NaT."""
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        blank = raw.isna()
    else:
        text = raw.astype("string").str.strip().str.lower()
        blank = raw.isna() | text.isin(BLANKS).fillna(True)
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    if (~blank).any():
        given = frame[~blank.to_numpy()]
        values = given[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            parsed = parse_dates(given.assign(date=values))
        elif values.map(lambda v: hasattr(v, "year")).all():  # akshare's .dt.date objects
            parsed = pd.to_datetime(values)
        else:
            text = values.astype("string").str.strip()
            parsed = parse_dates(given.assign(date=text.str.replace(r"\.0$", "", regex=True)))
        out[~blank.to_numpy()] = parsed.to_numpy()
    return out.where(out != UNKNOWN_DATE)


def _check_plausible(frame: pd.DataFrame) -> None:
    fail_where(
        frame,
        (frame["cash"] > MAX_CASH).to_numpy(),
        f"cash {MAX_CASH:g}+ yuan a share: not a dividend per share (per 10 shares? the "
        "layouts that publish per 10 are divided by 10 on reading)",
    )
    for column in ("bonus", "transfer"):
        fail_where(
            frame,
            (frame[column] > MAX_SHARES).to_numpy(),
            f"{column} above {MAX_SHARES:g} shares a share (per 10 shares?)",
        )
    fail_where(
        frame,
        (frame["rights"] > MAX_RIGHTS).to_numpy(),
        f"rights above {MAX_RIGHTS:g} share a share (per 10 shares?)",
    )
    fail_where(
        frame,
        ((frame["rights"] > 0) & ~(frame["rights_price"] > 0)).to_numpy(),
        "a rights issue without a positive rights_price",
    )
    dividend = frame[["cash", "bonus", "transfer"]].gt(0).any(axis=1)
    fail_where(
        frame,
        (dividend & (frame["rights"] > 0)).to_numpy(),
        "a dividend and a rights issue in one row: give them as two rows",
    )


def _check_dates(frame: pd.DataFrame) -> None:
    ex, record = frame["ex_date"], frame["record_date"]
    fail_where(
        frame,
        (record.notna() & (record >= ex)).to_numpy(),
        "record_date on or after ex_date (holders are fixed at the record date's close, "
        "before the ex date)",
    )
    fail_where(
        frame,
        (frame["listing_date"].notna() & (frame["listing_date"] < ex)).to_numpy(),
        "listing_date before ex_date",
    )
    pay = frame["pay_date"]
    start = record.where(record.notna(), ex - pd.Timedelta(days=1))
    fail_where(
        frame, (pay.notna() & (pay <= start)).to_numpy(), "pay_date on or before record_date"
    )


def _without_repeats(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Exact repeats dropped; two different rows for one (code, ex date, kind) refused."""
    values = [c for c in COLUMNS if c != "source"]
    repeat = frame.duplicated(values).to_numpy()
    kept = frame[~repeat]
    kind = np.where(kept["rights"] > 0, "rights issue", "dividend")
    keys = kept.assign(_kind=kind)
    twin = keys.duplicated(["code", "ex_date", "_kind"], keep=False).to_numpy()
    if twin.any():
        i = int(np.flatnonzero(twin)[0])
        same = (
            (keys["code"] == keys["code"].iloc[i])
            & (keys["ex_date"] == keys["ex_date"].iloc[i])
            & (keys["_kind"] == kind[i])
        ).to_numpy()
        other = kept.iloc[int(np.flatnonzero(same)[1])]
        more = int(twin.sum()) - 2
        raise DataError(
            f"{where(kept, i)}: two different {kind[i]} rows for this code and ex date (the "
            f"other: {other['_source']}, row {other['_row']})"
            + (f"; {more} more such rows" if more > 0 else "")
        )
    return kept, int(repeat.sum())
