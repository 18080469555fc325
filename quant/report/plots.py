"""The run's plots, drawn from its CSVs alone (``quant plot DIR``): net_value.png (with the
band of seeds where a strategy ran per seed), drawdown.png and position_ratio.png (the
paper's Fig. 3: one panel per strategy, so a strategy that goes flat every month stays
readable over a hundred months). A strategy has one colour in every plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure  # no pyplot: files only, never a window or a backend

from quant.io import write_atomic
from quant.rundir import OutputError

#: Width of every plot, and the height of a line plot and of one position-ratio panel (inches).
WIDTH, HEIGHT, PANEL_HEIGHT = 10.0, 4.8, 1.7


def plot_run(out: str | Path) -> list[Path]:
    """Draw the run folder ``out``'s plots from nav.csv and exposure.csv, and return their
    paths. An OutputError when ``out`` is not a run folder."""
    out = Path(out)
    paths = []
    for name, figure in run_figures(out).items():
        path = out / name
        write_atomic(path, lambda p, f=figure: f.savefig(p, format="png"))
        paths.append(path)
    return paths


def run_figures(out: Path) -> dict[str, Figure]:
    """The plots of the run folder ``out``, by file name."""
    nav_path = out / "nav.csv"
    if not nav_path.exists():
        raise OutputError(f"{out}: not a run folder (no nav.csv)")
    nav = pd.read_csv(nav_path, index_col=0, parse_dates=True)
    exposure = pd.read_csv(out / "exposure.csv", index_col=0, parse_dates=True)
    return figures(nav, exposure)


def figures(nav: pd.DataFrame, exposure: pd.DataFrame) -> dict[str, Figure]:
    """The plots of a run by file name, from its net values (nav.csv's frame: a column per
    run, ``name@seedN`` for each seed) and position ratios (exposure.csv's)."""
    exposure = exposure.T.groupby(base_name, sort=False).mean().T  # seeds averaged
    lines = nav[[c for c in nav.columns if "@seed" not in c]]
    colours = strategy_colours(lines.columns)
    drawdown = -(1.0 - lines / lines.cummax())
    return {
        "net_value.png": line_plot(
            lines, colours, "Net value", "net value (1 = start)", 1.0, seeds=nav
        ),
        "drawdown.png": line_plot(drawdown, colours, "Drawdown", "fall from the running peak", 0.0),
        "position_ratio.png": position_ratio_plot(exposure, colours),
    }


def base_name(label: str) -> str:
    """The strategy of a run's label (``name@seedN`` -> ``name``)."""
    return label.split("@seed")[0]


def strategy_colours(names: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """One colour per strategy, in the run's order (matplotlib's tab10, tab20 beyond ten)."""
    palette = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: palette(k % palette.N) for k, name in enumerate(names)}


def line_plot(
    frame: pd.DataFrame,
    colours: dict[str, tuple[float, ...]],
    title: str,
    ylabel: str,
    baseline: float | None = None,
    seeds: pd.DataFrame | None = None,
) -> Figure:
    """One line per column in its strategy's colour; with ``seeds``, a shaded min-max band
    behind each column that has ``name@seedN`` columns there."""
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=110)
    axes = figure.subplots()
    for column in frame.columns:
        colour = colours[column]
        axes.plot(frame.index, frame[column], label=column, linewidth=1.2, color=colour)
        members = [
            c
            for c in (seeds.columns if seeds is not None else [])
            if base_name(c) == column and c != column
        ]
        if len(members) > 1:
            band = seeds[members]
            axes.fill_between(
                band.index,
                band.min(axis=1),
                band.max(axis=1),
                color=colour,
                alpha=0.2,
                label=f"{column}: {len(members)} seeds, min-max",
            )
    if baseline is not None:
        axes.axhline(baseline, color="grey", linewidth=0.6, linestyle="--")
    axes.set_title(f"{title}, {_span(frame.index)}")
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=9)
    figure.tight_layout()
    return figure


def position_ratio_plot(exposure: pd.DataFrame, colours: dict[str, tuple[float, ...]]) -> Figure:
    """One panel per strategy (shared axes): its daily share of equity in stocks from day 1
    on, shaded, and its monthly mean as a step line."""
    exposure = exposure.iloc[1:]  # day 0: the starting cash, nothing held yet
    panels = len(exposure.columns)
    figure = Figure(figsize=(WIDTH, 0.9 + PANEL_HEIGHT * panels), dpi=110)
    axes = figure.subplots(panels, 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, column in zip(axes, exposure.columns, strict=True):
        colour = colours[column]
        daily = exposure[column]
        monthly = daily.groupby(daily.index.to_period("M")).transform("mean")
        ax.fill_between(daily.index, 0.0, daily, color=colour, alpha=0.3, linewidth=0)
        ax.plot(monthly.index, monthly, color=colour, linewidth=1.2, drawstyle="steps-post")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(column, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_title(
        f"Position ratio (share of equity in stocks; line: monthly mean), {_span(exposure.index)}"
    )
    figure.tight_layout()
    return figure


def _span(index: pd.DatetimeIndex) -> str:
    return f"{index[0].date()} .. {index[-1].date()}"
