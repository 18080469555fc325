"""What a reader of any report on a panel must know about its data, in one place: ``quant
data info`` prints it and every backtest's report lists it in its notes.

- :func:`approximation_notes`: what the data approximates (amount from volume x price;
  prices without adjustment factors; ST status unknown);
- the intake's notes (``MarketPanel.notes``: padded days dropped, a unit measured, what an
  imported store's manifest recorded);
- :func:`warning_notes`: what the checks across the panel found (survivorship measured
  against the exchanges' delistings, quant.data.survivorship; adj_factor changes the
  prices do not bear out, quant.data.plausibility; bars outside their limit band,
  MarketPanel.outside_band).
"""

from __future__ import annotations

import numpy as np

from quant.data.panel import MarketPanel
from quant.data.survivorship import Survivorship, measure

#: Places named in a note before "and N more".
SHOWN = 5


def data_notes(panel: MarketPanel) -> list[str]:
    """Every note about a panel's data, in the order of the module's docstring."""
    return [*approximation_notes(panel), *panel.notes, *warning_notes(panel)]


def is_stock(panel: MarketPanel) -> bool:
    return bool((panel.board != "").any())


def approximation_notes(panel: MarketPanel) -> list[str]:
    """What the data approximates, one line each."""
    notes = []
    if panel.amount_approximated:
        notes.append(
            "the stock data has no amount column: amount approximated by volume x (open + "
            "high + low + close) / 4"
        )
    if not is_stock(panel):
        return notes
    if not panel.st_known:
        notes.append(
            "the stock data has no is_st column: ST/*ST stocks trade under their board's normal "
            "price limit instead of the risk-warning one (5 % on the main board until 2026-07-05)"
        )
    if panel.delisting is None:
        notes.append(
            "the stock data has no delisting column: days of a delisting arrangement period "
            "trade under the ordinary limits (the ST rate where is_st), not the period's own "
            "(the board's ordinary rate, none on its first day from 2020-12-31)"
        )
    if panel.codes_without_adj:
        notes.append(
            f"{len(panel.codes_without_adj)} of {len(panel.codes)} codes have no adjustment "
            "factor: their prices are unadjusted, so their ex-rights days look like losses"
        )
    return notes


def survivorship(panel: MarketPanel) -> Survivorship:
    """The survivorship measure of a panel (quant.data.survivorship)."""
    return measure(panel.last_bar_row, panel.dates, panel.codes, panel.suspended_at_end)


def warning_notes(panel: MarketPanel) -> list[str]:
    """What the checks across a stock panel found, one line each."""
    if not is_stock(panel):
        return []
    lines = [survivorship(panel).warning(), factor_change_warning(panel), outside_band_note(panel)]
    return [line for line in lines if line]


def factor_change_warning(panel: MarketPanel) -> str | None:
    """A line naming the panel's suspect factor changes (MarketPanel.suspect_factor), or
    None."""
    rows, cols = np.nonzero(panel.suspect_factor)
    if not len(rows):
        return None
    order = np.lexsort((rows, cols))[:SHOWN]
    places = ", ".join(f"{panel.codes[cols[k]]} {panel.dates[rows[k]].date()}" for k in order)
    more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    return (
        f"{len(rows)} adj_factor changes without a matching raw price gap ({places}{more}): "
        "the adjusted prices may be wrong there; backtests keep a position's share count on "
        "those days instead of resizing it (an event in the run's events)"
    )


def outside_band_note(panel: MarketPanel) -> str | None:
    """A line naming the bars that trade outside their day's limit band (those that keep
    their limit first, with what each may be), or None."""
    outside = panel.outside_band
    if outside.empty:
        return None
    kept = outside[outside["limit_kept"]]
    dropped = len(outside) - len(kept)
    parts = []
    if len(kept):
        places = ", ".join(
            f"{row.code} {row.date.date()} ({row.reason})" for row in kept.head(SHOWN).itertuples()
        )
        more = f" and {len(kept) - SHOWN} more" if len(kept) > SHOWN else ""
        parts.append(
            f"{len(kept)} bars trade outside their day's price-limit band and keep their limit "
            f"({places}{more}): a one-price bar there stays untradable on its side"
        )
    if dropped:
        parts.append(
            f"{dropped} bars outside their band lose their limit (codes without adj_factor, "
            "suspect ex-rights days: the reference price is not known)"
        )
    return "; ".join(parts)
