"""The figures of metrics.json: each run's (after costs), their summary over seeds, and the
edge of each strategy over the baselines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from quant.engine.broker import SUSPECT_FACTOR_EVENT
from quant.engine.runner import StrategyResult
from quant.metrics.performance import annual_turnover, finite_or_none, summarize
from quant.metrics.significance import bootstrap_difference, monthly_returns

#: Numeric figures summarised across seeds (mean, std, min, max).
SEED_SUMMARY = (
    "annualized_return",
    "max_drawdown",
    "sharpe",
    "volatility",
    "total_return",
    "calmar",
    "turnover",
    "trades",
    "costs",
    "average_position_ratio",
    "final_equity",
    "prepare_seconds",
    "backtest_seconds",
)


def strategy_metrics(result: StrategyResult) -> dict[str, Any]:
    """Every figure of a report row, after costs."""
    fills = result.fills
    refusals = result.refusals["reason"].value_counts().to_dict() if len(result.refusals) else {}
    last = result.positions[result.positions["date"] == result.nav.index[-1]]
    stuck = last[~last["tradable"].astype(bool)]
    traded = float(fills["value"].sum()) if len(fills) else 0.0
    figures: dict[str, Any] = {
        **summarize(result.nav, result.sessions_per_year),
        "turnover": annual_turnover(traded, result.equity),
        "trades": len(fills),
        "costs": float(fills["costs"].sum()) if len(fills) else 0.0,
        "average_position_ratio": float(result.position_ratio.iloc[1:].mean()),
        "final_equity": float(result.equity.iloc[-1]),
        "refused_orders": {str(k): int(v) for k, v in refusals.items()},
        "written_off": int(fills["note"].str.startswith("written off").sum()) if len(fills) else 0,
        "suspect_factor_days": suspect_factor_days(result.events),
        "held_without_bar_at_end": len(stuck),
        "held_without_bar_at_end_value": float(stuck["value"].sum()),
        "feeds": result.feeds,
        "prepare_seconds": result.prepare_seconds,
        "backtest_seconds": result.backtest_seconds,
        "start": str(result.nav.index[0].date()),
        "end": str(result.nav.index[-1].date()),
    }
    if result.info:
        figures["info"] = result.info
    return {k: finite_or_none(v) if isinstance(v, float) else v for k, v in figures.items()}


def suspect_factor_days(events: pd.DataFrame) -> int:
    """Ex-rights days on which the broker kept a position's share count (a suspect
    adj_factor change: quant.engine.broker)."""
    return int((events["event"] == SUSPECT_FACTOR_EVENT).sum()) if len(events) else 0


def seed_summary(per_seed: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, standard deviation (ddof=1; 0 for one seed), min and max of each figure."""
    summary = {}
    for key in SEED_SUMMARY:
        values = pd.Series([m[key] for m in per_seed if m.get(key) is not None], dtype=float)
        if len(values):
            summary[key] = {
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                "min": float(values.min()),
                "max": float(values.max()),
            }
    return summary


def group_metrics(runs: list[StrategyResult]) -> dict[str, Any]:
    """One strategy's entry in metrics.json. Run once: its figures. Run per seed: the
    seeds' mean for each figure, plus ``seeds`` (every seed's figures) and ``summary``
    (mean, std, min, max)."""
    if len(runs) == 1 and runs[0].seed is None:
        return strategy_metrics(runs[0])
    per_seed = {str(run.seed): strategy_metrics(run) for run in runs}
    summary = seed_summary(list(per_seed.values()))
    refused: dict[str, int] = {}
    for figures in per_seed.values():
        for reason, count in figures["refused_orders"].items():
            refused[reason] = refused.get(reason, 0) + count
    return {
        **{key: values["mean"] for key, values in summary.items()},
        "refused_orders": refused,
        "held_without_bar_at_end": sum(f["held_without_bar_at_end"] for f in per_seed.values()),
        "written_off": sum(f["written_off"] for f in per_seed.values()),
        "suspect_factor_days": sum(f["suspect_factor_days"] for f in per_seed.values()),
        "seeds": per_seed,
        "summary": summary,
    }


def significance(
    nav: pd.DataFrame, names: list[str], baselines: Sequence[str], seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Each strategy of ``names`` that is not a baseline against each of ``baselines`` in
    the run (the config's ``baselines``): the difference in annualised return after costs,
    with a block-bootstrap 95 % interval over months (on the seed-averaged net value of
    strategies run per seed)."""
    out: dict[str, dict[str, Any]] = {}
    present = [b for b in baselines if b in names]
    for name in names:
        if name in baselines:
            continue
        out[name] = {}
        for baseline in present:
            try:
                difference = bootstrap_difference(
                    monthly_returns(nav[name]), monthly_returns(nav[baseline]), seed=seed
                )
            except ValueError as error:  # too short a window
                out[name][baseline] = {"error": str(error)}
                continue
            out[name][baseline] = difference.as_dict()
    return out


def seed_infos(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A strategy's ``info`` per seed from its metrics.json entry (``"-"`` for a strategy
    run without a seed): what its report section reads."""
    if "seeds" in figures:
        return {seed: f.get("info", {}) for seed, f in figures["seeds"].items()}
    return {"-": figures.get("info", {})}
