"""Scale benchmark: generate a synthetic market, write it, load it back through the file
path (``load_bars``) and build its MarketPanel. Prints the time of each step and the
process's peak memory.

    nice /usr/bin/time -v .venv/bin/python benchmarks/synth_scale.py --stocks 5000 --days 2500

(``/usr/bin/time -v`` reports the same peak as "Maximum resident set size".)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

from quant.data import DataWarning, MarketPanel, load_bars, synth


def peak_mb() -> float:
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    return kilobytes / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=5000)
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="folder (default: a temporary one)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        steps: list[tuple[str, float]] = []
        clock = time.perf_counter()

        def step(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            steps.append((name, now - clock))
            print(f"{name:<28} {now - clock:7.1f} s   peak so far {peak_mb():8,.0f} MB", flush=True)
            clock = now

        market = synth.generate(args.stocks, args.days, args.seed)
        step("generate")
        synth.write(market, out)
        rows = int(market.has_bar.sum())
        del market
        step("write Parquet")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # the suspensions are intended
            bars = load_bars(out)
        step("load_bars (read + validate)")
        panel = MarketPanel.from_frame(bars)
        step("MarketPanel.from_frame")
        assert len(bars) == rows and panel.close.shape == (args.days, args.stocks)
        size = sum(p.stat().st_size for p in out.glob("*.parquet")) / 2**20
    total = sum(seconds for _, seconds in steps)
    print(
        f"{args.stocks:,} stocks x {args.days:,} days = {rows:,} bars ({size:,.0f} MB Parquet): "
        f"{total:.1f} s in all, peak memory {peak_mb():,.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
