"""Run a backtest without the ``quant`` command: the same options as ``quant backtest``.

    python scripts/run_backtest.py --config configs/paper.toml --out runs/paper
    python scripts/run_backtest.py --strategies benchmark,momentum --start 2015-01-01

The same from Python::

    from quant.engine import BacktestConfig, run_backtest
    from quant.report import write_run

    config = BacktestConfig.from_toml("configs/paper.toml")
    result = run_backtest(config)
    write_run(result, "runs/paper", force=True)  # an earlier run there is replaced whole
    print(result.nav_frame().tail())
"""

from __future__ import annotations

import sys

from quant.cli import main

if __name__ == "__main__":
    sys.exit(main(["backtest", *sys.argv[1:]]))
