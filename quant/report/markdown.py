"""report.md: what the evidence supports (quant.report.headline), the headline figures
beside the paper's, the edge over the baselines, what each ablated part adds, the factor
analysis of each ranking, the refused orders, the plots, each strategy's own section (a
sub-section the same as an earlier strategy's is shown once), the notes and the config;
and the terminal's summary: the headline and the table of figures."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from quant.engine.config import BacktestConfig, Paper
from quant.report.headline import headline
from quant.report.sections import report_evidence
from quant.report.tables import FIGURES, TERMINAL, figures_table, markdown_table


def render_report(
    metrics: dict[str, Any],
    config: BacktestConfig,
    sections: Mapping[str, list[str]],
    evidence: Mapping[str, list[str]] | None = None,
) -> str:
    """report.md from metrics.json's content, the run's config, each strategy's own
    section (AShareStrategy.report_section) and headline phrases (AShareStrategy.evidence),
    by strategy name."""
    rows = metrics["strategies"]
    seeds = metrics.get("seeds", [])
    lines = [
        "# Backtest report",
        "",
        f"{window_line(metrics['window'])}; stocks: `{metrics['data']['stocks']}`, index: "
        f"`{metrics['data']['index']}`. All figures are after costs (commission, stamp "
        "duty, transfer fee, and with a corporate-actions table the dividend tax) under the "
        "A-share rules in the config below. Annualised return is "
        "geometric over calendar days; Sharpe uses daily returns and a zero risk-free rate.",
        "",
    ]
    lines += [
        "## What the evidence supports",
        "",
        *(f"- {line}" for line in headline(metrics, config.cash, evidence)),
        "",
        "The same in full, with figures, in report.html beside this file.",
        "",
    ]
    if any(len(m.get("seeds", {})) > 1 for m in rows.values()):
        lines += [
            f"Strategies with trained models ran once per seed ({', '.join(map(str, seeds))}): "
            "their cells read mean ± standard deviation over the seeds.",
            "",
        ]
    lines += [*_headline(rows, config.paper), ""]
    lines += _significance_section(metrics.get("significance", {}))
    lines += ablation_section(metrics.get("ablations", []))
    lines += factor_section(rows)
    lines += _refusals_section(rows)
    lines += money_section(metrics.get("money", {}), rows)
    lines += [
        "## Net value",
        "",
        "![net value](net_value.png)",
        "",
        "![drawdown](drawdown.png)",
        "",
        "![position ratio](position_ratio.png)",
        "",
    ]
    for name_lines in deduplicated({name: sections.get(name, []) for name in rows}).values():
        lines += name_lines
    if metrics["notes"]:
        lines += ["## Notes", ""] + [f"- {note}" for note in metrics["notes"]] + [""]
    lines += [
        "## Config (repeat with `quant backtest --config config.toml`)",
        "",
        "```toml",
        config.to_toml().rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _headline(rows: Mapping[str, Any], paper: Paper) -> list[str]:
    table = figures_table(rows, [key for key, _, _ in FIGURES])
    if not paper.figures:
        return [markdown_table(table, index=True)]
    published = [paper.figures.get(name) for name in rows]
    table["paper: ann. return / max dd"] = [
        f"{p.annualized_return:.3f} / {p.max_drawdown:.3f}" if p else "-" for p in published
    ]
    return [
        markdown_table(table, index=True),
        "",
        f"The paper's figures ({paper.source}) come from {paper.data}; ours from the data "
        "named above. They are shown for orientation, not as a target.",
    ]


def ablation_section(rows: list[dict[str, Any]]) -> list[str]:
    """The paired table of what each ablated part adds, by seed (metrics.json's
    ``ablations``: quant.report.figures.ablations); nothing when the run has none."""
    if not rows:
        return []
    return [
        "## What each part adds",
        "",
        "The reference strategy's annualised return minus the ablation's, seed by seed (the "
        "same models, less the part), from monthly returns of nav.csv, with a 95 % "
        "moving-block bootstrap interval over paired months; `all`: the seed-averaged "
        "portfolios, and the seeds where the part helped.",
        "",
        markdown_table(ablation_frame(rows)),
        "",
    ]


def ablation_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One text row per pair and seed of metrics.json's ``ablations``."""
    cells = []
    for row in rows:
        if "error" in row:
            difference, interval = "n/a", row["error"]
        else:
            difference = f"{row['difference']:+.3f}"
            interval = f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
        helped = f"{row['helped']} of {row['seeds']}" if row["seed"] == "all" else ""
        cells.append(
            [row["part"], f"{row['reference']} - {row['ablation']}", str(row["seed"]),
             difference, interval, str(row.get("months", "")), helped]
        )  # fmt: skip
    columns = ["part", "reference - ablation", "seed", "difference", "95 % interval", "months",
               "helped in seeds"]  # fmt: skip
    return pd.DataFrame(cells, columns=columns)


def factor_section(rows: Mapping[str, Any]) -> list[str]:
    """The factor analysis of each strategy whose plan exposed its scores (metrics.json's
    ``factor``: quant.metrics.factor.factor_summary); nothing when none did."""
    ranked = {name: m["factor"] for name, m in rows.items() if m.get("factor")}
    if not ranked:
        return []
    lines = [
        "## The rankings",
        "",
        "For each strategy that ranks (its plan's scores: quant.engine.ranking): the rank IC "
        "(Spearman, score at the decision's close against the return from the next "
        "session's fill to the fill price 1, 5 and 20 sessions later) with its t over the "
        "decision dates, the mean return of each score quintile (Q1 lowest), the top "
        "quintile minus the bottom with its t, and the share of new names among the top "
        "(what was bought) from one decision to the next. No costs. Strategies run per "
        "seed: the mean over the seeds.",
        "",
    ]
    for name, factor in ranked.items():
        lines += [f"**{name}** ({factor['dates']} dates, {factor['names']:.0f} names ranked "
                  f"on average; top turnover {_percent(factor.get('top_turnover'))} a decision)",
                  "", markdown_table(factor_frame(factor)), ""]  # fmt: skip
    return lines


def factor_frame(factor: Mapping[str, Any]) -> pd.DataFrame:
    """One text row per horizon of a factor summary."""
    cells = []
    for horizon, h in factor["by_horizon"].items():
        quantiles = [
            f"{v:+.4f}" if v is not None else "n/a" for v in h["quantile_returns"].values()
        ]
        overlap = " (overlapping)" if h.get("overlapping") else ""
        cells.append(
            [f"{horizon}{overlap}", _signed(h["ic_mean"], 3), _signed(h["ic_t"], 2),
             _percent(h["ic_positive"]), *quantiles, _signed(h["spread"], 4),
             _signed(h["spread_t"], 2)]
        )  # fmt: skip
    names = [f"Q{q}" for q in range(1, len(cells[0]) - 6 + 1)] if cells else []
    columns = ["sessions", "rank IC", "IC t", "IC > 0", *names, "top - bottom", "t"]
    return pd.DataFrame(cells, columns=columns)


def _signed(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def deduplicated(sections: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Each strategy's section with every sub-section (from a ``###`` heading to the next
    heading) that is the same, line for line, as one of an earlier strategy's replaced by
    its heading and a line pointing there: an ablation's model tables are its reference's."""
    seen: dict[tuple[str, ...], str] = {}
    out: dict[str, list[str]] = {}
    for name, lines in sections.items():
        kept: list[str] = []
        for block in _blocks(lines):
            key = tuple(block)
            if block[0].startswith("### ") and key in seen:
                kept += [block[0], "", f"The same as in {seen[key]}'s section above.", ""]
                continue
            seen.setdefault(key, name)
            kept += block
        out[name] = kept
    return out


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = []
    for line in lines:
        if not blocks or line.startswith("#"):
            blocks.append([])
        blocks[-1].append(line)
    return blocks


def window_line(window: dict[str, Any]) -> str:
    """The window run (quant.engine.window.RunWindow.as_dict), and the one asked for when
    they differ."""
    asked = window["asked"]
    line = (
        f"Window run: {window['start']} .. {window['end']}, {window['sessions']} sessions (net "
        f"value 1 at the close of {window['day_0']}, the session before)"
    )
    if (asked["start"], asked["end"]) != (window["start"], window["end"]):
        line += f"; asked for: {asked['start']} .. {asked['end']}"
    if window["clipped"]:
        line += " (**clipped** to the data with clip = true: see the notes)"
    return line


def _significance_section(table: dict[str, dict[str, Any]]) -> list[str]:
    rows = [
        (name, baseline, d) for name, against in table.items() for baseline, d in against.items()
    ]
    if not rows:
        return []
    frame = pd.DataFrame(
        [
            (name, baseline, "n/a", d["error"], "")
            if "error" in d
            else (
                name,
                baseline,
                f"{d['difference']:+.3f}",
                f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]",
                str(d["months"]),
            )
            for name, baseline, d in rows
        ],
        columns=["strategy", "against", "difference", "95 % interval", "months"],
    )
    return [
        "## Is the edge more than luck?",
        "",
        "Difference in annualised return against each baseline (the config's `baselines`), "
        "after costs, with a 95 % moving-block bootstrap interval over months (blocks of 3 "
        "months). For strategies run per seed it is the seed-averaged portfolio (the mean net "
        "value), annualised from monthly returns, so it need not equal the gap between the "
        "table's per-seed means. An interval that contains 0 is no evidence of an edge.",
        "",
        markdown_table(frame),
        "",
    ]


def _refusals_section(rows: Mapping[str, Any]) -> list[str]:
    lines = [
        "## Orders the market refused, and positions frozen at the end",
        "",
        "Every refused order counts, including the daily retries of an order the market keeps "
        "refusing (a long suspension); for strategies run per seed, counts are totals over the "
        "seeds. The market refuses at the fill: `suspended`, `limit-up`, `limit-down`, `T+1`, "
        "`order size` (a size the board does not allow), `cash`. The sizing refuses when the "
        "order is placed: `below minimum order` (a buy that would open a position but whose "
        "budget is under the board's minimum order: 100 shares, 200 on STAR), which is why an "
        "expensive stock in a small slice of equity is not held. "
        "A stock that stops trading is not sold for the holder (a delisting cannot be "
        "told from a long suspension without looking ahead): it stays, valued at its last "
        "close, unless rules.write_off_after_days closes it after that many days without a bar. "
        "On an ex-rights day whose adj_factor change the raw prices do not bear out (a suspect "
        "factor), a position keeps its share count instead of being resized (see the notes).",
        "",
    ]
    for name, m in rows.items():
        refused = ", ".join(f"{reason}: {count}" for reason, count in m["refused_orders"].items())
        lines.append(
            f"- **{name}**: {refused or 'none'}; positions held without a bar on the last day: "
            f"{m['held_without_bar_at_end']}; written off (rules.write_off_after_days): "
            f"{m['written_off']}; positions not resized on a suspect ex-rights day: "
            f"{m['suspect_factor_days']}"
        )
    return [*lines, ""]


def money_section(money: Mapping[str, Any], rows: Mapping[str, Any]) -> list[str]:
    """What the run paid and received beyond its trades' prices: the fee rows applied
    (quant/market/fee_rules.csv, or the rules' own rates), the corporate actions (the
    table, or the adj_factor approximation) and each strategy's costs by kind, dividends
    and dividend tax (metrics.json's ``money`` and each strategy's ``corporate_actions``;
    for strategies run per seed, the mean over the seeds)."""
    if not money:
        return []
    fees = [
        f"- {kind.replace('_', ' ')}: " + ("; ".join(r.split(" [", 1)[0] for r in rules)
                                         if isinstance(rules, list) else rules)
        for kind, rules in (("transfer_fee", money["transfer_fee"]), ("stamp_duty", money["stamp_duty"]))
    ]  # fmt: skip
    table = money.get("corporate_actions")
    actions = (
        f"- corporate actions: from `{table['table']}` ({', '.join(table['layouts'])}, "
        f"{table['rows']} rows); rights issues: {table['rights']} unless the strategy says; "
        f"dividend tax: {'; '.join(money['dividend_tax'])}"
        if table
        else "- corporate actions: no table: every ex-rights day of a held stock scales its "
        "shares by the adj_factor's ratio (dividends reinvested untaxed, rights issues as free "
        "shares)"
    )
    lines = [
        "## Corporate actions, taxes and fees",
        "",
        f"- commission: {money['commission']}",
        *fees,
        actions,
        "",
    ]
    for name, m in rows.items():
        runs = [s["corporate_actions"] for s in m.get("seeds", {}).values()] or [
            m["corporate_actions"]
        ]
        mean = {
            key: sum(run[key] for run in runs) / len(runs)
            for key in ("dividends_received", "dividend_tax_withheld", "dividend_tax_at_sale")
        }
        costs = {k: sum(run["costs"][k] for run in runs) / len(runs) for k in runs[0]["costs"]}
        events = {k: sum(run["events"][k] for run in runs) / len(runs) for k in runs[0]["events"]}
        shown = ", ".join(f"{k} {v:,.4g}" for k, v in events.items() if v) or "none"
        each = f" (mean of {len(runs)} seeds)" if len(runs) > 1 else ""
        lines.append(
            f"- **{name}**{each}: commission {costs['commission']:,.0f}, transfer fee "
            f"{costs['transfer_fee']:,.2f}, stamp duty {costs['stamp_duty']:,.0f}, dividend tax "
            f"at sales {costs['dividend_tax']:,.2f} yuan; dividends received "
            f"{mean['dividends_received']:,.2f} (tax withheld {mean['dividend_tax_withheld']:,.2f}); "
            f"corporate actions: {shown}"
        )
    return [*lines, ""]


def render_summary(out: str | Path) -> str:
    """What the terminal shows after a run: the headline (quant.report.headline), then
    the table of figures (:func:`render_table`)."""
    metrics = json.loads((Path(out) / "metrics.json").read_text(encoding="utf-8"))
    config = BacktestConfig.from_toml(Path(out) / "config.toml")
    evidence = report_evidence(config, metrics["strategies"])
    return "\n".join([*headline(metrics, config.cash, evidence), "", render_table(out)])


def render_table(out: str | Path) -> str:
    """The run's headline figures as a plain-text table for the terminal, read from its
    metrics.json: mean ± standard deviation over the seeds as in report.md ("n/a" for a
    figure that is undefined, e.g. the Sharpe ratio of a flat net value, in every seed)."""
    metrics = json.loads((Path(out) / "metrics.json").read_text(encoding="utf-8"))["strategies"]
    return markdown_table(figures_table(metrics, TERMINAL), index=True, fmt="simple")
