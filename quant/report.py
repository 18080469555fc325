"""A run folder: config.toml, metrics.json, nav.csv, exposure.csv, trades.csv,
positions.csv, refusals.csv, events.csv, report.md and the PNG plots. Every file is written
atomically; ``quant plot DIR`` redraws the plots from the CSVs alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure  # no pyplot: files only, never a window or a backend

from quant.engine.runner import BacktestResult, StrategyResult
from quant.io import write_atomic, write_text_atomic
from quant.metrics.performance import annual_turnover, finite_or_none, summarize

#: Liu, Zhang, Ma (2017), Table 2: test span 2014-01-01..2017-03-31, training from 2007.
PAPER_TABLE = {
    "benchmark": {"annualized_return": 0.136, "max_drawdown": 0.443},
    "cnn_lstm": {"annualized_return": 0.309, "max_drawdown": 0.241},
    "momentum": {"annualized_return": -0.118, "max_drawdown": 0.689},
}
PLOTS = ("net_value.png", "drawdown.png", "position_ratio.png")


def strategy_metrics(result: StrategyResult) -> dict[str, Any]:
    """Every figure of a report row, after costs."""
    fills = result.fills
    refusals = result.refusals["reason"].value_counts().to_dict() if len(result.refusals) else {}
    delisted = int(fills["note"].str.startswith("delisted").sum()) if len(fills) else 0
    traded = float(fills["value"].sum()) if len(fills) else 0.0
    figures: dict[str, Any] = {
        **summarize(result.nav),
        "turnover": annual_turnover(traded, result.equity),
        "trades": len(fills),
        "costs": float(fills["costs"].sum()) if len(fills) else 0.0,
        "average_position_ratio": float(result.position_ratio.iloc[1:].mean()),
        "final_equity": float(result.equity.iloc[-1]),
        "refused_orders": {str(k): int(v) for k, v in refusals.items()},
        "delisted_positions_closed": delisted,
        "feeds": result.feeds,
        "prepare_seconds": result.prepare_seconds,
        "backtest_seconds": result.backtest_seconds,
        "start": str(result.nav.index[0].date()),
        "end": str(result.nav.index[-1].date()),
    }
    if result.info:
        figures["info"] = result.info
    return {k: finite_or_none(v) if isinstance(v, float) else v for k, v in figures.items()}


def write_run(result: BacktestResult, out: str | Path) -> Path:
    """Write the whole run folder and return its path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics = {
        "strategies": {r.name: strategy_metrics(r) for r in result.strategies},
        "window": {"start": result.config.start, "end": result.config.end},
        "data": {"stocks": result.config.data, "index": result.config.index_data},
        "notes": result.notes,
    }
    write_text_atomic(out / "config.toml", result.config.to_toml())
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2, default=str) + "\n")
    _write_csv(out / "nav.csv", result.nav_frame(), index=True)
    exposure = pd.DataFrame({r.name: r.position_ratio for r in result.strategies})
    _write_csv(out / "exposure.csv", exposure, index=True)
    for name in ("fills", "positions", "refusals", "events"):
        frames = [getattr(r, name).assign(strategy=r.name) for r in result.strategies]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        _write_csv(out / ("trades.csv" if name == "fills" else f"{name}.csv"), table, index=False)
    for r in result.strategies:
        for table_name, table in r.tables.items():
            _write_csv(out / f"{r.name}_{table_name}.csv", table, index=False)
    plot_run(out)
    write_text_atomic(out / "report.md", render_report(metrics, result.config.to_toml()))
    return out


def _write_csv(path: Path, frame: pd.DataFrame, index: bool) -> None:
    write_atomic(path, lambda p: frame.to_csv(p, index=index, float_format="%.10g"))


def plot_run(out: str | Path) -> list[Path]:
    """Draw net_value.png, drawdown.png and position_ratio.png from the run's CSVs."""
    out = Path(out)
    nav_path = out / "nav.csv"
    if not nav_path.exists():
        raise FileNotFoundError(f"{out}: not a run folder (no nav.csv)")
    nav = pd.read_csv(nav_path, index_col=0, parse_dates=True)
    exposure = pd.read_csv(out / "exposure.csv", index_col=0, parse_dates=True)
    drawdown = 1.0 - nav / nav.cummax()
    drawn = [
        _line_plot(out / "net_value.png", nav, "Net value", "net value (1 = start)", baseline=1.0),
        _line_plot(
            out / "drawdown.png", -drawdown, "Drawdown", "fall from the running peak", baseline=0.0
        ),
        _line_plot(
            out / "position_ratio.png",
            exposure[[c for c in exposure.columns if c != "benchmark"]]
            if len(exposure.columns) > 1
            else exposure,
            "Position ratio",
            "share of equity in stocks",
            baseline=None,
        ),
    ]
    return drawn


def _line_plot(
    path: Path, frame: pd.DataFrame, title: str, ylabel: str, baseline: float | None
) -> Path:
    figure = Figure(figsize=(10, 4.8), dpi=110)
    axes = figure.subplots()
    for column in frame.columns:
        axes.plot(frame.index, frame[column], label=column, linewidth=1.2)
    if baseline is not None:
        axes.axhline(baseline, color="grey", linewidth=0.6, linestyle="--")
    axes.set_title(f"{title}, {frame.index[0].date()} .. {frame.index[-1].date()}")
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=9)
    figure.tight_layout()
    write_atomic(path, lambda p: figure.savefig(p, format="png"))
    return path


def render_report(metrics: dict[str, Any], config_toml: str) -> str:
    rows = metrics["strategies"]
    lines = [
        "# Backtest report",
        "",
        f"Window {metrics['window']['start']} .. {metrics['window']['end']}; stocks: "
        f"`{metrics['data']['stocks']}`, index: `{metrics['data']['index']}`. Net value starts at 1 on the last "
        "trading day before the start; all figures are after costs (commission, stamp duty, transfer fee) "
        "under the A-share rules in the config below. Annualised return is geometric over calendar days.",
        "",
        "| strategy | annualized return | max drawdown | Sharpe | volatility | total return | turnover / yr | trades | costs (yuan) | avg position ratio | paper: ann. return / max dd |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in rows.items():
        paper = PAPER_TABLE.get(name)
        paper_text = (
            f"{paper['annualized_return']:.3f} / {paper['max_drawdown']:.3f}" if paper else "-"
        )
        lines.append(
            f"| {name} | {_fmt(m['annualized_return'])} | {_fmt(m['max_drawdown'])} | {_fmt(m['sharpe'], 2)} | "
            f"{_fmt(m['volatility'])} | {_fmt(m['total_return'])} | {_fmt(m['turnover'], 2)} | {m['trades']} | "
            f"{m['costs']:,.0f} | {_fmt(m['average_position_ratio'])} | {paper_text} |"
        )
    lines += [
        "",
        "The paper's figures (Liu, Zhang, Ma 2017, Table 2) come from its own data (training from 2007, all "
        "A-shares, from SINA); ours from the data named above. They are shown for orientation, not as a target.",
        "",
        "## Orders the market refused",
        "",
    ]
    for name, m in rows.items():
        refused = (
            ", ".join(f"{reason}: {count}" for reason, count in m["refused_orders"].items())
            or "none"
        )
        lines.append(
            f"- **{name}**: {refused}; delisted positions closed at their last close: {m['delisted_positions_closed']}"
        )
    lines += [
        "",
        "## Net value",
        "",
        "![net value](net_value.png)",
        "",
        "![drawdown](drawdown.png)",
        "",
        "![position ratio](position_ratio.png)",
        "",
    ]
    details = {name: m["info"] for name, m in rows.items() if m.get("info")}
    if details:
        lines += ["## Strategy details", ""]
        for name, info in details.items():
            lines += [
                f"### {name}",
                "",
                "```json",
                json.dumps(info, indent=2, default=str),
                "```",
                "",
            ]
    if metrics["notes"]:
        lines += ["## Notes", ""] + [f"- {note}" for note in metrics["notes"]] + [""]
    lines += [
        "## Config (repeat with `quant backtest --config config.toml`)",
        "",
        "```toml",
        config_toml.rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def render_table(out: str | Path) -> str:
    """The run's headline figures as a plain-text table for the terminal."""
    metrics = json.loads((Path(out) / "metrics.json").read_text(encoding="utf-8"))["strategies"]
    header = f"{'strategy':<16}{'ann. return':>12}{'max drawdown':>14}{'Sharpe':>8}{'trades':>8}{'costs':>12}"
    lines = [header, "-" * len(header)]
    for name, m in metrics.items():
        lines.append(
            f"{name:<16}{_fmt(m['annualized_return']):>12}{_fmt(m['max_drawdown']):>14}"
            f"{_fmt(m['sharpe'], 2):>8}{m['trades']:>8}{m['costs']:>12,.0f}"
        )
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
