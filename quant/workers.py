"""Worker processes for independent runs (strategies, seeds, grid points).

- Spawned, not forked: forking a process whose torch threads have run can deadlock.
- Without the parent's ``__main__``: Python's spawn makes each worker run the script that
  started the parent (as ``__mp_main__``) before its first job, which in a script without
  ``if __name__ == "__main__":`` starts the whole run again in every worker (and fails).
  Workers here start bare (:class:`MainFreeContext`, as loky's do): what a job needs from
  ``__main__`` (a strategy class defined in a notebook or a script) travels in the job,
  pickled by value (quant.engine.runner, cloudpickle). Jupyter, IPython, ``python -c``
  and unguarded scripts all work.
- A worker ends when its parent dies, however it dies (SIGKILL included), or asks it to:
  a watchdog thread in each worker waits on a pipe whose only writing end the parent
  holds, which the parent closes to stop the workers and the system closes when the
  parent dies; the thread also checks every :data:`WATCH_SECONDS` that its parent is
  still the process that started it. Portable (no Linux-only parent-death signal), and
  nothing a dying worker could leave locked (a multiprocessing Event's ``set`` waits for
  every sleeper to wake, forever if one was killed).
- Ctrl-C: the terminal sends SIGINT to the whole process group; workers are started with
  SIGINT ignored (a disposition that survives exec), so only the parent sees it. On it,
  or on any error, the parent stops every worker, waits until they have ended, and
  raises: one line is printed (see quant.cli), nothing is left running.
- Progress events of the workers reach the parent's sink (see quant.progress).
- An error of a job is raised in the parent once its workers have ended. A UserError is
  one line as ever; any other error (a user's own code above all) carries the worker's
  traceback as ``worker_traceback`` (formatted in the worker) instead of
  concurrent.futures' chained copy of it: the ``quant`` command prints that traceback
  alone, and Python shows it as a note under the parent's frames, once either way.
- A worker that ends in the middle of a job is named with its job and how it ended: killed
  by a signal (SIGKILL: the kernel's out-of-memory killer, most likely), or ended by code
  it ran with an exit status (``os._exit`` in a plug-in): each job records the pid of the
  process running it, and the parent reads the exit status of the one that died.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from multiprocessing import popen_spawn_posix, reduction, resource_tracker, spawn, util
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess, set_spawning_popen
from typing import Any, TypeVar

from quant import progress
from quant.errors import UserError

Result = TypeVar("Result")

#: How often a worker checks that its parent is alive and has not asked it to stop.
WATCH_SECONDS = 0.5


class WorkerDied(UserError):
    """A worker process ended in the middle of a run (killed, e.g. for want of memory, or
    ended by code it ran)."""


#: In a worker: the pid of the process running each job, by the job's index (shared).
_RUNNING: Any = None


def run_in_workers(
    function: Callable[..., Result],
    jobs: Sequence[tuple[Any, ...]],
    workers: int,
    setup: Callable[..., None] | None = None,
    setup_args: tuple[Any, ...] = (),
    desc: str = "runs",
    fresh: bool = False,
    describe: Callable[..., str] | None = None,
) -> list[Result]:
    """``[function(*job) for job in jobs]`` in ``workers`` spawned processes (which do not
    run the parent's ``__main__``: :class:`MainFreeContext`), each of which
    first calls ``setup(*setup_args)`` (module-level functions, picklable arguments).
    With ``fresh``, each job gets a process of its own (a new one started for the next),
    so that the memory a long job leaves behind (a model's training, a wide portfolio's
    book) is given back before the next job starts, at the price of a start per job.
    Results keep the order of ``jobs``; the first error (or an interrupt) stops every
    worker and is raised once they have ended (:class:`WorkerDied` if a worker ended in
    the middle of a job, naming the job by ``describe(*job)``)."""
    context = MainFreeContext()
    watched, stop = context.Pipe(duplex=False)  # the workers read; closing ``stop`` ends them
    events = context.Queue() if progress.active() else None
    running = context.RawArray("q", max(len(jobs), 1))
    start = (os.getpid(), watched, events, setup, setup_args, running)
    results: list[Any] = [None] * len(jobs)
    with _sigint_ignored():  # workers start while it is ignored, and inherit that
        pool = ProcessPoolExecutor(
            workers,
            context,
            initializer=_start,
            initargs=start,
            max_tasks_per_child=1 if fresh else None,
        )
        futures = {pool.submit(_job, function, i, *job): i for i, job in enumerate(jobs)}
    try:
        with progress.step(desc, len(jobs), "run") as done, progress.relay(events):
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                done.advance()
    except BaseException as error:
        stop.close()
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=True, cancel_futures=True)
        if isinstance(error, BrokenProcessPool):
            named = describe or (lambda *job: f"job {job!r}")
            raise WorkerDied(_death(processes, running, jobs, named, workers)) from None
        carried = getattr(error, "worker_traceback", None)
        if carried:  # the worker's traceback, once: not also as concurrent.futures' cause
            error.__cause__, error.__suppress_context__ = None, True
            error.add_note(f"in a worker process:\n{carried.rstrip()}")
        raise
    pool.shutdown(wait=True)
    stop.close()
    return results


def _traced(function: Callable[..., Result], *args: Any) -> Result:
    """``function(*args)`` in a worker; an error other than a UserError gets the traceback
    it has here (without this frame) as its ``worker_traceback``, for the parent."""
    try:
        return function(*args)
    except UserError:
        raise
    except Exception as error:
        trace = traceback.TracebackException.from_exception(error)
        trace.stack = traceback.StackSummary.from_list(trace.stack[1:])
        with suppress(AttributeError):  # an exception without attributes of its own
            error.worker_traceback = "".join(trace.format())  # type: ignore[attr-defined]
        raise


def _job(function: Callable[..., Result], index: int, *job: Any) -> Result:
    """In a worker: note that this process runs job ``index``, then run it."""
    _RUNNING[index] = os.getpid()
    return _traced(function, *job)


def _death(
    processes: list[Any],
    running: Any,
    jobs: Sequence[tuple[Any, ...]],
    describe: Callable[..., str],
    workers: int,
) -> str:
    """The one line for a worker that ended in the middle of a job: its job and how it
    ended (the exit status of the first process found dead other than by the pool's
    SIGTERM to the rest)."""
    ended = [
        (process.pid, process.exitcode)
        for process in processes
        if process.exitcode not in (None, -signal.SIGTERM)
    ]
    if not ended:
        return (
            "a worker process ended in the middle of a run (killed, or out of memory?); "
            f"{workers} were running: try fewer (--workers)"
        )
    pid, code = ended[0]
    job = next((jobs[i] for i in range(len(jobs)) if running[i] == pid), None)
    what = describe(*job) if job is not None else "a run"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
        return (
            f"a worker process ended in the middle of a run: {what} was killed by {name} "
            f"(out of memory?); {workers} were running: try fewer (--workers)"
        )
    return (
        f"{what} ended its worker process with exit status {code} (os._exit or the like in "
        "its code): a plug-in reports a problem by raising an exception"
    )


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change handlers; its workers take its disposition
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start(
    parent: int,
    watched: Connection,
    events: Any | None,
    setup: Callable[..., None] | None,
    setup_args: tuple[Any, ...],
    running: Any,
) -> None:
    global _RUNNING
    _RUNNING = running
    # A worker the pool starts later (to replace one that ended after its job) starts from
    # the pool's thread, outside _sigint_ignored: ignore Ctrl-C here too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watchdog = threading.Thread(target=_watch, args=(parent, watched), name="watchdog", daemon=True)
    watchdog.start()
    if events is not None:
        progress.install(progress.forward(events))
    if setup is not None:
        setup(*setup_args)


def _watch(parent: int, watched: Connection) -> None:
    """End this worker at once when the pipe from its parent is closed (the parent asked
    it to stop, or died) or its parent is gone (it then has another: init or a subreaper)."""
    while not watched.poll(WATCH_SECONDS):  # True at the end of the pipe
        if os.getppid() != parent:
            break
    os._exit(1)


# -- spawning without the parent's __main__ ------------------------------------------------------
class _MainFreePopen(popen_spawn_posix.Popen):
    """Python's spawn start (Lib/multiprocessing/popen_spawn_posix.py, ``Popen._launch``,
    unchanged from 3.10 to 3.13), less the two entries of the preparation data that make the
    child run the parent's ``__main__`` (``init_main_from_name``, ``init_main_from_path``;
    Lib/multiprocessing/spawn.py, ``prepare``): loky starts its workers so for the same
    reason (``LokyProcess(init_main_module=False)``)."""

    def _launch(self, process_obj: Any) -> None:
        tracker_fd = resource_tracker.getfd()
        self._fds.append(tracker_fd)
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_name", None)
        prep_data.pop("init_main_from_path", None)
        fp = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, fp)
            reduction.dump(process_obj, fp)
        finally:
            set_spawning_popen(None)
        parent_r = child_w = child_r = parent_w = None
        try:
            parent_r, child_w = os.pipe()
            child_r, parent_w = os.pipe()
            cmd = spawn.get_command_line(tracker_fd=tracker_fd, pipe_handle=child_r)
            self._fds.extend([child_r, child_w])
            self.pid = util.spawnv_passfds(spawn.get_executable(), cmd, self._fds)
            self.sentinel = parent_r
            with open(parent_w, "wb", closefd=False) as f:
                f.write(fp.getbuffer())
        finally:
            fds_to_close = [fd for fd in (parent_r, parent_w) if fd is not None]
            self.finalizer = util.Finalize(self, util.close_fds, fds_to_close)
            for fd in (child_r, child_w):
                if fd is not None:
                    os.close(fd)


class _MainFreeProcess(SpawnProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _MainFreePopen:
        return _MainFreePopen(process_obj)


class MainFreeContext(SpawnContext):
    """The spawn start method, except that a worker does not run the parent's ``__main__``
    (the script, or the module of ``python -m``) before its first job: a script that starts
    workers needs no ``if __name__ == "__main__":``. A job must then name nothing that lives
    only in ``__main__`` (pickle such classes by value: cloudpickle). POSIX only; on
    Windows, Python's own spawn."""

    Process = _MainFreeProcess if sys.platform != "win32" else SpawnProcess
