"""How long ``quant --help`` and an argument error take, and the memory they use: each
command line run ``--repeat`` times as a fresh process; the median and the slowest wall
time, and the peak resident memory of the process (ru_maxrss, from wait4; Linux).

    .venv/bin/python benchmarks/cli_startup.py

The target is 0.5 s for help and argument errors (issue 22): the parser is built without
the libraries a command needs to run (quant.cli). ``python -c pass`` is the floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUANT = str(Path(sys.executable).with_name("quant"))

#: (label, command line)
COMMANDS = [
    ("python -c pass (the floor)", [sys.executable, "-c", "pass"]),
    ("quant --help", [QUANT, "--help"]),
    ("quant backtest --help", [QUANT, "backtest", "--help"]),
    ("quant backtest --cash abc (error)", [QUANT, "backtest", "--cash", "abc"]),
    ("quant bactest (error)", [QUANT, "bactest"]),
    ("quant predict --help", [QUANT, "predict", "--help"]),
    ("quant sweep (error)", [QUANT, "sweep"]),
    ("quant data --help", [QUANT, "data", "--help"]),
]


def run_once(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident memory (bytes) of one run."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # reaps it, with its resource usage
    child.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command line")
    args = parser.parse_args(argv)
    print(f"{'command':38s} {'median':>8s} {'slowest':>8s} {'peak RSS':>9s}")
    for label, command in COMMANDS:
        runs = [run_once(command) for _ in range(args.repeat)]
        seconds = [s for s, _ in runs]
        peak = max(m for _, m in runs)
        print(
            f"{label:38s} {statistics.median(seconds):7.2f}s {max(seconds):7.2f}s "
            f"{peak / 2**20:6.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
