"""The CNN-LSTM strategy of Liu, Zhang, Ma (2017), traded under A-share rules.

Monthly selection: at the close of the last trading day of month t-1 (the decision date)
the CNN's top 1 % (at least one stock) become month t's selection; N = their number.

Daily timing, at each close, for each selected stock, from the LSTM's signal of that day:

- +1: buy if not held, for 1/N of equity, and set the stock's hold counter to 5 (reset it
  to 5 if held);
- -1: if held, decrement the counter; at 0, sell.

Month end: at the close of the month's second-to-last trading day everything is sold, so
the sells fill at the open of its last trading day (the trading calendar is published in
advance, so this uses no future data); the portfolio is flat into the next decision date,
which is the gap between months of the paper's Fig. 3. A refused sell (limit-down,
suspension) is placed again each following day until it fills; every refusal is
reported by the engine.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from quant.engine.config import ConfigError
from quant.engine.strategy import AShareStrategy, Context, Plan

Selection = dict[pd.Timestamp, list[str]]
Signals = dict[pd.Timestamp, dict[str, int]]


class CnnLstm(AShareStrategy):
    uses_seed = True
    params = (
        ("selection", None),  # decision date -> codes selected for the next month
        ("signals", None),  # date -> {code: +1 / -1} for the selected codes
        ("liquidation_days", None),  # closes at which everything is sold
        ("hold_days", 5),
    )

    @classmethod
    def prepare(
        cls, context: Context, hold_days: int = 5, preset: str = "paper", **settings: Any
    ) -> Plan:
        """Train (or reuse from the cache) the walk-forward models for this window and
        seed, then read their tables. ``settings`` override the preset's SignalConfig
        (``train_start``, ``train_end``, ``retrain_every``...); ``cnn`` / ``lstm`` change the
        preset's models' settings, or name other models (``{class, kwargs}``)."""
        from quant.signals import build_signals

        config = signal_config(context, preset, settings)
        tables = build_signals(context.panel, config, context.cache_dir / "signals")
        info = {
            "preset": preset,
            "train": f"{config.train_start} .. {config.train_end}",
            "test": f"{config.test_start} .. {config.test_end}",
            "quality": tables.quality,
            "training": tables.report.get("training", []),
        }
        return timing_plan(context, tables.selection, tables.timing, hold_days, info)

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []
        self.counters: dict[str, int] = {}
        self.liquidating = False

    def next(self) -> None:
        today = self.today
        if today in self.p.selection:  # a decision date: month t's book opens
            self.selected = self.p.selection[today]
            self.counters = {}
            self.liquidating = False
        if today in self.p.liquidation_days:
            self.liquidating = True
        if self.liquidating:
            self.close_all()
            return
        holdings = self.holdings()
        signals = self.p.signals.get(today, {})
        buys = []
        for code in self.selected:
            signal = signals.get(code)
            if signal == 1:
                if code not in holdings:
                    buys.append(code)
                self.counters[code] = self.p.hold_days
            elif signal == -1 and code in holdings and code in self.counters:
                self.counters[code] -= 1
                if self.counters[code] <= 0:
                    del self.counters[code]
        # sells first (their cash is there when the buys fill): what has no counter, run
        # down to 0 or left from a refused sell
        available = self.broker.getcash()
        for code in holdings:
            if code not in self.counters:
                self.close_position(code)
                available += holdings[code] * self.price(code)
        budget = self.equity / max(len(self.selected), 1)
        for code in buys:  # the cash is shared out as the buys are placed
            value = min(budget, available) * (1.0 - self.broker.rules.cash_buffer)
            if value > 0:
                self.order_target_value(code, value)
                available -= value


def signal_config(context: Context, preset: str, settings: dict[str, Any]) -> Any:
    """The SignalConfig of a run: the preset, the run's settings over it, the seed of the
    run, and the backtest window as the test span (the one place the span is set)."""
    from quant.signals import SignalConfig
    from quant.signals import preset as preset_config

    if {"test_start", "test_end", "seed"} & set(settings):
        raise ConfigError(
            "cnn_lstm: the test span is the backtest window (start, end) and the seed is the "
            "run's (seed, seeds); set those instead of test_start / test_end / seed"
        )
    try:
        values = {
            **settings,
            "test_start": str(context.config.start_date.to_period("M")),
            "test_end": str(context.config.end_date.to_period("M")),
            "seed": context.seed,
        }
        return SignalConfig.from_dict(values, base=preset_config(preset))
    except ValueError as error:
        raise ConfigError(f"cnn_lstm: {error}") from None


def timing_plan(
    context: Context,
    selection: pd.DataFrame,
    timing: pd.DataFrame,
    hold_days: int = 5,
    info: dict[str, Any] | None = None,
) -> Plan:
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
    return Plan(
        codes=codes,
        params={
            "selection": picks,
            "signals": signals,
            "liquidation_days": liquidation,
            "hold_days": hold_days,
        },
        info=info or {},
        tables={"selection": selection, "timing": timing},
    )
