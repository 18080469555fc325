"""Run a command and measure its whole process tree: wall time and the peak of the memory
summed over the command and every process it starts (workers, the resource tracker),
sampled every ``--interval`` seconds (a spike between two samples is missed).

Two sums, both in GiB:

- RSS: resident memory per process, as ``top`` shows it. A page shared between processes
  (the panel in shared memory, the same library mapped twice) counts once per process.
- PSS: proportional set size (Linux): each shared page divided among the processes that map
  it, so the sum is the tree's real footprint. Where PSS cannot be read, only RSS is shown.

    .venv/bin/python benchmarks/process_tree.py -- .venv/bin/quant backtest --config configs/paper.toml
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import IO

import psutil

GIB = 2**30


@dataclass
class Measurement:
    seconds: float
    peak_rss: float  # bytes
    peak_pss: float | None  # bytes; None where PSS cannot be read
    peak_processes: int
    returncode: int

    def lines(self) -> list[str]:
        pss = f"{self.peak_pss / GIB:.2f} GiB" if self.peak_pss is not None else "n/a"
        return [
            f"wall time          {self.seconds:,.1f} s",
            f"peak memory (PSS)  {pss}  (sum over the process tree, shared pages split)",
            f"peak memory (RSS)  {self.peak_rss / GIB:.2f} GiB  (sum; shared pages once per process)",
            f"processes at most  {self.peak_processes}",
            f"exit code          {self.returncode}",
        ]


def tree_memory(root: psutil.Process) -> tuple[int, int | None, int]:
    """Summed RSS and PSS of ``root`` and its descendants, and how many they are."""
    rss, pss, count = 0, 0, 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, None, 0
    for process in processes:
        try:
            if pss is not None:
                info = process.memory_full_info()
                rss += info.rss
                pss = pss + info.pss if hasattr(info, "pss") else None
            else:
                rss += process.memory_info().rss
            count += 1
        except psutil.AccessDenied:
            pss = None
        except psutil.Error:  # ended between the listing and the reading
            continue
    return rss, pss, count


def measure(command: list[str], interval: float = 0.25, stdout: IO | None = None) -> Measurement:
    """Run ``command`` (its output goes to this terminal, or its standard output to
    ``stdout``) and sample its tree until it ends."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=stdout)
    root = psutil.Process(child.pid)
    peak_rss, peak_pss, peak_count = 0, 0, 0
    pss_known = True
    while child.poll() is None:
        rss, pss, count = tree_memory(root)
        peak_rss, peak_count = max(peak_rss, rss), max(peak_count, count)
        if pss is None:
            pss_known = False
        else:
            peak_pss = max(peak_pss, pss)
        time.sleep(interval)
    seconds = time.perf_counter() - started
    return Measurement(
        seconds, peak_rss, peak_pss if pss_known else None, peak_count, child.returncode
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to measure after --")
    result = measure(command, args.interval)
    print("\n".join(result.lines()), file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
