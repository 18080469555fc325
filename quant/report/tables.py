"""The cells and tables of report.md and of the terminal: each figure with its spread over
seeds, rendered by pandas (``DataFrame.to_markdown``, which formats with tabulate)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

#: The headline figures: (key in metrics.json, column header, decimals; 0: a whole number
#: with thousands separators).
FIGURES: tuple[tuple[str, str, int], ...] = (
    ("annualized_return", "annualized return", 3),
    ("max_drawdown", "max drawdown", 3),
    ("sharpe", "Sharpe", 2),
    ("volatility", "volatility", 3),
    ("total_return", "total return", 3),
    ("turnover", "turnover / yr", 2),
    ("trades", "trades", 0),
    ("costs", "costs (yuan)", 0),
    ("average_position_ratio", "avg position ratio", 3),
    ("capital", "capital (yuan)", 0),
)
#: The figures the terminal shows after a run.
TERMINAL = (
    "annualized_return",
    "max_drawdown",
    "sharpe",
    "average_position_ratio",
    "trades",
    "costs",
    "capital",
)


def number(value: float | None, digits: int) -> str:
    """``value`` with ``digits`` decimals (0: thousands separators); ``n/a`` for None."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if digits == 0 else f"{value:.{digits}f}"


def cell(figures: Mapping[str, Any], key: str, digits: int = 3) -> str:
    """A strategy's figure ``key`` from its metrics.json entry: for a strategy run on
    several seeds, mean ± standard deviation over the seeds where it is defined; otherwise
    the figure alone (one seed has no spread to show)."""
    seeds = figures.get("seeds", {})
    defined = [f[key] for f in seeds.values() if f.get(key) is not None]
    summary = figures.get("summary", {}).get(key)
    if summary is not None and len(defined) > 1:
        return f"{number(summary['mean'], digits)} ± {number(summary['std'], digits)}"
    return number(figures.get(key), digits)


def figures_table(rows: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> pd.DataFrame:
    """One row per strategy (the index, ``strategy``), one text column per figure of
    ``keys`` (keys of :data:`FIGURES`), each a :func:`cell`."""
    columns = {key: (header, digits) for key, header, digits in FIGURES}
    return pd.DataFrame(
        {columns[k][0]: [cell(m, k, columns[k][1]) for m in rows.values()] for k in keys},
        index=pd.Index(list(rows), name="strategy"),
    )


def markdown_table(frame: pd.DataFrame, *, index: bool = False, fmt: str = "pipe") -> str:
    """A table of text cells (their text kept as it is) as Markdown (``fmt="simple"``: plain
    text for a terminal): text columns left-aligned, those whose cells read as numbers
    (``+0.123``, ``1,088``, ``0.232 ± 0.030``, ``n/a``) right-aligned."""
    shown = frame.reset_index() if index else frame
    align = tuple("right" if _numeric(shown[c]) else "left" for c in shown.columns)
    return shown.to_markdown(index=False, tablefmt=fmt, colalign=align, disable_numparse=True)


def _numeric(column: pd.Series) -> bool:
    text = column.astype(str).str.replace(r"[,%±+\-\[\]() ]|n/a", "", regex=True)
    filled = text[text != ""]
    return len(filled) > 0 and bool(filled.str.fullmatch(r"[0-9.]+").all())
