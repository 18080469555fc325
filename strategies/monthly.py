"""The monthly top-fraction strategies (momentum, reversal, equal weight) read the same
way: a vectorised ``prepare`` turns scores into a table of target weights per decision
date, and this class rebalances to it at each decision date's close. Refused orders (price
limits, suspensions, T+1) are placed again on the following days until the month ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field

from quant.engine import AShareStrategy, Context, Plan
from quant.engine.ranking import SCORES, scores_table
from quant.selection import top_fraction

Weights = dict[pd.Timestamp, dict[str, float]]

#: The share of the scored stocks bought each month (at least one stock).
TopFraction = Annotated[float, Field(gt=0, le=1)]


@dataclass
class MonthlyPlan(Plan):
    """A monthly plan: ``weights`` maps each decision date to its target (code -> share of
    equity; the rest stays cash)."""

    weights: Weights = field(default_factory=dict)


class MonthlyRebalance(AShareStrategy):
    plan: MonthlyPlan
    carried = ("target",)

    def __init__(self) -> None:
        super().__init__()
        self.target: dict[str, float] = {}

    def next(self) -> None:
        weights = self.plan.weights.get(self.today)
        if weights is not None:
            self.target = weights
            self.order_target_weights(weights)
            return
        self._retry()

    def explain(self, code: str, side: str) -> str:
        """The stock's rank and target weight at a decision; a retry of a refused order on
        the days after."""
        rank = super().explain(code, side)
        if self.today not in self.plan.weights:
            return f"placed again after a refused order ({rank})" if rank else "placed again"
        if side == "sell":
            return "not in this month's target"
        return f"{rank}: target weight {self.target.get(code, 0.0):.2%} of equity"

    def _retry(self) -> None:
        """Orders refused yesterday: sell what should go, buy what is missing (stocks that
        traded today, each for its weight of equity; the cash, less the buffer, is shared
        out as the buys are placed). Whole-book masks find them, so a quiet day costs
        little however many stocks are held."""
        held = self.held_mask()
        target = self.columns(list(self.target))  # positions in this run's book
        wanted = np.zeros(len(held), dtype=bool)
        wanted[target] = True
        for code in self.codes_of(held & ~wanted):
            self.close_position(code)
        missing = target[~held[target]]
        missing = missing[self.tradable_mask()[missing]]
        if len(missing):
            equity = self.equity
            budgets = {code: self.target[code] * equity for code in self.codes_of(missing)}
            self.buy_list(budgets, self.cash, buffer="cash")


class TopFractionRebalance(MonthlyRebalance):
    """Each month the top ``top_fraction`` of the stocks by :meth:`scores` (at least one;
    ties keep the earlier code: quant.selection.top_fraction), equally weighted: bt's
    RunMonthly, SelectN, WeighEqually, Rebalance. A subclass declares its parameters (a
    subclass of this class's ``Params``) and its scores, which the report's factor analysis
    reads (the plan's ``scores`` table: quant.engine.ranking)."""

    class Params(MonthlyRebalance.Params):
        top_fraction: TopFraction = 0.01
        """Share of the scored stocks bought each month (at least one stock)."""

    @classmethod
    def scores(cls, context: Context, params: Params, rows: np.ndarray) -> np.ndarray:
        """(len(rows), N) score of each stock at each decision row of the panel (higher is
        better; NaN: not eligible), from data up to that row only."""
        raise NotImplementedError(f"{cls.__name__} must define scores(context, params, rows)")

    @classmethod
    def prepare(cls, context: Context, params: Params) -> MonthlyPlan:
        rows = decision_rows(context)
        scores = cls.scores(context, params, rows)
        chosen = top_fraction(scores, params.top_fraction)
        plan = equal_weight_plan(context, rows, scores, chosen, params.model_dump())
        panel = context.panel
        plan.tables[SCORES] = scores_table(panel.dates[rows], panel.codes, scores, chosen)
        return plan


def decision_rows(context: Context) -> np.ndarray:
    """Month-end rows (the last session of each month, from the panel's trading calendar)
    inside the window where a decision can still be executed (not the window's last day)."""
    rows = context.panel.calendar.month_end_rows()
    return rows[(rows >= context.rows.start) & (rows < context.rows.stop - 1)]


def equal_weight_plan(
    context: Context, rows: np.ndarray, scores: np.ndarray, chosen: np.ndarray, info: dict
) -> MonthlyPlan:
    """The ``chosen`` stocks of each decision row (a boolean mask like ``scores``), equally
    weighted, as a MonthlyRebalance plan with its selection table."""
    codes = list(context.panel.codes)  # a list: a pandas Index is slow to read one by one
    weights: Weights = {}
    records = []
    for k, row in enumerate(rows):
        picked = np.flatnonzero(chosen[k])
        date = context.panel.dates[row]
        weights[date] = {codes[j]: 1.0 / len(picked) for j in picked} if len(picked) else {}
        records += [(date, codes[j], scores[k, j]) for j in picked]
    selection = pd.DataFrame(records, columns=["decision_date", "code", "score"])
    held = sorted({code for w in weights.values() for code in w})
    return MonthlyPlan(codes=held, weights=weights, info=info, tables={"selection": selection})
