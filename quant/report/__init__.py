"""A run folder: config.toml, metrics.json, nav.csv, exposure.csv, trades.parquet,
positions.parquet, refusals.parquet, events.parquet, the strategies' own tables
(``<strategy>[_seedN]_<table>.parquet``, the ranking's ``scores`` among them), report.md,
report.html and the PNG plots. The folder is written beside its target and put in place
whole (see quant.rundir); ``quant plot DIR`` redraws the plots from the CSVs alone and
``quant report DIR`` the reports too; ``quant compare`` sets several side by side.

- :mod:`~quant.report.figures`: the figures of metrics.json (per run, over seeds, against
  the config's baselines);
- :mod:`~quant.report.tables`: cells (mean ± std over seeds) and tables rendered by pandas;
- :mod:`~quant.report.headline`: what the evidence supports, the first lines of each;
- :mod:`~quant.report.markdown`: report.md (each strategy adds its own section:
  AShareStrategy.report_section) and the terminal's summary;
- :mod:`~quant.report.html`, :mod:`~quant.report.views`: report.html, its plotly figures;
- :mod:`~quant.report.reader`: a run folder read back; :mod:`~quant.report.compare`: runs
  side by side;
- :mod:`~quant.report.plots`: the plots, one colour per strategy;
- :mod:`~quant.report.folder`: the run folder, written whole.
"""

from quant.report.figures import group_metrics, seed_summary, significance, strategy_metrics
from quant.report.folder import write_run
from quant.report.markdown import render_report, render_summary, render_table
from quant.report.plots import plot_run
from quant.report.tables import markdown_table

__all__ = [
    "group_metrics",
    "markdown_table",
    "plot_run",
    "render_report",
    "render_summary",
    "render_table",
    "seed_summary",
    "significance",
    "strategy_metrics",
    "write_run",
]
