"""Sweeps: a grid of backtests (settings x seeds x windows) run as Ray tasks, resumable,
summed up in ``results.csv`` and ``report.md``; see docs/sweeps.md.

- :mod:`quant.sweep.spec`: the sweep file, its checks and its cells;
- :mod:`quant.sweep.run`: the cells on Ray, each one's run folder;
- :mod:`quant.sweep.results`: results.csv; :mod:`quant.sweep.report`: report.md, plots.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quant.io import os_error_text
from quant.rundir import OutputError
from quant.sweep.report import write_report
from quant.sweep.results import results_frame, write_results
from quant.sweep.run import Outcome, prepare_folder, run_sweep, sweep_lock
from quant.sweep.spec import Sweep, SweepError, read_sweep

__all__ = ["Outcome", "Sweep", "SweepError", "read_sweep", "run_sweep", "sweep"]


def sweep(
    sweep: Sweep, out: str | Path, address: str | None = None, cpus: int | None = None
) -> tuple[Outcome, pd.DataFrame]:
    """Run the cells of ``sweep`` not finished in ``out`` (quant.sweep.run.run_sweep), then
    write ``out/results.csv`` and ``out/report.md`` over every cell, from the same rows,
    all under ``out``'s lock (a second sweep into ``out`` waits: every cell runs once);
    the outcome of this call and the results' rows. Raises OutputError in one line when
    ``out`` cannot be written (a full disk, a read-only folder)."""
    out = prepare_folder(out)
    with sweep_lock(out):
        outcome = run_sweep(sweep, out, address, cpus)
        frame = results_frame(sweep, out, outcome)
        try:
            write_results(frame, out)
            write_report(sweep, out, frame, outcome)
        except OSError as error:
            whole = len(outcome.ran) + len(outcome.skipped)
            raise OutputError(
                f"cannot write the sweep's results in {out}: {os_error_text(error)} ({whole} "
                "whole cells are kept: run the sweep again once the folder can take them)"
            ) from None
    return outcome, frame
