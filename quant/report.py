"""A run folder: config.toml, metrics.json, nav.csv, exposure.csv, trades.parquet,
positions.parquet, refusals.parquet, events.parquet, the strategies' own tables
(``<strategy>[_seedN]_<table>.parquet``), report.md and the PNG plots. The folder is
written beside its target and put in place whole (see quant.rundir); ``quant plot DIR``
redraws the plots from the CSVs alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure  # no pyplot: files only, never a window or a backend

from quant.engine.broker import SUSPECT_FACTOR_EVENT
from quant.engine.runner import BacktestResult, StrategyResult
from quant.io import write_atomic, write_text_atomic
from quant.metrics.accuracy import Accuracy
from quant.metrics.performance import annual_turnover, finite_or_none, summarize
from quant.metrics.significance import bootstrap_difference, monthly_returns
from quant.rundir import OutputError, staged_folder

#: Liu, Zhang, Ma (2017), Table 2: test span 2014-01-01..2017-03-31, training from 2007.
PAPER_TABLE = {
    "benchmark": {"annualized_return": 0.136, "max_drawdown": 0.443},
    "cnn_lstm": {"annualized_return": 0.309, "max_drawdown": 0.241},
    "momentum": {"annualized_return": -0.118, "max_drawdown": 0.689},
}


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
        "final_equity": float(result.equity.iloc[-1]),
        "refused_orders": {str(k): int(v) for k, v in refusals.items()},
        "written_off": int(fills["note"].str.startswith("written off").sum()) if len(fills) else 0,
        "suspect_factor_days": suspect_factor_days(result.events),
        "held_without_bar_at_end": len(stuck),
        "held_without_bar_at_end_value": float(stuck["value"].sum()),
        "feeds": result.feeds,
        "prepare_seconds": result.prepare_seconds,
        "backtest_seconds": result.backtest_seconds,
        "start": str(result.nav.index[0].date()),
        "end": str(result.nav.index[-1].date()),
    }
    if result.info:
        figures["info"] = result.info
    return {k: finite_or_none(v) if isinstance(v, float) else v for k, v in figures.items()}


def suspect_factor_days(events: pd.DataFrame) -> int:
    """Ex-rights days on which the broker kept a position's share count (a suspect
    adj_factor change: quant.engine.broker)."""
    return int((events["event"] == SUSPECT_FACTOR_EVENT).sum()) if len(events) else 0


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
#: Strategies every other strategy is compared with, when they are in the run.
BASELINES = ("benchmark", "momentum", "ew_universe", "reversal")


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
    return {
        **{key: values["mean"] for key, values in summary.items()},
        "refused_orders": refused,
        "held_without_bar_at_end": sum(f["held_without_bar_at_end"] for f in per_seed.values()),
        "written_off": sum(f["written_off"] for f in per_seed.values()),
        "suspect_factor_days": sum(f["suspect_factor_days"] for f in per_seed.values()),
        "seeds": per_seed,
        "summary": summary,
    }


def significance(nav: pd.DataFrame, names: list[str], seed: int = 0) -> dict[str, dict[str, Any]]:
    """Each non-baseline strategy against each baseline in the run: the difference in
    annualised return after costs, with a block-bootstrap 95 % interval over months (on
    the seed-averaged net value of strategies run per seed)."""
    out: dict[str, dict[str, Any]] = {}
    baselines = [b for b in BASELINES if b in names]
    for name in names:
        if name in BASELINES:
            continue
        out[name] = {}
        for baseline in baselines:
            try:
                difference = bootstrap_difference(
                    monthly_returns(nav[name]), monthly_returns(nav[baseline]), seed=seed
                )
            except ValueError as error:  # too short a window
                out[name][baseline] = {"error": str(error)}
                continue
            out[name][baseline] = difference.as_dict()
    return out


def write_run(result: BacktestResult, out: str | Path, force: bool = False) -> Path:
    """Write the whole run folder and return its path: into a staging folder beside
    ``out``, put in place of ``out`` once complete; an earlier run there is replaced whole
    only with ``force``, anything else there is refused (see quant.rundir, which raises
    its OutputError)."""
    with staged_folder(out, force) as folder:
        _write_files(result, folder)
    return Path(out)


def _write_files(result: BacktestResult, out: Path) -> None:
    groups = result.by_name()
    nav = result.nav_frame()
    metrics = {
        "strategies": {name: group_metrics(runs) for name, runs in groups.items()},
        "significance": significance(nav, list(groups), result.config.seed),
        "window": result.window.as_dict(),
        "data": {"stocks": result.config.data, "index": result.config.index_data},
        "seeds": result.config.seed_list,
        "notes": result.notes,
    }
    write_text_atomic(out / "config.toml", result.config.to_toml())
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2, default=str) + "\n")
    _write_csv(out / "nav.csv", nav, index=True)
    exposure = pd.DataFrame({r.label: r.position_ratio for r in result.strategies})
    _write_csv(out / "exposure.csv", exposure, index=True)
    for name in ("fills", "positions", "refusals", "events"):
        write_table(out / f"{'trades' if name == 'fills' else name}.parquet", _all(result, name))
    for r in result.strategies:
        for table_name, table in r.tables.items():
            write_table(out / f"{r.label.replace('@', '_')}_{table_name}.parquet", table)
    plot_run(out)
    write_text_atomic(out / "report.md", render_report(metrics, result.config.to_toml()))


def _all(result: BacktestResult, table: str) -> pd.DataFrame:
    """One of the strategies' tables, all runs stacked, with their strategy and seed."""
    frames = [getattr(r, table).assign(strategy=r.name, seed=r.seed) for r in result.strategies]
    stacked = pd.concat(frames, ignore_index=True)
    return stacked.astype({"seed": "Int32"})


def _write_csv(path: Path, frame: pd.DataFrame, index: bool) -> None:
    write_atomic(path, lambda p: frame.to_csv(p, index=index, float_format="%.10g"))


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """One of the run folder's long tables (a row per trade, refusal, event, holding or
    signal) as Parquet, zstd-compressed: text columns dictionary-encoded, float columns
    byte-stream-split (the Parquet spec's encoding for floats), exact values. Read with
    ``pandas.read_parquet``. (As CSV, the positions alone took 496 MB of the 585 MB run
    folder of a full-market run.)"""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    table = frame.astype({c: "category" for c in text})
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    options = {
        "compression": "zstd",
        "use_byte_stream_split": floats,
        "use_dictionary": [c for c in table.columns if c not in floats],
    }
    write_atomic(path, lambda p: table.to_parquet(p, index=False, **options))


def plot_run(out: str | Path) -> list[Path]:
    """Draw net_value.png (with the band of seeds where a strategy ran per seed),
    drawdown.png and position_ratio.png (the paper's Fig. 3; benchmark left out) from the
    run's CSVs."""
    out = Path(out)
    nav_path = out / "nav.csv"
    if not nav_path.exists():
        raise OutputError(f"{out}: not a run folder (no nav.csv)")
    nav = pd.read_csv(nav_path, index_col=0, parse_dates=True)
    exposure = pd.read_csv(out / "exposure.csv", index_col=0, parse_dates=True)
    exposure = exposure.T.groupby(_base_name).mean().T  # seeds averaged
    if len(exposure.columns) > 1:
        exposure = exposure.drop(columns="benchmark", errors="ignore")
    lines = nav[[c for c in nav.columns if "@seed" not in c]]
    return [
        _line_plot(out / "net_value.png", lines, "Net value", "net value (1 = start)", 1.0, nav),
        _line_plot(
            out / "drawdown.png",
            -(1.0 - lines / lines.cummax()),
            "Drawdown",
            "fall from the running peak",
            0.0,
        ),
        _line_plot(
            out / "position_ratio.png", exposure, "Position ratio", "share of equity in stocks"
        ),
    ]


def _base_name(label: str) -> str:
    return label.split("@seed")[0]


def _line_plot(
    path: Path,
    frame: pd.DataFrame,
    title: str,
    ylabel: str,
    baseline: float | None = None,
    seeds: pd.DataFrame | None = None,
) -> Path:
    """One line per column; with ``seeds``, a shaded min-max band behind each column
    that has ``name@seedN`` columns there."""
    figure = Figure(figsize=(10, 4.8), dpi=110)
    axes = figure.subplots()
    for column in frame.columns:
        (line,) = axes.plot(frame.index, frame[column], label=column, linewidth=1.2)
        members = [
            c
            for c in (seeds.columns if seeds is not None else [])
            if _base_name(c) == column and c != column
        ]
        if len(members) > 1:
            band = seeds[members]
            axes.fill_between(
                band.index,
                band.min(axis=1),
                band.max(axis=1),
                color=line.get_color(),
                alpha=0.2,
                label=f"{column}: {len(members)} seeds, min-max",
            )
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
    seeds = metrics.get("seeds", [])
    lines = [
        "# Backtest report",
        "",
        f"{window_line(metrics['window'])}; stocks: `{metrics['data']['stocks']}`, index: "
        f"`{metrics['data']['index']}`. All figures are after costs (commission, stamp "
        "duty, transfer fee) under the A-share rules in the config below. Annualised return is "
        "geometric over calendar days; Sharpe uses daily returns and a zero risk-free rate.",
        "",
    ]
    if any("summary" in m for m in rows.values()):
        lines += [
            f"Strategies with trained models ran once per seed ({', '.join(map(str, seeds))}): "
            "their cells read mean ± standard deviation over the seeds.",
            "",
        ]
    lines += [
        "| strategy | annualized return | max drawdown | Sharpe | volatility | total return | "
        "turnover / yr | trades | costs (yuan) | avg position ratio | paper: ann. return / max dd |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in rows.items():
        paper = PAPER_TABLE.get(name)
        paper_text = (
            f"{paper['annualized_return']:.3f} / {paper['max_drawdown']:.3f}" if paper else "-"
        )
        cells = [
            _cell(m, "annualized_return"),
            _cell(m, "max_drawdown"),
            _cell(m, "sharpe", 2),
            _cell(m, "volatility"),
            _cell(m, "total_return"),
            _cell(m, "turnover", 2),
            _cell(m, "trades", 0),
            _cell(m, "costs", 0),
            _cell(m, "average_position_ratio"),
        ]
        lines.append(f"| {name} | {' | '.join(cells)} | {paper_text} |")
    lines += [
        "",
        "The paper's figures (Liu, Zhang, Ma 2017, Table 2) come from its own data (training from "
        "2007, all A-shares, from SINA); ours from the data named above. They are shown for "
        "orientation, not as a target.",
        "",
    ]
    lines += _significance_section(metrics.get("significance", {}))
    lines += [
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
    lines += _model_quality_section(rows)
    details = {name: _details(m) for name, m in rows.items()}
    details = {name: info for name, info in details.items() if info}
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
    lines = [
        "## Is the edge more than luck?",
        "",
        "Difference in annualised return against each baseline, after costs, with a 95 % "
        "moving-block bootstrap interval over months (blocks of 3 months). For strategies run "
        "per seed it is the seed-averaged portfolio (the mean net value), annualised from "
        "monthly returns, so it need not equal the gap between the table's per-seed means. "
        "An interval that contains 0 is no evidence of an edge.",
        "",
        "| strategy | against | difference | 95 % interval | months |",
        "| --- | --- | ---: | --- | ---: |",
    ]
    for name, baseline, d in rows:
        if "error" in d:
            lines.append(f"| {name} | {baseline} | n/a | {d['error']} | |")
        else:
            lines.append(
                f"| {name} | {baseline} | {d['difference']:+.3f} | "
                f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] | {d['months']} |"
            )
    return [*lines, ""]


def _details(figures: dict[str, Any]) -> dict[str, Any]:
    """Strategy settings for the report; model quality and training logs have their own
    sections (and stay whole in metrics.json)."""

    def settings(info: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in info.items() if k not in ("quality", "training")}

    if "seeds" in figures:
        per_seed = {f"seed {s}": settings(f.get("info", {})) for s, f in figures["seeds"].items()}
        return {k: v for k, v in per_seed.items() if v}
    return settings(figures.get("info", {}))


def _per_seed_info(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if "seeds" in figures:
        return {seed: f.get("info", {}) for seed, f in figures["seeds"].items()}
    return {"-": figures.get("info", {})}


def _model_quality_section(rows: dict[str, Any]) -> list[str]:
    """The trained models' own test-span quality, per seed and pooled over seeds."""
    lines: list[str] = []
    for name, figures in rows.items():
        infos = {s: i for s, i in _per_seed_info(figures).items() if "quality" in i}
        if not infos:
            continue
        lines += [
            f"## {name}: model quality on the test span",
            "",
            "CNN ranker: mean monthly return (next month, after the decision date's close, no "
            "costs) of the top 1 %, the top decile and all scored stocks, and the monthly rank "
            "IC (Spearman, score vs next-month return) with its t-statistic.",
            "",
            "| seed | months | top 1 % | top decile | all stocks | rank IC | IC t |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        cnn = {s: i["quality"]["cnn"] for s, i in infos.items()}
        for seed, q in cnn.items():
            lines.append(
                f"| {seed} | {q['months']} | {q['top_return']:+.4f} | {q['decile_return']:+.4f} | "
                f"{q['all_return']:+.4f} | {q['ic_mean']:+.4f} | {q['ic_t']:+.2f} |"
            )
        if len(cnn) > 1:
            mean = {
                k: sum(q[k] for q in cnn.values()) / len(cnn)
                for k in ("top_return", "decile_return", "all_return", "ic_mean", "ic_t")
            }
            lines.append(
                f"| mean | | {mean['top_return']:+.4f} | {mean['decile_return']:+.4f} | "
                f"{mean['all_return']:+.4f} | {mean['ic_mean']:+.4f} | {mean['ic_t']:+.2f} |"
            )
        lines += [
            "",
            "LSTM timer: direction accuracy of the 5-day call with its count and 95 % Wilson "
            "interval, beside the always-up baseline on the same days; on the strategy's own "
            "timing rows (selected stocks) and on a sample pooled over all stocks.",
            "",
            "| seed | sample | accuracy [95 % CI] | n | always up [95 % CI] | predicted up |",
            "| --- | --- | --- | ---: | --- | ---: |",
        ]
        pooled: dict[str, list[int]] = {}
        for seed, info in infos.items():
            for sample, q in info["quality"]["lstm"].items():
                up = q["always_up"]
                lines.append(
                    f"| {seed} | {sample} | {q['accuracy']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}] | "
                    f"{q['n']:,} | {up['accuracy']:.3f} [{up['ci_low']:.3f}, {up['ci_high']:.3f}] | "
                    f"{q['predicted_up_share']:.2f} |"
                )
                hits = pooled.setdefault(sample, [0, 0, 0])
                hits[0] += round(q["accuracy"] * q["n"])
                hits[1] += q["n"]
                hits[2] += round(up["accuracy"] * up["n"])
        if len(infos) > 1:
            for sample, (hits, n, up_hits) in pooled.items():
                accuracy, up = Accuracy(hits, n), Accuracy(up_hits, n)
                lines.append(
                    f"| all seeds | {sample} | {_interval(accuracy)} | {n:,} | {_interval(up)} | |"
                )
        lines += ["", *_training_lines(infos), ""]
    return lines


def _interval(score: Accuracy) -> str:
    low, high = score.interval
    return f"{score.value:.3f} [{low:.3f}, {high:.3f}]"


def _training_lines(infos: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "Training (walk-forward blocks; samples = training + validation; seconds of CPU wall time):",
        "",
        "| seed | block | CNN samples | CNN epochs (best) | CNN s | LSTM windows | LSTM epochs (best) | LSTM s |",
        "| --- | --- | ---: | --- | ---: | ---: | --- | ---: |",
    ]
    for seed, info in infos.items():
        for block in info.get("training", []):
            cnn, lstm = block["cnn"], block["lstm"]
            lines.append(
                f"| {seed} | {block['block']} | {cnn['train']:,} + {cnn['validation']:,} | "
                f"{cnn['epochs_run']} ({cnn['best_epoch']}) | {cnn['seconds']:.0f} | "
                f"{lstm['train']:,} + {lstm['validation']:,} | {lstm['epochs_run']} ({lstm['best_epoch']}) | "
                f"{lstm['seconds']:.0f} |"
            )
    return lines


def _cell(figures: dict[str, Any], key: str, digits: int = 3) -> str:
    """A figure, or mean ± std over seeds; thousands separators for whole numbers."""
    summary = figures.get("summary", {}).get(key)
    if summary is not None:
        return f"{_number(summary['mean'], digits)} ± {_number(summary['std'], digits)}"
    return _number(figures.get(key), digits)


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if digits == 0 else f"{value:.{digits}f}"


def render_table(out: str | Path) -> str:
    """The run's headline figures as a plain-text table for the terminal ("n/a" for a
    figure that is undefined, e.g. the Sharpe ratio of a flat net value, in every seed)."""
    metrics = json.loads((Path(out) / "metrics.json").read_text(encoding="utf-8"))["strategies"]
    header = f"{'strategy':<16}{'ann. return':>12}{'max drawdown':>14}{'Sharpe':>8}{'trades':>8}{'costs':>12}"
    lines = [header, "-" * len(header)]
    for name, m in metrics.items():
        lines.append(
            f"{name:<16}{_number(m.get('annualized_return'), 3):>12}"
            f"{_number(m.get('max_drawdown'), 3):>14}{_number(m.get('sharpe'), 2):>8}"
            f"{_number(m.get('trades'), 0):>8}{_number(m.get('costs'), 0):>12}"
        )
    return "\n".join(lines)
