"""Sweeps: a grid of backtests (settings x seeds x windows) run as Ray tasks, resumable,
summed up in ``results.csv`` and ``report.md``; see docs/sweeps.md.

- :mod:`quant.sweep.spec`: the sweep file, its checks and its cells;
- :mod:`quant.sweep.run`: the cells on Ray, each one's run folder;
- :mod:`quant.sweep.results`: results.csv; :mod:`quant.sweep.report`: report.md, plots.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quant.sweep.report import write_report
from quant.sweep.results import results_frame, write_results
from quant.sweep.run import Outcome, run_sweep
from quant.sweep.spec import Sweep, SweepError, read_sweep

__all__ = ["Outcome", "Sweep", "SweepError", "read_sweep", "run_sweep", "sweep"]


def sweep(
    sweep: Sweep, out: str | Path, address: str | None = None, cpus: int | None = None
) -> tuple[Outcome, pd.DataFrame]:
    """Run the cells of ``sweep`` not finished in ``out`` (quant.sweep.run.run_sweep), then
    write ``out/results.csv`` and ``out/report.md`` over every cell; the outcome of this
    call and the results' rows."""
    outcome = run_sweep(sweep, out, address, cpus)
    frame = results_frame(sweep, Path(out), outcome.failed)
    write_results(frame, Path(out))
    write_report(sweep, Path(out), frame, outcome)
    return outcome, frame
