"""Grid search for the parameter combination library, on the validation span only.

Each predictor gives its grid (:meth:`quant.models.Predictor.grid`): its default axes, and
hidden sizes from the empirical rule m = round(sqrt(n + l) + alpha), alpha = 1..10, with n
the inputs per time step (6 features for BP and the multi-D LSTM, x_dim = L/t closes for
the 1-D LSTM) and l = 1 output. Every grid point is trained exactly as
``quant predict`` trains (same spans, seed and early stopping), so the validation score
that picks it is the one ``predict`` reproduces. The test span plays no part in the choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from quant.models import Predictor
from quant.study.library import Library
from quant.study.parallel import run_all
from quant.study.pipeline import RunResult, Settings, check_task, run_task
from quant.study.scores import score_span
from quant.study.series import StockSeries

CRITERIA: tuple[str, ...] = ("accuracy", "mse")


@dataclass
class GridRow:
    """One grid point's outcome: the run and its validation (and test) scores."""

    result: RunResult
    val: dict[str, Any]
    test: dict[str, Any]

    def key(self, criterion: str) -> tuple[float, float]:
        """Smaller is better."""
        accuracy = self.val["direction"]["model"]["accuracy"]
        mse = self.val["log_mse"]
        if criterion == "accuracy":
            return (-(accuracy if math.isfinite(accuracy) else -1.0), mse)
        return (mse, -accuracy)


def run_grid(
    series: dict[str, StockSeries],
    grids: dict[str, list[Predictor]],
    settings: Settings,
    jobs: int = 1,
) -> list[GridRow]:
    """Train every grid point of every code; grid points run in ``jobs`` processes."""
    tasks = [
        (series[code], point, settings)
        for code in series
        for grid in grids.values()
        for point in grid
    ]
    for task in tasks:
        check_task(task)
    results = run_all(run_task, tasks, jobs, desc="grid points")
    return [
        GridRow(
            r,
            score_span(r.val, r.training_changes, settings.threshold),
            score_span(r.test, r.training_changes, settings.threshold),
        )
        for r in results
    ]


def select(rows: list[GridRow], criterion: str) -> dict[tuple[str, str], GridRow]:
    """The best row per (code, model) by the validation ``criterion``; ties: first in grid order."""
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}: choose one of {', '.join(CRITERIA)}")
    best: dict[tuple[str, str], GridRow] = {}
    for row in rows:
        key = (row.result.code, row.result.model)
        if key not in best or row.key(criterion) < best[key].key(criterion):
            best[key] = row
    return best


def update_library(
    library: Library, rows: list[GridRow], criterion: str
) -> dict[tuple[str, str], GridRow]:
    """Store each (code, model)'s best grid point in ``library``; returns the winners."""
    best = select(rows, criterion)
    sizes: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.result.code, row.result.model)
        sizes[key] = sizes.get(key, 0) + 1
    for (code, model), row in best.items():
        settings = row.result.settings
        accuracy = row.val["direction"]["model"]
        library.store(
            code,
            row.result.predictor,
            {
                "criterion": criterion,
                "val_accuracy": round(accuracy["accuracy"], 4),
                "val_n": accuracy["n"],
                "val_log_mse": float(f"{row.val['log_mse']:.6g}"),
                "val_dates": row.result.info["val_dates"],
                "grid_points": sizes[(code, model)],
                "wavelet": settings.wavelet,
                "relative": settings.relative,
                "step": settings.step,
                "seed": settings.seed,
            },
        )
    return best
