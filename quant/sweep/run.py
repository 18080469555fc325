"""Run a sweep's cells as Ray tasks (https://docs.ray.io/en/latest/ray-core/tasks.html).

- Ray: a local instance started with the machine's cores (``ray.init(num_cpus=...)``), or
  an existing cluster joined by its address (``ray start --head`` prints it); a session
  the caller already started (``ray.is_initialized()``) is used as it is.
- The data is loaded once, by this process, and put in Ray's object store once
  (``ray.put``); every task gets the reference, and tasks on the same node read the
  panels' NumPy arrays there without a copy (Ray's zero-copy deserialisation of NumPy
  arrays, "Serialization" in Ray's docs), read-only, like quant/shared.py's workers.
- A task is one cell: ``run_backtest`` of the cell's config on one core (strategies one
  after the other, torch on one thread), then its run folder, ``DIR/cells/<key>/``
  (quant.report.write_run: whole or not at all), with ``cell.json`` (its values and its own
  wall time). On a cluster, ``DIR`` and the config's ``cache_dir`` must be on a disk every
  node sees at the same path: a cell whose folder this process cannot see is reported as
  failed. Models are cached under ``cache_dir`` (quant.signals: cells that share a model
  train it once, the others waiting on its lock).
- Resumable: a cell whose folder holds a finished run (its ``metrics.json``) is skipped.
  A cell that fails (an error in its backtest, its worker killed) is reported with its
  error and the others go on; it has no folder, so the next call runs it again.
- Progress: one step over the cells (quant.progress), advanced as each ends.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quant import progress
from quant.data import MarketPanel
from quant.engine.config import BacktestConfig
from quant.engine.runner import load_panels, run_backtest
from quant.errors import UserError
from quant.io import write_text_atomic
from quant.report import write_run
from quant.rundir import OutputError
from quant.sweep.spec import Cell, Sweep

log = logging.getLogger(__name__)

#: The file that marks a folder as a sweep's (a copy of the sweep file).
SWEEP_FILE = "sweep.toml"
#: The file of a cell's run folder that says which cell it is and how long it took.
CELL_FILE = "cell.json"


@dataclass(frozen=True)
class Failure:
    """Why a cell has no result: ``error`` in one line, and the ``details`` (a traceback)
    when the error is not one of ours (a user's strategy, a bug, a killed worker)."""

    error: str
    details: str = ""


@dataclass
class Outcome:
    """What one call did: cells ``ran`` now, ``skipped`` (finished earlier), ``failed``
    (key -> Failure), its wall time, and the part of it spent loading the data and
    starting (or joining) Ray before the first cell was sent (``setup_seconds``)."""

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, Failure] = field(default_factory=dict)
    seconds: float = 0.0
    setup_seconds: float = 0.0


def cell_folder(out: Path, cell: Cell) -> Path:
    return out / "cells" / cell.key


def finished(out: Path, cell: Cell) -> bool:
    """Whether the cell's run folder is there whole (write_run puts it in place at once)."""
    return (cell_folder(out, cell) / "metrics.json").is_file()


def check_folder(out: Path) -> None:
    """An OutputError unless ``out`` is empty, missing or an earlier sweep's folder."""
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / SWEEP_FILE).is_file())
    ):
        raise OutputError(
            f"{out} is not a sweep folder (no {SWEEP_FILE}): it is never written into; "
            "choose another --out"
        )


def run_sweep(
    sweep: Sweep, out: str | Path, address: str | None = None, cpus: int | None = None
) -> Outcome:
    """Run every cell of ``sweep`` not finished in ``out`` yet, on the Ray cluster at
    ``address`` (None: a local one with ``cpus`` cores, default all), and write each one's
    run folder. Raises OutputError for an ``out`` that is not a sweep folder, UserError
    when Ray cannot start or the cluster cannot be joined; a failing cell is not raised
    but reported in the outcome."""
    started = time.perf_counter()
    out = Path(out)
    check_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / SWEEP_FILE, sweep.text)
    outcome = Outcome()
    todo: dict[str, Cell] = {}
    for cell in sweep.cells:
        if finished(out, cell):
            outcome.skipped.append(cell.key)
        else:
            todo.setdefault(cell.key, cell)  # two cells with one config run once
    if todo:
        panels = load_panels(sweep.base)
        with ray_session(address, cpus) as ray:
            task = ray.remote(num_cpus=1, max_retries=0)(run_cell)
            shared = ray.put(panels)
            del panels  # the object store holds them now
            outcome.setup_seconds = time.perf_counter() - started
            pending = {
                task.remote(
                    shared,
                    cell.config,
                    str(cell_folder(out, cell).resolve()),
                    cell.labels(sweep.axes),
                ): cell
                for cell in todo.values()
            }
            _collect(ray, pending, out, outcome)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _collect(ray: Any, pending: dict[Any, Cell], out: Path, outcome: Outcome) -> None:
    """Wait for the cells' tasks, in the order they end."""
    with progress.task("sweep"), progress.step("cells", len(pending), "cell") as step:
        waiting = list(pending)
        while waiting:
            [ready], waiting = ray.wait(waiting, num_returns=1)
            cell = pending.pop(ready)
            try:
                ray.get(ready)
            except ray.exceptions.RayTaskError as error:  # raised by the cell's code
                outcome.failed[cell.key] = failure(error.cause, str(error))
            except ray.exceptions.RayError as error:  # its worker died, or Ray gave up on it
                outcome.failed[cell.key] = Failure(_first_line(error), str(error))
            else:
                if finished(out, cell):
                    outcome.ran.append(cell.key)
                else:
                    outcome.failed[cell.key] = Failure(
                        f"its run folder was written where this machine does not see it "
                        f"({cell_folder(out, cell)}): give --out on a disk every node shares"
                    )
            step.advance(note=f"{len(outcome.failed)} failed" if outcome.failed else "")


def failure(error: BaseException, details: str = "") -> Failure:
    """One of our errors (UserError) in its one line; any other with its traceback
    (``details``: as Ray tells it, with the task's own frames)."""
    if isinstance(error, UserError):
        return Failure(str(error))
    details = details or "".join(traceback.format_exception(error))
    return Failure(f"{type(error).__name__}: {_first_line(error)}", details)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def run_cell(
    panels: tuple[MarketPanel, MarketPanel],
    config: BacktestConfig,
    folder: str,
    values: dict[str, Any],
) -> float:
    """A Ray task: one cell's backtest on the shared panels (stocks, indices), torch on one
    thread, and its run folder at ``folder`` with ``cell.json`` (``values``: the cell's
    swept values, and ``seconds``: the cell's own wall time, which it returns)."""
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    write_run(run_backtest(config, *panels), folder)
    seconds = time.perf_counter() - started
    record = {"key": Path(folder).name, "values": values, "seconds": seconds}
    write_text_atomic(Path(folder) / CELL_FILE, json.dumps(record, indent=2, default=str) + "\n")
    return seconds


class RayError(UserError):
    """Ray could not start, or the cluster could not be joined."""


@contextmanager
def ray_session(address: str | None, cpus: int | None) -> Iterator[Any]:
    """The ray module, connected: to the cluster at ``address``, or to a new local
    instance with ``cpus`` cores (default: the machine's); a session already started in
    this process is used and left running. A session started here is shut down at the end
    (its tasks with it)."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=cpus or os.cpu_count() or 1, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise RayError(f"cannot start or join {where}: {_first_line(error)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()
