"""One evening of a paper book: ``quant live next`` without a retraining, measured from the
outside (wall time and peak memory of the whole process tree, benchmarks/process_tree.py),
on the built-in sample and on a synthetic market of the size of the A-share market.

For each market a book of momentum and the CNN-LSTM (small training budgets: what is
measured is an evening that trains nothing; the models' size does not depend on their
epochs) is started in FOLDER/<market>/book and caught up to the evening before the first
measured one (day 0 trains the models; not measured). Then ``--evenings`` evenings are
booked one per command, ``quant live next --book B --until D``, each a fresh process that
loads the data, books the session, decides at its close and writes the orders file, and
each is measured. An evening that retrained (its output says "trained") is flagged. The
issue's targets: 10 s on the sample, 60 s on 5,200 codes.

- sample: the built-in sample (3,198 codes, 2010 .. 2017), book from 2016-03-01, evenings
  from 2016-03-10.
- synthetic: ``quant data synth --stocks 5200 --days D --seed 7`` ending in 2018 (D = 800:
  from 2015-01-05; ``--days 3966``: the whole market's history, from 2002) with an
  equal-weight index (benchmarks/full_market.py), book from 2017-09-01 (the CNN trained
  from the 15th month of the data to 2017-08), evenings from 2017-09-11.

    .venv/bin/python benchmarks/live_next.py                   # both markets
    .venv/bin/python benchmarks/live_next.py --market sample
    .venv/bin/python benchmarks/live_next.py --market synthetic --days 3966
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from full_market import HISTORY_MONTHS, make_market
from process_tree import GIB, measure

ROOT = Path(__file__).resolve().parents[1]

#: What trains in seconds: the evenings measured train nothing.
TRAINING = """
[params.cnn_lstm.cnn]
max_epochs = 1
batch_size = 2048
[params.cnn_lstm.lstm]
max_epochs = 1
batch_size = 2048
max_train_windows = 3000
max_eval_windows = 500
"""


@dataclass(frozen=True)
class Market:
    name: str
    start: str  # the book's first session with a return
    first_evening: str  # the first measured evening (the ones before are caught up first)
    target: float  # seconds (the issue)


MARKETS = {
    "sample": Market("sample", "2016-03-01", "2016-03-10", 10.0),
    "synthetic": Market("synthetic", "2017-09-01", "2017-09-11", 60.0),
}


def config_text(market: Market, folder: Path, history_start: str) -> str:
    lines = [
        'strategies = ["momentum", "cnn_lstm"]',
        f'start = "{market.start}"',
        "seed = 0",
        f'cache_dir = "{folder / "cache"}"',
    ]
    if market.name == "sample":
        lines += ["[params.cnn_lstm]", 'preset = "sample"']
    else:
        lines[1:1] = [
            f'data = "{folder / "market" / "stocks"}"',
            f'index_data = "{folder / "market" / "index.parquet"}"',
        ]
        lines += [
            "[params.cnn_lstm]",
            'preset = "sample"',
            f'train_start = "{pd.Period(history_start, freq="M") + HISTORY_MONTHS}"',
            'train_end = "2017-08"',
        ]
    return "\n".join(lines) + "\n" + TRAINING


def quant(*args: str) -> list[str]:
    return [sys.executable, "-m", "quant", *args]


def sessions_from(market: Market, folder: Path, count: int) -> list[str]:
    from quant.data import load_panel

    source = "sample" if market.name == "sample" else folder / "market" / "index.parquet"
    dates = load_panel(source, kind="index").dates
    return [str(d.date()) for d in dates[dates >= pd.Timestamp(market.first_evening)][:count]]


def run_market(market: Market, folder: Path, evenings: int, days: int) -> bool:
    start = str((pd.Timestamp("2015-01-05") - pd.offsets.BDay(days - 800)).date())
    if market.name == "synthetic":
        folder = folder.with_name(f"synthetic-5200x{days}")
        size = argparse.Namespace(stocks=5200, days=days, seed=7, start=start)
        make_market(folder / "market", size)
    folder.mkdir(parents=True, exist_ok=True)
    book = folder / "book"
    shutil.rmtree(book, ignore_errors=True)
    (folder / "book.toml").write_text(config_text(market, folder, start))
    subprocess.run(
        quant("live", "init", "--config", str(folder / "book.toml"), "--book", str(book)),
        check=True,
    )
    days = sessions_from(market, folder, evenings)
    before = str((pd.Timestamp(days[0]) - pd.Timedelta(days=1)).date())
    started = time.perf_counter()
    subprocess.run(
        quant("live", "next", "--book", str(book), "--until", before),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(
        f"{market.name}: day 0 (training) and the evenings to {before} in {time.perf_counter() - started:.0f} s"
    )
    rows, ok = [], True
    for evening in days:
        log = folder / f"next-{evening}.log"
        with open(log, "w") as out:
            result = measure(
                quant("live", "next", "--book", str(book), "--until", evening), stdout=out
            )
        trained = "trained" in log.read_text()
        ok &= result.returncode == 0 and not trained
        rows.append((evening, result, trained))
    print(f"{'evening':12s} {'wall':>7s} {'PSS':>9s} {'RSS':>9s}  retrained")
    for evening, result, trained in rows:
        pss = f"{result.peak_pss / GIB:.2f} GiB" if result.peak_pss is not None else "n/a"
        print(
            f"{evening:12s} {result.seconds:6.1f}s {pss:>9s} {result.peak_rss / GIB:5.2f} GiB  {'YES' if trained else 'no'}"
        )
    walls = [r.seconds for _, r, _ in rows]
    print(
        f"{market.name}: median {statistics.median(walls):.1f} s, slowest {max(walls):.1f} s "
        f"(target {market.target:.0f} s); orders files in {book}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market", choices=[*MARKETS, "both"], default="both")
    parser.add_argument("--evenings", type=int, default=3, help="evenings measured per market")
    parser.add_argument(
        "--days",
        type=int,
        default=800,
        help="sessions of the synthetic market (at least 800), ending in 2018 (3966: the "
        "whole market's history since 2002)",
    )
    parser.add_argument("--folder", type=Path, default=ROOT / ".cache" / "live_next")
    args = parser.parse_args(argv)
    names = list(MARKETS) if args.market == "both" else [args.market]
    ok = all(
        [run_market(MARKETS[name], args.folder / name, args.evenings, args.days) for name in names]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
