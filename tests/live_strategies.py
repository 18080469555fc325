"""Strategies the paper-book tests follow (named ``tests.live_strategies:Class``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import Field

from quant.engine import AShareStrategy, Context, Plan
from quant.engine.ranking import SCORES, scores_table

CODES = (
    "600000.SH", "600016.SH", "600028.SH", "600030.SH", "600036.SH", "600050.SH",
    "600104.SH", "600519.SH", "000001.SZ", "000002.SZ", "000858.SZ", "002415.SZ",
)  # fmt: skip


@dataclass
class RotationPlan(Plan):
    """The 20-session return of each code by date (what ``next`` ranks)."""

    returns: dict[pd.Timestamp, dict[str, float]] = field(default_factory=dict)


class Rotation(AShareStrategy):
    """A custom strategy with state of its own: every ``every`` sessions it holds the
    ``count`` codes of its list with the best 20-session return, in equal parts, and sells
    a holding that falls ``stop`` below the close it was bought at (each day). It counts
    sessions and remembers its entry closes: ``carried``."""

    carried = ("sessions", "entries")

    class Params(AShareStrategy.Params):
        codes: list[str] = Field(default_factory=lambda: list(CODES))
        """The stocks it chooses from."""
        count: int = Field(3, ge=1)
        every: int = Field(5, ge=1)
        stop: float = Field(0.05, gt=0, lt=1)

    @classmethod
    def prepare(cls, context: Context, params: Params) -> RotationPlan:
        panel = context.panel
        cols = panel.columns(params.codes)
        close = pd.DataFrame(panel.adj_close[:, cols]).ffill()
        returns = (close / close.shift(20) - 1).to_numpy()  # trailing: up to each day only
        rows = np.arange(context.rows.start, min(context.rows.stop, len(panel.dates)))
        table = {
            panel.dates[r]: {
                code: float(returns[r, k])
                for k, code in enumerate(params.codes)
                if np.isfinite(returns[r, k]) and panel.tradable[r, cols[k]]
            }
            for r in rows
        }
        scores = scores_table(panel.dates[rows], params.codes, returns[rows])
        return RotationPlan(codes=list(params.codes), returns=table, tables={SCORES: scores})

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0
        self.entries: dict[str, float] = {}

    def next(self) -> None:
        params = self.plan.params
        self.sessions += 1
        for code in self.holdings():
            if self.price(code) < self.entries.get(code, 0.0) * (1 - params.stop):
                self.close_position(code)
                self.entries.pop(code, None)
        if self.sessions % params.every != 1:
            return
        ranked = sorted(self.plan.returns.get(self.today, {}).items(), key=lambda kv: -kv[1])
        chosen = [code for code, _ in ranked[: params.count]]
        if chosen:
            self.order_target_weights({code: 1 / len(chosen) for code in chosen})
            for code in chosen:
                self.entries.setdefault(code, self.price(code))
        for code in list(self.entries):
            if code not in chosen:
                del self.entries[code]


class Scripted(AShareStrategy):
    """Places the orders its ``orders`` parameter lists for a session (date -> entries
    ``CODE:SHARES``, negative shares sell), raw (quant's ``order_shares``), at that
    session's close."""

    class Params(AShareStrategy.Params):
        codes: list[str] = Field(default_factory=list)
        orders: dict[str, list[str]] = Field(default_factory=dict)

    @classmethod
    def prepare(cls, context: Context, params: Params) -> Plan:
        return Plan(codes=list(params.codes))

    def next(self) -> None:
        for entry in self.plan.params.orders.get(str(self.today.date()), []):
            code, shares = entry.split(":")
            self.order_shares(code, float(shares))

    def explain(self, code: str, side: str) -> str:
        return f"scripted {side}"
