"""Code changes: one security traded under an old code until a date and under a new code
from then on (the Beijing Stock Exchange moved every share to a 920 code on 2025-10-09;
ChiNext shares re-coded into the 302 range). A table of (old code, new code, effective date)
merges the two histories into one security under the new code: its listing date is the old
code's first bar (no IPO limit-free days at the switch), a position held across the date
is carried over, and every report names it by the new code.

The table is a CSV (or Parquet) file with the columns ``old_code``, ``new_code`` and
``date`` (the first session under the new code), named with ``code_changes`` in a
backtest config or ``--code-changes FILE``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quant.data.schema import CODE_FORM, CODE_PATTERN
from quant.data.validate import DataError

COLUMNS = ("old_code", "new_code", "date")


def read_code_changes(path: str | Path) -> pd.DataFrame:
    """The table of a code-changes file, checked: the three columns, codes in the
    ``600000.SH`` form, dates, no code changed twice on the same side. DataError names the
    file and row at fault."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except FileNotFoundError:
        raise DataError(f"{path}: no such code-changes file") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot be read: {error}") from None
    table = table.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; a code-changes file has "
            f"the columns {', '.join(COLUMNS)}"
        )
    table = table[list(COLUMNS)].copy()
    for i, row in enumerate(table.itertuples(index=False), start=2):  # row 1: the header
        for code in (row.old_code, row.new_code):
            if not isinstance(code, str) or not CODE_PATTERN.match(code.strip()):
                raise DataError(f"{path}, row {i}: code {code!r} is not in the form {CODE_FORM}")
        if row.old_code.strip() == row.new_code.strip():
            raise DataError(f"{path}, row {i}: old and new code are the same ({row.old_code})")
    table["old_code"] = table["old_code"].str.strip()
    table["new_code"] = table["new_code"].str.strip()
    dates = pd.to_datetime(table["date"], format="ISO8601", errors="coerce")
    if dates.isna().any():
        i = int(dates.isna().to_numpy().argmax())
        raise DataError(f"{path}, row {i + 2}: {table['date'].iloc[i]!r} is not a date")
    table["date"] = dates.dt.normalize()
    for side in ("old_code", "new_code"):
        twice = table[side].duplicated()
        if twice.any():
            raise DataError(
                f"{path}: {side} {table.loc[twice, side].iloc[0]} appears twice; one change "
                "per code (chain A -> B -> C as two rows A -> B and B -> C)"
            )
    table.attrs["source"] = str(path)
    return table


def codes_to_read(codes: list[str], changes: pd.DataFrame) -> list[str]:
    """``codes`` plus every older code whose history merges into one of them."""
    wanted = set(codes)
    while True:
        more = set(changes.loc[changes["new_code"].isin(wanted), "old_code"]) - wanted
        if not more:
            return sorted(wanted)
        wanted |= more


def apply_code_changes(frame: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """The tidy ``frame`` with each old code's bars renamed to its new code, sorted by
    (code, date). Chains (A -> B -> C) are followed in date order. DataError when the old
    code has bars on or after the effective date or the new code has bars before it (two
    histories that overlap are not one security re-coded)."""
    source = changes.attrs.get("source", "code changes")
    codes = frame["code"].astype(str).to_numpy()
    dates = frame["date"]
    for change in changes.sort_values("date").itertuples(index=False):
        old, new, date = change.old_code, change.new_code, change.date
        late = (codes == old) & (dates >= date).to_numpy()
        if late.any():
            raise DataError(
                f"{source}: {old} -> {new} from {date.date()}, but {old} has bars from "
                f"{dates[late].min().date()} on"
            )
        early = (codes == new) & (dates < date).to_numpy()
        if early.any():
            raise DataError(
                f"{source}: {old} -> {new} from {date.date()}, but {new} has bars before it "
                f"(first {dates[early].min().date()})"
            )
        codes = codes.copy()
        codes[codes == old] = new
    out = frame.assign(code=pd.Categorical(codes, categories=sorted(set(codes))))
    out = out.sort_values(["code", "date"], kind="stable", ignore_index=True)
    out.attrs = {**frame.attrs, "code_changes": _applied(frame, changes)}
    return out


def _applied(frame: pd.DataFrame, changes: pd.DataFrame) -> list[dict[str, str]]:
    present = set(frame["code"].astype(str).unique())
    return [
        {"old": c.old_code, "new": c.new_code, "date": c.date.date().isoformat()}
        for c in changes.itertuples(index=False)
        if c.old_code in present
    ]
