"""A run folder read back (what ``quant report`` and ``quant compare`` work from): its
metrics.json, config.toml, nav.csv, exposure.csv, trades, refusals and the strategies'
scores tables, each read when first asked for."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from quant.engine.config import BacktestConfig
from quant.engine.ranking import SCORES
from quant.manifest import MANIFEST, DamagedError, check_files, read_manifest
from quant.rundir import OutputError

#: The files every run folder holds (quant.report.folder).
REQUIRED = ("metrics.json", "config.toml", "nav.csv", "exposure.csv")


def _rewritten(name: str) -> bool:
    """Whether ``name`` is a file of a run folder that ``quant report`` writes anew."""
    return name in ("report.md", "report.html") or name.endswith(".png")


class RunFolder:
    """The run folder ``path``; ``metrics`` and ``config`` may be given when they are at
    hand (while the folder is written), otherwise they are read from its files, after the
    folder's manifest is checked where it has one (quant.manifest). An OutputError naming
    the folder and the missing file when it is not a run folder, or the file that differs
    from its checksum."""

    def __init__(
        self,
        path: str | Path,
        metrics: dict[str, Any] | None = None,
        config: BacktestConfig | None = None,
    ) -> None:
        self.path = Path(path)
        missing = [name for name in REQUIRED if not (self.path / name).is_file()]
        if missing and (metrics is None or config is None):
            raise OutputError(
                f"{self.path}: not a run folder of quant backtest (no {', '.join(missing)})"
            )
        if metrics is None and (self.path / MANIFEST).is_file():
            try:  # what is read: the reports and plots are what quant report rewrites
                listed = read_manifest(self.path)
                check_files(self.path, [name for name in listed if not _rewritten(name)])
            except DamagedError as damage:
                raise OutputError(f"{damage} (a damaged run folder: run it again)") from None
        self.metrics: dict[str, Any] = metrics or json.loads(
            (self.path / "metrics.json").read_text(encoding="utf-8")
        )
        self.config: BacktestConfig = config or BacktestConfig.from_toml(self.path / "config.toml")

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def strategies(self) -> dict[str, dict[str, Any]]:
        """Each strategy's metrics.json entry, in the run's order."""
        return self.metrics["strategies"]

    @cached_property
    def nav(self) -> pd.DataFrame:
        """Net value per run (``name`` and, for strategies run per seed, ``name@seedN``)."""
        return pd.read_csv(self.path / "nav.csv", index_col=0, parse_dates=True)

    @cached_property
    def exposure(self) -> pd.DataFrame:
        """Share of equity in stocks per run, by date."""
        return pd.read_csv(self.path / "exposure.csv", index_col=0, parse_dates=True)

    @cached_property
    def trades(self) -> pd.DataFrame:
        return self._table("trades")

    @cached_property
    def refusals(self) -> pd.DataFrame:
        return self._table("refusals")

    def _table(self, name: str) -> pd.DataFrame:
        path = self.path / f"{name}.parquet"
        if not path.is_file():
            return pd.DataFrame(columns=["date", "strategy", "seed"])
        frame = pd.read_parquet(path)
        return frame.astype({"strategy": str}) if "strategy" in frame else frame

    def labels(self, name: str) -> list[str]:
        """The runs of strategy ``name``: ``name@seedN`` per seed, or ``name``."""
        seeds = self.strategies[name].get("seeds")
        return [f"{name}@seed{seed}" for seed in seeds] if seeds else [name]

    def scores(self, label: str) -> pd.DataFrame | None:
        """The scores table (with its returns after the fill) of the run ``label``
        (quant.engine.ranking), or None when its strategy exposed none."""
        path = self.path / f"{label.replace('@', '_')}_{SCORES}.parquet"
        return pd.read_parquet(path) if path.is_file() else None
