"""Ablations of the CNN-LSTM: the same models, tables and trading rules with one part taken
out or replaced by chance, to measure what each part adds (run them beside ``cnn_lstm``,
or in a sweep: ``quant sweep``, docs/sweeps.md).

- ``cnn_only``: the CNN's selection bought at the decision and held all month: the
  CNN-LSTM's rules with the LSTM's call replaced by +1 on every day the stock trades. Against
  ``cnn_lstm``: what the LSTM's timing adds.
- ``random_timing``: the CNN's selection timed by a seeded coin instead of the LSTM, on the
  days the LSTM made a call; the coin says +1 as often as the LSTM did over the window
  (``up_share``), so the exposure is alike and only the information differs. Against
  ``cnn_lstm``: what the LSTM adds over chance.
- ``random_select``: each month as many stocks as the CNN selected, drawn at random from
  the stocks it scored, bought at the decision and held all month (``cnn_only``'s rules).
  Against ``cnn_only``: what the CNN's selection adds over chance.

Each trains (or reads from the cache) exactly the models ``cnn_lstm`` trains with the same
parameters and seed, and trades through CnnLstm's ``next`` (1/N of equity per buy, the hold
counter, the month-end liquidation, retried sells). The random draws are seeded by the
run's seed. Each ablation must have the model parameters (preset, training span,
``top_fraction``, ...) of every CNN-LSTM of its run: a run where they differ is refused
before any data loads, since it would compare other models, not the part taken out.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from quant.engine import BacktestConfig, ConfigError, Context
from quant.engine.params import StrategyParams, read_params
from quant.engine.plugins import load_strategy, strategy_name
from quant.selection import top_k
from strategies.cnn_lstm import CnnLstm, TimingPlan, timing_plan

#: Streams of the random draws (numpy SeedSequence entropy beside the run's seed), so that
#: a coin and a draw with the same seed are independent of each other and of training.
COIN_STREAM, DRAW_STREAM = 1401, 1402


class HeldAllMonth(CnnLstm.Params):
    """The CNN-LSTM's parameters less ``hold_days``: a stock called +1 every day is never
    counted down, so it is held until the month-end liquidation."""

    @model_validator(mode="before")
    @classmethod
    def _no_hold_days(cls, values: Any) -> Any:
        if isinstance(values, dict) and "hold_days" in values:
            raise ValueError(
                "hold_days does not apply: the selection is held all month (it is called +1 "
                "every day it trades); set it for cnn_lstm or random_timing"
            )
        return values


class Ablation(CnnLstm):
    """A CNN-LSTM with a part taken out: it must train the same models as every CNN-LSTM
    of its run (:func:`check_same_models`)."""

    @classmethod
    def check_run(cls, name: str, params: StrategyParams, config: BacktestConfig) -> None:
        super().check_run(name, params, config)
        check_same_models(name, params, config)


class CnnOnly(Ablation):
    """The CNN's top fraction bought at the decision and held all month (equal weights,
    1/N of equity each, sold at the open of the month's last session like the CNN-LSTM)."""

    ablates: ClassVar[tuple[str, str]] = ("cnn_lstm", "the timer's timing")
    Params = HeldAllMonth
    #: What the report's strategy details say was replaced.
    replaced: ClassVar[str] = "LSTM replaced by +1 on every day a stock trades"

    @classmethod
    def prepare(cls, context: Context, params: HeldAllMonth) -> TimingPlan:
        plan = super().prepare(context, params)
        selection = cls.select(plan.tables["selection"], context.seed)
        info = plan.info | {"ablation": cls.replaced}
        return timing_plan(context, selection, held_all_month(context, selection), info)

    @classmethod
    def select(cls, selection: pd.DataFrame, seed: int) -> pd.DataFrame:
        """The selection table traded: the CNN's."""
        return selection


class RandomTiming(Ablation):
    """The CNN's selection, each LSTM call replaced by a seeded coin that says +1 with the
    probability ``up_share``."""

    ablates: ClassVar[tuple[str, str]] = ("cnn_lstm", "the timer over a coin")

    class Params(CnnLstm.Params):
        up_share: float | None = Field(None, gt=0, lt=1)
        """Chance of +1 for each call. Unset: the LSTM's share of +1 calls over the
        window (the same exposure, none of its information; a control, not a strategy one
        could have traded, since that share is known only at the window's end)."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> TimingPlan:
        plan = super().prepare(context, params)
        timing = plan.tables["timing"]
        inside = timing["date"].isin(context.dates)
        share = params.up_share
        if share is None:
            share = float((timing.loc[inside, "signal"] > 0).mean()) if inside.any() else 0.5
        rng = np.random.default_rng([context.seed, COIN_STREAM])
        coin = np.where(rng.random(len(timing)) < share, 1, -1).astype(np.int64)
        tossed = timing.drop(columns="probability", errors="ignore").assign(signal=coin)
        info = plan.info | {"ablation": "LSTM replaced by a seeded coin", "up_share": share}
        return timing_plan(context, plan.tables["selection"], tossed, info)


class RandomSelect(CnnOnly):
    """Each month as many stocks as the CNN selected, drawn uniformly from the stocks it
    scored that month, bought at the decision and held all month."""

    ablates: ClassVar[tuple[str, str]] = ("cnn_only", "the ranker's selection over chance")
    replaced = "LSTM replaced by +1 every day, the CNN's selection by a seeded random draw"

    @classmethod
    def select(cls, selection: pd.DataFrame, seed: int) -> pd.DataFrame:
        """A random draw of as many codes among the scored (:func:`random_selection`)."""
        return random_selection(selection, seed)


def random_selection(selection: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The selection table with ``selected`` drawn at random: on each decision date as many
    codes as were selected, uniformly among that date's scored codes (seeded). Shape and
    columns as ``selection`` (decision_date, code, selected, ...)."""
    dates, row = np.unique(selection["decision_date"].to_numpy(), return_inverse=True)
    codes, col = np.unique(selection["code"].astype(str).to_numpy(), return_inverse=True)
    draw = np.full((len(dates), len(codes)), np.nan)
    draw[row, col] = np.random.default_rng([seed, DRAW_STREAM]).random(len(selection))
    selected = selection["selected"].to_numpy(dtype=float)
    chosen = top_k(draw, np.bincount(row, weights=selected, minlength=len(dates)).astype(int))
    return selection.assign(selected=chosen[row, col])


def held_all_month(context: Context, selection: pd.DataFrame) -> pd.DataFrame:
    """A timing table (date, code, decision_date, signal) calling +1 for each selected code
    on every session of its holding month on which it trades (a bar with volume): from its
    decision date to the session before the month's last (quant.market.calendar.Months)."""
    panel = context.panel
    months = panel.calendar.months
    chosen = selection[selection["selected"].astype(bool)]
    decision_rows = panel.dates.get_indexer(chosen["decision_date"])
    month_of = {int(months.decision_row[k]): k for k in np.flatnonzero(months.decision_row >= 0)}
    row, col, decision = (np.empty(0, dtype=np.int64) for _ in range(3))
    for at in np.unique(decision_rows):
        rows = months.holding_rows(month_of[int(at)])
        cols = panel.columns(list(chosen["code"].astype(str)[decision_rows == at]))
        days, codes = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
        trades = panel.tradable[days, codes]
        row, col = np.r_[row, days[trades]], np.r_[col, codes[trades]]
        decision = np.r_[decision, np.full(trades.sum(), at)]
    frame = pd.DataFrame(
        {
            "date": panel.dates[row],
            "code": panel.codes[col].astype(str),
            "decision_date": panel.dates[decision],
            "signal": np.ones(len(row), dtype=np.int64),
        }
    )
    return frame.sort_values(["date", "code"], kind="stable").reset_index(drop=True)


def check_same_models(name: str, params: StrategyParams, config: BacktestConfig) -> None:
    """ConfigError when another strategy of the run that trades the CNN-LSTM's models (a
    CnnLstm or an ablation) trains them with other parameters than ``params``: the
    ablation would then compare other models, not the same ones less a part."""
    mine = _models(params)
    for spec in config.strategies:
        cls = load_strategy(spec)
        other = strategy_name(spec, cls)
        if other == name or not issubclass(cls, CnnLstm):
            continue
        theirs = _models(read_params(cls, other, config.params.get(other, {})))
        if theirs != mine:
            raise ConfigError(
                f"{name} trades other signals than {other} in this run (source and settings "
                f"{mine} against {theirs}): give both the same signals and model parameters, "
                "or run them apart"
            )


def _models(params: Any) -> tuple[Any, dict[str, Any]]:
    """What decides the tables a CnnLstm's ``params`` trade: the signal source as named
    (with its kwargs) and the walk-forward settings that differ from their defaults."""
    return params.signals, params.walk_forward_settings()
