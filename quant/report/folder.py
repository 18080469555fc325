"""Write a run folder, whole (see quant.rundir)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from quant.engine.config import BacktestConfig
from quant.engine.runner import BacktestResult
from quant.io import write_atomic, write_text_atomic
from quant.manifest import MANIFEST, add_to_manifest
from quant.metrics.factor import factor_summary
from quant.report.figures import (
    ablation_pairs,
    ablations,
    group_metrics,
    mean_factor,
    significance,
)
from quant.report.html import render_html
from quant.report.markdown import render_report
from quant.report.plots import plot_run
from quant.report.reader import RunFolder
from quant.report.sections import report_evidence, report_sections, strategy_classes
from quant.rundir import staged_folder


def write_run(
    result: BacktestResult, out: str | Path, force: bool = False, html: bool = True
) -> Path:
    """Write the whole run folder and return its path: into a staging folder beside
    ``out``, put in place of ``out`` once complete; an earlier run there is replaced whole
    only with ``force``, anything else there is refused (see quant.rundir, which raises
    its OutputError). Without ``html``, no report.html (a sweep's cells: about 6 MB each,
    most of it plotly's script; ``quant report`` writes one when it is wanted)."""
    with staged_folder(out, force) as folder:
        _write_files(result, folder, html)
    return Path(out)


def _write_files(result: BacktestResult, out: Path, html: bool) -> None:
    groups = result.by_name()
    nav = result.nav_frame()
    config = result.config
    classes = strategy_classes(config)
    metrics = {
        "strategies": {name: group_metrics(runs) for name, runs in groups.items()},
        "significance": significance(nav, list(groups), config.baselines, config.seed),
        "ablations": ablations(nav, ablation_pairs(classes), config.seed),
        "window": result.window.as_dict(),
        "data": {"stocks": config.data, "index": config.index_data},
        "seeds": config.seed_list,
        "notes": result.notes,
        "money": result.money,
    }
    write_text_atomic(out / "config.toml", config.to_toml())
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2, default=str) + "\n")
    _write_csv(out / "nav.csv", nav, index=True)
    exposure = pd.DataFrame({r.label: r.position_ratio for r in result.strategies})
    _write_csv(out / "exposure.csv", exposure, index=True)
    write_table(out / "trades.parquet", result.trades)
    write_table(out / "positions.parquet", positions_table(result))
    for name in ("refusals", "events"):
        write_table(out / f"{name}.parquet", result.table(name))
    for r in result.strategies:
        for table_name, table in r.tables.items():
            write_table(out / f"{r.label.replace('@', '_')}_{table_name}.parquet", table)
    plot_run(out)
    write_reports(out, metrics, config, html)


def rebuild_reports(out: str | Path) -> list[Path]:
    """``quant report RUN``: report.md, report.html and the PNG plots of the run folder
    ``out``, rebuilt from its files (metrics.json is kept as the run wrote it; the
    ablations and the factor analyses of a folder written before they existed are
    computed from nav.csv and the scores tables). The folder's manifest (quant.manifest) is
    checked first and then lists the files written. An OutputError when ``out`` is not a
    run folder or is damaged. Returns the paths written."""
    run = RunFolder(out)
    metrics, config = dict(run.metrics), run.config
    if "ablations" not in metrics:
        metrics["ablations"] = ablations(
            run.nav, ablation_pairs(strategy_classes(config)), config.seed
        )
    for name, figures in metrics["strategies"].items():
        tables = {label: run.scores(label) for label in run.labels(name)}
        for label, table in tables.items():
            seed = label.split("@seed")[1] if "@seed" in label else None
            entry = figures["seeds"][seed] if seed is not None else figures
            if table is not None and "factor" not in entry:
                entry["factor"] = factor_summary(table)
        summaries = [f["factor"] for f in figures.get("seeds", {}).values() if "factor" in f]
        if summaries and "factor" not in figures:
            figures["factor"] = mean_factor(summaries)
    write_reports(run.path, metrics, config)
    paths = [run.path / "report.md", run.path / "report.html", *plot_run(run.path)]
    if (run.path / MANIFEST).is_file():
        add_to_manifest(run.path, *(path.name for path in paths))
    return paths


def write_reports(
    out: Path, metrics: dict[str, Any], config: BacktestConfig, html: bool = True
) -> None:
    """report.md and (with ``html``) report.html of the run folder ``out`` from its
    metrics.json content, its config and its files (what ``quant report`` rebuilds)."""
    sections = report_sections(config, metrics["strategies"])
    evidence = report_evidence(config, metrics["strategies"])
    write_text_atomic(out / "report.md", render_report(metrics, config, sections, evidence))
    if html:
        run = RunFolder(out, metrics, config)
        write_text_atomic(out / "report.html", render_html(run, sections, evidence))


def positions_table(result: BacktestResult) -> pd.DataFrame:
    """positions.parquet: every run's non-zero holdings (date, code, shares, close,
    tradable, strategy, seed) in runs of one holding (by strategy, seed, code, date), which
    compress far better than days of many codes; ``value`` is left out (shares x close).
    On the 5,200-stock synthetic market's paper run (benchmarks/full_market.py), 9.3 M
    rows: 53.5 MB with the value by date, 21.0 MB so."""
    stacked = result.positions.drop(columns="value")
    order = ["strategy", "seed", "code", "date"]
    return stacked.sort_values(order, kind="stable", ignore_index=True)


def _write_csv(path: Path, frame: pd.DataFrame, index: bool) -> None:
    write_atomic(path, lambda p: frame.to_csv(p, index=index, float_format="%.10g"))


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """One of the run folder's long tables (a row per trade, refusal, event, holding or
    signal) as Parquet, zstd-compressed, exact values: text columns and float columns of
    few distinct values (prices) dictionary-encoded, other floats byte-stream-split (the
    Parquet spec's encoding for floats). Read with ``pandas.read_parquet``. (As CSV, the
    positions alone took 496 MB of the 585 MB run folder of a full-market run.)"""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    table = frame.astype({c: "category" for c in text})
    floats = [
        c
        for c in table.columns
        if pd.api.types.is_float_dtype(table[c]) and table[c].nunique() * 16 > len(table)
    ]
    options = {
        "compression": "zstd",
        "use_byte_stream_split": floats,
        "use_dictionary": [c for c in table.columns if c not in floats],
    }
    write_atomic(path, lambda p: table.to_parquet(p, index=False, **options))
