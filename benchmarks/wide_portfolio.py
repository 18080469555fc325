"""Speed of a backtest that holds thousands of stocks every day: the equal-weight universe
(`ew_universe`) on the synthetic 5,200-stock market of 2010-2026, from 2017-05-01 to the
data's end (about 5,000 positions held each day, rebalanced monthly).

Prints the backtest's wall and CPU seconds, feeds x sessions per second, the number of
trades, and a digest of every trade (date, code, side, size, price, costs), so that two
versions of the engine can be checked to trade the same. Not part of the test run:

    .venv/bin/python benchmarks/wide_portfolio.py [--data DIR] [--start 2017-05-01]

The market is generated into --data when that folder does not exist yet
(`quant data synth --stocks 5200 --days 3966 --seed 7`).
"""

from __future__ import annotations

import argparse
import hashlib
import time
import warnings
from pathlib import Path

from quant.data import MarketPanel, load_bars, load_index, synth
from quant.engine import BacktestConfig
from quant.engine.runner import prepare_context, run_strategy


def trades_digest(fills) -> str:
    """A short hash of the trades, independent of their order within a day."""
    rows = fills[["date", "code", "side", "size", "price", "costs"]].astype(str)
    text = "\n".join(sorted(",".join(row) for row in rows.itertuples(index=False)))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=".cache/bench/synth-5200x3966-seed7", type=Path)
    parser.add_argument("--start", default="2017-05-01")
    parser.add_argument("--end", help="last day of the window (default: the data's last)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if not args.data.exists():
        print(f"generating the synthetic market into {args.data} ...", flush=True)
        synth.write(synth.generate(5200, 3966, seed=7), args.data)

    panel = MarketPanel.from_frame(load_bars(args.data))
    index = MarketPanel.from_frame(load_index("sample"), calendar="data")
    end = args.end or str(panel.dates[-1].date())
    config = BacktestConfig(
        data=str(args.data), start=args.start, end=end, strategies=["ew_universe"]
    )
    context = prepare_context(config, panel, index)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_strategy("ew_universe", context)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    days = len(context.dates)
    bars = result.feeds * days
    print(
        f"ew_universe, {result.feeds:,} feeds x {days:,} sessions ({context.dates[0].date()} .. "
        f"{context.dates[-1].date()}): prepare {result.prepare_seconds:.1f} s, backtest "
        f"{result.backtest_seconds:.1f} s wall ({bars / result.backtest_seconds:,.0f} bars/s); "
        f"whole run {wall:.1f} s wall, {cpu:.1f} s CPU"
    )
    print(
        f"trades {len(result.fills):,}, refused {len(result.refusals):,}, final equity "
        f"{result.equity.iloc[-1]:,.2f}, trades digest {trades_digest(result.fills)}"
    )


if __name__ == "__main__":
    main()
