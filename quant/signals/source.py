"""Signal sources: where a strategy reads its selection and timing tables from, by name.

A source is one class: its fields are its settings (typed and checked like a model's or a
strategy's: quant.settings), and :meth:`SignalSource.tables` returns a :class:`SignalSet`
for a run's window and seed. The CNN-LSTM trading rules (strategies/cnn_lstm.py) trade the
tables of the source their ``signals`` parameter names:

- ``walk_forward`` (default, :class:`WalkForward`): this package's ranker and timer,
  trained walk-forward and cached (quant.signals.build);
- ``package.module:Class`` or ``path/to/file.py:Class``: any subclass of
  :class:`SignalSource`, found by quant.plugins like strategies and models, with its
  settings as ``{class = "...", kwargs = {...}}``.

The tables a source returns are checked before any strategy reads them
(:func:`check_signals`): a missing column, a date that is not a session of the data, a
code the data lacks, a signal other than +1 / -1 or a repeated row is a one-line
:class:`SignalError` naming the source, the table and the value at fault.

To read a source's tables from your own strategy::

    from quant.signals import load_source
    signals = load_source("walk_forward").of({"preset": "sample"}).read(context)
    signals.selection, signals.timing  # checked; for context's window and seed
"""

from __future__ import annotations

import functools
import inspect
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import field_validator, model_validator

from quant.data.panel import MarketPanel
from quant.plugins import PluginKind
from quant.settings import Settings, changes_to
from quant.signals.build import book_tables, build_signals
from quant.signals.config import MODEL_SLOTS, SignalConfig, SignalError, Training, preset

if TYPE_CHECKING:
    from quant.engine.config import BacktestConfig
    from quant.engine.strategy import Context

#: Columns every selection table has (more may follow: score, rank).
SELECTION_COLUMNS = ("decision_date", "code", "selected")
#: Columns every timing table has (more may follow: decision_date, probability).
TIMING_COLUMNS = ("date", "code", "signal")


@dataclass(frozen=True)
class SignalSet:
    """What a source gives a run, one row per ...

    - ``selection`` (decision date, code): ``decision_date`` (a session: the close at which
      the next month's selection is made), ``code``, ``selected`` (bool) [, score, rank];
    - ``timing`` (session, code): ``date`` (the close the call is made at, executed at the
      next open), ``code``, ``signal`` (+1: hold, -1: let go) [, probability];
    - ``info``: what the report shows of the source (settings, model quality), JSON-ready.

    Every row must use only what is known at the close of its date: the run cannot tell.
    """

    selection: pd.DataFrame
    timing: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


class SignalSource(Settings):
    """Base of every signal source. Subclass it, declare its settings as typed fields with
    defaults and a docstring each (none is fine), and implement :meth:`tables`."""

    error = SignalError

    @abstractmethod
    def tables(self, context: Context) -> SignalSet:
        """The selection and timing tables for ``context``'s window (``context.dates``: day
        0 first; decision dates from day 0 on) and seed (``context.seed``), from the data of
        ``context.panel``, each row using only the past of its date."""

    def read(self, context: Context, name: str = "") -> SignalSet:
        """:meth:`tables`, checked by :func:`check_signals` (``name``: how messages call
        the source; default: its class)."""
        return check_signals(self.tables(context), name or type(self).__name__, context.panel)


SOURCES = PluginKind(
    "signal source", "signal sources", SignalSource, "quant.signals.SignalSource", SignalError
)
#: Built-in sources: name -> ``module:Class``.
BUILTIN_SOURCES = {"walk_forward": "quant.signals.source:WalkForward"}


@functools.cache
def load_source(spec: str) -> type[SignalSource]:
    """The source class named ``spec``: a built-in name, ``module:Class`` or
    ``path/to/file.py:Class`` (a file is run once per process). A one-line
    :class:`SignalError` naming ``spec`` when it cannot be found (with the closest built-in
    name), is not a :class:`SignalSource` or lacks its ``tables``; a file that fails to load
    shows its own traceback."""
    cls = SOURCES.load(spec, BUILTIN_SOURCES)
    if inspect.isabstract(cls):
        raise SignalError(f"signal source {spec!r}: {cls.__name__} must define tables(context)")
    return cls


def named_source(value: object) -> tuple[str, type[SignalSource], dict[str, Any]]:
    """The spec, the class and the settings a config value names: a name or spec (no
    settings), or a table ``{class = SPEC, kwargs = {...}}``. A one-line
    :class:`SignalError` when it names none (see :func:`load_source`)."""
    named = SOURCES.named(value, "signals: ")
    if named is None:
        raise SignalError(
            f"signals: expected a source name, module:Class or a {{class, kwargs}} table, "
            f"got {value!r}"
        )
    spec, settings = named
    return spec, load_source(spec), dict(settings)


def source_from_config(value: object) -> SignalSource:
    """The source a config value names (:func:`named_source`) with its settings, checked:
    a one-line :class:`SignalError` naming the source and the key at fault."""
    spec, cls, settings = named_source(value)
    return cls.of(settings, where=f"signals {spec}: ")


# -- the tables' contract --------------------------------------------------------------------
def check_signals(signals: object, source: str, panel: MarketPanel) -> SignalSet:
    """``signals`` when it keeps the :class:`SignalSet` contract on ``panel`` (columns, dates
    that are sessions, codes of the data, selected a bool, signal +1 / -1, no repeated
    row); a one-line :class:`SignalError` naming the source, the table and the first value
    at fault otherwise."""
    where = f"signal source {source}"
    if not isinstance(signals, SignalSet):
        raise SignalError(f"{where}: tables() returned a {type(signals).__name__}, not a SignalSet")
    _check_table(signals.selection, f"{where}: selection", SELECTION_COLUMNS, panel)
    _check_table(signals.timing, f"{where}: timing", TIMING_COLUMNS, panel)
    selected = signals.selection["selected"]
    if not pd.api.types.is_bool_dtype(selected):
        raise SignalError(f"{where}: selection.selected must be bool, got {selected.dtype}")
    signal = signals.timing["signal"]
    numeric = pd.api.types.is_numeric_dtype(signal) and not pd.api.types.is_bool_dtype(signal)
    wrong = ~signal.isin([-1, 1]) if numeric else pd.Series(True, index=signal.index)
    if wrong.any():
        row = signals.timing[wrong].iloc[0]
        raise SignalError(
            f"{where}: timing.signal must be +1 or -1, got {row['signal']} for "
            f"{row['code']} on {_day(row['date'])} ({int(wrong.sum())} rows)"
        )
    if not isinstance(signals.info, dict):
        raise SignalError(f"{where}: info must be a dict, got {type(signals.info).__name__}")
    return signals


def _check_table(frame: object, where: str, columns: tuple[str, ...], panel: MarketPanel) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SignalError(f"{where} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SignalError(
            f"{where}: missing column(s) {', '.join(missing)} (has {', '.join(map(str, frame))})"
        )
    date, code = columns[0], frame["code"].astype(str)
    if not pd.api.types.is_datetime64_dtype(frame[date]):
        raise SignalError(f"{where}.{date} must hold dates (datetime64), got {frame[date].dtype}")
    off = ~frame[date].isin(panel.dates)
    if off.any():
        raise SignalError(
            f"{where}.{date}: {_day(frame[date][off].iloc[0])} is not a session of the data "
            f"({int(off.sum())} rows; the data runs {_day(panel.dates[0])} .. "
            f"{_day(panel.dates[-1])})"
        )
    unknown = ~code.isin(panel.codes)
    if unknown.any():
        raise SignalError(
            f"{where}.code: {code[unknown].iloc[0]} is not a code of the data "
            f"({int(unknown.sum())} rows)"
        )
    repeated = frame.assign(code=code).duplicated([date, "code"])
    if repeated.any():
        row = frame[repeated].iloc[0]
        raise SignalError(
            f"{where}: more than one row for {row['code']} on {_day(row[date])} "
            f"({int(repeated.sum())} repeats)"
        )


def _day(value: Any) -> str:
    return str(pd.Timestamp(value).date()) if pd.notna(value) else "NaT"


# -- the built-in source ---------------------------------------------------------------------
#: A model slot: a model's name, a ``{class, kwargs}`` table, or settings of the preset's.
ModelChoice = str | dict[str, Any]


class WalkForwardSettings(
    changes_to(Training, "TrainingChanges", types=dict.fromkeys(MODEL_SLOTS, ModelChoice))
):
    """The walk-forward training's settings: a preset, and changes to it: the fields of
    :class:`~quant.signals.config.Training` (declared there once, with their ranges), each
    unset by default (the preset's), the models as a name, a ``{class, kwargs}`` table or
    settings of the preset's model. The test span is the run's window and the seed the
    run's; :meth:`signal_config` checks the spans against them."""

    error = SignalError

    preset: str = "paper"
    """The training budget: ``paper`` (the paper's) or ``sample`` (a small one for the
    built-in sample); see quant.signals.PRESETS."""

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        preset(value)  # a SignalError naming the presets
        return value

    @model_validator(mode="before")
    @classmethod
    def _span_and_seed_are_the_runs(cls, values: Any) -> Any:
        if isinstance(values, dict) and {"test_start", "test_end", "seed"} & set(values):
            raise ValueError(
                "the test span is the backtest window (start, end) and the seed is the "
                "run's (seed, seeds); set those instead of test_start / test_end / seed"
            )
        return values

    @model_validator(mode="after")
    def _models_read(self) -> WalkForwardSettings:
        """A bad model setting fails here, before any data is read."""
        base = preset(self.preset)
        for name, task in MODEL_SLOTS.items():
            value = getattr(self, name)
            if value is not None:
                task.from_config(value, base=getattr(base, name), noun=f"{name} setting")
        return self

    def walk_forward_settings(self) -> dict[str, Any]:
        """The walk-forward settings that differ from their defaults, the preset first."""
        fields = WalkForwardSettings.model_fields
        keys = ["preset", *(k for k in fields if k != "preset")]
        return {k: getattr(self, k) for k in keys if getattr(self, k) != fields[k].default}

    def signal_config(self, test_start: str, test_end: str, seed: int) -> SignalConfig:
        """The preset with these settings over it, tested on ``test_start..test_end``
        (YYYY-MM) with ``seed``. A :class:`SignalError` naming a setting that cannot be
        used."""
        settings = {k: v for k, v in self.walk_forward_settings().items() if k != "preset"}
        values = {**settings, "test_start": test_start, "test_end": test_end, "seed": seed}
        try:
            return SignalConfig.from_dict(values, base=preset(self.preset))
        except ValueError as error:  # SignalError, ModelError: one line naming the setting
            raise SignalError(f"signals walk_forward: {error}") from None

    def for_run(self, config: BacktestConfig, seed: int) -> SignalConfig:
        """:meth:`signal_config` tested on the months of ``config``'s window (the one place
        the test span is set) with ``seed``: needs no data, so a run checks it first."""
        start, end = (str(day.to_period("M")) for day in (config.start_date, config.end_date))
        return self.signal_config(start, end, seed)


class WalkForward(SignalSource, WalkForwardSettings):
    """The built-in source: the ranker's monthly selection and the timer's daily calls,
    trained walk-forward on the run's data up to each test block and cached by data and
    config (quant.signals.build; docs/cnn_lstm.md). ``info``: the preset, the spans, the
    model classes (``models``: ranker, timer), and the models' quality and training
    records."""

    def run_config(self, context: Context) -> SignalConfig:
        """The SignalConfig of a run: these settings over the preset, tested on the months
        of the backtest window with the run's seed (:meth:`WalkForwardSettings.for_run`)."""
        return self.for_run(context.config, context.seed)

    def tables(self, context: Context) -> SignalSet:
        config = self.run_config(context)
        if context.models is not None:  # a paper book's evening: its models, no cache
            selection, timing, training = book_tables(context.panel, config, context.models)
            info = {
                "preset": self.preset,
                "train": f"{config.train_start} .. {config.train_end}",
                "test": f"{config.test_start} .. {config.test_end}",
                "models": {
                    "ranker": type(config.cnn).__name__,
                    "timer": type(config.lstm).__name__,
                },
                "training": training,
            }
            return SignalSet(selection, timing, info)
        built = build_signals(context.panel, config, context.cache_dir / "signals")
        info = {
            "preset": self.preset,
            "train": f"{config.train_start} .. {config.train_end}",
            "test": f"{config.test_start} .. {config.test_end}",
            "models": {"ranker": type(config.cnn).__name__, "timer": type(config.lstm).__name__},
            "quality": built.quality,
            "training": built.report.get("training", []),
        }
        return SignalSet(built.selection, built.timing, info)
