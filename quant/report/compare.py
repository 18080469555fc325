"""``quant compare``: several run folders side by side, in one table (for the terminal) and
one self-contained HTML page (each run's headline, the table, every strategy's net value on
a log scale and its drawdown, each from its own run's start)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from quant.io import write_text_atomic
from quant.report.headline import headline, ranking_text
from quant.report.html import figure_html, page, paragraph, table_html
from quant.report.markdown import window_line
from quant.report.reader import RunFolder
from quant.report.sections import report_evidence
from quant.report.tables import TERMINAL, figures_table, markdown_table
from quant.report.views import drawdown_figure, net_value_figure
from quant.rundir import OutputError


def read_runs(paths: Sequence[str | Path]) -> list[RunFolder]:
    """The run folders of ``paths``, in order; an OutputError naming one that is not a run
    folder, or when two share a name (their lines could not be told apart)."""
    runs = [RunFolder(path) for path in paths]
    names = [run.name for run in runs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise OutputError(f"run folders named alike: {', '.join(repeated)} (rename one to compare)")
    return runs


def compare_frame(runs: Sequence[RunFolder]) -> pd.DataFrame:
    """One row per run and strategy: the run, its window, the terminal's figures and the
    ranking's rank IC where it has one."""
    frames = []
    for run in runs:
        table = figures_table(run.strategies, TERMINAL).reset_index()
        window = run.metrics["window"]
        table.insert(0, "window", f"{window['start']} .. {window['end']}")
        table.insert(0, "run", run.name)
        table["ranking"] = [
            ranking_text(m.get("factor")).removeprefix("ranking: ") or "-"
            for m in run.strategies.values()
        ]
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def render_compare(runs: Sequence[RunFolder]) -> str:
    """The terminal's table of :func:`compare_frame`."""
    return markdown_table(compare_frame(runs), fmt="simple")


def compare_page(runs: Sequence[RunFolder]) -> str:
    """The HTML page of the runs compared."""
    nav = pd.concat(
        {f"{run.name}/{name}": run.nav[name] for run in runs for name in run.strategies}, axis=1
    )
    intro = [
        paragraph(f"{run.name}: {window_line(run.metrics['window'])}; stocks "
                  f"{run.metrics['data']['stocks']}.") for run in runs
    ]  # fmt: skip
    sections = [("table", "Figures", table_html(compare_frame(runs)))]
    for run in runs:
        evidence = report_evidence(run.config, run.strategies)
        lines = headline(run.metrics, run.config.cash, evidence)
        sections.append(
            (f"run-{len(sections)}", f"What the evidence supports: {run.name}",
             "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")
        )  # fmt: skip
    sections += [
        ("net-value", "Net value", figure_html(net_value_figure(nav, None), "net-value-figure")),
        ("drawdowns", "Drawdowns", figure_html(drawdown_figure(nav), "drawdown-figure")),
    ]
    return page(f"Runs compared: {', '.join(run.name for run in runs)}", intro, sections)


def write_compare(runs: Sequence[RunFolder], out: str | Path) -> Path:
    """Write the page of the runs to ``out`` (atomically); its path."""
    return write_text_atomic(Path(out), compare_page(runs))
