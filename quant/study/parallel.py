"""Run independent trainings (grid points, stocks x models) in parallel processes, with
progress (see quant.progress). Every run pins torch to one thread, so the numbers do not
depend on ``jobs``."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

from quant import progress
from quant.workers import run_in_workers

Task = TypeVar("Task")
Result = TypeVar("Result")


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run_all(
    function: Callable[[Task], Result],
    tasks: Sequence[Task],
    jobs: int = 1,
    desc: str = "runs",
) -> list[Result]:
    """``[function(t) for t in tasks]``, in ``jobs`` worker processes when jobs > 1
    (``function`` must be a module-level function; see quant.workers: the first failure or
    an interrupt stops the others). Results come back in the order of ``tasks``."""
    if jobs > 1 and len(tasks) > 1:
        return run_in_workers(
            function, [(task,) for task in tasks], min(jobs, len(tasks)), desc=desc
        )
    results = []
    with progress.step(desc, len(tasks), "run") as done:
        for task in tasks:
            results.append(function(task))
            done.advance()
    return results
