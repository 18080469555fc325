"""Build the built-in sample (quant/data/sample/) from the shared real data.

Universe, chosen point-in-time: the 500 stocks with the largest average daily amount
(turnover in yuan, suspended days counting as zero) over 2012-01-01..2013-12-31. Nothing
after 2013 is looked at, so stocks that later delisted or stopped trading stay in.
Bars: all of those stocks' bars, 2010-01-04..2017-04-18, plus the SSE Composite
(000001.SH) and CSI 300 (000300.SH) indices. 500 rather than 600 stocks keeps the file
under the 15 MB budget (600 stocks take 15.2 MB).

    python scripts/build_sample.py --data ../shared/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from quant.data import load_bars, load_index
from quant.data.sample import SAMPLE_INDEX, SAMPLE_STOCKS
from quant.io import write_atomic

STOCKS_FILE = "ashare_daily_2010_2017.parquet"
INDEX_FILE = "ashare_index_2010_2017.parquet"
SELECTION_START, SELECTION_END = "2012-01-01", "2013-12-31"
N_STOCKS = 500
INDICES = ("000001.SH", "000300.SH")
MAX_BYTES = 15_000_000


def choose_universe(bars: pd.DataFrame, n: int = N_STOCKS) -> list[str]:
    """Top n codes by average daily amount over the selection window (point-in-time)."""
    window = bars[bars["date"].between(SELECTION_START, SELECTION_END)]
    average = window.groupby("code", observed=True)["amount"].sum() / window["date"].nunique()
    return sorted(average.nlargest(n).index.astype(str))


def write_compact(frame: pd.DataFrame, target: Path) -> None:
    """Parquet with zstd; amount as float32 (the source's own precision, so lossless) and
    volume as int64 (whole shares), which the loader reads back as floats."""
    frame = frame.reset_index(drop=True)
    frame = frame.assign(
        code=frame["code"].astype(str),
        volume=frame["volume"].round().astype("int64"),
        amount=frame["amount"].astype("float32"),
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_atomic(
        target, lambda p: pq.write_table(table, p, compression="zstd", compression_level=19)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", help="folder of the shared data")
    args = parser.parse_args()
    data = Path(args.data)
    bars = load_bars(data / STOCKS_FILE)
    universe = choose_universe(bars)
    stocks = bars[bars["code"].isin(universe)]
    indices = load_index(data / INDEX_FILE)
    indices = indices[indices["code"].isin(INDICES)].drop(columns="adj_factor", errors="ignore")
    write_compact(stocks, SAMPLE_STOCKS)
    write_compact(indices, SAMPLE_INDEX)
    size = SAMPLE_STOCKS.stat().st_size + SAMPLE_INDEX.stat().st_size
    ended = (stocks.groupby("code", observed=True)["date"].max() < bars["date"].max()).sum()
    print(
        f"{len(universe)} stocks ({ended} stop trading before the data ends), "
        f"{len(stocks):,} rows, {len(INDICES)} indices; {size / 1e6:.1f} MB"
    )
    if size > MAX_BYTES:
        raise SystemExit(f"sample is {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB budget")


if __name__ == "__main__":
    main()
