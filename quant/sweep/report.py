"""A sweep's ``DIR/report.md`` and its plots, from results.csv's rows.

- Each strategy over all cells (mean ± standard deviation, range).
- What each ablated part adds (strategies that declare ``ablates``, quant.engine.strategy):
  the reference strategy's figure minus the ablation's, cell by cell (same window, seed and
  settings), then summarised; a paired comparison, so the seeds' and windows' own luck
  cancels.
- For each swept key other than the seed: a table of annualised return by value, and
  ``lines_<key>.png``: each strategy's mean annualised return, Sharpe and drawdown by value
  (averaged over the other keys), with the band of the seeds (min to max of the per-seed
  means).
- For each pair of such keys: ``heat_<a>_<b>.png``, one heat map of annualised return per
  strategy (the mean over the seeds and any other keys), each on its own colour scale.
- The cells that failed, with their errors; the sweep file.

``report.html`` holds the same, self-contained, with interactive figures for the plots
(quant.report.html.markdown_page: the tables of report.md, each plot drawn by plotly).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from quant.io import write_atomic, write_text_atomic
from quant.report.html import markdown_page
from quant.sweep.run import Failure, Outcome
from quant.sweep.spec import Sweep

#: The figures plotted by key, with their axis labels.
PLOTTED = {
    "annualized_return": "annualised return",
    "sharpe": "Sharpe",
    "max_drawdown": "max drawdown",
}


def write_report(sweep: Sweep, out: Path, frame: pd.DataFrame, outcome: Outcome) -> Path:
    """Write report.md and its plots into ``out`` (each file atomically); its path."""
    ok = frame[frame["status"] == "ok"]
    keys = [c for c in sweep.columns if c not in ("seed", "train")]
    keys = [k for k in keys if ok[k].nunique() > 1]
    names = list(dict.fromkeys(ok["strategy"]))
    lines = _header(sweep, frame, outcome)
    lines += _overall(ok, names)
    lines += _ablations(sweep, ok, keys)
    for key in keys:
        lines += _by_key(ok, key, names)
        lines += [f"![{key}]({_lines_plot(out, ok, key, names).name})", ""]
    for first, second in itertools.combinations(keys, 2):
        path = _heat_map(out, ok, first, second, names)
        lines += [
            f"## Annualised return by {first} and {second}",
            "",
            f"![heat map]({path.name})",
            "",
        ]
    lines += _failures(sweep, outcome.failed)
    lines += ["## The sweep file", "", "```toml", sweep.text.rstrip(), "```", ""]
    path = out / "report.md"
    write_text_atomic(path, "\n".join(lines))
    figures = {f"lines_{_slug(key)}.png": lines_figure(ok, key, names) for key in keys}
    for first, second in itertools.combinations(keys, 2):
        figures[f"heat_{_slug(first)}_{_slug(second)}.png"] = heat_figure(ok, first, second, names)
    page = markdown_page("Sweep report", lines, figures)
    write_text_atomic(out / "report.html", page)
    return path


def _header(sweep: Sweep, frame: pd.DataFrame, outcome: Outcome) -> list[str]:
    base = sweep.base
    return [
        "# Sweep report",
        "",
        f"Sweep file `{sweep.source}`: {len(sweep.cells)} cells ({' x '.join(str(len(a.values)) for a in sweep.axes)}: "
        f"{', '.join(a.name for a in sweep.axes)}), each a backtest of {', '.join(sweep.runs.names)} "
        f"on stocks `{base.data}`, indices `{base.index_data}`. This call ran {len(outcome.ran)} "
        f"cells, skipped {len(outcome.skipped)} finished earlier, and {len(outcome.failed)} failed, "
        f"in {outcome.seconds:,.0f} s. Every figure is after costs, under the rules of the "
        "config; each cell's run folder (`cells/<cell>/`, with its own report) holds its "
        "trades. One row per cell and strategy: `results.csv`.",
        "",
    ]


def _overall(ok: pd.DataFrame, names: list[str]) -> list[str]:
    lines = [
        "## Each strategy over the cells",
        "",
        "Mean ± standard deviation over the cells, [min, max].",
        "",
        "| strategy | cells | annualized return | max drawdown | Sharpe | turnover / yr |",
        "| --- | ---: | --- | --- | --- | ---: |",
    ]
    for name in names:
        rows = ok[ok["strategy"] == name]
        lines.append(
            f"| {name} | {len(rows)} | {_spread(rows['annualized_return'])} | "
            f"{_spread(rows['max_drawdown'])} | {_spread(rows['sharpe'], 2)} | "
            f"{rows['turnover'].mean():.2f} |"
        )
    return [*lines, ""]


def _ablations(sweep: Sweep, ok: pd.DataFrame, keys: list[str]) -> list[str]:
    pairs = [
        (cls.ablates[0], name, cls.ablates[1])
        for name, cls in zip(sweep.runs.names, sweep.runs.classes)
        if cls.ablates and cls.ablates[0] in sweep.runs.names
    ]
    if not pairs:
        return []
    lines = [
        "## What each part adds",
        "",
        "The reference strategy's annualised return minus the ablation's, in the same cell "
        "(same window, seed and settings), over the cells: mean ± standard deviation, "
        "[min, max], and the share of cells where the part helped. Sharpe: the same "
        "difference of Sharpe ratios.",
        "",
        "| part | reference - ablation | cells | return difference | helped in | Sharpe difference |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    by_key = []
    for reference, ablation, part in pairs:
        difference = _paired(ok, reference, ablation)
        returns = difference["annualized_return"]
        lines.append(
            f"| {part} | {reference} - {ablation} | {len(returns)} | {_spread(returns)} | "
            f"{(returns > 0).mean():.0%} | {_spread(difference['sharpe'], 2)} |"
        )
        by_key.append((f"{reference} - {ablation}", difference))
    lines.append("")
    for key in keys:
        lines += [
            f"Return difference by {key} (mean ± standard deviation over the cells):",
            "",
            f"| {key} | {' | '.join(label for label, _ in by_key)} |",
            f"| --- |{' --- |' * len(by_key)}",
        ]
        for value in pd.unique(ok[key]):
            cells = [
                _spread(d.loc[d[key] == value, "annualized_return"], bounds=False)
                for _, d in by_key
            ]
            lines.append(f"| {value} | {' | '.join(cells)} |")
        lines.append("")
    return lines


def _paired(ok: pd.DataFrame, reference: str, ablation: str) -> pd.DataFrame:
    """Per cell that has both, the reference's row with its plotted figures replaced by
    the reference's minus the ablation's."""
    mine = ok[ok["strategy"] == reference].set_index("cell")
    theirs = ok[ok["strategy"] == ablation].set_index("cell")
    common = mine.index.intersection(theirs.index)
    return mine.loc[common].assign(
        **{m: mine.loc[common, m] - theirs.loc[common, m] for m in PLOTTED}
    )


def _by_key(ok: pd.DataFrame, key: str, names: list[str]) -> list[str]:
    lines = [
        f"## Annualised return by {key}",
        "",
        "Mean ± standard deviation over the cells with that value (the seeds and any other keys).",
        "",
        f"| {key} | {' | '.join(names)} |",
        f"| --- |{' --- |' * len(names)}",
    ]
    for value in pd.unique(ok[key]):
        rows = ok[ok[key] == value]
        cells = [
            _spread(rows.loc[rows["strategy"] == n, "annualized_return"], bounds=False)
            for n in names
        ]
        lines.append(f"| {value} | {' | '.join(cells)} |")
    return [*lines, ""]


def _spread(values: pd.Series, digits: int = 3, bounds: bool = True) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return "n/a"
    text = f"{values.mean():.{digits}f}"
    if len(values) > 1:
        text += f" ± {values.std(ddof=1):.{digits}f}"
        if bounds:
            text += f" [{values.min():.{digits}f}, {values.max():.{digits}f}]"
    return text


def _failures(sweep: Sweep, failed: dict[str, Failure]) -> list[str]:
    if not failed:
        return []
    cells = {cell.key: cell for cell in sweep.cells}
    lines = [
        "## Cells that failed",
        "",
        "They have no run folder: the next call runs them again.",
        "",
    ]
    for key, failure in failed.items():
        labels = ", ".join(f"{k} = {v}" for k, v in cells[key].labels(sweep.axes).items())
        lines.append(f"- `{key}` ({labels}): {failure.error}")
        if failure.details:
            lines += ["", "  ```", *(f"  {line}" for line in failure.details.splitlines()), "  ```"]
    return [*lines, ""]


# -- plots ----------------------------------------------------------------------------------
def _colours(names: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return {name: palette(k % 10) for k, name in enumerate(names)}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def seed_means(ok: pd.DataFrame, key: str, name: str, metric: str) -> pd.DataFrame:
    """Strategy ``name``'s mean ``metric`` for each value of ``key`` (rows, in the order
    the sweep gives them) and each seed (columns), over the other keys."""
    rows = ok[ok["strategy"] == name]
    rows = rows.assign(_seed=rows.get("seed", 0))
    per_seed = rows.pivot_table(index=key, columns="_seed", values=metric, aggfunc="mean")
    return per_seed.reindex(list(pd.unique(ok[key])))


def _lines_plot(out: Path, ok: pd.DataFrame, key: str, names: list[str]) -> Path:
    """Each strategy's mean figure by the values of ``key``, with the seeds' min-max band."""
    values = list(pd.unique(ok[key]))
    colours = _colours(names)
    figure = Figure(figsize=(5 * len(PLOTTED), 4.4), dpi=100, layout="constrained")
    for axes, (metric, label) in zip(figure.subplots(1, len(PLOTTED)), PLOTTED.items()):
        for name in names:
            per_seed = seed_means(ok, key, name, metric)
            x = np.arange(len(values))
            axes.plot(x, per_seed.mean(axis=1), marker="o", label=name, color=colours[name])
            if per_seed.shape[1] > 1:
                axes.fill_between(
                    x, per_seed.min(axis=1), per_seed.max(axis=1), color=colours[name], alpha=0.15
                )
        axes.set_xticks(np.arange(len(values)), [str(v) for v in values], rotation=20)
        axes.set_xlabel(key)
        axes.set_title(label)
        axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.suptitle(f"By {key}: mean over the seeds (band: min-max of the seeds)")
    path = out / f"lines_{_slug(key)}.png"
    write_atomic(path, lambda p: figure.savefig(p, format="png"))
    return path


def heat_grids(
    ok: pd.DataFrame, first: str, second: str, names: list[str]
) -> dict[str, pd.DataFrame]:
    """Each strategy's mean annualised return for each pair of values of ``first`` (rows)
    and ``second`` (columns), over the seeds and any other keys."""
    rows_of, cols_of = list(pd.unique(ok[first])), list(pd.unique(ok[second]))
    return {
        name: ok[ok["strategy"] == name]
        .pivot_table(index=first, columns=second, values="annualized_return", aggfunc="mean")
        .reindex(index=rows_of, columns=cols_of)
        for name in names
    }


def colour_range(grid: pd.DataFrame) -> tuple[float, float]:
    """One strategy's own colour scale: the range of its values (a little either side when
    they are all one value), so a strategy far from the others is not washed out."""
    values = grid.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return (-1.0, 1.0)
    low, high = float(values.min()), float(values.max())
    return (low - 0.01, high + 0.01) if high - low < 1e-9 else (low, high)


def _heat_map(out: Path, ok: pd.DataFrame, first: str, second: str, names: list[str]) -> Path:
    """One panel per strategy: its mean annualised return for each pair of values, on its
    own colour scale (with its own colour bar)."""
    grids = heat_grids(ok, first, second, names)
    columns = min(len(names), 3)
    lines = -(-len(names) // columns)
    figure = Figure(figsize=(5.2 * columns, 4.2 * lines), dpi=100, layout="constrained")
    panels = np.atleast_1d(figure.subplots(lines, columns, squeeze=False).ravel())
    for axes, (name, grid) in zip(panels, grids.items()):
        low, high = colour_range(grid)
        image = axes.imshow(grid.to_numpy(), cmap="RdYlGn", vmin=low, vmax=high, aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            if np.isfinite(value):
                axes.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8)
        axes.set_xticks(np.arange(len(grid.columns)), [str(v) for v in grid.columns], rotation=20)
        axes.set_yticks(np.arange(len(grid.index)), [str(v) for v in grid.index])
        axes.set_xlabel(second)
        axes.set_ylabel(first)
        axes.set_title(name)
        figure.colorbar(image, ax=axes, shrink=0.8)
    for axes in panels[len(grids) :]:
        axes.set_visible(False)
    figure.suptitle(
        "Annualised return after costs (mean over the seeds; each strategy its own scale)"
    )
    path = out / f"heat_{_slug(first)}_{_slug(second)}.png"
    write_atomic(path, lambda p: figure.savefig(p, format="png"))
    return path


# -- the same, interactive, for report.html ------------------------------------------------
def lines_figure(ok: pd.DataFrame, key: str, names: list[str]) -> go.Figure:
    """The plotly twin of :func:`_lines_plot`."""
    values = [str(v) for v in pd.unique(ok[key])]
    colours = {name: to_hex(colour) for name, colour in _colours(names).items()}
    figure = make_subplots(rows=1, cols=len(PLOTTED), subplot_titles=list(PLOTTED.values()))
    for col, metric in enumerate(PLOTTED, start=1):
        for name in names:
            per_seed = seed_means(ok, key, name, metric)
            figure.add_trace(
                go.Scatter(
                    x=values, y=per_seed.mean(axis=1).to_numpy(), name=name, legendgroup=name,
                    showlegend=col == 1, mode="lines+markers", line={"color": colours[name]},
                    error_y={"type": "data", "symmetric": False,
                             "array": (per_seed.max(axis=1) - per_seed.mean(axis=1)).to_numpy(),
                             "arrayminus": (per_seed.mean(axis=1) - per_seed.min(axis=1)).to_numpy()},
                ),
                row=1, col=col,
            )  # fmt: skip
        figure.update_xaxes(title_text=key, type="category", row=1, col=col)
    figure.update_layout(
        title=f"By {key}: mean over the seeds (bars: min-max of the seeds)",
        template="plotly_white", height=420, legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return figure


def heat_figure(ok: pd.DataFrame, first: str, second: str, names: list[str]) -> go.Figure:
    """The plotly twin of :func:`_heat_map`: a panel per strategy, each its own scale."""
    grids = heat_grids(ok, first, second, names)
    columns = min(len(names), 3)
    lines = -(-len(names) // columns)
    figure = make_subplots(rows=lines, cols=columns, subplot_titles=names,
                           horizontal_spacing=0.12, vertical_spacing=0.18)  # fmt: skip
    for k, (name, grid) in enumerate(grids.items()):
        row, col = k // columns + 1, k % columns + 1
        low, high = colour_range(grid)
        values = grid.to_numpy(dtype=float)
        text = [[f"{v:.3f}" if np.isfinite(v) else "" for v in line] for line in values]
        figure.add_trace(
            go.Heatmap(
                z=values, x=[str(v) for v in grid.columns], y=[str(v) for v in grid.index],
                text=text, texttemplate="%{text}", colorscale="RdYlGn", zmin=low, zmax=high,
                colorbar={"len": 0.9 / lines, "x": col / columns - 0.02,
                          "y": 1 - (row - 0.5) / lines, "thickness": 10},
                hovertemplate=f"{first} %{{y}}, {second} %{{x}}: %{{z:.3f}}<extra>{name}</extra>",
            ),
            row=row, col=col,
        )  # fmt: skip
        figure.update_xaxes(title_text=second, type="category", row=row, col=col)
        figure.update_yaxes(title_text=first, type="category", row=row, col=col)
    figure.update_layout(
        title="Annualised return after costs (mean over the seeds; each strategy its own scale)",
        template="plotly_white", height=360 * lines,
    )  # fmt: skip
    return figure
