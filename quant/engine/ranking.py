"""The seam through which a strategy that ranks shows its ranking: the ``scores`` table of
its plan (``Plan.tables["scores"]``), one row per (decision date, code) it scored, with
columns ``decision_date`` (the session at whose close the scores are known), ``code``,
``score`` (higher: better) and, optionally, ``selected`` (bool: what the strategy bought).

Momentum, reversal and the CNN-LSTM (the CNN's scores) fill it; a user's strategy does the
same, from a (dates x codes) matrix with :func:`scores_table`::

    plan.tables[SCORES] = scores_table(context.panel.dates[rows], context.panel.codes, scores)

The runner checks the table and adds the returns after the fill (:func:`with_returns`),
which the report's factor analysis reads (quant.metrics.factor); it is written to the run
folder as ``<strategy>[_seedN]_scores.parquet``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from quant.engine.strategy import Context, StrategyError
from quant.metrics.factor import HORIZONS, return_column

#: The name of a plan's table of ranking scores.
SCORES = "scores"
#: Its columns (``selected`` may follow).
SCORE_COLUMNS = ("decision_date", "code", "score")


def scores_table(
    dates: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    codes: Sequence[str] | pd.Index,
    scores: np.ndarray,
    selected: np.ndarray | None = None,
) -> pd.DataFrame:
    """The long ``scores`` table of a (len(dates), len(codes)) matrix of scores (NaN: not
    ranked that date, left out), with ``selected`` from a boolean matrix of the same
    shape when given."""
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (len(dates), len(codes)):
        raise ValueError(
            f"scores of shape {scores.shape} for {len(dates)} dates x {len(codes)} codes"
        )
    row, col = np.nonzero(np.isfinite(scores))
    table = pd.DataFrame(
        {
            "decision_date": pd.DatetimeIndex(dates)[row],
            "code": np.asarray(codes, dtype=object)[col],
            "score": scores[row, col],
        }
    )
    if selected is not None:
        table["selected"] = np.asarray(selected, dtype=bool)[row, col]
    return table


def with_returns(
    name: str, tables: Mapping[str, pd.DataFrame], context: Context
) -> dict[str, pd.DataFrame]:
    """The plan's tables, its ``scores`` (if any) checked (:func:`check_scores`), cut to
    the decisions the window can fill (from day 0 to the session before the last) and given
    ``fill_row`` (the panel row of the fill: the session after the decision) and
    ``return_H`` for each horizon of quant.metrics.factor.HORIZONS: the back-adjusted fill
    price (Rules.fill_at: open or close) H sessions after the fill over the one at the fill,
    less one. NaN where the stock has no bar at the fill (it could not be bought) or the
    horizon ends after the window's last session; a stock without a bar at the end of the
    horizon is valued at its last close, as the broker values a suspended holding."""
    if SCORES not in tables:
        return dict(tables)
    table = check_scores(name, tables[SCORES], context)
    panel, rows = context.panel, context.rows
    decision = panel.dates.get_indexer(table["decision_date"])
    table = table[(decision >= rows.start) & (decision < rows.stop - 1)].reset_index(drop=True)
    fill = panel.dates.get_indexer(table["decision_date"]) + 1
    cols = panel.codes.get_indexer(table["code"].astype(str))
    field = context.config.rules.fill_at
    entry = np.where(panel.has_bar[fill, cols], panel.adjusted_at(field, fill, cols), np.nan)
    held = pd.DataFrame(panel.adj_close).ffill().to_numpy()  # a suspended holding's value
    table["fill_row"] = fill
    for horizon in HORIZONS:
        end = fill + horizon
        inside = end < rows.stop
        at = np.minimum(end, rows.stop - 1)
        exit_price = np.where(
            panel.has_bar[at, cols], panel.adjusted_at(field, at, cols), held[at, cols]
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            table[return_column(horizon)] = np.where(inside, exit_price / entry - 1.0, np.nan)
    return {**tables, SCORES: table}


def check_scores(name: str, table: pd.DataFrame, context: Context) -> pd.DataFrame:
    """The ``scores`` table of strategy ``name``'s plan, with its decision dates as
    timestamps and its codes as text; a :class:`StrategyError` naming the strategy and the
    column, date or code at fault when a column is missing, a date is not a session of the
    data, a code is not in it, a score is not a number (infinite; NaN rows are left out) or
    a (decision_date, code) pair repeats."""
    where = f"strategy {name}: its plan's {SCORES} table"
    missing = [c for c in SCORE_COLUMNS if c not in table.columns]
    if missing:
        raise StrategyError(
            f"{where} lacks the columns {', '.join(missing)} (has {', '.join(map(str, table.columns))})"
        )
    table = table.assign(
        decision_date=pd.to_datetime(table["decision_date"]),
        code=table["code"].astype(str),
        score=pd.to_numeric(table["score"], errors="coerce"),
    )
    table = table[table["score"].notna()]
    panel = context.panel
    unknown_dates = table["decision_date"][panel.dates.get_indexer(table["decision_date"]) < 0]
    if len(unknown_dates):
        raise StrategyError(f"{where}: {unknown_dates.iloc[0].date()} is not a session of the data")
    unknown_codes = table["code"][panel.codes.get_indexer(table["code"]) < 0]
    if len(unknown_codes):
        raise StrategyError(f"{where}: code {unknown_codes.iloc[0]} is not in the data")
    infinite = table[~np.isfinite(table["score"])]
    if len(infinite):
        row = infinite.iloc[0]
        raise StrategyError(
            f"{where}: score {row['score']} for {row['code']} on {row['decision_date'].date()}"
        )
    repeated = table[table.duplicated(["decision_date", "code"])]
    if len(repeated):
        row = repeated.iloc[0]
        raise StrategyError(
            f"{where}: {row['code']} on {row['decision_date'].date()} appears twice"
        )
    return table.reset_index(drop=True)
