"""How long the processes of a local Ray outlive a command killed with SIGKILL: a driver
starts a local Ray (as ``quant sweep`` does: quant.sweep.run.ray_session, with its
watcher, quant.reaper; or plain ``ray.init``, for comparison), runs two sleeping tasks,
and is killed; the seconds until each of its processes has ended are printed.

    .venv/bin/python benchmarks/killed_driver.py            # ray_session, then plain ray.init
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psutil

DRIVER = """
import sys, time
import ray

def nap(_):
    time.sleep(600)

if sys.argv[1] == "quant":
    from quant.sweep.run import ray_session
    session = ray_session(None, 2)
    session.__enter__()
else:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
refs = [ray.remote(num_cpus=1)(nap).remote(k) for k in range(2)]
time.sleep(8)
print("READY", flush=True)
time.sleep(600)
"""


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def measure(kind: str) -> None:
    folder = tempfile.mkdtemp(prefix="qk", dir="/tmp")  # Ray's own folder (short: sockets)
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, kind],
        env={**os.environ, "RAY_TMPDIR": folder},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert driver.stdout is not None and driver.stdout.readline().strip() == "READY"
    processes = psutil.Process(driver.pid).children(recursive=True)
    names = {p.pid: p.name() for p in processes}
    killed = time.monotonic()
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    ended: dict[int, float] = {}
    while len(ended) < len(processes) and time.monotonic() - killed < 180:
        for process in processes:
            if process.pid not in ended and gone(process):
                ended[process.pid] = time.monotonic() - killed
        time.sleep(0.05)
    last = max(ended.values(), default=0.0)
    left = [names[p.pid] for p in processes if p.pid not in ended]
    slowest = sorted(ended, key=ended.get)[-2:]
    print(
        f"{kind:6s} {len(processes)} processes, all gone {last:.1f} s after the kill "
        f"(slowest: {', '.join(f'{names[p]} {ended[p]:.1f} s' for p in slowest)})"
        + (f"; still running after 180 s: {left}" if left else ""),
        file=sys.stderr,
    )
    for process in processes:
        if not gone(process):
            process.kill()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    for kind in sys.argv[1:] or ["quant", "plain"]:
        measure(kind)
