"""The honest headline: the first lines of the terminal's summary, of report.md and of
report.html. Beside each strategy's return they say what the evidence supports: does its
ranking rank (the rank IC of its scores with its t), how much was invested, with what
capital, what its own parts are worth and what ran (AShareStrategy.evidence: the CNN-LSTM
names its signal source and model classes and sets its timer against always-up and
always-down), and what the edge over each baseline and each ablated part is worth; then
what the data leaves out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: The horizon (sessions after the fill) whose rank IC the headline quotes: about a month.
HEADLINE_HORIZON = "20"
#: |t| at or above which an IC, or an interval's exclusion of zero, counts as evidence.
T_EVIDENCE = 2.0


def headline(
    metrics: Mapping[str, Any], cash: float, evidence: Mapping[str, list[str]] | None = None
) -> list[str]:
    """One line per strategy (with its evidence), then the edges over the baselines, the
    ablations and the run's notes, as plain sentences (Markdown-safe); ``cash`` is the
    run's starting cash in yuan, ``evidence`` each strategy's own phrases
    (AShareStrategy.evidence: what ran, what its parts are worth)."""
    rows = metrics["strategies"]
    evidence = evidence or {}
    lines = [strategy_line(name, m, cash, evidence.get(name, [])) for name, m in rows.items()]
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
    return lines + data_lines(metrics.get("notes", []), list(rows))


def data_lines(notes: Sequence[str], names: Sequence[str]) -> list[str]:
    """The run's notes on the data (survivorship, approximations, suspect factors, the
    corporate actions applied or approximated), each a line, but the fees applied (in the
    report's own section); notes on one strategy's holdings (they start with its name) are
    counted in one line that points to the report's notes."""
    own = [n for n in notes if n.split(" ", 1)[0].split("@seed")[0] in names]
    lines = [f"data: {note}" for note in notes if note not in own and not note.startswith("fees:")]
    if own:
        lines.append(f"data: {len(own)} notes on the strategies' own holdings (see the notes)")
    return lines


def strategy_line(
    name: str, figures: Mapping[str, Any], cash: float, evidence: Sequence[str] = ()
) -> str:
    """``name`` (its first evidence phrase: what ran): return, drawdown, exposure,
    capital, its ranking's rank IC where it has one, then its other evidence."""
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
    parts += evidence[1:]
    label = f"{name} ({evidence[0]})" if evidence else name
    if seeds and seeds > 1:
        label += f", mean of {seeds} seeds"
    return f"{label}: {'; '.join(parts)}"


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


def interval_text(difference: Mapping[str, Any]) -> str:
    """A difference in annualised return, its 95 % interval and whether that excludes 0."""
    low, high = difference["ci_low"], difference["ci_high"]
    verdict = "excludes 0" if low > 0 or high < 0 else "contains 0, no evidence of an edge"
    return (
        f"{difference['difference']:+.3f} a year, 95 % interval [{low:+.3f}, {high:+.3f}]: "
        f"{verdict}"
    )
