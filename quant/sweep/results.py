"""A sweep's results: ``DIR/results.csv``, one row per cell and strategy.

Columns: ``cell`` (the cell's key: its run folder is ``DIR/cells/<cell>``), one column per
swept key (``seed``; ``window`` and ``train`` for windows), ``strategy``, ``status``
(``ok``, ``failed``), the strategy's figures after costs from the cell's metrics.json
(quant.report.strategy_metrics: annualized_return, max_drawdown, sharpe, ...; for a
strategy run with the cell's seed, that seed's figures; without a ``seeds`` key, a cell runs
the config's seeds and the row holds their mean), ``seconds`` (the cell's own wall
time in its task, the same on each of its rows) and ``error`` (for a failed cell).
results.csv and report.md are written from the same rows, under the sweep's lock.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from quant.io import write_atomic
from quant.report.figures import SEED_SUMMARY
from quant.sweep.run import CELL_FILE, Outcome, cell_folder
from quant.sweep.spec import Sweep

#: The figures of each row, as metrics.json names them (the seed summary's, less timings).
METRICS = tuple(key for key in SEED_SUMMARY if not key.endswith("_seconds"))


def results_frame(sweep: Sweep, out: Path, outcome: Outcome) -> pd.DataFrame:
    """The rows of every cell of ``sweep``: those whole in ``out`` (run or skipped by
    ``outcome``, checked against their manifests) from their run folders, failed ones
    with their error and no figures; cells neither whole nor failed (a call that stopped)
    are left out."""
    whole = set(outcome.ran) | set(outcome.skipped)
    rows = []
    for cell in sweep.cells:
        labels = {"cell": cell.key, **cell.labels(sweep.axes)}
        folder = cell_folder(out, cell)
        if cell.key in outcome.failed:
            error = outcome.failed[cell.key].error
            rows += [
                labels | {"strategy": name, "status": "failed", "error": error}
                for name in sweep.runs.names
            ]
        elif cell.key in whole:
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
            record = json.loads((folder / CELL_FILE).read_text(encoding="utf-8"))
            for name, figures in metrics["strategies"].items():
                values = {key: figures.get(key) for key in METRICS}
                rows.append(
                    labels
                    | {"strategy": name, "status": "ok"}
                    | values
                    | {"seconds": record["seconds"]}
                )
    columns = ["cell", *sweep.columns, "strategy", "status", *METRICS, "seconds", "error"]
    return pd.DataFrame(rows, columns=columns)


def write_results(frame: pd.DataFrame, out: Path) -> Path:
    path = out / "results.csv"
    write_atomic(path, lambda p: frame.to_csv(p, index=False, float_format="%.10g"))
    return path
