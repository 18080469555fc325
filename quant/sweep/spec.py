"""A sweep file: a backtest config (the keys of ``quant backtest --config``) plus a
``[sweep]`` table saying what to vary. Every combination of the values is a cell: one
backtest of every strategy of the config.

.. code-block:: toml

    [sweep]
    "params.cnn_lstm.hold_days" = [1, 3, 5, 10]      # a dotted config key -> its values
    top_fraction = { keys = ["params.cnn_lstm.top_fraction", "params.cnn_only.top_fraction"],
                     values = [0.005, 0.01] }         # one column setting several keys
    seeds = [0, 1, 2]                                 # one cell per seed
    windows = [["2014-01-01", "2015-12-31", "2010-01", "2013-12"]]

- A dotted key is ``KEY`` (a top-level setting, e.g. ``cash``), ``rules.KEY`` or
  ``params.STRATEGY.KEY``; its column in results.csv is the key itself.
- ``NAME = {keys = [...], values = [...]}`` sets every key of ``keys`` to each value
  (column ``NAME``): e.g. the same top fraction for the CNN-LSTM and its ablations.
- ``seeds``: each cell runs the strategies that use a seed with one of them (column
  ``seed``); strategies without randomness run once per cell all the same.
- ``windows``: each item is ``[start, end]`` (the test window, YYYY-MM-DD) followed, when
  the run has strategies that train (whose parameters include ``train_start`` and
  ``train_end``), by their training span ``train_start, train_end`` (YYYY-MM), which must
  end before the window's first month: given, never derived (columns ``window``, ``train``).

Every key and value is checked before any work, each cell as ``quant backtest`` would
check it before loading data (quant.engine.runner.plan_runs): an unknown key names the
closest valid one. Settings of the data (``data``, ``calendar``, ...) are not swept: a
sweep runs on one data set, loaded once. Model settings nested inside a strategy's
parameter (``params.cnn_lstm.cnn``) are checked when the strategy prepares, in its cell.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from quant.engine.config import BacktestConfig, ConfigError, Rules
from quant.engine.runner import Runs, plan_runs
from quant.settings import read_toml
from quant.sweep.ship import absolute_specs

#: Settings a sweep does not vary, and what to do instead.
NOT_SWEPT = {
    **dict.fromkeys(
        ("data", "index_data", "calendar", "code_changes", "non_stocks"),
        "a sweep runs on one data set, loaded once: run one sweep per data set",
    ),
    **dict.fromkeys(
        ("start", "end"),
        "sweep test windows (with their training spans) with windows = [[start, end, ...], ...]",
    ),
    **dict.fromkeys(("seed", "seeds"), "sweep seeds with seeds = [...]"),
    "strategies": "every cell runs every strategy of the config: list them all there",
    "workers": "each cell is a Ray task on one core",
    "cache_dir": "where models are cached changes no result",
}
#: Settings of a cell that do not change its results, left out of its key.
NOT_HASHED = ("workers", "cache_dir")


class SweepError(ConfigError):
    """A sweep file that cannot be run; the message names the file and the key."""


@dataclass(frozen=True)
class Window:
    """A test window (YYYY-MM-DD) and the training span (YYYY-MM) of the strategies that
    train, or None for runs without training."""

    start: str
    end: str
    train_start: str | None = None
    train_end: str | None = None

    @property
    def label(self) -> str:
        return f"{self.start}..{self.end}"

    @property
    def train_label(self) -> str:
        return f"{self.train_start}..{self.train_end}" if self.train_start else ""


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid: the column ``name``, the dotted ``keys`` each value sets
    (none for ``seed`` and ``window``, which set several settings) and the ``values``."""

    name: str
    keys: tuple[str, ...]
    values: tuple[Any, ...]

    def labels(self, value: Any) -> dict[str, Any]:
        """The results.csv columns of one value."""
        if isinstance(value, Window):
            return {"window": value.label} | (
                {"train": value.train_label} if value.train_start else {}
            )
        if isinstance(value, (dict, list)):
            return {self.name: json.dumps(value, sort_keys=True)}
        return {self.name: value}


@dataclass(frozen=True)
class Cell:
    """One combination: ``values`` (axis name -> value), its backtest ``config`` and
    ``key``, the hash of that config less what changes no result (its folder's name)."""

    values: dict[str, Any]
    config: BacktestConfig
    key: str

    def labels(self, axes: tuple[Axis, ...]) -> dict[str, Any]:
        return {k: v for axis in axes for k, v in axis.labels(self.values[axis.name]).items()}


@dataclass(frozen=True)
class Sweep:
    """A checked sweep file: its base config, axes (in the file's order), cells and the
    strategies every cell runs (``runs``: names and classes)."""

    source: Path
    text: str
    base: BacktestConfig
    axes: tuple[Axis, ...]
    cells: tuple[Cell, ...]
    runs: Runs

    @property
    def columns(self) -> list[str]:
        """The swept columns of results.csv, in order."""
        return list(self.cells[0].labels(self.axes)) if self.cells else []


def read_sweep(path: str | Path, cache_dir: str | Path | None = None) -> Sweep:
    """Read and check a sweep file (see the module's docstring). ``cache_dir`` (default:
    the config's, resolved against the current folder) is where every cell caches its
    models. Raises :class:`SweepError` naming the file and the key at fault."""
    path = Path(path)
    values, text = read_toml(path, SweepError, "sweep file")
    values = absolute_specs(values, Path.cwd())  # cells name plug-in files wherever they run
    table = values.pop("sweep", None)
    if not isinstance(table, dict) or not table:
        raise SweepError(
            f"{path}: no [sweep] table: add one with the keys to vary, e.g. "
            '"params.cnn_lstm.hold_days" = [1, 3, 5]'
        )
    try:
        base = BacktestConfig.from_dict(values, str(path))
        runs = plan_runs(base)
    except ConfigError as error:
        message = str(error)
        raise SweepError(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from None
    cache = Path(cache_dir or base.cache_dir).resolve()
    base = base.replace({"workers": 1, "cache_dir": str(cache)})
    axes = tuple(_axis(path, name, entry, base, runs) for name, entry in table.items())
    _check_overlap(path, axes, _trained(runs))
    cells = tuple(_cells(path, base, axes, _trained(runs)))
    return Sweep(path, text, base, axes, cells, runs)


def cell_key(config: BacktestConfig) -> str:
    """A cell's folder name: the hash of its settings less those that change no result."""
    values = {k: v for k, v in config.to_dict().items() if k not in NOT_HASHED}
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


#: Columns of results.csv that a linked key's name may not take.
RESERVED = ("cell", "seed", "window", "train", "strategy", "status", "seconds", "error")


# -- axes ---------------------------------------------------------------------------------
def _axis(path: Path, name: str, entry: Any, base: BacktestConfig, runs: Runs) -> Axis:
    where = f"{path}: [sweep] {name}"
    if name == "seeds":
        return Axis("seed", (), _seeds(where, entry, runs))
    if name == "windows":
        return Axis("window", (), _windows(where, entry, runs))
    if isinstance(entry, dict):
        if name in RESERVED:
            raise SweepError(f"{where}: {name} names a column of results.csv: choose another")
        if set(entry) != {"keys", "values"} or not isinstance(entry["keys"], list):
            raise SweepError(
                f"{where}: a table sets several keys to each value: "
                '{keys = ["params.a.x", "params.b.x"], values = [...]}'
            )
        if not entry["keys"]:
            raise SweepError(f"{where}: keys is empty: name the settings it sets")
        keys, values = tuple(str(k) for k in entry["keys"]), entry["values"]
    else:
        keys, values = (name,), entry
    for key in keys:
        _check_key(where, key, base, runs)
    values = _values(where, values)
    for value in values:  # each value alone, so an error names it
        _checked(where, base, {key: value for key in keys}, f" = {value!r}")
    return Axis(name, keys, values)


def _check_overlap(path: Path, axes: tuple[Axis, ...], trained: list[str]) -> None:
    """Each setting is set by one entry of [sweep] at most."""
    setters: dict[str, str] = {}
    for axis in axes:
        keys = axis.keys
        if axis.name == "window":
            spans = ("train_start", "train_end")
            keys = ("start", "end", *(f"params.{n}.{k}" for n in trained for k in spans))
        for key in keys:
            if key in setters:
                raise SweepError(
                    f"{path}: [sweep] {key} is set by two entries, {setters[key]} and {axis.name}"
                )
            setters[key] = axis.name


def _values(where: str, values: Any) -> tuple[Any, ...]:
    if not isinstance(values, list):
        raise SweepError(f"{where}: give a list of values, not {values!r}")
    if not values:
        raise SweepError(
            f"{where}: the list is empty, which makes no cell: give at least one value"
        )
    values = [_plain(v) for v in values]
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise SweepError(f"{where}: {value!r} is listed twice (two identical cells)")
        seen.append(value)
    return tuple(values)


def _plain(value: Any) -> Any:
    """TOML's unquoted dates as the YYYY-MM-DD text a config holds."""
    return value.isoformat() if isinstance(value, datetime.date) else value


def _check_key(where: str, key: str, base: BacktestConfig, runs: Runs) -> None:
    """A dotted key names a setting: KEY, rules.KEY or params.STRATEGY.KEY."""
    head, *rest = key.split(".")
    fields = BacktestConfig.model_fields
    if head not in fields:
        known = [f for f in fields if f not in NOT_SWEPT] + ["seeds", "windows"]
        raise SweepError(
            f"{where}: unknown setting {head!r}{_closest(head, known)}; known: {', '.join(known)}"
        )
    if head in NOT_SWEPT:
        raise SweepError(f"{where}: {head} is not swept: {NOT_SWEPT[head]}")
    if head == "rules":
        _check_name(where, "rules.", rest, list(Rules.model_fields))
    elif head == "params":
        names = runs.names
        if not rest or rest[0] not in names:
            given = rest[0] if rest else ""
            raise SweepError(
                f"{where}: params.{given} is not a strategy of this run{_closest(given, names)}; "
                f"it runs {', '.join(names)}"
            )
        cls = runs.classes[names.index(rest[0])]
        _check_name(where, f"params.{rest[0]}.", rest[1:], list(cls.Params.model_fields))
    elif rest:
        raise SweepError(f"{where}: {head} has no settings under it (write {head!r} alone)")


def _check_name(where: str, prefix: str, rest: list[str], known: list[str]) -> None:
    if len(rest) != 1 or rest[0] not in known:
        given = ".".join(rest)
        raise SweepError(
            f"{where}: unknown setting {prefix}{given}{_closest(given, known, prefix)}; "
            f"known: {', '.join(prefix + k for k in known)}"
        )


def _closest(name: str, known: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def _seeds(where: str, entry: Any, runs: Runs) -> tuple[int, ...]:
    if not any(cls.uses_seed for cls in runs.classes):
        raise SweepError(f"{where}: no strategy of this run uses a seed ({', '.join(runs.names)})")
    seeds = _values(where, entry)
    for seed in seeds:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SweepError(f"{where}: a seed is a whole number >= 0, not {seed!r}")
    return seeds


def _trained(runs: Runs) -> list[str]:
    """The strategies of the run that train: their parameters hold a training span."""
    return [
        name
        for name, cls in zip(runs.names, runs.classes)
        if {"train_start", "train_end"} <= set(cls.Params.model_fields)
    ]


def _windows(where: str, entry: Any, runs: Runs) -> tuple[Window, ...]:
    trained = _trained(runs)
    form = "[start, end, train_start, train_end]" if trained else "[start, end]"
    windows = []
    for item in _values(where, entry):
        parts = [_plain(v) for v in item] if isinstance(item, list) else None
        if (
            parts is None
            or len(parts) != (4 if trained else 2)
            or not all(isinstance(p, str) for p in parts)
        ):
            why = f" ({', '.join(trained)} train: give their training span)" if trained else ""
            raise SweepError(f"{where}: each window is {form}{why}, not {item!r}")
        window = Window(*parts)
        if trained:
            _check_span(where, window)
        windows.append(window)
    return tuple(windows)


def _check_span(where: str, window: Window) -> None:
    """YYYY-MM months, train_start <= train_end < the window's first month (no model may
    learn from the test window)."""
    try:
        start, end = (pd.Period(m, freq="M") for m in (window.train_start, window.train_end))
        first = pd.Timestamp(window.start).to_period("M")
    except ValueError as error:
        raise SweepError(f"{where}: window {window.label}: {error}") from None
    if not start <= end < first:
        raise SweepError(
            f"{where}: window {window.label} trains on {window.train_label}: the training span "
            f"must run forwards and end before {first}, the window's first month"
        )


# -- cells --------------------------------------------------------------------------------
def _cells(
    path: Path, base: BacktestConfig, axes: tuple[Axis, ...], trained: list[str]
) -> list[Cell]:
    """Every combination, the seeds varying fastest, then the windows (cells that follow
    each other then train different models, which parallel tasks do best)."""
    order = sorted(axes, key=lambda a: (a.name == "seed", a.name == "window"))
    cells = []
    for combination in itertools.product(*(axis.values for axis in order)):
        values = {axis.name: value for axis, value in zip(order, combination)}
        changes: dict[str, Any] = {}
        for axis in axes:
            changes |= _changes(axis, values[axis.name], trained)
        label = ", ".join(f"{k} = {v}" for k, v in Cell(values, base, "").labels(axes).items())
        config = _checked(f"{path}: [sweep] cell {label}", base, changes, "")
        cells.append(Cell(values, config, cell_key(config)))
    return cells


def _changes(axis: Axis, value: Any, trained: list[str]) -> dict[str, Any]:
    if axis.name == "seed":
        return {"seed": value, "seeds": []}
    if axis.name == "window":
        changes: dict[str, Any] = {"start": value.start, "end": value.end}
        if value.train_start:
            for name in trained:
                changes[f"params.{name}.train_start"] = value.train_start
                changes[f"params.{name}.train_end"] = value.train_end
        return changes
    return dict.fromkeys(axis.keys, value)


def _checked(
    where: str, base: BacktestConfig, changes: dict[str, Any], what: str
) -> BacktestConfig:
    """The base config with the dotted ``changes``, checked as ``quant backtest`` checks a
    config before loading data."""
    values = base.to_dict()
    for key, value in changes.items():
        *tables, name = key.split(".")
        table = values
        for part in tables:
            table = table.setdefault(part, {})
        table[name] = value
    try:
        config = BacktestConfig.from_dict(values, "config")
        plan_runs(config)
    except ConfigError as error:
        raise SweepError(f"{where}{what}: {error}") from None
    return config
