"""What the walk-forward signals train on, what they predict and how: :class:`SignalConfig`
and its presets."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from quant.errors import UserError
from quant.models import Model, Ranker, Timer
from quant.models.cnn import CNNRanker
from quant.models.lstm_timer import LSTMTimer


class SignalError(UserError, ValueError):
    """Signals that cannot be built or read: a bad setting or span, a source that cannot be
    found, or tables that break the contract (quant.signals.source); the message names the
    setting, the source, the table, the column or the date and code at fault."""


#: The config's model slots and the task each model must serve.
MODEL_SLOTS: dict[str, type[Model]] = {"cnn": Ranker, "lstm": Timer}


@dataclass(frozen=True)
class SignalConfig:
    """What to train on, what to predict, and how.

    The first model learns from holding months ``train_start..train_end``. With
    ``retrain_every = K`` the test months are cut into blocks of K months and each block
    gets its own model trained on an expanding window (``train_start`` up to the month
    before the block); ``None`` trains once. The chronologically last
    ``validation_fraction`` of each model's training span is held out for early stopping.
    ``top_fraction`` of the scored codes (at least one) are selected each month. ``cnn``
    ranks the codes (any :class:`~quant.models.Ranker`), ``lstm`` times them (any
    :class:`~quant.models.Timer`). Months are ``YYYY-MM``; a bad value is a :class:`SignalError`
    naming it.
    """

    train_start: str = "2010-01"
    train_end: str = "2013-12"
    test_start: str = "2014-01"
    test_end: str = "2017-03"
    retrain_every: int | None = None
    validation_fraction: float = 0.2
    top_fraction: float = 0.01
    seed: int = 0
    cnn: Ranker = field(default_factory=CNNRanker)
    lstm: Timer = field(default_factory=LSTMTimer)

    def __post_init__(self) -> None:
        start, end, test_start, test_end = (
            pd.Period(m, freq="M")
            for m in (self.train_start, self.train_end, self.test_start, self.test_end)
        )
        if not start <= end < test_start <= test_end:
            raise SignalError(
                "need train_start <= train_end < test_start <= test_end, got "
                f"{start}, {end}, {test_start}, {test_end}"
            )
        if self.seed < 0:
            raise SignalError(f"seed must be >= 0, got {self.seed}")
        if self.retrain_every is not None and self.retrain_every < 1:
            raise SignalError(f"retrain_every must be >= 1 month, got {self.retrain_every}")
        if not 0 <= self.validation_fraction < 1:
            raise SignalError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if not 0 < self.top_fraction <= 1:
            raise SignalError(f"top_fraction must be in (0, 1], got {self.top_fraction}")
        for name, task in MODEL_SLOTS.items():
            if not isinstance(getattr(self, name), task):
                raise SignalError(
                    f"{name} must be a {task.kind} (quant.models.{task.__name__}), "
                    f"got {getattr(self, name)!r}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain values; each model as its ``{class, kwargs}`` table."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return values | {name: values[name].to_config() for name in MODEL_SLOTS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: SignalConfig | None = None) -> SignalConfig:
        """From plain values (a TOML table) over ``base`` (default: the defaults). ``cnn`` and
        ``lstm`` are each a model name, a ``{class = "module:Class", kwargs = {...}}`` table,
        or a table of settings that changes ``base``'s model; an unknown key is an error
        naming it."""
        base = base or cls()
        known = sorted(f.name for f in dataclasses.fields(cls))
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SignalError(f"unknown signals setting(s) {unknown}; known: {known}")
        values = dict(data)
        for name, task in MODEL_SLOTS.items():
            if name in values:
                values[name] = task.from_config(
                    values[name], base=getattr(base, name), noun=f"{name} setting"
                )
        return dataclasses.replace(base, **values)


#: ``paper``: the paper's budget on the shared data. ``sample``: a small budget for the
#: built-in sample and `make demo` (about 10 s of training on one CPU thread).
PRESETS: dict[str, SignalConfig] = {
    "paper": SignalConfig(),
    "sample": SignalConfig(
        cnn=CNNRanker(max_epochs=30, patience=5),
        lstm=LSTMTimer(max_epochs=8, patience=3, max_train_windows=30_000, max_eval_windows=20_000),
    ),
}


def preset(name: str) -> SignalConfig:
    """The preset called ``name``; a SignalError naming the presets otherwise."""
    if name not in PRESETS:
        raise SignalError(f"unknown signal preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
