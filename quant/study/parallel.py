"""Run independent trainings (grid points, stocks x models) in parallel processes, with a
progress bar. Every run pins torch to one thread, so the numbers do not depend on ``jobs``."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

from tqdm.auto import tqdm

Task = TypeVar("Task")
Result = TypeVar("Result")


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run_all(
    function: Callable[[Task], Result],
    tasks: Sequence[Task],
    jobs: int = 1,
    desc: str = "runs",
    progress: bool | None = None,
) -> list[Result]:
    """``[function(t) for t in tasks]``, in ``jobs`` processes when jobs > 1 (``function``
    must be a module-level function). Results come back in the order of ``tasks``."""
    bar = tqdm(
        total=len(tasks),
        desc=desc,
        unit="run",
        disable=(not progress) if progress is not None else None,
    )
    try:
        if jobs <= 1 or len(tasks) <= 1:
            results = []
            for task in tasks:
                results.append(function(task))
                bar.update()
            return results
        # spawn: a clean interpreter per worker (forking a process that holds torch threads
        # can deadlock)
        context = multiprocessing.get_context("spawn")
        out: list[Result | None] = [None] * len(tasks)
        with ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=context) as pool:
            futures = {pool.submit(function, task): i for i, task in enumerate(tasks)}
            try:
                for future in as_completed(futures):
                    out[futures[future]] = future.result()
                    bar.update()
            except BaseException:  # a failed or interrupted run: drop the queued ones
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return out  # type: ignore[return-value]
    finally:
        bar.close()
