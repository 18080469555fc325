"""The Python entry for notebooks and scripts: :func:`backtest`, what ``quant backtest``
does, for Jupyter, IPython and plain scripts alike.

    import quant
    result = quant.backtest(strategies=["benchmark", "momentum", MyStrategy],
                            start="2015-01-01", end="2016-12-31")
    result              # in a notebook: the headline table and the plots
    result.nav          # net values; result.metrics, .trades, .positions, .refusals
    result.write("runs/mine")   # the run folder quant backtest writes

How it behaves where it runs (issue 22):

- **Strategy classes as objects.** A class defined in a notebook cell or a script is held
  in the config as ``__main__:Class`` (quant.engine.config.strategy_spec); its parameters
  go under its class name (``params={"MyStrategy": {...}}``).
- **Workers.** Independent runs (strategies, seeds) go to ``config.workers`` processes as
  on the command line. They are spawned (forking a process whose torch threads have run
  can deadlock) but never run the caller's ``__main__``, which Python's spawn does by
  default: a script without ``if __name__ == "__main__":`` would start the whole run again
  in every worker, and a notebook's classes cannot be imported by a worker at all.
  Instead a class that lives in ``__main__`` travels with its job, pickled by value with
  cloudpickle (quant.workers.MainFreeContext, quant.engine.runner.portable): it may call
  functions of the notebook, but not read variables the notebook changes later. Pass
  ``workers=1`` to run everything in this process.
- **Progress** shows as bars in a notebook (tqdm's notebook form, with ipywidgets; text
  bars without) and on a terminal; ``progress=True`` prints lines where neither is,
  ``progress=False`` shows nothing.
- **Errors.** The platform's own errors (quant.errors.UserError: a bad setting, data, a
  plan) show in IPython and Jupyter as the one line the command prints
  (:func:`quant.one_line_errors`); any other exception, your strategy's above all, keeps
  its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quant.data import MarketPanel
    from quant.engine import BacktestConfig, BacktestResult


def backtest(
    config: BacktestConfig | str | Path | None = None,
    /,
    *,
    panel: MarketPanel | None = None,
    index_panel: MarketPanel | None = None,
    out: str | Path | None = None,
    force: bool = False,
    progress: bool | None = None,
    **settings: Any,
) -> BacktestResult:
    """Run a backtest and return its :class:`~quant.engine.BacktestResult`.

    ``config``: a BacktestConfig, a TOML config's path, or None (the defaults).
    ``settings``: any BacktestConfig setting over it (``strategies``, ``start``, ``end``,
    ``params``, ``cash``, ``seeds``, ``workers``, ``data``, ...); ``strategies`` may hold
    classes as well as names, and replacing them drops the config's parameters, baselines
    and paper figures of the strategies left out (as ``quant backtest --strategies``).
    ``panel`` / ``index_panel``: data already loaded (quant.data.load_panel), used instead
    of loading the config's. ``out``: also write the run folder there (checked before any
    work; an earlier run there is replaced only with ``force``). ``progress``: see the
    module. Raises a one-line UserError (ConfigError, DataError, OutputError, ...) for
    anything the run cannot use, before any data loads where it can be told without it."""
    from quant import progress as shown
    from quant.engine import BacktestConfig, run_backtest
    from quant.rundir import check_output

    if config is None:
        config = BacktestConfig()
    elif not isinstance(config, BacktestConfig):
        config = BacktestConfig.from_toml(config)
    settings = dict(settings)
    if isinstance(settings.get("strategies"), (list, tuple)):
        config = config.with_strategies(list(settings.pop("strategies")))
    config = config.replace(settings)
    if out is not None:
        check_output(out, force)  # before any work
    with shown.display(verbose=progress is True, quiet=progress is False):
        result = run_backtest(config, panel, index_panel)
    if out is not None:
        result.write(out, force)
    return result
