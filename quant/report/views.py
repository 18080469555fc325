"""The tear sheet's interactive figures (plotly), each from a run folder's files: net value
on a log scale with the excess over the reference (the first of the
config's baselines in the run), drawdowns, monthly and yearly returns,
rolling Sharpe ratio and volatility, exposure, turnover, the distribution of daily returns,
refusals by rule, the edge over each baseline, the ablations, and the factor analysis of a
ranking. A strategy has one colour in every figure (quant.report.plots.strategy_colours).

Every figure is a ``plotly.graph_objects.Figure``; quant.report.html puts them in one page
with plotly.js inlined (docs/architecture.md says why plotly)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.colors import to_hex
from plotly.subplots import make_subplots

from quant.metrics.factor import (
    horizons_of,
    quantile_returns,
    return_column,
    top_turnover,
)
from quant.metrics.performance import (
    daily_returns,
    drawdown,
    monthly_table,
    period_returns,
    rolling_sharpe,
    rolling_volatility,
    turnover_series,
)
from quant.report.plots import base_name, strategy_colours

#: Sessions of the rolling Sharpe ratio and volatility (about half a year).
ROLLING_SESSIONS = 126
#: Height of a figure of one row, in pixels.
HEIGHT = 380
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def colours(names: Sequence[str]) -> dict[str, str]:
    """Each strategy's colour as #rrggbb, as in the PNG plots."""
    return {name: to_hex(colour) for name, colour in strategy_colours(list(names)).items()}


def _layout(figure: go.Figure, title: str, height: float = HEIGHT, **layout: Any) -> go.Figure:
    """The house layout (white, legend below, hover across lines), ``layout`` over it."""
    figure.update_layout(
        **{
            "title": {"text": title, "x": 0.01, "font": {"size": 15}},
            "template": "plotly_white",
            "height": int(height),
            "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
            "legend": {"orientation": "h", "y": -0.15},
            "hovermode": "x unified",
            **layout,
        }
    )
    return figure


def strategy_lines(nav: pd.DataFrame) -> pd.DataFrame:
    """nav.csv's columns of strategies (the seeds' mean for those run per seed)."""
    return nav[[c for c in nav.columns if "@seed" not in c]]


def net_value_figure(nav: pd.DataFrame, reference: str | None) -> go.Figure:
    """Net value on a log scale (the seeds' band where a strategy ran per seed) and, when
    the run holds ``reference``, each strategy's net value over the reference's."""
    lines = strategy_lines(nav)
    palette = colours(list(lines.columns))
    rows = 2 if reference in lines.columns else 1
    titles = ["net value (log scale)", f"excess over {reference}: net value / {reference}'s"]
    figure = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.65, 0.35][:rows],
        subplot_titles=titles[:rows],
    )  # fmt: skip
    for name in lines.columns:
        members = [c for c in nav.columns if base_name(c) == name and c != name]
        if len(members) > 1:
            band = nav[members]
            for edge, fill in ((band.max(axis=1), None), (band.min(axis=1), "tonexty")):
                figure.add_trace(
                    go.Scatter(
                        x=band.index, y=edge, mode="lines", line={"width": 0}, fill=fill,
                        fillcolor=_alpha(palette[name], 0.15), showlegend=False, hoverinfo="skip",
                        legendgroup=name,
                    ), row=1, col=1,
                )  # fmt: skip
        figure.add_trace(
            go.Scatter(x=lines.index, y=lines[name], name=name, legendgroup=name,
                       line={"color": palette[name], "width": 1.6}),
            row=1, col=1,
        )  # fmt: skip
        if rows == 2 and name != reference:
            figure.add_trace(
                go.Scatter(x=lines.index, y=lines[name] / lines[reference], name=name,
                           legendgroup=name, showlegend=False,
                           line={"color": palette[name], "width": 1.2}),
                row=2, col=1,
            )  # fmt: skip
    figure.update_yaxes(type="log", row=1, col=1)
    if rows == 2:
        figure.add_hline(y=1.0, line={"color": "grey", "width": 0.8, "dash": "dash"}, row=2, col=1)
    return _layout(figure, "Net value after costs", height=HEIGHT * (1.0 + 0.6 * (rows - 1)))


def drawdown_figure(nav: pd.DataFrame) -> go.Figure:
    """Each strategy's fall from its running peak."""
    lines = strategy_lines(nav)
    palette = colours(list(lines.columns))
    figure = go.Figure()
    for name in lines.columns:
        figure.add_trace(
            go.Scatter(x=lines.index, y=-drawdown(lines[name]), name=name,
                       line={"color": palette[name], "width": 1.2})
        )  # fmt: skip
    return _layout(figure, "Drawdown: fall from the running peak", yaxis={"tickformat": ".0%"})


def monthly_figure(nav: pd.DataFrame) -> go.Figure:
    """One heat map per strategy: its return in each month (rows: years), after costs,
    with its own colour scale centred at zero."""
    lines = strategy_lines(nav)
    names = list(lines.columns)
    figure = make_subplots(
        rows=len(names), cols=1, subplot_titles=names, vertical_spacing=0.35 / max(len(names), 1)
    )
    for k, name in enumerate(names, start=1):
        table = monthly_table(lines[name])
        values = table.to_numpy(dtype=float)
        reach = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        text = [[f"{v:+.1%}" if np.isfinite(v) else "" for v in row] for row in values]
        figure.add_trace(
            go.Heatmap(
                z=values, x=MONTHS, y=[str(y) for y in table.index], text=text,
                texttemplate="%{text}", colorscale="RdYlGn", zmid=0.0, zmin=-reach, zmax=reach,
                showscale=False, hovertemplate="%{y} %{x}: %{z:+.2%}<extra>" + name + "</extra>",
                xgap=1, ygap=1,
            ),
            row=k, col=1,
        )  # fmt: skip
        figure.update_yaxes(autorange="reversed", type="category", row=k, col=1)
    rows = max(len(table.index) for table in (monthly_table(lines[n]) for n in names))
    return _layout(figure, "Monthly returns", height=max(HEIGHT, len(names) * (60 + 26 * rows)))


def yearly_figure(nav: pd.DataFrame) -> go.Figure:
    """Each strategy's return in each calendar year (the first and last may be partial)."""
    lines = strategy_lines(nav)
    palette = colours(list(lines.columns))
    figure = go.Figure()
    for name in lines.columns:
        returns = period_returns(lines[name], "Y")
        figure.add_trace(
            go.Bar(x=[str(p) for p in returns.index], y=returns.to_numpy(), name=name,
                   marker_color=palette[name], hovertemplate="%{x}: %{y:+.1%}")
        )  # fmt: skip
    return _layout(figure, "Yearly returns", barmode="group", yaxis={"tickformat": ".0%"})


def rolling_figure(nav: pd.DataFrame, sessions_per_year: float) -> go.Figure:
    """Rolling Sharpe ratio and volatility over ROLLING_SESSIONS sessions."""
    lines = strategy_lines(nav)
    palette = colours(list(lines.columns))
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
        subplot_titles=[f"Sharpe ratio, last {ROLLING_SESSIONS} sessions",
                        f"volatility (a year), last {ROLLING_SESSIONS} sessions"],
    )  # fmt: skip
    for name in lines.columns:
        for row, series in enumerate(
            (rolling_sharpe(lines[name], ROLLING_SESSIONS, sessions_per_year),
             rolling_volatility(lines[name], ROLLING_SESSIONS, sessions_per_year)), start=1
        ):  # fmt: skip
            figure.add_trace(
                go.Scatter(x=series.index, y=series, name=name, legendgroup=name,
                           showlegend=row == 1, line={"color": palette[name], "width": 1.2}),
                row=row, col=1,
            )  # fmt: skip
    return _layout(figure, "Rolling Sharpe ratio and volatility", height=int(HEIGHT * 1.6))


def exposure_figure(exposure: pd.DataFrame) -> go.Figure:
    """Each strategy's share of equity in stocks at each close (the seeds' mean)."""
    shares = exposure.iloc[1:].T.groupby(base_name, sort=False).mean().T
    palette = colours(list(shares.columns))
    figure = go.Figure()
    for name in shares.columns:
        figure.add_trace(
            go.Scatter(x=shares.index, y=shares[name], name=name,
                       line={"color": palette[name], "width": 1.0})
        )  # fmt: skip
    return _layout(
        figure,
        "Exposure: share of equity in stocks",
        yaxis={"tickformat": ".0%", "range": [0, 1.05]},
    )


def turnover_figure(
    trades: pd.DataFrame, nav: pd.DataFrame, capital: Mapping[str, float]
) -> go.Figure:
    """Each strategy's one-sided turnover per month (value traded / 2 over the month's mean
    equity; the seeds' mean), from trades.parquet and its net value x its capital."""
    names = list(strategy_lines(nav).columns)
    palette = colours(names)
    figure = go.Figure()
    for name in names:
        series = []
        labels = [c for c in nav.columns if base_name(c) == name and c != name] or [name]
        for label in labels:
            seed = int(label.split("@seed")[1]) if "@seed" in label else None
            mine = trades[trades["strategy"] == name] if len(trades) else trades
            if seed is not None and len(mine):
                mine = mine[mine["seed"] == seed]
            traded = (
                pd.Series(mine["value"].to_numpy(), index=pd.DatetimeIndex(mine["date"]))
                if len(mine) else pd.Series(dtype=float)
            )  # fmt: skip
            series.append(turnover_series(traded, nav[label] * capital[name]))
        monthly = pd.concat(series, axis=1).mean(axis=1)
        figure.add_trace(
            go.Bar(x=monthly.index.to_timestamp(), y=monthly.to_numpy(), name=name,
                   marker_color=palette[name], hovertemplate="%{x|%Y-%m}: %{y:.2f}")
        )  # fmt: skip
    return _layout(figure, "Turnover per month (one-sided, share of equity)", barmode="group")


def distribution_figure(nav: pd.DataFrame) -> go.Figure:
    """Histogram of each strategy's daily returns (days flat in cash included)."""
    lines = strategy_lines(nav)
    palette = colours(list(lines.columns))
    figure = go.Figure()
    for name in lines.columns:
        figure.add_trace(
            go.Histogram(x=daily_returns(lines[name]).to_numpy(), name=name, opacity=0.55,
                         marker_color=palette[name], nbinsx=80, histnorm="probability")
        )  # fmt: skip
    return _layout(
        figure, "Distribution of daily returns", barmode="overlay", hovermode="closest",
        xaxis={"tickformat": ".1%", "title": "daily return"}, yaxis={"title": "share of days"},
    )  # fmt: skip


def refusals_figure(refusals: pd.DataFrame, names: Sequence[str]) -> go.Figure | None:
    """Refused orders per month by reason (the rule that refused them), one panel per
    strategy that had any (totals over its seeds); None when nothing was refused."""
    if refusals.empty:
        return None
    shown = [n for n in names if (refusals["strategy"] == n).any()]
    reasons = sorted(refusals["reason"].astype(str).unique())
    palette = dict(zip(reasons, colours(reasons).values()))
    figure = make_subplots(rows=len(shown), cols=1, shared_xaxes=True, subplot_titles=shown,
                           vertical_spacing=0.3 / max(len(shown), 1))  # fmt: skip
    for row, name in enumerate(shown, start=1):
        mine = refusals[refusals["strategy"] == name]
        counts = (
            mine.assign(month=pd.DatetimeIndex(mine["date"]).to_period("M"), reason=mine["reason"].astype(str))
            .groupby(["month", "reason"]).size().unstack(fill_value=0)
        )  # fmt: skip
        for reason in counts.columns:
            figure.add_trace(
                go.Bar(x=counts.index.to_timestamp(), y=counts[reason], name=reason,
                       legendgroup=reason, showlegend=row == 1, marker_color=palette[reason],
                       hovertemplate="%{x|%Y-%m}: %{y} " + reason),
                row=row, col=1,
            )  # fmt: skip
    return _layout(figure, "Refused orders per month, by rule", barmode="stack",
                   height=max(HEIGHT, 200 * len(shown)))  # fmt: skip


def interval_figure(rows: Sequence[tuple[str, Mapping[str, Any]]], title: str) -> go.Figure:
    """Differences in annualised return with their 95 % intervals, one bar per labelled
    row (rows with an ``error`` are left out)."""
    kept = [(label, d) for label, d in rows if "error" not in d]
    labels = [label for label, _ in kept]
    estimate = np.array([d["difference"] for _, d in kept])
    low = np.array([d["ci_low"] for _, d in kept])
    high = np.array([d["ci_high"] for _, d in kept])
    figure = go.Figure(
        go.Scatter(
            x=estimate, y=labels, mode="markers", marker={"size": 10, "color": "#1f77b4"},
            error_x={"type": "data", "symmetric": False, "array": high - estimate,
                     "arrayminus": estimate - low},
            hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
        )
    )  # fmt: skip
    figure.add_vline(x=0.0, line={"color": "grey", "dash": "dash", "width": 1})
    return _layout(
        figure, title, height=max(220, 90 + 36 * len(labels)), hovermode="closest",
        xaxis={"tickformat": "+.0%", "title": "difference in annualised return"},
        yaxis={"autorange": "reversed", "type": "category"},
    )  # fmt: skip


def ic_figure(ics: Mapping[str, pd.DataFrame], horizon: int) -> go.Figure:
    """Rank IC at each decision date over ``horizon`` sessions (``ics``: each run's
    :func:`~quant.metrics.factor.ic_series`), one bar series per run (seed), with the mean
    over the dates as a dashed line."""
    figure = go.Figure()
    palette = colours(list(ics))
    for label, table in ics.items():
        ic = table[horizon]
        figure.add_trace(
            go.Bar(x=ic.index, y=ic.to_numpy(), name=label, marker_color=palette[label],
                   hovertemplate="%{x|%Y-%m-%d}: %{y:+.3f}")
        )  # fmt: skip
        figure.add_hline(
            y=float(ic.mean()), line={"color": palette[label], "dash": "dash", "width": 1}
        )
    return _layout(figure, f"Rank IC by decision date, returns over {horizon} sessions after the fill",
                   barmode="group")  # fmt: skip


def quantile_figure(tables: Mapping[str, pd.DataFrame], horizons: Sequence[int]) -> go.Figure:
    """Mean return of each score quintile (the mean over the runs' dates), one panel per
    horizon."""
    figure = make_subplots(
        rows=1, cols=len(horizons), subplot_titles=[f"{h} sessions" for h in horizons]
    )
    palette = colours(list(tables))
    for col, horizon in enumerate(horizons, start=1):
        for label, table in tables.items():
            means = quantile_returns(table, horizon).mean()
            figure.add_trace(
                go.Bar(x=[f"Q{q}" for q in means.index], y=means.to_numpy(), name=label,
                       legendgroup=label, showlegend=col == 1, marker_color=palette[label],
                       hovertemplate="%{x}: %{y:+.2%}"),
                row=1, col=col,
            )  # fmt: skip
    figure.update_yaxes(tickformat=".1%")
    return _layout(figure, "Mean return by score quintile (Q1 lowest), after the fill, no costs",
                   barmode="group", hovermode="closest")  # fmt: skip


def decay_figure(ics: Mapping[str, pd.DataFrame], horizons: Sequence[int]) -> go.Figure:
    """Mean rank IC by horizon with its 95 % interval (± 1.96 standard errors over the
    dates), one line per run (``ics`` as in :func:`ic_figure`)."""
    figure = go.Figure()
    palette = colours(list(ics))
    for label, table in ics.items():
        ic = table[list(horizons)]
        means = ic.mean().to_numpy()
        errors = (
            1.96 * ic.std(ddof=1).to_numpy() / np.sqrt(ic.notna().sum().clip(lower=1).to_numpy())
        )
        figure.add_trace(
            go.Scatter(x=[str(h) for h in horizons], y=means, name=label, mode="lines+markers",
                       marker_color=palette[label], line={"color": palette[label]},
                       error_y={"type": "data", "array": errors})
        )  # fmt: skip
    figure.add_hline(y=0.0, line={"color": "grey", "dash": "dash", "width": 1})
    return _layout(figure, "IC decay: mean rank IC by horizon (sessions after the fill), 95 % interval",
                   hovermode="closest", xaxis={"type": "category", "title": "sessions"})  # fmt: skip


def top_turnover_figure(tables: Mapping[str, pd.DataFrame]) -> go.Figure:
    """The share of new names among the top at each decision."""
    figure = go.Figure()
    palette = colours(list(tables))
    for label, table in tables.items():
        turnover = top_turnover(table)
        figure.add_trace(
            go.Scatter(x=turnover.index, y=turnover.to_numpy(), name=label, mode="lines+markers",
                       line={"color": palette[label], "width": 1.2})
        )  # fmt: skip
    return _layout(figure, "Top-name turnover: share of new names at each decision",
                   yaxis={"tickformat": ".0%", "range": [0, 1.05]})  # fmt: skip


def factor_horizons(table: pd.DataFrame) -> list[int]:
    """The horizons a scores table holds returns for."""
    return [h for h in horizons_of(table) if table[return_column(h)].notna().any()]


def _alpha(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
