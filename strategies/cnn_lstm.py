"""The CNN-LSTM strategy of Liu, Zhang, Ma (2017), traded under A-share rules.

Monthly selection: at the close of the last trading day of month t-1 (the decision date)
the CNN's top 1 % (at least one stock) become month t's selection; N = their number.

Daily timing, at each close, for each selected stock, from the LSTM's signal of that day:

- +1: buy if not held, for 1/N of equity, and set the stock's hold counter to
  ``hold_days`` (5; reset it if held);
- -1: if held, decrement the counter; at 0, sell.

Month end: at the close of the month's second-to-last trading day everything is sold, so
the sells fill at the open of its last trading day (the trading calendar is published in
advance, so this uses no future data); the portfolio is flat into the next decision date,
which is the gap between months of the paper's Fig. 3. A refused sell (limit-down,
suspension) is placed again each following day until it fills; every refusal is
reported by the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import Field, model_validator

from quant.engine import AShareStrategy, BacktestConfig, ConfigError, Context, Plan
from quant.engine.params import StrategyParams
from quant.engine.ranking import SCORES
from quant.signals import SignalError, SignalSource, WalkForwardSettings, named_source
from strategies.cnn_lstm_report import SHOWN, model_quality_section, signals_evidence

Selection = dict[pd.Timestamp, list[str]]
DailySignals = dict[pd.Timestamp, dict[str, int]]


@dataclass
class TimingPlan(Plan):
    """The CNN-LSTM's lookups: ``selection`` (decision date -> the codes selected for the
    next month), ``signals`` (date -> {code: +1 / -1} for the selected codes) and
    ``liquidation_days`` (the closes at which everything is sold)."""

    selection: Selection = field(default_factory=dict)
    signals: DailySignals = field(default_factory=dict)
    liquidation_days: frozenset[pd.Timestamp] = frozenset()


class CnnLstm(AShareStrategy):
    uses_seed = True
    plan: TimingPlan

    class Params(AShareStrategy.Params, WalkForwardSettings):
        """The trading rule's one parameter, the source of the tables it trades, and the
        built-in source's training settings (quant.signals.WalkForwardSettings: ``preset``,
        ``train_start``, ``train_end``, ``retrain_every``, ``validation_fraction``,
        ``top_fraction``, ``cnn``, ``lstm``), which only that source takes."""

        hold_days: int = Field(5, ge=1)
        """Trading days a +1 signal holds a stock: its counter, reset by each +1 and
        counted down by each -1; at 0 the stock is sold."""
        signals: str | dict[str, Any] = "walk_forward"
        """Where the selection and timing tables come from (quant.signals.source):
        ``walk_forward`` (the CNN ranker and LSTM timer trained walk-forward), or any
        quant.signals.SignalSource as ``module:Class``, ``path/to/file.py:Class`` or
        ``{class = ..., kwargs = {...}}``."""

        @model_validator(mode="after")
        def _source_found(self) -> CnnLstm.Params:
            self.source()  # a misspelt source or setting fails before the data loads
            return self

        def source(self) -> SignalSource:
            """The source named by ``signals``, with its settings; the walk-forward
            settings set here go to the built-in source (or a subclass of it), and are an
            error beside any other."""
            spec, cls, kwargs = named_source(self.signals)
            settings = self.walk_forward_settings()
            if settings and (kwargs or not issubclass(cls, WalkForwardSettings)):
                raise ValueError(
                    f"{', '.join(settings)}: settings of the walk_forward source, not to be "
                    f"set beside signals = {self.signals!r} (give a source's settings in its "
                    "kwargs)"
                )
            return cls.of(settings or kwargs, where=f"signals {spec}: ")

        def source_name(self) -> str:
            """How ``signals`` names the source: a name, ``module:Class`` or a file's."""
            return named_source(self.signals)[0]

    @classmethod
    def check_run(cls, name: str, params: StrategyParams, config: BacktestConfig) -> None:
        """The walk-forward source's training span against the run's window (the test
        span), before any data loads."""
        source = params.source()
        if isinstance(source, WalkForwardSettings):
            try:
                source.for_run(config, config.seed)
            except SignalError as error:
                raise ConfigError(f"strategy {name}: {error}") from None

    @classmethod
    def prepare(cls, context: Context, params: Params) -> TimingPlan:
        """Read the tables of the source ``signals`` names for this window and seed (the
        built-in one trains, or reuses from the cache, the walk-forward models); the
        selection's scores, where the source gives them, are the plan's ``scores`` (the
        report's factor analysis of the ranker: quant.engine.ranking). The ablations, which
        build their plans afresh, show none: their ranking is this one, or a random draw."""
        name = params.source_name()
        signals = params.source().read(context, name)
        info = {"signals": name, **signals.info}
        plan = timing_plan(context, signals.selection, signals.timing, info)
        if "score" in signals.selection.columns:  # the ranker's scores, for the report
            plan.tables[SCORES] = signals.selection[["decision_date", "code", "score", "selected"]]
        return plan

    @classmethod
    def report_section(cls, name: str, infos: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """The settings (the source, its spans), then the walk-forward models' quality and
        training as tables (strategies/cnn_lstm_report.py)."""
        settings = {s: {k: v for k, v in i.items() if k not in SHOWN} for s, i in infos.items()}
        return super().report_section(name, settings) + model_quality_section(infos)

    @classmethod
    def evidence(cls, infos: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """The signal source and model classes that ran, and the timer against always-up
        and always-down, pooled over the seeds (strategies/cnn_lstm_report.py)."""
        return signals_evidence(infos)

    carried = ("selected", "counters", "liquidating")

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []
        self.counters: dict[str, int] = {}
        self.liquidating = False

    def explain(self, code: str, side: str) -> str:
        """The stock's CNN rank at the month's decision, today's LSTM call and its hold
        counter (a buy), or why it is sold."""
        signal = self.plan.signals.get(self.today, {}).get(code)
        call = f"LSTM {signal:+d} today" if signal else "no LSTM call today"
        rank = selection_rank(self.plan, code, self.today)
        if side == "buy":
            return (
                f"{rank}; {call}: buy 1/{len(self.selected)} of equity, hold counter "
                f"{self.counters.get(code, 0)}"
            )
        if self.liquidating:
            return "month end: everything is sold before the next selection"
        if code not in self.selected:
            return "not in this month's selection"
        if signal == -1:
            return f"{rank}; {call}: hold counter down to 0"
        return f"{rank}; {call}: placed again after a refused sell"

    def next(self) -> None:
        today, plan = self.today, self.plan
        if today in plan.selection:  # a decision date: month t's book opens
            self.selected = plan.selection[today]
            self.counters = {}
            self.liquidating = False
        if today in plan.liquidation_days:
            self.liquidating = True
        if self.liquidating:
            self.close_all()
            return
        holdings = self.holdings()
        signals = plan.signals.get(today, {})
        buys = []
        for code in self.selected:
            signal = signals.get(code)
            if signal == 1:
                if code not in holdings:
                    buys.append(code)
                self.counters[code] = plan.params.hold_days
            elif signal == -1 and code in holdings and code in self.counters:
                self.counters[code] -= 1
                if self.counters[code] <= 0:
                    del self.counters[code]
        # sells first (their cash is there when the buys fill): what has no counter, run
        # down to 0 or left from a refused sell
        available = self.cash
        for code in holdings:
            if code not in self.counters:
                self.close_position(code)
                available += holdings[code] * self.price(code)
        budget = self.equity / max(len(self.selected), 1)
        # 1/N of equity each, the cash shared out as the buys are placed, each order's value
        # less the buffer
        self.buy_list(dict.fromkeys(buys, budget), available, buffer="order")


def timing_plan(
    context: Context,
    selection: pd.DataFrame,
    timing: pd.DataFrame,
    info: dict[str, Any] | None = None,
) -> TimingPlan:
    """Turn the signal tables into the strategy's lookups, restricted to the window.

    ``selection``: decision_date, code, selected (bool) [, score, rank];
    ``timing``: date, code, signal (+1/-1) [, probability].
    """
    window = context.dates
    chosen = selection[
        selection["selected"].astype(bool) & selection["decision_date"].isin(window[:-1])
    ]
    picks: Selection = {
        pd.Timestamp(date): sorted(group["code"].astype(str))
        for date, group in chosen.groupby("decision_date")
    }
    inside = timing[timing["date"].isin(window)]
    signals: DailySignals = {}
    for date, code, signal in zip(
        inside["date"], inside["code"].astype(str), inside["signal"], strict=True
    ):
        signals.setdefault(pd.Timestamp(date), {})[code] = int(signal)
    ends = context.panel.calendar.month_end_rows()
    ends = ends[(ends > context.rows.start) & (ends < context.rows.stop)]
    liquidation = frozenset(context.panel.dates[ends - 1])
    codes = sorted({code for codes in picks.values() for code in codes})
    return TimingPlan(
        codes=codes,
        info=info or {},
        tables={"selection": selection, "timing": timing},
        selection=picks,
        signals=signals,
        liquidation_days=liquidation,
    )


def selection_rank(plan: Plan, code: str, today: pd.Timestamp) -> str:
    """``CNN rank K of N (DATE)``: ``code``'s rank in the plan's selection table at its
    latest decision date up to ``today``; "" when it was not scored then."""
    table = plan.tables.get("selection")
    if table is None or "rank" not in table.columns or table.empty:
        return ""
    dates = table["decision_date"]
    past = dates[dates <= today]
    if past.empty:
        return ""
    day = past.max()
    month = table[dates == day]
    row = month[month["code"].astype(str) == code]
    if row.empty:
        return ""
    return f"CNN rank {int(row['rank'].iloc[0])} of {len(month)} ({day.date()})"
