"""What a study run leaves behind in its folder: ``metrics.json`` (every score of every code,
model and variant), ``report.md`` (tables like the paper's 2-3 / 2-5, each accuracy with its
n, Wilson interval and baselines on the same days, plus accuracies pooled over stocks) and
one plot per stock of predicted versus actual close over the test span (like Fig. 2-4), with
the naive "tomorrow = today" close beside them and suspensions drawn as gaps."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from quant.io import write_atomic, write_text_atomic
from quant.market.calendar import exchange_sessions
from quant.metrics.accuracy import Accuracy, threshold_mask
from quant.study.pipeline import RunResult, SpanPrediction
from quant.study.scores import BASELINES, direction_block, log_mse, score_span
from quant.study.tune import GridRow


def variant(result: RunResult) -> str:
    """The label of a run's treatment: wavelet mode and optimiser step."""
    return f"wavelet={result.settings.wavelet}, step={result.settings.step}"


def run_record(result: RunResult) -> dict[str, Any]:
    threshold = result.settings.threshold
    return {
        "code": result.code,
        "model": result.model,
        "wavelet": result.settings.wavelet,
        "step": result.settings.step,
        "params": result.predictor.settings(),
        "info": result.info,
        "val": score_span(result.val, result.training_changes, threshold),
        "test": score_span(result.test, result.training_changes, threshold),
    }


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def fmt_accuracy(accuracy: Accuracy) -> str:
    if accuracy.n == 0:
        return "–"
    low, high = accuracy.interval
    return f"{accuracy.value:.1%} [{low:.1%}, {high:.1%}]"


def fmt_share(accuracy: Accuracy) -> str:
    return "–" if accuracy.n == 0 else f"{accuracy.value:.1%}"


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _blocks(result: RunResult) -> tuple[dict[str, Accuracy], dict[str, Accuracy]]:
    test = result.test
    mask = threshold_mask(test.predicted_change, result.settings.threshold)
    return (
        direction_block(test, result.training_changes),
        direction_block(test, result.training_changes, mask),
    )


def per_stock_table(results: list[RunResult]) -> list[str]:
    header = [
        "code",
        "model",
        "test days",
        "accuracy [95 % CI]",
        *BASELINES,
        "kept ≥ thr",
        "thr. accuracy [95 % CI]",
        "thr. always_up",
        "price acc.",
        "naive price acc.",
        "spread ratio",
    ]
    rows = []
    for r in results:
        every, kept = _blocks(r)
        scores = score_span(r.test, r.training_changes, r.settings.threshold)
        rows.append(
            [
                r.code,
                r.model,
                str(every["model"].n),
                fmt_accuracy(every["model"]),
                *(fmt_share(every[b]) for b in BASELINES),
                str(kept["model"].n),
                fmt_accuracy(kept["model"]),
                fmt_share(kept["always_up"]),
                f"{scores['price_accuracy']:.4f}",
                f"{scores['price_accuracy_naive']:.4f}",
                f"{scores['spread']['ratio']:.2f}",
            ]
        )
    return _table(header, rows)


def pooled_table(results: list[RunResult]) -> list[str]:
    """Hits and days summed over stocks, per variant and model."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in results:
        groups.setdefault((variant(r), r.model), []).append(r)
    header = [
        "variant",
        "model",
        "stocks",
        "accuracy [95 % CI] (n)",
        *BASELINES,
        "thr. accuracy [95 % CI] (kept)",
        "thr. always_up",
        "mean epochs best/run",
        "mean test log MSE x 1e4 (naive)",
    ]
    rows = []
    for (label, model), runs in groups.items():
        sums: dict[str, list[int]] = {}
        for r in runs:
            for prefix, block in zip(("", "thr_"), _blocks(r)):
                for name, acc in block.items():
                    hits_n = sums.setdefault(prefix + name, [0, 0])
                    hits_n[0] += acc.hits
                    hits_n[1] += acc.n
        pooled = {k: Accuracy(*v) for k, v in sums.items()}
        rows.append(
            [
                label,
                model,
                str(len(runs)),
                f"{fmt_accuracy(pooled['model'])} ({pooled['model'].n})",
                *(fmt_share(pooled[b]) for b in BASELINES),
                f"{fmt_accuracy(pooled['thr_model'])} ({pooled['thr_model'].n})",
                fmt_share(pooled["thr_always_up"]),
                f"{np.mean([r.info['best_epoch'] for r in runs]):.0f}/"
                f"{np.mean([r.info['epochs_run'] for r in runs]):.0f}",
                f"{1e4 * np.mean([log_mse(r.test) for r in runs]):.3f} "
                f"({1e4 * np.mean([_naive_log_mse(r.test) for r in runs]):.3f})",
            ]
        )
    return _table(header, rows)


def _naive_log_mse(span: SpanPrediction) -> float:
    return float(np.mean((np.log(span.previous) - np.log(span.actual)) ** 2))


def params_table(results: list[RunResult]) -> list[str]:
    rows = [
        [
            r.code,
            r.model,
            variant(r),
            str(r.info.get("params_source", "")),
            ", ".join(f"{k}={v}" for k, v in r.predictor.settings().items()),
            f"{r.info['best_epoch']}/{r.info['epochs_run']}",
            f"{r.info['fit_dates'][0]}..{r.info['val_dates'][1]}",
            f"{r.info['test_dates'][0]}..{r.info['test_dates'][1]}",
            f"{r.info['seconds']:.1f}",
        ]
        for r in results
    ]
    header = [
        "code",
        "model",
        "variant",
        "source",
        "parameters",
        "best/run epochs",
        "train+val targets",
        "test targets",
        "seconds",
    ]
    return _table(header, rows)


def plot_stock(path: Path, runs: list[RunResult]) -> Path:
    """Write :func:`stock_figure` of ``runs`` to ``path`` (PNG)."""
    figure = stock_figure(runs)
    return write_atomic(path, lambda p: figure.savefig(p, format="png", dpi=110))


def stock_figure(runs: list[RunResult]) -> Figure:
    """Actual close, the naive "tomorrow = today" close and each model's predicted close
    over the test span, every line broken where the stock skipped exchange sessions (a
    suspension is a gap, not a straight line across it). matplotlib's object API: no
    pyplot state, no display needed."""
    figure = Figure(figsize=(10, 4.5))
    axis = figure.subplots()
    first = runs[0].test
    axis.plot(
        *gapped(first.dates, first.actual), color="black", linewidth=1.4, label="actual close"
    )
    axis.plot(
        *gapped(first.dates, first.previous), color="grey", linewidth=0.9, linestyle="--",
        label='naive: tomorrow = today',
    )  # fmt: skip
    for r in runs:
        axis.plot(
            *gapped(r.test.dates, r.test.predicted), linewidth=1.0, label=f"{r.model} predicted"
        )
    axis.set_title(f"{runs[0].code}: next-day close, test span ({variant(runs[0])})")
    axis.set_ylabel("adjusted close")
    axis.legend(loc="best", fontsize=8)
    axis.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def gapped(dates: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``dates`` and ``values`` with a NaN point inserted (which breaks a plotted line)
    between two dates that have an exchange session (XSHG) between them: a suspension.
    Dates outside the calendar's known years break nothing."""
    dates = pd.DatetimeIndex(dates)
    values = np.asarray(values, dtype=float)
    position = exchange_sessions().get_indexer(dates)
    skipped = (np.diff(position) > 1) & (position[:-1] >= 0) & (position[1:] >= 0)
    after = np.flatnonzero(skipped) + 1
    if not len(after):
        return dates.to_numpy(), values
    gaps = dates[after - 1] + (dates[after] - dates[after - 1]) / 2
    return (
        np.insert(dates.to_numpy(), after, gaps.to_numpy()),
        np.insert(values, after, np.nan),
    )


def write_report(
    out: Path, results: list[RunResult], config: dict[str, Any], command: str
) -> list[Path]:
    """Write metrics.json, report.md and the plots into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = {"config": config, "command": command, "runs": [run_record(r) for r in results]}
    written = [
        write_text_atomic(out / "metrics.json", json.dumps(_json_ready(metrics), indent=2) + "\n")
    ]

    variants = list(dict.fromkeys(variant(r) for r in results))
    plots: list[Path] = []
    for label in variants:
        by_code: dict[str, list[RunResult]] = {}
        for r in results:
            if variant(r) == label:
                by_code.setdefault(r.code, []).append(r)
        suffix = (
            ""
            if len(variants) == 1
            else "_" + label.replace("wavelet=", "").replace(", step=", "_")
        )
        plots += [
            plot_stock(out / f"plot_{code}{suffix}.png", runs) for code, runs in by_code.items()
        ]

    threshold = results[0].settings.threshold if results else 0.01
    lines = [
        "# Next-day prediction study",
        "",
        f"Command: `{command}`",
        "",
        "Every accuracy is the share of test days whose predicted direction (predicted close vs",
        "the actual close of the day before) matches the actual one; flat days are left out.",
        "Baselines on the same days: always_up, yesterday (yesterday's direction again),",
        "majority (the training span's most frequent direction). `thr.`: only days with",
        f"|predicted change| >= {threshold:.1%}. Price accuracy = 1 - MAPE of the predicted close;",
        "naive = the same for \"tomorrow's close = today's\". Spread ratio = std of predicted",
        "changes / std of actual changes (far below 1: predictions hug the average).",
        "",
        "## Pooled over stocks",
        "",
        "Hits and days summed over the stocks. The interval treats all days as independent;",
        "stocks move together, so it is narrower than it should be. Log MSE: mean squared",
        'error of the predicted log close; naive: the same for "tomorrow = today".',
        "",
        *pooled_table(results),
        "",
    ]
    for label in variants:
        lines += [
            f"## Per stock, {label}",
            "",
            *per_stock_table([r for r in results if variant(r) == label]),
            "",
        ]
    lines += ["## Parameters and spans", "", *params_table(results), ""]
    lines += ["## Plots", "", *(f"![{p.stem}]({p.name})" for p in plots), ""]
    written.append(write_text_atomic(out / "report.md", "\n".join(lines)))
    return written + plots


def grid_table(rows: list[GridRow], chosen: set[int], show_test: bool) -> list[str]:
    """One line per grid point: its parameters, validation scores (what the choice sees)
    and, with ``show_test``, test scores that played no part in the choice."""
    classes = dict.fromkeys(type(row.result.predictor) for row in rows)
    shown = list(dict.fromkeys(k for cls in classes for k in cls.own_settings()))
    header = ["code", "model", *shown, "lr", "dropout", "best/run epochs"]
    header += ["val accuracy [95 % CI] (n)", "val log MSE"]
    if show_test:
        header += ["test accuracy [95 % CI] (n)", "test always_up", "test thr. accuracy (kept)"]
    header.append("chosen")
    lines = []
    for i, row in enumerate(rows):
        r, p = row.result, row.result.predictor
        own = p.settings()
        cells = [r.code, r.model]
        cells += [
            "x".join(map(str, own[k])) if isinstance(own.get(k), list) else str(own.get(k, ""))
            for k in shown
        ]
        cells += [f"{p.lr:g}", f"{p.dropout:g}"]
        cells.append(f"{r.info['best_epoch']}/{r.info['epochs_run']}")
        val = _accuracy(row.val["direction"]["model"])
        cells += [f"{fmt_accuracy(val)} ({val.n})", f"{row.val['log_mse']:.3e}"]
        if show_test:
            test = _accuracy(row.test["direction"]["model"])
            kept = _accuracy(row.test["thresholded"]["model"])
            cells += [
                f"{fmt_accuracy(test)} ({test.n})",
                fmt_share(_accuracy(row.test["direction"]["always_up"])),
                f"{fmt_share(kept)} ({kept.n})",
            ]
        cells.append("✓" if i in chosen else "")
        lines.append(cells)
    return _table(header, lines)


def _accuracy(record: dict[str, Any]) -> Accuracy:
    """Back from :meth:`Accuracy.as_dict` (hits = accuracy x n, exact for integer counts)."""
    n = int(record["n"])
    return Accuracy(round(record["accuracy"] * n) if n else 0, n)


def transfer_summary(rows: list[GridRow], chosen: set[int]) -> str:
    """Does the validation choice carry over to the test span? The chosen points' mean
    validation and test accuracy, and the correlation of the two over all grid points."""

    def accuracy(row: GridRow, span: str) -> float:
        return getattr(row, span)["direction"]["model"]["accuracy"]

    val = np.array([accuracy(r, "val") for r in rows])
    test = np.array([accuracy(r, "test") for r in rows])
    picked = np.array(sorted(chosen))
    correlation = (
        np.corrcoef(val, test)[0, 1] if len(rows) > 2 and val.std() and test.std() else np.nan
    )
    return (
        f"Chosen points ({len(picked)}): mean validation accuracy {val[picked].mean():.1%}, "
        f"mean test accuracy {test[picked].mean():.1%}. All {len(rows)} points: mean validation "
        f"{val.mean():.1%}, mean test {test.mean():.1%}, correlation of validation and test "
        f"accuracy {correlation:.2f}."
    )


def write_grid_report(
    out: Path,
    rows: list[GridRow],
    best: dict[tuple[str, str], GridRow],
    criterion: str,
    show_test: bool,
    command: str,
) -> list[Path]:
    """grid.json (every grid point's scores) and grid.md (the table) in ``out``."""
    chosen = {
        i for i, row in enumerate(rows) if best.get((row.result.code, row.result.model)) is row
    }
    records = [
        {
            "code": row.result.code,
            "model": row.result.model,
            "params": row.result.predictor.settings(),
            "info": row.result.info,
            "val": row.val,
            **({"test": row.test} if show_test else {}),
            "chosen": i in chosen,
        }
        for i, row in enumerate(rows)
    ]
    payload = {"command": command, "criterion": criterion, "points": records}
    lines = [
        "# Grid search on the validation span",
        "",
        f"Command: `{command}`",
        "",
        f"Chosen per code and model: the best validation {criterion} "
        "(ties: the other score, then grid order).",
    ]
    if show_test:
        lines += [
            "Test columns are shown for reading only: they played no part in the choice.",
            "",
            transfer_summary(rows, chosen),
        ]
    lines += ["", *grid_table(rows, chosen, show_test), ""]
    return [
        write_text_atomic(out / "grid.json", json.dumps(_json_ready(payload), indent=2) + "\n"),
        write_text_atomic(out / "grid.md", "\n".join(lines)),
    ]
