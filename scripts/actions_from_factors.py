"""A corporate-actions table derived from a panel's adjustment factors, for data that comes
without one (the shared data): each factor change is read back through the exchanges'
ex-rights formula as a cash dividend and new shares, so that a backtest can pay dividends
in cash and charge their tax. It is an approximation, and the table says so in every row.

    .venv/bin/python scripts/actions_from_factors.py \\
        --data ../shared/data/ashare_daily_2010_2017.parquet --out runs/shared_actions.parquet
    .venv/bin/quant backtest --config configs/paper.toml --seeds 0 \\
        --corporate-actions runs/shared_actions.parquet --out runs/paper_derived

How: on the first bar of a change, with P the last close before it and q the factor's ratio,
the reference price is P / q (the exchanges round it to the fen: SSE Trading Rules 4.3.2,
SZSE 4.4.2), and ref = (P - cash) / (1 + shares). ``shares`` is the largest multiple of 0.1
(plans are stated per 10 shares) that leaves a cash dividend of at least 0 (within the fen's
rounding); the cash is then P - ref x (1 + shares), to 0.001 yuan. What cannot be known from
the factor: whether new shares were bonus shares (送, taxed at par) or transferred ones
(转增, not taxed) -- taken as transferred; a rights issue (配股), which comes out as a cash
dividend of the dilution (taxed, and paid without a subscription) as the factor alone would
give free shares; a cash yield above 10 % with no shares (read as 10转1 plus cash). Days
whose factor change the prices do not bear out (MarketPanel.suspect_factor) are left out
(the engine keeps the share count there), as are codes without factors. Record date: the
session before; pay and listing dates: the ex date.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data import load_panel
from quant.data.actions.load import write_actions
from quant.data.actions.table import ActionTable, check_actions
from quant.errors import UserError

SOURCE = (
    "derived from the adj_factor change (scripts/actions_from_factors.py): cash and "
    "transferred shares; bonus shares and rights issues not told apart"
)
#: Share steps tried: 0.1 .. 3.0 new shares per share.
STEPS = np.round(np.arange(30, 0, -1) * 0.1, 1)


def derive(data: str) -> pd.DataFrame:
    """The derived rows (tidy columns) of every factor change of ``data``'s stocks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = load_panel(data)
    rows = []
    without = panel.codes.isin(panel.codes_without_adj)
    for col in np.flatnonzero(~without):
        bars = np.flatnonzero(panel.has_bar[:, col])
        factor = panel.adj_factor[bars, col]
        ratio = factor[1:] / factor[:-1]
        for k in np.flatnonzero(np.abs(ratio - 1) > 1e-6):
            row, before = bars[k + 1], bars[k]
            if panel.suspect_factor[row, col] or ratio[k] < 1:
                continue
            close = float(panel.exact(panel.close[before, col]))
            shares, cash = split(close, close / ratio[k])
            rows.append(
                {
                    "code": panel.codes[col],
                    "ex_date": panel.dates[row],
                    "record_date": panel.dates[row - 1],
                    "cash": cash,
                    "transfer": shares,
                    "source": SOURCE,
                }
            )
    return pd.DataFrame(rows)


def split(close: float, reference: float) -> tuple[float, float]:
    """(new shares per share, cash per share) giving ``reference`` from ``close``."""
    slack = 0.006  # the reference was rounded to the fen
    for shares in STEPS:
        cash = close - reference * (1 + shares)
        if cash >= -slack * (1 + shares):
            return float(shares), max(round(cash, 3), 0.0)
    return 0.0, max(round(close - reference, 3), 0.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="stock bars with adj_factor")
    parser.add_argument("--out", required=True, type=Path, help="the table, .parquet or .csv")
    args = parser.parse_args(argv)
    try:
        frame = derive(args.data)
        numbered = frame.assign(_source=SOURCE, _row=np.arange(1, len(frame) + 1))
        checked, notes = check_actions(numbered)
        table = ActionTable(checked, str(args.out), ("tidy",), tuple(notes))
        write_actions(table, args.out)
    except UserError as error:  # bad data or --out: one line, as the quant commands say it
        raise SystemExit(f"error: {error}") from None
    cash = int((checked["cash"] > 0).sum())
    shares = int((checked["transfer"] > 0).sum())
    print(
        f"{len(checked):,} actions of {checked['code'].nunique():,} codes from {args.data}: "
        f"{cash:,} with cash, {shares:,} with new shares -> {args.out}"
    )


if __name__ == "__main__":
    main()
