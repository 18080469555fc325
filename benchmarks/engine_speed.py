"""Speed of the engine against a raw backtrader loop, on the full shared market.

1. Our engine: the momentum strategy on all 3,198 stocks of the shared data, 2014-01-01 ..
   2017-03-31, with the A-share broker, array feeds for the codes it can hold, and the
   recorder. Reports wall time of signal preparation and of the backtest.
2. Raw backtrader over the same feeds (same codes, same bars): stock ``PandasData`` feeds
   and a strategy that does nothing, default broker.

Bars per second = feeds x trading days / backtest seconds. Not part of the test run:

    .venv/bin/python benchmarks/engine_speed.py [--data ../shared/data/ashare_daily_2010_2017.parquet]
"""

from __future__ import annotations

import argparse
import time
import warnings

import backtrader as bt
import pandas as pd

from quant.data import MarketPanel, load_bars
from quant.engine import BacktestConfig
from quant.engine.runner import prepare_context, run_strategy

SHARED = "../shared/data/ashare_daily_2010_2017.parquet"
SHARED_INDEX = "../shared/data/ashare_index_2010_2017.parquet"


class DoNothing(bt.Strategy):
    def next(self) -> None:
        pass


def raw_backtrader_seconds(panel: MarketPanel, codes: list[str], rows: slice) -> float:
    """Stock PandasData feeds over exactly our feeds' bars (the same calendar, NaN-free)."""
    dates = panel.dates[rows]
    cerebro = bt.Cerebro(stdstats=False)
    for code in codes:
        j = panel.column(code)
        close = pd.Series(panel.close[:, j]).ffill().fillna(0.0).to_numpy()[rows]
        frame = pd.DataFrame(
            {
                name: pd.Series(getattr(panel, name)[rows, j]).fillna(pd.Series(close)).to_numpy()
                for name in ("open", "high", "low", "close")
            },
            index=dates,
        )
        frame["volume"] = pd.Series(panel.volume[rows, j]).fillna(0.0).to_numpy()
        frame["openinterest"] = 0.0
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=code)
    cerebro.addstrategy(DoNothing)
    started = time.perf_counter()
    cerebro.run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=SHARED)
    parser.add_argument("--index-data", default=SHARED_INDEX)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    started = time.perf_counter()
    panel = MarketPanel.from_frame(load_bars(args.data))
    loaded = time.perf_counter()
    config = BacktestConfig(data=args.data, index_data=args.index_data, strategies=["momentum"])
    context = prepare_context(config, panel)
    result = run_strategy("momentum", context)
    days = len(context.dates)
    codes = sorted(set(result.tables["selection"]["code"]))  # exactly the engine's feeds
    engine_seconds = result.backtest_seconds
    raw_seconds = raw_backtrader_seconds(panel, codes, context.rows)

    bars = result.feeds * days
    print(f"data: {len(panel.codes):,} stocks; loaded with its panel in {loaded - started:.1f} s")
    print(
        f"momentum, full market, {days} days, {result.feeds} feeds: signals {result.prepare_seconds:.1f} s "
        f"+ backtest {engine_seconds:.1f} s = {result.prepare_seconds + engine_seconds:.1f} s"
    )
    print(
        f"engine (array feeds + A-share rules + momentum): {engine_seconds:.1f} s, {bars / engine_seconds:,.0f} bars/s"
    )
    print(
        f"raw backtrader (PandasData, empty strategy):      {raw_seconds:.1f} s, {bars / raw_seconds:,.0f} bars/s"
    )
    print(f"ratio: {raw_seconds / engine_seconds:.2f}x")


if __name__ == "__main__":
    main()
