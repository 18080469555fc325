"""Full-market benchmark: the paper configuration on a synthetic market of the size of the
whole A-share market (5,200 stocks x 3,966 sessions), measured from the outside.

1. The market: ``quant data synth --stocks 5200 --days 3966 --seed 7`` (see
   quant/data/synth.py), generated into FOLDER/stocks, and an index for the benchmark
   strategy, FOLDER/index.parquet: code 000001.SH, the equal-weight mean of the day's
   returns (back-adjusted closes) of the stocks with a bar on both days, from 1,000.
   Both are reused when they exist (synthetic prices: for scale, not for returns).
2. The run: ``quant backtest --config configs/paper.toml`` on that market, with the
   config's strategies, seeds 0,1,2, the default workers (one per core), the test window
   --test-start .. the data's last day, and cnn_lstm trained from the 15th month of the
   data (the CNN needs 14 months of history before its first training month) to the month
   before the test window. The run folder is runs/full_market-<stocks>x<days> (replaced).
3. Printed: wall time, peak memory of the whole process tree (sampled every 0.25 s, see
   benchmarks/process_tree.py), and the run folder's size with its largest files.

    .venv/bin/python benchmarks/full_market.py                   # the full size: 30+ minutes
    .venv/bin/python benchmarks/full_market.py --stocks 300 --days 800 --start 2015-01-01
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from process_tree import measure

from quant.data import synth
from quant.io import write_atomic

ROOT = Path(__file__).resolve().parents[1]
HISTORY_MONTHS = 14  # quant.features: 12 monthly returns t-13..t-2, so 14 months before


def market_folder(args: argparse.Namespace) -> Path:
    return args.folder or ROOT / ".cache" / "full_market" / (
        f"synth-{args.stocks}x{args.days}-seed{args.seed}-{args.start}"
    )


def make_market(folder: Path, args: argparse.Namespace) -> dict[str, object]:
    """Generate the market and its index into ``folder`` unless they are there; return
    the market's manifest."""
    manifest = folder / "stocks" / "manifest.json"
    if manifest.exists() and (folder / "index.parquet").exists():
        print(f"market: reused {folder}", flush=True)
        return json.loads(manifest.read_text())
    started = time.perf_counter()
    market = synth.generate(args.stocks, args.days, args.seed, start=args.start, progress=None)
    synth.write(market, folder / "stocks")
    index = equal_weight_index(market)
    write_atomic(folder / "index.parquet", lambda p: index.to_parquet(p, index=False))
    print(f"market: generated in {time.perf_counter() - started:.0f} s into {folder}", flush=True)
    return json.loads(manifest.read_text())


def equal_weight_index(market: synth.SynthMarket) -> pd.DataFrame:
    """Index bars (000001.SH) from the equal-weight mean daily return of the stocks with a
    bar on the day and the day before (the generator's anchor stock has a bar every day)."""
    adjusted = market.adj_close
    mean = np.nanmean(adjusted[1:] / adjusted[:-1] - 1, axis=1)
    level = 1000.0 * np.concatenate([[1.0], np.cumprod(1 + mean)])
    volume = np.nansum(market.volume, axis=1)
    return pd.DataFrame(
        {
            "date": market.dates,
            "code": "000001.SH",
            "open": level,
            "high": level,
            "low": level,
            "close": level,
            "volume": volume,
            "amount": volume * level,
        }
    )


def folder_size(folder: Path) -> tuple[int, list[tuple[str, int]]]:
    sizes = sorted(((p.name, p.stat().st_size) for p in folder.iterdir()), key=lambda x: -x[1])
    return sum(size for _, size in sizes), sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=5200)
    parser.add_argument("--days", type=int, default=3966)
    parser.add_argument("--seed", type=int, default=7, help="the market's seed")
    parser.add_argument("--start", default=synth.DEFAULT_START, help="the market's first day")
    parser.add_argument("--test-start", default="2017-05-01", help="first day of the test window")
    parser.add_argument("--seeds", default="0,1,2", help="the strategies' seeds")
    parser.add_argument("--folder", type=Path, default=None, help="where the market is kept")
    args = parser.parse_args(argv)

    folder = market_folder(args)
    manifest = make_market(folder, args)
    test_start = pd.Timestamp(args.test_start)
    last_day = str(manifest["last_date"])
    train_start = pd.Period(str(manifest["first_date"]), freq="M") + HISTORY_MONTHS
    train_end = test_start.to_period("M") - 1
    if not train_start <= train_end or test_start > pd.Timestamp(last_day):
        parser.error(
            f"the market ({manifest['first_date']} .. {last_day}) leaves no training span "
            f"{train_start} .. {train_end} before a test window from {args.test_start}: "
            "give more --days or an earlier --start"
        )
    out = ROOT / "runs" / f"full_market-{args.stocks}x{args.days}"
    command = [
        sys.executable, "-m", "quant", "backtest", "--config", str(ROOT / "configs/paper.toml"),
        "--data", str(folder / "stocks"), "--index-data", str(folder / "index.parquet"),
        "--seeds", args.seeds, "--start", args.test_start, "--end", last_day,
        "--train-start", str(train_start), "--train-end", str(train_end),
        "--out", str(out), "--force",
    ]  # fmt: skip
    print(
        f"run: {manifest['stocks']:,} stocks x {manifest['days']:,} days, test "
        f"{args.test_start} .. {last_day}, cnn_lstm trained {train_start} .. {train_end}, "
        f"seeds {args.seeds}",
        flush=True,
    )
    result = measure(command)
    print("\n".join(result.lines()))
    if result.returncode == 0:
        total, sizes = folder_size(out)
        largest = ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in sizes[:3])
        print(f"run folder         {total / 2**20:.1f} MiB ({largest}): {out}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
