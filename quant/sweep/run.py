"""Run a sweep's cells as Ray tasks (https://docs.ray.io/en/latest/ray-core/tasks.html).

- Ray: a new local instance with the machine's cores (``ray.init(address="local")``: never
  a cluster that ``ray start`` left running on this machine), or an existing cluster joined
  by its address (``ray start --head`` prints it); a session the caller already started
  (``ray.is_initialized()``) is used as it is. No process of a local instance outlives this
  one, however it ends (quant.reaper). A cluster that uses token authentication
  needs ``RAY_AUTH_MODE=token`` and its token here too; a refusal says so.
- The data is loaded once, by this process, and put in Ray's object store once
  (``ray.put``); every task gets the reference, and tasks on the same node read the
  panels' NumPy arrays there without a copy (Ray's zero-copy deserialisation of NumPy
  arrays, "Serialization" in Ray's docs), read-only, like quant/shared.py's workers.
- A task is one cell: ``run_backtest`` of the cell's config on one core (strategies one
  after the other, torch on one thread), its run folder written on the task's own node
  (quant.report.write_run) and sent back as the task's value: the files' bytes (a cell's
  folder is ~0.3 MB). This process checks them against the folder's manifest and writes
  ``DIR/cells/<key>/`` whole (quant.io.atomic_folder), with ``cell.json`` (its values, its
  own wall time and the Ray node that ran it) and a new manifest. No node needs to see
  ``DIR``. Plug-ins travel with the job (quant.sweep.ship). Models are cached under the
  config's ``cache_dir`` on the node that trains them (quant.signals: cells that share a
  model train it once per node, the others waiting on its lock; with ``cache_dir`` on a
  disk every node shares, once for the cluster).
- Resumable: a cell whose folder is whole (every file of its manifest there with its
  checksum, and no other) is skipped; one that is not is reported in one line, removed
  and run again. A cell that fails (an error in its backtest, its worker killed) is
  reported with its error and the others go on; it has no folder, so the next call runs
  it again. A cell folder that cannot be written (a full disk, a read-only folder) stops
  the sweep with one line; the cells written before are kept.
- Progress: one step over the cells (quant.progress), advanced as each ends.
- One sweep at a time per folder: :func:`sweep_lock` (a second waits, saying who holds it).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from filelock import FileLock, Timeout

from quant import progress
from quant.data import MarketPanel
from quant.engine.config import BacktestConfig
from quant.engine.runner import load_panels, run_backtest
from quant.errors import UserError
from quant.io import (
    TEMPORARY,
    atomic_folder,
    os_error_text,
    remove_stale_temporaries,
    scratch_folder,
    temporary_prefix,
    write_text_atomic,
)
from quant.manifest import DamagedError, check_files, write_manifest
from quant.plugins import FILE_COPIES, exits_as_errors
from quant.reaper import reaped
from quant.report import write_run
from quant.rundir import OutputError
from quant.sweep.ship import Shipment, shipment
from quant.sweep.spec import Cell, Sweep

log = logging.getLogger(__name__)

#: The file that marks a folder as a sweep's (a copy of the sweep file).
SWEEP_FILE = "sweep.toml"
#: The file of a cell's run folder that says which cell it is, how long it took, where.
CELL_FILE = "cell.json"
#: The files every whole cell holds (its manifest lists these and the rest of its run).
CELL_FILES = ("config.toml", "metrics.json", "report.md", CELL_FILE)
#: The lock one sweep holds on its folder, and who holds it (pid, host, since).
LOCK_FILE = ".sweep.lock"
HOLDER_FILE = ".sweep.holder.json"


@dataclass(frozen=True)
class Failure:
    """Why a cell has no result: ``error`` in one line, and the ``details`` (a traceback)
    when the error is not one of ours (a user's strategy, a bug, a killed worker)."""

    error: str
    details: str = ""


@dataclass
class Outcome:
    """What one call did: cells ``ran`` now, ``skipped`` (finished earlier, whole),
    ``failed`` (key -> Failure), ``damaged`` (key -> why its folder was not whole: it ran
    again), its wall time, and the part of it spent starting (or joining) Ray and loading
    the data before the first cell was sent (``setup_seconds``)."""

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, Failure] = field(default_factory=dict)
    damaged: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    setup_seconds: float = 0.0


def cell_folder(out: Path, cell: Cell) -> Path:
    return out / "cells" / cell.key


def cell_damage(out: Path, cell: Cell) -> str | None:
    """None when the cell's run folder is whole (quant.manifest: every file listed there
    with its checksum, no other, and the cell's own files among them); else why not, in
    one line ("" when there is no folder at all)."""
    folder = cell_folder(out, cell)
    if not folder.exists():
        return ""
    try:
        files = check_files(folder, exact=True)
    except DamagedError as error:
        return str(error)
    missing = [name for name in CELL_FILES if name not in files]
    return f"{folder}: {missing[0]} is missing" if missing else None


def check_folder(out: Path) -> None:
    """An OutputError unless ``out`` is empty, missing or an earlier sweep's folder."""
    if out.exists() and (
        not out.is_dir()
        or (
            any(
                p.name not in (LOCK_FILE, HOLDER_FILE) and not TEMPORARY.match(p.name)
                for p in out.iterdir()
            )
            and not (out / SWEEP_FILE).is_file()
        )
    ):
        raise OutputError(
            f"{out} is not a sweep folder (no {SWEEP_FILE}): it is never written into; "
            "choose another --out"
        )


def prepare_folder(out: str | Path) -> Path:
    """``out`` as an absolute path, made if missing, after checking that it is a sweep's
    folder (:func:`check_folder`) this process can write (probed by a temporary file).
    Raises OutputError in one line."""
    out = Path(out).resolve()
    if out == out.parent:
        raise OutputError(f"cannot write a sweep folder at {out}: choose a folder inside it")
    try:
        check_folder(out)
        out.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(
            prefix=temporary_prefix(out / "probe"), suffix=".tmp", dir=out
        )
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise OutputError(f"cannot write the sweep folder {out}: {os_error_text(error)}") from None
    return out


@contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock inside the block (a file lock: the system lets go of it when
    this process ends, however it ends). A second sweep into the same folder waits for
    it, after a warning naming the process that holds it; then it finds the first one's
    cells finished. Temporaries that killed writers left are removed once it is held."""
    lock = FileLock(out / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("%s is in use by %s: waiting until it is done", out, _holder(out))
        lock.acquire()
    try:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        with suppress(OSError):  # who holds it is for the message only: a full disk may refuse
            write_text_atomic(out / HOLDER_FILE, json.dumps(holder) + "\n")
        remove_stale_temporaries(out)
        remove_stale_temporaries(out / "cells")
        yield
    finally:
        with suppress(OSError):
            (out / HOLDER_FILE).unlink(missing_ok=True)
        lock.release()


def _holder(out: Path) -> str:
    try:
        holder = json.loads((out / HOLDER_FILE).read_text(encoding="utf-8"))
        return f"the sweep of process {holder['pid']} on {holder['host']} (since {holder['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another sweep"


def run_sweep(
    sweep: Sweep, out: str | Path, address: str | None = None, cpus: int | None = None
) -> Outcome:
    """Run every cell of ``sweep`` not finished whole in ``out`` yet, on the Ray cluster at
    ``address`` (None: a new local instance with ``cpus`` cores, default all), and write
    each one's run folder. The caller holds ``out``'s lock (quant.sweep.sweep does).
    Raises OutputError for an ``out`` that is not a sweep folder or a cell that cannot be
    written, UserError when Ray cannot start, the cluster cannot be joined or a plug-in
    cannot be shipped; a failing cell is not raised but reported in the outcome."""
    started = time.perf_counter()
    out = prepare_folder(out)
    try:
        write_text_atomic(out / SWEEP_FILE, sweep.text)
    except OSError as error:
        raise OutputError(f"cannot write the sweep folder {out}: {os_error_text(error)}") from None
    outcome = Outcome()
    todo: dict[str, Cell] = {}
    for cell in sweep.cells:
        if cell.key in todo or cell.key in outcome.skipped:
            continue  # two cells with one config run once
        damage = cell_damage(out, cell)
        if damage is None:
            outcome.skipped.append(cell.key)
            continue
        if damage:
            log.warning("%s: the cell runs again", damage)
            outcome.damaged[cell.key] = damage
            shutil.rmtree(cell_folder(out, cell), ignore_errors=True)
        todo[cell.key] = cell
    if todo:
        with _shipped(address, todo) as shipped, ray_session(address, cpus, shipped) as ray:
            task = ray.remote(num_cpus=1, max_retries=0)(run_cell)
            shared = ray.put(load_panels(sweep.base))  # the object store holds them
            outcome.setup_seconds = time.perf_counter() - started
            pending = {
                task.remote(
                    shared, cell.config, cell.key, cell.labels(sweep.axes), shipped.copies
                ): cell
                for cell in todo.values()
            }
            _collect(ray, pending, out, outcome)
    outcome.seconds = time.perf_counter() - started
    return outcome


@contextmanager
def _shipped(address: str | None, todo: dict[str, Cell]) -> Iterator[Shipment]:
    """What the cells' tasks need shipped: nothing for a local instance started here
    (its workers see this machine's files), the user's plug-ins for a cluster (a session
    already started in this process counts as one: it may have other nodes)."""
    import ray

    if address is None and not ray.is_initialized():
        yield Shipment()
        return
    with shipment(cell.config for cell in todo.values()) as shipped:
        yield shipped


def _collect(ray: Any, pending: dict[Any, Cell], out: Path, outcome: Outcome) -> None:
    """Wait for the cells' tasks, in the order they end, and write each one's folder."""
    with progress.task("sweep"), progress.step("cells", len(pending), "cell") as step:
        waiting = list(pending)
        while waiting:
            [ready], waiting = ray.wait(waiting, num_returns=1)
            cell = pending.pop(ready)
            try:
                files, record = ray.get(ready)
                write_cell(out, cell, files, record)
            except ray.exceptions.RayTaskError as error:  # raised by the cell's code
                outcome.failed[cell.key] = failure(error.cause, str(error))
            except ray.exceptions.RayError as error:  # its worker died, or Ray gave up on it
                outcome.failed[cell.key] = Failure(
                    "its worker process ended in the middle of the cell (killed, out of "
                    "memory, or os._exit in the code of one of "
                    f"{', '.join(cell.config.strategies)}): {_first_line(error)}",
                    str(error),
                )
            except DamagedError as error:  # what came back is not what the task wrote
                outcome.failed[cell.key] = Failure(str(error))
            except OSError as error:
                for reference in waiting:  # they would write nowhere
                    ray.cancel(reference, force=True)
                done = len(outcome.ran) + len(outcome.skipped)
                raise OutputError(
                    f"cannot write the cell {cell_folder(out, cell)}: {os_error_text(error)}; "
                    f"the sweep stopped ({done} whole cells are kept: run it again once "
                    "the folder can take the rest)"
                ) from None
            else:
                outcome.ran.append(cell.key)
            step.advance(note=f"{len(outcome.failed)} failed" if outcome.failed else "")


def write_cell(out: Path, cell: Cell, files: dict[str, bytes], record: dict[str, Any]) -> None:
    """The cell's run folder from the ``files`` its task sent (name -> bytes, with the
    run's manifest), checked against that manifest, plus ``cell.json`` (``record``) and a
    new manifest of them all, put in place whole. Raises DamagedError when the files do
    not match their manifest, OSError when the folder cannot be written."""
    with atomic_folder(cell_folder(out, cell), lambda target: None) as folder:
        for name, data in files.items():
            path = Path(name)
            if path.is_absolute() or ".." in path.parts:
                raise DamagedError(f"cell {cell.key}: its task sent a file named {name!r}")
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(data)
        check_files(folder, exact=True)
        (folder / CELL_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")
        write_manifest(folder)


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
    key: str,
    values: dict[str, Any],
    copies: dict[str, str],
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """A Ray task: one cell's backtest on the shared panels (stocks, indices), torch on one
    thread, and its run folder, written in a temporary folder of this node and returned
    as ``({name: bytes}, record)``; the record holds the cell's ``key``, its swept
    ``values``, ``seconds`` (its own wall time) and the Ray ``node`` that ran it.
    ``copies``: the plug-in files shipped with the job (quant.sweep.ship), by the path
    the config names, relative to the task's working folder."""
    import ray
    import torch

    torch.set_num_threads(1)
    FILE_COPIES.update({Path(path): Path.cwd() / name for path, name in copies.items()})
    started = time.perf_counter()
    with (
        exits_as_errors(f"cell {key}"),
        scratch_folder("quant-cell") as scratch,
    ):
        folder = scratch / key
        write_run(run_backtest(config, *panels), folder, html=False)  # quant report CELL
        files = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
    record = {
        "key": key,
        "values": values,
        "seconds": time.perf_counter() - started,
        "node": ray.get_runtime_context().get_node_id(),
    }
    return files, record


class RayError(UserError):
    """Ray could not start, or the cluster could not be joined."""


@contextmanager
def ray_session(
    address: str | None, cpus: int | None, shipped: Shipment | None = None
) -> Iterator[Any]:
    """The ray module, connected: to the cluster at ``address``, or to a new local
    instance with ``cpus`` cores (default: the machine's), whose processes end with this
    one (quant.reaper); the job ships ``shipped``'s working folder to every node
    (Ray's runtime environment). A session already started in this process is used and
    left running, if it can take what is shipped: one node, on this machine (a runtime
    environment is set when a session starts). A session started here is shut down at
    the end (its tasks with it)."""
    import ray

    runtime_env = shipped.runtime_env if shipped else {}
    if ray.is_initialized():
        nodes = [node for node in ray.nodes() if node.get("Alive")]
        if runtime_env and len(nodes) > 1:
            raise RayError(
                f"the Ray session this process started has {len(nodes)} nodes, and the "
                "cells' plug-ins can be shipped to them only by a session quant starts: "
                "give its address (--address) instead of calling ray.init first"
            )
        if shipped:
            shipped.copies.clear()  # one node, this machine's: the files are there
        yield ray
        return
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if runtime_env:
        options["runtime_env"] = runtime_env
    before = _children()
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(address="local", num_cpus=cpus or os.cpu_count() or 1, **options)
    except Exception as error:  # Ray's many ways of saying no: one line, with a hint
        raise RayError(_refusal(address, error)) from None
    started = [pid for pid in _children() if pid not in before] if not address else []
    try:
        with reaped(started) if started else nullcontext():
            try:
                yield ray
            finally:
                ray.shutdown()
    finally:
        if ray.is_initialized():
            ray.shutdown()


def _children() -> list[int]:
    return [process.pid for process in psutil.Process().children()]


def _refusal(address: str | None, error: BaseException) -> str:
    """Why Ray would not start or join, in one line, with what to do about a token."""
    where = f"the Ray cluster at {address}" if address else "a local Ray instance"
    causes, cause = [], error
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    line = f"cannot start or join {where}: {_first_line(error)}"
    refused = any(
        type(c).__name__ == "AuthenticationError" or "AuthToken" in str(c) for c in causes
    )
    if address and refused:
        return (
            f"{line}: the cluster asks for its token: set RAY_AUTH_MODE=token and its token "
            "(RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token), as on its nodes "
            "(docs/sweeps.md, 'On a cluster')"
        )
    if address:
        return (
            f"{line} (is it up: `ray status --address {address}`? a cluster with token "
            "authentication also needs RAY_AUTH_MODE=token and its token here: docs/sweeps.md)"
        )
    return line
