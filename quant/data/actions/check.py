"""A corporate-actions table checked against the bars it will be applied to: its dates must
be sessions, and each action should explain the adjustment factor's change on its ex date.

The exchanges' ex-rights reference price (SSE Trading Rules 4.3.2, SZSE 4.4.2: 除权（息）参考
价格 = [(前收盘价格 − 现金红利) + 配股价格 × 股份变动比例] ÷ (1 + 股份变动比例)), rounded to the fen,
gives the factor ratio an action implies: previous close / reference. The shared data's
factors follow it to six decimals (docs/corporate_actions.md), so a row whose ratio is far
from the factor's change is a wrong row (per 10 shares read as per share, a wrong date) or
a wrong factor; both are reported, neither is corrected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from quant.data.actions.table import ActionTable
from quant.data.errors import DataError
from quant.data.panel import MarketPanel
from quant.market.rules import round_to_fen

#: A table's ratio further than this from the factor's change is reported.
RATIO_TOLERANCE = 0.005
SHOWN = 5


@dataclass(frozen=True)
class ActionCheck:
    """What checking a table against a panel found. ``rows``: rows of the panel's codes
    inside its span; ``other_codes``: codes of the table the panel lacks; ``mismatches``:
    (code, ex date, ratio the row implies, the factor's ratio); ``unexplained``: (code,
    date) of factor changes of the table's codes that no row explains (approximated by
    the factor when held)."""

    rows: int
    other_codes: int
    mismatches: list[tuple[str, pd.Timestamp, float, float]] = field(default_factory=list)
    unexplained: list[tuple[str, pd.Timestamp]] = field(default_factory=list)

    def notes(self, source: str) -> list[str]:
        """One line per finding, for the report and ``quant data info``."""
        lines = []
        if self.mismatches:
            shown = ", ".join(
                f"{c} {d.date()} ({t:.4f} vs {f:.4f})" for c, d, t, f in self.mismatches[:SHOWN]
            )
            more = (
                f" and {len(self.mismatches) - SHOWN} more" if len(self.mismatches) > SHOWN else ""
            )
            lines.append(
                f"corporate actions {source}: {len(self.mismatches)} rows imply an ex-rights "
                f"ratio (previous close / reference price) more than {RATIO_TOLERANCE:.1%} from "
                f"the adj_factor's change on that day ({shown}{more}): a wrong row or a wrong "
                "factor"
            )
        if self.unexplained:
            shown = ", ".join(f"{c} {d.date()}" for c, d in self.unexplained[:SHOWN])
            more = (
                f" and {len(self.unexplained) - SHOWN} more"
                if len(self.unexplained) > SHOWN
                else ""
            )
            lines.append(
                f"corporate actions {source}: {len(self.unexplained)} adj_factor changes of its "
                f"codes have no row ({shown}{more}): approximated by the factor (shares "
                "scaled by its ratio) where held"
            )
        return lines

    def refuse_mismatches(self, source: str) -> None:
        """DataError when a row's implied ratio differs from the factor's change: applied,
        it would count its action twice (a wrong ex date: the factor's ratio scales the
        shares on the real one, the row pays on its own) or tenfold (amounts per 10 shares).
        A backtest refuses; ``quant data info --corporate-actions`` lists them all."""
        if self.mismatches:
            raise DataError(
                self.notes(source)[0] + ": correct or remove these rows (quant data info "
                "--corporate-actions FILE lists them all); applied, an action would count "
                "twice or wrongly"
            )


def check_against(table: ActionTable, panel: MarketPanel) -> ActionCheck:
    """Check ``table`` against ``panel``'s bars (see the module). DataError naming the
    file, row, code and date of an ex or record date that is not a session of the panel's
    calendar."""
    frame = table.frame
    dates = panel.dates
    inside = frame["code"].isin(panel.codes) & frame["ex_date"].between(dates[0], dates[-1])
    rows = frame[inside]
    for column in ("ex_date", "record_date"):
        given = rows[rows[column].notna() & (rows[column] >= dates[0])]
        off = ~given[column].isin(dates)
        if off.any():
            row = given[off].iloc[0]
            raise DataError(
                f"{row['_source']}, row {row['_row']}, code {row['code']}, date "
                f"{row[column].date()}: {column} is not a session of the data's calendar "
                f"({int(off.sum())} such rows)"
            )
    other = int(frame.loc[~frame["code"].isin(panel.codes), "code"].nunique())
    if rows.empty:
        return ActionCheck(0, other)
    cols = panel.codes.get_indexer(rows["code"])
    at = dates.get_indexer(rows["ex_date"])
    mismatches, explained = _compare(panel, rows, cols, at)
    return ActionCheck(len(rows), other, mismatches, _unexplained(panel, rows, explained))


def first_bars(panel: MarketPanel, cols: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each (column, row): the first row at or after it where the code has a bar, -1
    if none (the factor's change shows on the first bar after a suspension)."""
    out = np.full(len(cols), -1)
    for k, (col, row) in enumerate(zip(cols, at)):
        found = np.flatnonzero(panel.has_bar[row:, col])
        if len(found):
            out[k] = row + found[0]
    return out


def _compare(
    panel: MarketPanel, rows: pd.DataFrame, cols: np.ndarray, at: np.ndarray
) -> tuple[list[tuple[str, pd.Timestamp, float, float]], set[tuple[int, int]]]:
    """The rows whose implied ratio differs from the factor's, and the (bar row, column)
    of every change a row explains. Rows sharing a code and ex date are one action."""
    first = first_bars(panel, cols, at)
    mismatches = []
    explained = set()
    keyed = rows.assign(_col=cols, _bar=first)
    for (col, bar), group in keyed.groupby(["_col", "_bar"], sort=False):
        if bar <= 0:
            continue
        explained.add((int(bar), int(col)))
        code = panel.codes[col]
        if code in panel.codes_without_adj:
            continue
        before = np.flatnonzero(panel.has_bar[:bar, col])
        if not len(before):
            continue
        close = float(panel.exact(panel.close[before[-1], col]))
        cash = float(group["cash"].sum())
        shares = float(group[["bonus", "transfer", "rights"]].to_numpy().sum())
        paid = float((group["rights"] * group["rights_price"]).sum())
        reference = float(round_to_fen(np.array([(close - cash + paid) / (1 + shares)]))[0])
        implied = close / reference if reference > 0 else np.inf
        factor = float(panel.adj_factor[bar, col] / panel.adj_factor[before[-1], col])
        if abs(implied / factor - 1) > RATIO_TOLERANCE:
            mismatches.append((code, group["ex_date"].iloc[0], implied, factor))
    return mismatches, explained


def _unexplained(
    panel: MarketPanel, rows: pd.DataFrame, explained: set[tuple[int, int]]
) -> list[tuple[str, pd.Timestamp]]:
    """Factor changes of the table's codes, between their first and last row's ex dates
    (the span the table claims to cover), that no row explains."""
    out = []
    for code, group in rows.groupby("code", sort=True):
        col = panel.codes.get_loc(code)
        if code in panel.codes_without_adj:
            continue
        start = panel.dates.get_indexer([group["ex_date"].min()])[0]
        end = panel.dates.get_indexer([group["ex_date"].max()])[0]
        bars = np.flatnonzero(panel.has_bar[:, col])
        factor = panel.adj_factor[bars, col]
        change = bars[1:][np.abs(factor[1:] / factor[:-1] - 1) > 1e-9]
        for row in change[(change >= start) & (change <= end)]:
            if (int(row), int(col)) not in explained:
                out.append((code, panel.dates[row]))
    return out
