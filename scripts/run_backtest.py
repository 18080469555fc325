"""Run a backtest without the ``quant`` command: the same options as ``quant backtest``.

    python scripts/run_backtest.py --config configs/paper.toml --out runs/paper
    python scripts/run_backtest.py --strategies benchmark,momentum --start 2015-01-01

The same from Python, in a notebook, IPython or a plain script (no ``if __name__ ==
"__main__":`` needed; see quant.api)::

    import quant

    result = quant.backtest("configs/paper.toml", out="runs/paper", force=True)
    print(result.metrics[["annualized_return", "max_drawdown"]])
    print(result.nav.tail())
"""

from __future__ import annotations

import sys

from quant.cli import main

if __name__ == "__main__":
    sys.exit(main(["backtest", *sys.argv[1:]]))
