"""The honest headline: the first lines of the terminal's table, of report.md and of
report.html. Beside each strategy's return they say what the evidence supports: does its
ranking rank (the rank IC of its scores with its t), does its timer time (accuracy against
always-up and always-down on the same days), how much was invested, with what capital, and
what the edge over each baseline is worth; then what the data leaves out. Names come from
what ran: the signal source and the model classes a strategy's info records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quant.metrics.accuracy import Accuracy
from quant.report.figures import seed_infos

#: The horizon (sessions after the fill) whose rank IC the headline quotes: about a month.
HEADLINE_HORIZON = "20"
#: |t| at or above which an IC, or an interval's exclusion of zero, counts as evidence.
T_EVIDENCE = 2.0


def headline(metrics: Mapping[str, Any], cash: float) -> list[str]:
    """One line per strategy (with its evidence), then the ablations and the run's notes,
    as plain sentences (Markdown-safe); ``cash`` is the run's starting cash in yuan."""
    rows = metrics["strategies"]
    lines = [strategy_line(name, m, cash) for name, m in rows.items()]
    edges = metrics.get("significance", {})
    for name, against in edges.items():
        for baseline, d in against.items():
            if "error" not in d:
                lines.append(f"{name} over {baseline}: {interval_text(d)}")
    for row in metrics.get("ablations", []):
        if row["seed"] == "all" and "error" not in row:
            lines.append(
                f"{row['part']} ({row['reference']} - {row['ablation']}): "
                f"{interval_text(row)}; above zero in {row['helped']} of {row['seeds']} seeds"
            )
    lines += [f"data: {note}" for note in metrics.get("notes", [])]
    return lines


def strategy_line(name: str, figures: Mapping[str, Any], cash: float) -> str:
    """``name`` (what it ran): return, drawdown, exposure, capital, then its ranking's and
    its timer's evidence where it has them."""
    seeds = len(figures.get("seeds", {})) or None
    parts = [
        f"{figures['annualized_return']:+.3f} a year after costs"
        if figures.get("annualized_return") is not None
        else "annualised return n/a",
        f"max drawdown {figures['max_drawdown']:.3f}",
        f"{figures['average_position_ratio']:.0%} invested on average",
    ]
    capital = figures.get("capital")
    if capital is not None and abs(capital - cash) > 0.5:
        parts.append(
            f"its own capital of {capital:,.0f} yuan (the run's is {cash:,.0f}: its costs "
            "and equity are at that scale)"
        )
    ranking = ranking_text(figures.get("factor"))
    if ranking:
        parts.append(ranking)
    timing = timing_text(seed_infos(dict(figures)))
    if timing:
        parts.append(timing)
    ran = described(seed_infos(dict(figures)))
    label = f"{name} ({ran})" if ran else name
    if seeds and seeds > 1:
        label += f", mean of {seeds} seeds"
    return f"{label}: {'; '.join(parts)}"


def described(infos: Mapping[str, Mapping[str, Any]]) -> str:
    """What ran, from a strategy's info: its signal source and model classes."""
    info = next(iter(infos.values()), {})
    words = []
    if info.get("signals"):
        words.append(f"signals {info['signals']}")
    models = info.get("models")
    if isinstance(models, Mapping):
        words += [f"{role} {cls}" for role, cls in models.items()]
    return ", ".join(words)


def ranking_text(factor: Mapping[str, Any] | None) -> str:
    """The rank IC of the ranking over HEADLINE_HORIZON sessions after the fill with its t
    and what it supports ('' without a factor analysis)."""
    if not factor:
        return ""
    by_horizon = factor["by_horizon"]
    days = HEADLINE_HORIZON if HEADLINE_HORIZON in by_horizon else next(iter(by_horizon), "")
    horizon = by_horizon.get(days)
    if not horizon or horizon.get("ic_mean") is None:
        return ""
    t = horizon.get("ic_t")
    if t is None:
        verdict = "too few dates to judge"
    elif t >= T_EVIDENCE:
        verdict = "it ranks"
    elif t <= -T_EVIDENCE:
        verdict = "it ranks backwards"
    else:
        verdict = "not distinguishable from no ranking"
    shown = f"t {t:.2f}, " if t is not None else ""
    return (
        f"ranking: rank IC {horizon['ic_mean']:+.3f} over {days} sessions ({shown}"
        f"{horizon['dates']:.0f} dates): {verdict}"
    )


def timing_text(infos: Mapping[str, Mapping[str, Any]]) -> str:
    """The timer's direction accuracy on the strategy's own calls, pooled over the seeds,
    against always-up and always-down on the same days ('' where no seed's info holds a
    timer's quality: quality.lstm.timing of the walk-forward source)."""
    pooled = [Accuracy(0, 0)] * 3
    for info in infos.values():
        figures = (
            info.get("quality", {}).get("lstm", {}).get("timing")
            if isinstance(info.get("quality"), Mapping)
            else None
        )
        if not figures:
            continue
        scores = (figures, figures["always_up"], figures["always_down"])
        pooled = [
            Accuracy(total.hits + score.hits, total.n + score.n)
            for total, score in zip(pooled, map(Accuracy.from_dict, scores))
        ]
    model, up, down = pooled
    if not model.n:
        return ""
    best_name, best = ("always-up", up) if up.value >= down.value else ("always-down", down)
    low, high = model.interval
    if low > best.value:
        verdict = f"above {best_name}"
    elif high < best.value:
        verdict = f"below {best_name}: it does not time"
    else:
        verdict = f"not distinguishable from {best_name}"
    timer = next(
        (i.get("models", {}).get("timer") for i in infos.values() if i.get("models")), None
    )
    who = f"timer {timer}" if timer else "timer"
    return (
        f"{who}: accuracy {model.value:.3f} [{low:.3f}, {high:.3f}] over {model.n:,} calls, "
        f"always-up {up.value:.3f}, always-down {down.value:.3f}: {verdict}"
    )


def interval_text(difference: Mapping[str, Any]) -> str:
    """A difference in annualised return, its 95 % interval and whether that excludes 0."""
    low, high = difference["ci_low"], difference["ci_high"]
    verdict = "excludes 0" if low > 0 or high < 0 else "contains 0, no evidence of an edge"
    return (
        f"{difference['difference']:+.3f} a year, 95 % interval [{low:+.3f}, {high:+.3f}]: "
        f"{verdict}"
    )
