"""A run folder: config.toml, metrics.json, nav.csv, exposure.csv, trades.parquet,
positions.parquet, refusals.parquet, events.parquet, the strategies' own tables
(``<strategy>[_seedN]_<table>.parquet``), report.md and the PNG plots. The folder is
written beside its target and put in place whole (see quant.rundir); ``quant plot DIR``
redraws the plots from the CSVs alone.

- :mod:`~quant.report.figures`: the figures of metrics.json (per run, over seeds, against
  the config's baselines);
- :mod:`~quant.report.tables`: cells (mean ± std over seeds) and tables rendered by pandas;
- :mod:`~quant.report.markdown`: report.md (each strategy adds its own section:
  AShareStrategy.report_section) and the terminal's table;
- :mod:`~quant.report.plots`: the plots, one colour per strategy;
- :mod:`~quant.report.folder`: the run folder, written whole.
"""

from quant.report.figures import group_metrics, seed_summary, significance, strategy_metrics
from quant.report.folder import write_run
from quant.report.markdown import render_report, render_table
from quant.report.plots import plot_run
from quant.report.tables import markdown_table

__all__ = [
    "group_metrics",
    "markdown_table",
    "plot_run",
    "render_report",
    "render_table",
    "seed_summary",
    "significance",
    "strategy_metrics",
    "write_run",
]
