"""The securities master: for every code its exchange, board and kind, read from one table
of the exchanges' published code ranges (``code_ranges.csv`` beside this module).

Sources: SSE Trading Business Guide No. 4, *Allocation of security code ranges* (2024
revision 2): 0 indices and treasury bonds, 1-2 bonds and repos, 3 preferred shares, 5 funds
and warrants, 6 A shares and depositary receipts (60 main board, 688 STAR shares, 689 STAR
CDRs), 7 non-trading codes, 9 B shares. SZSE's code allocation: 00 main-board A shares
(002 the former SME board, merged into the main board on 2021-04-06), 03 warrants, 08
rights, 10-13 bonds and repos, 15-18 funds, 20 B shares, 30 ChiNext (302 for re-coded
shares), 39 indices. BSE: 43/83/87/88 shares listed with their NEEQ codes, 920 for every
share from 2025-10-09 (BSE notice 北证公告〔2023〕103号 and the switch of 2025-10-09),
899 indices.

A code outside every range is an error, never a guess: the table says what is known.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from quant.errors import UserError

TABLE = Path(__file__).with_name("code_ranges.csv")
#: Kinds of security in the table.
KINDS = ("stock", "index", "fund", "bond", "b_share", "other")
#: Boards of A-share stocks (the key of the rules table, quant.market.rules).
BOARDS = ("main", "chinext", "star", "bse")
KIND_NAMES = {
    "stock": "A-share stocks",
    "index": "indices",
    "fund": "funds/ETFs",
    "bond": "bonds",
    "b_share": "B shares",
    "other": "non-trading codes",
}


class UnknownCode(UserError, ValueError):
    """A code that is in no range of the securities master."""


@dataclass(frozen=True)
class CodeRange:
    exchange: str
    first: int
    last: int
    kind: str
    board: str
    what: str


@cache
def code_ranges() -> tuple[CodeRange, ...]:
    """The rows of code_ranges.csv, checked: known kinds and boards, no overlaps."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        rows = [
            CodeRange(
                r["exchange"], int(r["first"]), int(r["last"]), r["kind"], r["board"], r["what"]
            )
            for r in csv.DictReader(handle)
        ]
    for row in rows:
        if row.kind not in KINDS or (row.board and row.board not in BOARDS) or row.first > row.last:
            raise ValueError(f"{TABLE}: bad row {row}")
        if (row.kind == "stock") != bool(row.board):
            raise ValueError(f"{TABLE}: stocks, and only stocks, have a board: {row}")
    for exchange in {r.exchange for r in rows}:
        mine = sorted((r for r in rows if r.exchange == exchange), key=lambda r: r.first)
        for a, b in itertools.pairwise(mine):
            if b.first <= a.last:
                raise ValueError(f"{TABLE}: {exchange} ranges overlap: {a} and {b}")
    return tuple(rows)


def classify(codes: pd.Index | list[str]) -> pd.DataFrame:
    """Exchange, board ('' for non-stocks), kind and what of each code ``600000.SH``-style.

    Returns a frame indexed by the codes. Raises UnknownCode naming the first code in no
    range of the table (and how many there are).
    """
    codes = pd.Index(codes, dtype=object)
    digits = np.array([int(c[:6]) for c in codes], dtype=np.int64)
    exchange = np.array([c[7:] for c in codes], dtype=object)
    at = np.full(len(codes), -1)
    rows = code_ranges()
    for k, row in enumerate(rows):
        at[(exchange == row.exchange) & (digits >= row.first) & (digits <= row.last)] = k
    if (at < 0).any():
        unknown = codes[at < 0]
        raise UnknownCode(
            f"code {unknown[0]} is in no known code range of the SSE, SZSE or BSE"
            + (f" ({len(unknown)} such codes)" if len(unknown) > 1 else "")
            + f"; the securities master is {TABLE.name} in quant/market"
        )
    chosen = [rows[k] for k in at]
    return pd.DataFrame(
        {
            "exchange": exchange,
            "board": [r.board for r in chosen],
            "kind": [r.kind for r in chosen],
            "what": [r.what for r in chosen],
        },
        index=codes,
    )


def boards(codes: pd.Index | list[str]) -> np.ndarray:
    """Board of each stock code ('main', 'chinext', 'star', 'bse'; '' for non-stocks), as a
    fixed-width string array (shape (N,))."""
    return classify(codes)["board"].to_numpy(dtype="U8")


def check_kind(
    codes: pd.Index, expected: str, source: str, *, drop: bool = False
) -> tuple[pd.Index, list[str]]:
    """Codes of another kind than ``expected`` in data meant to hold only that kind.

    Returns (codes to drop, warnings). With ``drop``, the others are dropped with a warning
    naming them; without, a UserError names them (an index file among the stocks would be
    bought as if it were shares). ``source`` names the data in the message.
    """
    table = classify(codes)
    wrong = table[table["kind"] != expected]
    if wrong.empty:
        return pd.Index([]), []
    described = ", ".join(
        f"{code} ({KIND_NAMES[kind]})" for code, kind in wrong["kind"].head(5).items()
    ) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
    message = f"{source}: expected {KIND_NAMES[expected]} only, found {described}"
    if not drop:
        raise UserError(
            f"{message}; remove them, or drop them with non_stocks = 'drop' (--drop-non-stocks)"
            if expected == "stock"
            else message
        )
    return wrong.index, [f"{message}: dropped"]
