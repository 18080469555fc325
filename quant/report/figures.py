"""The figures of metrics.json: each run's (after costs, with the factor analysis of its
ranking where its plan exposed one), their summary over seeds, the edge of each strategy
over the baselines, and what each ablated part adds, seed by seed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from quant.engine.broker import SUSPECT_FACTOR_EVENT
from quant.engine.money import action_counts
from quant.engine.ranking import SCORES
from quant.engine.runner import StrategyResult
from quant.engine.strategy import AShareStrategy
from quant.metrics.factor import factor_summary
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
        "capital": float(result.equity.iloc[0]),
        "final_equity": float(result.equity.iloc[-1]),
        "refused_orders": {str(k): int(v) for k, v in refusals.items()},
        "written_off": int(fills["note"].str.startswith("written off").sum()) if len(fills) else 0,
        "suspect_factor_days": suspect_factor_days(result.events),
        "corporate_actions": action_counts(result.events, fills),
        "held_without_bar_at_end": len(stuck),
        "held_without_bar_at_end_value": float(stuck["value"].sum()),
        "feeds": result.feeds,
        "prepare_seconds": result.prepare_seconds,
        "backtest_seconds": result.backtest_seconds,
        "start": str(result.nav.index[0].date()),
        "end": str(result.nav.index[-1].date()),
    }
    if SCORES in result.tables:
        figures["factor"] = factor_summary(result.tables[SCORES])
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
    factors = [f["factor"] for f in per_seed.values() if "factor" in f]
    return {
        **{key: values["mean"] for key, values in summary.items()},
        "capital": next(iter(per_seed.values()))["capital"],  # the same in every seed
        **({"factor": mean_factor(factors)} if factors else {}),
        "refused_orders": refused,
        "held_without_bar_at_end": sum(f["held_without_bar_at_end"] for f in per_seed.values()),
        "written_off": sum(f["written_off"] for f in per_seed.values()),
        "suspect_factor_days": sum(f["suspect_factor_days"] for f in per_seed.values()),
        "seeds": per_seed,
        "summary": summary,
    }


def mean_factor(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The seeds' factor analyses (quant.metrics.factor.factor_summary) in one: each
    number the mean over the seeds that define it, ``seeds`` their count."""

    def mean(values: list[Any]) -> Any:
        if all(isinstance(v, dict) for v in values):
            return {k: mean([v.get(k) for v in values]) for k in values[0]}
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers and len(numbers) == len([v for v in values if v is not None]):
            return float(np.mean(numbers))
        return values[0]

    return {**mean(summaries), "seeds": len(summaries)}


def ablation_pairs(classes: Mapping[str, type[AShareStrategy]]) -> list[tuple[str, str, str]]:
    """(reference, ablation, the part it takes out) for every strategy of the run that
    declares ``ablates`` (AShareStrategy.ablates) a strategy the run also holds."""
    return [
        (cls.ablates[0], name, cls.ablates[1])
        for name, cls in classes.items()
        if cls.ablates and cls.ablates[0] in classes
    ]


def ablations(
    nav: pd.DataFrame, pairs: Sequence[tuple[str, str, str]], seed: int = 0
) -> list[dict[str, Any]]:
    """What each ablated part adds, from nav.csv's columns: for each pair and each seed
    both ran (``name@seedN``), the reference's annualised return minus the ablation's
    (from monthly returns) with its 95 % block-bootstrap interval over paired months
    (quant.metrics.significance.bootstrap_difference); then a row ``seed = "all"`` for
    the seed-averaged portfolios with ``helped``, the count of seeds where the difference
    is above zero, and ``seeds``, their count. Strategies run without a seed: one row."""
    rows: list[dict[str, Any]] = []
    for reference, ablation, part in pairs:
        seeds = sorted(
            {c.split("@seed")[1] for c in nav.columns if c.startswith(f"{reference}@seed")}
            & {c.split("@seed")[1] for c in nav.columns if c.startswith(f"{ablation}@seed")},
            key=int,
        )
        pair = {"reference": reference, "ablation": ablation, "part": part}
        differences = []
        for s in seeds:
            row = _difference(nav[f"{reference}@seed{s}"], nav[f"{ablation}@seed{s}"], seed)
            rows.append({**pair, "seed": s, **row})
            differences.append(row.get("difference"))
        pooled = _difference(nav[reference], nav[ablation], seed)
        known = [d for d in differences if d is not None]
        rows.append(
            {
                **pair,
                "seed": "all",
                **pooled,
                "helped": sum(d > 0 for d in known),
                "seeds": len(known),
            }
        )
    return rows


def _difference(strategy: pd.Series, baseline: pd.Series, seed: int) -> dict[str, Any]:
    try:
        return bootstrap_difference(
            monthly_returns(strategy.dropna()), monthly_returns(baseline.dropna()), seed=seed
        ).as_dict()
    except ValueError as error:  # too short a window
        return {"error": str(error)}


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
            out[name][baseline] = _difference(nav[name], nav[baseline], seed)
    return out


def seed_infos(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A strategy's ``info`` per seed from its metrics.json entry (``"-"`` for a strategy
    run without a seed): what its report section reads."""
    if "seeds" in figures:
        return {seed: f.get("info", {}) for seed, f in figures["seeds"].items()}
    return {"-": figures.get("info", {})}
