"""Worker processes for independent runs (strategies, seeds, grid points).

- Spawned, not forked: forking a process whose torch threads have run can deadlock.
- A worker ends when its parent dies, however it dies (SIGKILL included): a watchdog
  thread in each worker checks every :data:`WATCH_SECONDS` that its parent is still the
  process that started it (portable: no Linux-only parent-death signal needed).
- Ctrl-C: the terminal sends SIGINT to the whole process group; workers are started with
  SIGINT ignored (a disposition that survives exec), so only the parent sees it. On it,
  or on any error, the parent asks every worker to end, waits until they have, and
  raises: one line is printed (see quant.cli), nothing is left running.
- Progress events of the workers reach the parent's sink (see quant.progress).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, TypeVar

from quant import progress

Result = TypeVar("Result")

#: How often a worker checks that its parent is alive and has not asked it to stop.
WATCH_SECONDS = 0.5


def run_in_workers(
    function: Callable[..., Result],
    jobs: Sequence[tuple[Any, ...]],
    workers: int,
    setup: Callable[..., None] | None = None,
    setup_args: tuple[Any, ...] = (),
    desc: str = "runs",
) -> list[Result]:
    """``[function(*job) for job in jobs]`` in ``workers`` spawned processes, each of which
    first calls ``setup(*setup_args)`` (module-level functions, picklable arguments).
    Results keep the order of ``jobs``; the first error (or an interrupt) stops every
    worker and is raised once they have ended."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    events = context.Queue() if progress.active() else None
    start = (os.getpid(), stop, events, setup, setup_args)
    results: list[Any] = [None] * len(jobs)
    with _sigint_ignored():  # workers start while it is ignored, and inherit that
        pool = ProcessPoolExecutor(workers, context, initializer=_start, initargs=start)
        futures = {pool.submit(function, *job): i for i, job in enumerate(jobs)}
    try:
        with progress.step(desc, len(jobs), "run") as done, progress.relay(events):
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                done.advance()
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


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
    stop: Any,
    events: Any | None,
    setup: Callable[..., None] | None,
    setup_args: tuple[Any, ...],
) -> None:
    watchdog = threading.Thread(target=_watch, args=(parent, stop), name="watchdog", daemon=True)
    watchdog.start()
    if events is not None:
        progress.install(progress.forward(events))
    if setup is not None:
        setup(*setup_args)


def _watch(parent: int, stop: Any) -> None:
    """End this worker at once when its parent is gone (it then has another parent: init
    or a subreaper) or has asked it to stop."""
    while not stop.wait(WATCH_SECONDS):
        if os.getppid() != parent:
            break
    os._exit(1)
