"""The orders of an evening for the next session, as a trader reads them:
``orders-YYYY-MM-DD.csv`` in the book's folder, named by the session they are for, one row
per order with its strategy, code, board, side, shares, order type, the reference price
(tonight's close, the last close while suspended), the next session's limit prices, the
order sizes the board allows, the strategy's reason (rank, signal, hold counter) and what
may stop it from filling.

The next session's limits are the reference price x (1 +/- the board's rate on that
session, the risk-warning rate when the stock is ST tonight), rounded half up to the fen
(quant.market.rules), as the panel computes them (quant.data.limits); none in a stock's
limit-free days after its listing. An ex-rights day changes the reference: a book cannot
know it before the exchange announces it, so the file says the limits hold "before any
ex-rights adjustment".

What may stop an order (each checked on tonight's data; the broker decides at the fill):
``suspended today`` (no bar tonight: it fills only if the stock trades tomorrow), ``no
volume today``, ``at limit-up today`` for a buy (``at limit-down today`` for a sell: it
fills only if tomorrow opens inside the band), ``T+1`` for a sell of more shares than are
held tonight (shares bought tomorrow cannot be sold tomorrow), ``order size`` for a size
the board does not allow.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.engine.session import SessionRun
from quant.io import write_text_atomic
from quant.market.rules import limit_free_days, limit_rates, order_size, round_to_fen

COLUMNS = [
    "strategy",
    "code",
    "board",
    "side",
    "shares",
    "order_type",
    "reference_price",
    "limit_up",
    "limit_down",
    "order_size",
    "reason",
    "may_stop",
]


def order_rows(
    run: SessionRun, panel: MarketPanel, row: int, lot: int | None = None
) -> list[dict[str, Any]]:
    """The orders ``run`` leaves for the next session, one dict per order with the columns
    of :data:`COLUMNS` (less ``strategy``): ``panel`` is the data as known at the session's
    close, ``row`` its row (the next session is row + 1); ``lot``: the rules' lot override."""
    following = panel.dates[row + 1]
    rows = []
    for order, reason in zip(run.state.orders, run.reasons, strict=True):
        code = order.code
        if code not in panel.codes:  # an index of a reference strategy
            rows.append(_index_row(order, reason, panel, row))
            continue
        col = panel.column(code)
        board = str(panel.board[col])
        sizes = order_size(board, following, lot)
        reference = _last_close(panel, row, col)
        up, down = next_limits(panel, row, col, reference)
        shares = abs(order.size)
        held = run.state.positions.get(code, [0.0])[0]
        stops = []
        if not panel.has_bar[row, col]:
            stops.append("suspended today")
        elif not panel.volume[row, col] > 0:
            stops.append("no volume today")
        close_up = panel.close_at_limit_up[row, col] and panel.has_bar[row, col]
        close_down = panel.close_at_limit_down[row, col] and panel.has_bar[row, col]
        if order.size > 0 and close_up:
            stops.append(f"at limit-up today: fills only if it opens below {up:.2f}")
        if order.size < 0 and close_down:
            stops.append(f"at limit-down today: fills only if it opens above {down:.2f}")
        if order.size < 0 and shares > held + 1e-9:
            stops.append(
                f"T+1: sells {shares:g} shares, {held:g} held tonight (shares bought "
                "tomorrow cannot be sold tomorrow)"
            )
        valid = sizes.is_valid_buy(shares) if order.size > 0 else sizes.is_valid_sell(shares, held)
        if not valid:
            stops.append(f"order size: {board} allows {describe_size(sizes.minimum, sizes.step)}")
        rows.append(
            {
                "code": code,
                "board": board,
                "side": order.side,
                "shares": shares,
                "order_type": order.exectype,
                "reference_price": reference,
                "limit_up": up,
                "limit_down": down,
                "order_size": describe_size(sizes.minimum, sizes.step),
                "reason": reason,
                "may_stop": "; ".join(stops),
            }
        )
    return rows


def next_limits(panel: MarketPanel, row: int, col: int, reference: float) -> tuple[float, float]:
    """The limit-up and limit-down prices of the session after ``row`` for column ``col``
    from ``reference`` (yuan; before any ex-rights adjustment), NaN in the stock's
    limit-free days after its listing or without a board's rate."""
    if not math.isfinite(reference):
        return math.nan, math.nan
    following = panel.dates[row + 1]
    board = panel.board[[col]]
    is_st = panel.is_st[[row]][:, [col]] if panel.st_known else None
    rate = limit_rates(board, pd.DatetimeIndex([following]), is_st)[0, 0]
    bars = np.flatnonzero(panel.has_bar[: row + 1, col])
    if len(bars) and bars[0] > 0:  # listed inside the data: its limit-free days count
        free = limit_free_days(str(board[0]), panel.dates[bars[0]])
        if len(bars) < free:
            return math.nan, math.nan
    base = round_to_fen(np.array([reference]))[0]
    up, down = round_to_fen(np.array([base * (1 + rate), base * (1 - rate)]))
    return float(up), float(down)


def describe_size(minimum: int, step: int) -> str:
    """``lots of 100`` / ``at least 200, then steps of 1``."""
    if minimum == step:
        return f"lots of {step}"
    return f"at least {minimum}, then steps of {step}"


def _last_close(panel: MarketPanel, row: int, col: int) -> float:
    bars = np.flatnonzero(panel.has_bar[: row + 1, col])
    if not len(bars):
        return math.nan
    return float(panel.exact(panel.close[bars[-1], col]))


def _index_row(order: Any, reason: str, panel: MarketPanel, row: int) -> dict[str, Any]:
    return {
        "code": order.code,
        "board": "index",
        "side": order.side,
        "shares": abs(order.size),
        "order_type": order.exectype,
        "reference_price": math.nan,
        "limit_up": math.nan,
        "limit_down": math.nan,
        "order_size": "any amount: fractions of a share too (a reference without costs)",
        "reason": reason,
        "may_stop": "",
    }


def orders_file(folder: Path, session: str) -> Path:
    """Where the orders for ``session`` (YYYY-MM-DD) are written."""
    return Path(folder) / f"orders-{session}.csv"


def write_orders(folder: Path, session: str, orders: pd.DataFrame) -> Path:
    """``orders-SESSION.csv`` (columns :data:`COLUMNS`), written whole (a temporary file
    renamed); a header line only when there is no order."""
    path = orders_file(folder, session)
    table = orders[COLUMNS].copy()
    table["shares"] = format_shares(table["shares"])
    write_text_atomic(path, table.to_csv(index=False, float_format="%.2f"))
    return path


def format_shares(shares: pd.Series) -> pd.Series:
    """Share counts as text: whole ones as integers (``4600``), a frictionless reference's
    fractions of a share to 0.01 (``308.48``), each row on its own."""
    return shares.map(lambda n: f"{n:.0f}" if n == round(n) else f"{n:.2f}")
