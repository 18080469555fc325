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

from quant.data.errors import DataError
from quant.data.schema import CODE_FORM, CODE_PATTERN

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


def code_spans(codes: pd.Series, dates: pd.Series) -> pd.DataFrame:
    """First and last bar date of each code (index: the codes as text)."""
    frame = pd.DataFrame({"code": codes.astype("category"), "date": dates})
    spans = frame.groupby("code", observed=True)["date"].agg(["min", "max"])
    spans.index = spans.index.astype(str)
    return spans.rename(columns={"min": "first", "max": "last"})


def check_code_changes(spans: pd.DataFrame, changes: pd.DataFrame) -> list[dict[str, str]]:
    """Check the changes against each code's first and last bar (``spans``, see
    :func:`code_spans`), following chains (A -> B -> C) in date order; returns the changes
    that apply (their old code has bars). DataError when the old code has bars on or after
    the effective date or the new code has bars before it (two histories that overlap are
    not one security re-coded)."""
    source = changes.attrs.get("source", "code changes")
    first, last = spans["first"].to_dict(), spans["last"].to_dict()
    applied = []
    for change in changes.sort_values("date").itertuples(index=False):
        old, new, date = change.old_code, change.new_code, change.date
        if old not in last:
            continue
        if last[old] >= date:
            raise DataError(
                f"{source}: {old} -> {new} from {date.date()}, but {old} has bars until "
                f"{last[old].date()} (none may fall on or after the change date)"
            )
        if new in first and first[new] < date:
            raise DataError(
                f"{source}: {old} -> {new} from {date.date()}, but {new} has bars before it "
                f"(first {first[new].date()})"
            )
        first[new] = min(first[old], first.get(new, first[old]))
        last[new] = max(last[old], last.get(new, last[old]))
        del first[old], last[old]
        applied.append({"old": old, "new": new, "date": date.date().isoformat()})
    return applied


def renaming(changes: pd.DataFrame) -> dict[str, str]:
    """Old code -> the code its history ends under (chains followed)."""
    step = dict(zip(changes["old_code"], changes["new_code"]))
    final = {}
    for old in step:
        code, seen = old, {old}
        while code in step:
            code = step[code]
            if code in seen:
                raise DataError(f"code changes loop through {code}")
            seen.add(code)
        final[old] = code
    return final


def apply_code_changes(frame: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """The tidy ``frame`` with each old code's bars renamed to the code its history ends
    under, sorted by (code, date), after :func:`check_code_changes` (DataError on
    histories that overlap)."""
    applied = check_code_changes(code_spans(frame["code"], frame["date"]), changes)
    codes = frame["code"].astype(str).replace(renaming(changes))
    out = frame.assign(code=pd.Categorical(codes, categories=sorted(set(codes))))
    out = out.sort_values(["code", "date"], kind="stable", ignore_index=True)
    out.attrs = {**frame.attrs, "code_changes": applied}
    return out
