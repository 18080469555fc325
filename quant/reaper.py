"""Leave no process of a local Ray instance behind when the command that started it dies.

``ray.init`` starts Ray's processes (GCS, raylet, monitors) as children of the command,
with a reaper of its own that ends the command's process group when the command dies
(ray/_private/ray_process_reaper.py). Two processes the raylet starts, the dashboard agent
and the runtime-env agent, are outside that group: after a SIGKILL of the command they
notice the raylet's death at once, then try for 60 s to report it to the GCS, which is
gone, and only then exit (measured with Ray 2.60: 60.3 s and 61.4 s).

:func:`reaped` starts a watcher process beside the Ray instance, in a session of its own
(out of reach of Ray's reaper and of a Ctrl-C to the terminal's group). Every
:data:`POLL_SECONDS` it notes the processes descending from Ray's; when the command's end
of its pipe closes (the command ended, in whatever way), it sends SIGKILL to each noted
process still running (the same process: same pid and start time) and exits.
tests/test_sweep_faults.py measures it: no process of the sweep is left 1-3 s after a
SIGKILL of the command.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psutil

#: How often the watcher looks for Ray's processes, and the most a process started just
#: before the command died can go unnoticed (Ray's workers end by themselves in ~2 s).
POLL_SECONDS = 0.5
#: How long the command waits for the watcher to end what is left, after a normal end.
FINISH_SECONDS = 10


@contextmanager
def reaped(roots: list[int]) -> Iterator[None]:
    """Inside the block, a watcher ends the processes ``roots`` and every process started
    under them if this process dies; at the end of the block, those still running."""
    read, write = os.pipe()
    try:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "quant.reaper", *map(str, roots)],
            stdin=read,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        os.close(read)
    try:
        yield
    finally:
        os.close(write)
        with suppress(subprocess.TimeoutExpired):
            watcher.wait(FINISH_SECONDS)


def watch(roots: list[int]) -> None:
    """The watcher: note the processes under ``roots`` until standard input ends, then
    SIGKILL those of them still running."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    seen: dict[int, float] = {}
    while True:
        _note(roots, seen)
        ready, _, _ = select.select([sys.stdin.fileno()], [], [], POLL_SECONDS)
        if ready and not os.read(sys.stdin.fileno(), 4096):
            break
    _note(roots, seen)
    for pid, started in seen.items():
        with suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.create_time() == started:
                process.kill()


def _note(roots: list[int], seen: dict[int, float]) -> None:
    for pid in roots:
        with suppress(psutil.Error):
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                with suppress(psutil.Error):
                    seen.setdefault(process.pid, process.create_time())


if __name__ == "__main__":
    watch([int(pid) for pid in sys.argv[1:]])
