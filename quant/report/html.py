"""report.html: the run's tear sheet, one self-contained file (plotly.js and every figure's
data inside it: no network, no server; open it in any browser, send it as it is).

Its parts, in order: what the evidence supports (quant.report.headline) and the figures
table; net value on a log scale with the excess over the reference; drawdowns with the
worst ones' dates and lengths; monthly and yearly returns; rolling Sharpe ratio and
volatility; exposure; turnover; the distribution of daily returns; refused orders by rule;
the edge over each baseline with its interval; what each ablated part adds; the factor
analysis of each ranking; each strategy's own section; the notes on the data; the config.

The page's frame (:func:`page`, :func:`figure_html`, :func:`table_html`) also serves the
sweep's report.html (quant.sweep.html) and ``quant compare`` (quant.report.compare).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import markdown
import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from quant.metrics.factor import ic_series
from quant.metrics.performance import drawdown_periods, sessions_per_year_of
from quant.report import views
from quant.report.headline import headline
from quant.report.markdown import (
    ablation_frame,
    deduplicated,
    factor_frame,
    money_section,
    window_line,
)
from quant.report.reader import RunFolder
from quant.report.tables import FIGURES, figures_table

#: plotly's options for every figure: no logo, resized with the page.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 0 auto; max-width: 1180px; padding: 0 24px 48px; color: #222; line-height: 1.45; }
h1 { margin-top: 28px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 36px; }
nav a { margin-right: 12px; font-size: 0.92em; }
table { border-collapse: collapse; margin: 10px 0 18px; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f4f4; }
.evidence { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 16px; }
.evidence li { margin: 4px 0; }
.note { color: #555; font-size: 0.92em; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; font-size: 0.85em; }
.figure { margin: 8px 0 20px; }
"""


def figure_html(figure: Any, div_id: str) -> str:
    """A plotly figure as a <div> and the script that draws it (plotly.js itself is in the
    page's head: :func:`page`)."""
    return (
        '<div class="figure">'
        + pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            config=PLOTLY_CONFIG,
            div_id=div_id,
        )
        + "</div>"
    )


def table_html(frame: pd.DataFrame, index: bool = False) -> str:
    """A table of text or numbers, its cells escaped."""
    return frame.to_html(index=index, escape=True, border=0, na_rep="n/a")


def paragraph(text: str, css: str = "note") -> str:
    return f'<p class="{css}">{html.escape(text)}</p>'


def page(title: str, intro: Sequence[str], sections: Sequence[tuple[str, str, str]]) -> str:
    """One self-contained HTML page: ``title``, ``intro`` (HTML fragments), then each
    section (anchor, heading, HTML) with a table of contents; plotly.js inlined once."""
    contents = " ".join(
        f'<a href="#{anchor}">{html.escape(head)}</a>' for anchor, head, _ in sections
    )
    body = "\n".join(
        f'<section id="{anchor}"><h2>{html.escape(head)}</h2>\n{content}</section>'
        for anchor, head, content in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n'
        f"<h1>{html.escape(title)}</h1>\n{''.join(intro)}\n<nav>{contents}</nav>\n{body}\n"
        "</body>\n</html>\n"
    )


def markdown_page(title: str, lines: Sequence[str], figures: Mapping[str, Any]) -> str:
    """A Markdown report (``lines``, with ``# title`` first and ``## `` sections) as one
    page: each section rendered (tables, code), each image line ``![...](NAME)`` replaced
    by the interactive figure ``figures[NAME]`` (a PNG it has no figure for stays a
    reference to the file beside the page)."""
    sections: list[tuple[str, str, list[str]]] = []
    intro: list[str] = []
    for line in lines:
        if line.startswith("## "):
            sections.append((f"section-{len(sections) + 1}", line[3:].strip(), []))
        elif sections:
            sections[-1][2].append(line)
        elif not line.startswith("# "):
            intro.append(line)
    rendered = []
    for anchor, head, body in sections:
        parts, text = [], []
        for line in body:
            name = (
                line[line.find("](") + 2 : -1]
                if line.startswith("![") and line.endswith(")")
                else ""
            )
            if name in figures:
                parts += [_markdown(text), figure_html(figures[name], f"{anchor}-{_slug(name)}")]
                text = []
            else:
                text.append(line)
        rendered.append((anchor, head, "".join([*parts, _markdown(text)])))
    return page(title, [_markdown(intro)], rendered)


def _markdown(lines: Sequence[str]) -> str:
    return (
        markdown.markdown("\n".join(lines), extensions=["tables", "fenced_code"]) if lines else ""
    )


def render_html(
    run: RunFolder,
    sections: Mapping[str, list[str]],
    evidence: Mapping[str, list[str]] | None = None,
) -> str:
    """The run folder's report.html, from its files, each strategy's own section (Markdown
    lines: AShareStrategy.report_section) and headline phrases (AShareStrategy.evidence)."""
    metrics, config = run.metrics, run.config
    rows = run.strategies
    nav = run.nav
    names = list(rows)
    reference = next((b for b in config.baselines if b in names), None)
    sessions_per_year = sessions_per_year_of(nav.index)
    intro = [
        paragraph(
            f"{window_line(metrics['window'])}; stocks: {metrics['data']['stocks']}, index: "
            f"{metrics['data']['index']}. After costs (commission, stamp duty, transfer fee, and "
            "with a corporate-actions table the dividend tax) "
            "under the A-share rules of the config at the end. Annualised return: geometric "
            "over calendar days; Sharpe ratio and volatility: daily returns, annualised with "
            f"the calendar's {sessions_per_year:.1f} sessions a year, zero risk-free rate."
        ),
        '<div class="evidence"><strong>What the evidence supports</strong><ul>'
        + "".join(
            f"<li>{html.escape(line)}</li>" for line in headline(metrics, config.cash, evidence)
        )
        + "</ul></div>",
    ]
    figures = figures_table(rows, [key for key, _, _ in FIGURES])
    out: list[tuple[str, str, str]] = [("figures", "Figures", table_html(figures.reset_index()))]
    capital = {name: float(m.get("capital") or config.cash) for name, m in rows.items()}
    shown = [
        ("net-value", "Net value", views.net_value_figure(nav, reference), ""),
        ("drawdown", "Drawdowns", views.drawdown_figure(nav), _worst_drawdowns(nav)),
        ("monthly", "Monthly returns", views.monthly_figure(nav), ""),
        ("yearly", "Yearly returns", views.yearly_figure(nav), ""),
        ("rolling", "Rolling Sharpe ratio and volatility",
         views.rolling_figure(nav, sessions_per_year), ""),
        ("exposure", "Exposure", views.exposure_figure(run.exposure), ""),
        ("turnover", "Turnover", views.turnover_figure(run.trades, nav, capital), ""),
        ("distribution", "Distribution of daily returns", views.distribution_figure(nav), ""),
    ]  # fmt: skip
    out += [
        (anchor, head, figure_html(figure, f"{anchor}-figure") + after)
        for anchor, head, figure, after in shown
    ]
    refused = views.refusals_figure(run.refusals, names)
    out.append(
        (
            "refusals",
            "Refused orders by rule",
            figure_html(refused, "refusals-figure")
            if refused
            else paragraph("No order was refused."),
        )
    )
    out += _edge_section(metrics.get("significance", {}))
    out += _ablation_section(metrics.get("ablations", []))
    out += _factor_sections(run)
    for name, lines in deduplicated({n: sections.get(n, []) for n in names}).items():
        if lines:
            text = "\n".join(lines[1:] if lines and lines[0].startswith("## ") else lines)
            out.append(
                (
                    f"strategy-{_slug(name)}",
                    f"Strategy: {name}",
                    _markdown([text]),
                )
            )
    money = money_section(metrics.get("money", {}), rows)
    if money:
        out.append(("money", "Corporate actions, taxes and fees", _markdown(money[1:])))
    notes = metrics.get("notes", [])
    out.append(
        (
            "notes",
            "Notes on the data",
            "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"
            if notes
            else paragraph("None."),
        )
    )
    out.append(("config", "Config", paragraph("Repeat with quant backtest --config config.toml") + f"<pre>{html.escape(config.to_toml())}</pre>"))  # fmt: skip
    return page(f"Backtest report: {', '.join(names)}", intro, out)


def _worst_drawdowns(nav: pd.DataFrame) -> str:
    parts = []
    for name in views.strategy_lines(nav).columns:
        table = drawdown_periods(nav[name])
        if table.empty:
            parts.append(f"<h3>Worst drawdowns: {html.escape(name)}</h3>" + paragraph("None."))
            continue
        shown = pd.DataFrame(
            {
                "peak": table["peak"].dt.date.astype(str),
                "trough": table["trough"].dt.date.astype(str),
                "recovered": [
                    str(d.date()) if pd.notna(d) else "not yet" for d in table["recovery"]
                ],
                "depth": [f"{d:.1%}" for d in table["depth"]],
                "sessions down": table["sessions_down"].astype(str),
                "sessions to recover": [
                    str(n) if pd.notna(r) else f"{n}+"
                    for n, r in zip(table["sessions"], table["recovery"])
                ],
            }
        )
        parts.append(f"<h3>Worst drawdowns: {html.escape(name)}</h3>" + table_html(shown))
    return "".join(parts)


def _edge_section(table: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    rows = [
        (f"{name} - {baseline}", d)
        for name, against in table.items()
        for baseline, d in against.items()
    ]
    if not rows:
        return []
    text = paragraph(
        "Difference in annualised return against each baseline after costs, with a 95 % "
        "moving-block bootstrap interval over months (blocks of 3 months); for strategies run "
        "per seed, the seed-averaged portfolio. An interval that contains 0 is no evidence of "
        "an edge."
    )
    figure = views.interval_figure(rows, "Edge over each baseline (95 % interval)")
    return [("edge", "Edge over the baselines", text + figure_html(figure, "edge-figure"))]


def _ablation_section(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    if not rows:
        return []
    text = paragraph(
        "What each part adds: the reference strategy's annualised return minus the "
        "ablation's, seed by seed (the same models, less the part), with a 95 % block-bootstrap "
        "interval over paired months; all: the seed-averaged portfolios."
    )
    labelled = [(f"{r['reference']} - {r['ablation']}, seed {r['seed']}", r) for r in rows]
    figure = views.interval_figure(labelled, "What each part adds (95 % interval)")
    return [
        (
            "ablations",
            "What each part adds",
            text + table_html(ablation_frame(rows)) + figure_html(figure, "ablation-figure"),
        )
    ]


def _factor_sections(run: RunFolder) -> list[tuple[str, str, str]]:
    out = []
    for name, figures in run.strategies.items():
        factor = figures.get("factor")
        tables = {label: t for label in run.labels(name) if (t := run.scores(label)) is not None}
        if not factor or not tables:
            continue
        horizons = views.factor_horizons(next(iter(tables.values())))
        if not horizons:
            continue
        slug = _slug(name)
        text = paragraph(
            f"{name} ranks {factor['names']:.0f} names on average at {factor['dates']} decisions. "
            "Scores at the decision's close; returns from the next session's fill to the fill "
            f"price 1, 5 and 20 sessions later (no costs). Top turnover counts the {factor['top']} names."
        )
        ics = {label: ic_series(table, horizons) for label, table in tables.items()}
        body = (
            text
            + table_html(factor_frame(factor))
            + figure_html(views.ic_figure(ics, max(horizons)), f"ic-{slug}")
            + figure_html(views.quantile_figure(tables, horizons), f"quantiles-{slug}")
            + figure_html(views.decay_figure(ics, horizons), f"decay-{slug}")
            + figure_html(views.top_turnover_figure(tables), f"top-turnover-{slug}")
        )
        out.append((f"factor-{slug}", f"Factor analysis: {name}", body))
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower()
