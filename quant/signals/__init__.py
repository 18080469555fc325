"""The signal tables strategies trade, and where they come from.

A strategy reads its tables from a named source (:mod:`quant.signals.source`): the built-in
``walk_forward`` trains a ranker and a timer (the CNN and the LSTM of Liu, Zhang, Ma 2017
by default; any :class:`~quant.models.Ranker` / :class:`~quant.models.Timer` by config)
walk-forward, and caches their tables on disk by a hash of the data and the config. One job
per module:

- :mod:`~quant.signals.config`: what to train on and how (:class:`SignalConfig`, presets);
- :mod:`~quant.signals.plan`: the walk-forward blocks (each model learns only from labels
  known at the close of the decision date of its first test month);
- :mod:`~quant.signals.training`: train or load one block's model, for either slot;
- :mod:`~quant.signals.tables`: the selection and timing tables the models give;
- :mod:`~quant.signals.quality`: how good they were on the test span;
- :mod:`~quant.signals.cache`: the tables on disk, keyed by data and config;
- :mod:`~quant.signals.build`: one build, from the features to the cached tables;
- :mod:`~quant.signals.source`: the named sources and the tables' contract.

``quant signals`` (quant/cli/signals.py) builds the tables without a backtest.
"""

from quant.signals.build import build_signals
from quant.signals.cache import TABLES, SignalTables, cache_key
from quant.signals.config import PRESETS, SignalConfig, SignalError, preset
from quant.signals.plan import Block, chronological_split, walk_forward
from quant.signals.source import (
    BUILTIN_SOURCES,
    SignalSet,
    SignalSource,
    WalkForward,
    WalkForwardSettings,
    check_signals,
    load_source,
    named_source,
    source_from_config,
)

__all__ = [
    "BUILTIN_SOURCES",
    "PRESETS",
    "TABLES",
    "Block",
    "SignalConfig",
    "SignalError",
    "SignalSet",
    "SignalSource",
    "SignalTables",
    "WalkForward",
    "WalkForwardSettings",
    "build_signals",
    "cache_key",
    "check_signals",
    "chronological_split",
    "load_source",
    "named_source",
    "preset",
    "source_from_config",
    "walk_forward",
]
