"""Ray's overhead in a sweep: the sweep's wall time against the sum of its cells' own times
(each measured inside its task: the backtest and its run folder) divided by the cores, and
the peak memory of the whole process tree (this process, Ray's raylet, GCS and workers, its
object store), sampled every ``--interval`` seconds as in benchmarks/process_tree.py.

The panels are put in Ray's object store once; a worker reads their arrays there without a
copy. The size of the panels' arrays is printed beside the peak, to compare with what one
copy per worker would add.

    .venv/bin/python benchmarks/sweep_overhead.py            # 16 cells of momentum and reversal on the sample
    .venv/bin/python benchmarks/sweep_overhead.py --config SWEEP.toml --cpus 2

The default grid has no trained strategy, so no cell waits for another's model (a lock the
cell's own time would count).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import psutil
from process_tree import GIB, tree_memory

from quant.engine.runner import load_panels
from quant.sweep import read_sweep, sweep

DEFAULT = """
data = "sample"
index_data = "sample"
start = "2014-01-01"
end = "2017-03-31"
strategies = ["benchmark", "momentum", "reversal"]
[sweep]
"params.momentum.top_fraction" = [0.01, 0.02, 0.05, 0.1]
"params.reversal.lookback_days" = [5, 10, 20, 40]
"""


class Sampler(threading.Thread):
    """Peak summed RSS and PSS of this process's tree, and the most processes seen."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.peak_rss = self.peak_pss = self.processes = 0

    def run(self) -> None:
        me = psutil.Process()
        while not self.stop.wait(self.interval):
            rss, pss, count = tree_memory(me)
            self.peak_rss, self.processes = max(self.peak_rss, rss), max(self.processes, count)
            self.peak_pss = max(self.peak_pss, pss or 0)


def panel_bytes(config) -> int:
    """Bytes of the NumPy arrays of the stock and index panels."""
    return sum(
        value.nbytes
        for panel in load_panels(config)
        for value in (getattr(panel, f.name) for f in dataclasses.fields(panel))
        if isinstance(value, np.ndarray)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="a sweep file (default: 16 cells on the sample)")
    parser.add_argument("--out", help="the sweep's folder (default: a temporary one)")
    parser.add_argument("--cpus", type=int, default=os.cpu_count(), help="cores of the local Ray")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(args.config or Path(scratch) / "sweep.toml")
        if not args.config:
            config.write_text(DEFAULT, encoding="utf-8")
        plan = read_sweep(config)
        arrays = panel_bytes(plan.base)
        sampler = Sampler(args.interval)
        sampler.start()
        outcome, frame = sweep(plan, args.out or Path(scratch) / "out", cpus=args.cpus)
        sampler.stop.set()
        sampler.join()
    cells = frame[frame["cell"].isin(outcome.ran)].drop_duplicates("cell")["seconds"]
    ideal = cells.sum() / args.cpus
    lines = [
        f"cells run           {len(cells)} ({len(outcome.skipped)} skipped, {len(outcome.failed)} failed), {args.cpus} cores",
        f"sweep wall time     {outcome.seconds:,.1f} s (of which {outcome.setup_seconds:,.1f} s loading the data and starting Ray)",
        f"cells' own time     {cells.sum():,.1f} s in all (longest {cells.max():,.1f} s); / cores = {ideal:,.1f} s",
        f"overhead            {outcome.seconds / ideal:.2f}x wall / (own / cores); "
        f"{(outcome.seconds - outcome.setup_seconds) / ideal:.2f}x without the set-up",
        f"peak memory (PSS)   {sampler.peak_pss / GIB:.2f} GiB (sum over the process tree, shared pages split)",
        f"peak memory (RSS)   {sampler.peak_rss / GIB:.2f} GiB (sum; shared pages once per process)",
        f"processes at most   {sampler.processes}",
        f"panels' arrays      {arrays / GIB:.3f} GiB (held once, in the object store)",
    ]
    print("\n".join(lines), file=sys.stderr)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
