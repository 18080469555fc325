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

from dataclasses import dataclass, field
from typing import Annotated, Any

import pandas as pd
from pydantic import Field, model_validator

from quant.engine import AShareStrategy, ConfigError, Context, Plan

Selection = dict[pd.Timestamp, list[str]]
Signals = dict[pd.Timestamp, dict[str, int]]
Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
#: A model slot: a model's name, a ``{class, kwargs}`` table, or settings of the preset's.
ModelChoice = str | dict[str, Any]


@dataclass
class TimingPlan(Plan):
    """The CNN-LSTM's lookups: ``selection`` (decision date -> the codes selected for the
    next month), ``signals`` (date -> {code: +1 / -1} for the selected codes) and
    ``liquidation_days`` (the closes at which everything is sold)."""

    selection: Selection = field(default_factory=dict)
    signals: Signals = field(default_factory=dict)
    liquidation_days: frozenset[pd.Timestamp] = frozenset()


class CnnLstm(AShareStrategy):
    uses_seed = True
    plan: TimingPlan

    class Params(AShareStrategy.Params):
        """The trading rule's one parameter, then the models' training: a preset, and the
        settings of quant.signals.SignalConfig that change it (unset: the preset's; ranges
        checked by SignalConfig)."""

        hold_days: int = Field(5, ge=1)
        """Trading days a +1 signal holds a stock: its counter, reset by each +1 and
        counted down by each -1; at 0 the stock is sold."""
        preset: str = "paper"
        """The training budget: ``paper`` (the paper's) or ``sample`` (a small one for the
        built-in sample); see quant.signals.PRESETS."""
        train_start: Month | None = None
        """First month of the training span (YYYY-MM)."""
        train_end: Month | None = None
        """Last month of the training span (YYYY-MM); the test span is the backtest window."""
        retrain_every: int | None = None
        """Months per walk-forward block, each with its own models; unset: train once."""
        validation_fraction: float | None = None
        """Chronologically last share of each training span held out for early stopping."""
        top_fraction: float | None = None
        """Share of the CNN's scored stocks selected each month (at least one)."""
        cnn: ModelChoice | None = None
        """The ranker: settings of the preset's CNN, a name, or ``{class, kwargs}``."""
        lstm: ModelChoice | None = None
        """The timer: settings of the preset's LSTM, a name, or ``{class, kwargs}``."""

        @model_validator(mode="before")
        @classmethod
        def _span_and_seed_are_the_runs(cls, values: Any) -> Any:
            if isinstance(values, dict) and {"test_start", "test_end", "seed"} & set(values):
                raise ValueError(
                    "the test span is the backtest window (start, end) and the seed is the "
                    "run's (seed, seeds); set those instead of test_start / test_end / seed"
                )
            return values

        def signal_settings(self) -> dict[str, Any]:
            """The SignalConfig settings set here (over the preset's)."""
            rule = {"hold_days", "preset"}
            return {k: v for k, v in self if k not in rule and v is not None}

    @classmethod
    def prepare(cls, context: Context, params: Params) -> TimingPlan:
        """Train (or reuse from the cache) the walk-forward models for this window and
        seed, then read their tables."""
        from quant.signals import build_signals

        config = signal_config(context, params)
        tables = build_signals(context.panel, config, context.cache_dir / "signals")
        info = {
            "preset": params.preset,
            "train": f"{config.train_start} .. {config.train_end}",
            "test": f"{config.test_start} .. {config.test_end}",
            "quality": tables.quality,
            "training": tables.report.get("training", []),
        }
        return timing_plan(context, tables.selection, tables.timing, info)

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []
        self.counters: dict[str, int] = {}
        self.liquidating = False

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


def signal_config(context: Context, params: CnnLstm.Params) -> Any:
    """The SignalConfig of a run: the preset, the run's settings over it, the seed of the
    run, and the backtest window as the test span (the one place the span is set)."""
    from quant.signals import SignalConfig
    from quant.signals import preset as preset_config

    try:
        values = {
            **params.signal_settings(),
            "test_start": str(context.config.start_date.to_period("M")),
            "test_end": str(context.config.end_date.to_period("M")),
            "seed": context.seed,
        }
        return SignalConfig.from_dict(values, base=preset_config(params.preset))
    except ValueError as error:
        raise ConfigError(f"cnn_lstm: {error}") from None


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
    signals: Signals = {}
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
