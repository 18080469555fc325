"""What the walk-forward signals train on, what they predict and how: :class:`SignalConfig`
and its presets. The training settings are declared once, in :class:`Training` (types,
ranges, docstrings: the house style of quant.settings); a strategy's changes to a preset
(quant.signals.WalkForwardSettings) are those same fields, each optional."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import pandas as pd
from pydantic import Field, ValidationError, model_validator

from quant.errors import UserError
from quant.models import Model, Ranker, Timer
from quant.models.cnn import CNNRanker
from quant.models.lstm_timer import LSTMTimer
from quant.settings import Settings, describe


class SignalError(UserError, ValueError):
    """Signals that cannot be built or read: a bad setting or span, a source that cannot be
    found, or tables that break the contract (quant.signals.source); the message names the
    setting, the source, the table, the column or the date and code at fault."""


#: The config's model slots and the task each model must serve.
MODEL_SLOTS: dict[str, type[Model]] = {"cnn": Ranker, "lstm": Timer}

#: A calendar month, ``YYYY-MM``.
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class Training(Settings):
    """How the walk-forward models are trained and what the ranker selects.

    The first model learns from holding months ``train_start..train_end``. With
    ``retrain_every = K`` the test months are cut into blocks of K months and each block
    gets its own model trained on an expanding window (``train_start`` up to the month
    before the block); unset, the models are trained once."""

    error = SignalError

    train_start: Month = "2010-01"
    """First month of the training span (YYYY-MM)."""
    train_end: Month = "2013-12"
    """Last month of the training span (YYYY-MM)."""
    retrain_every: int | None = Field(None, ge=1)
    """Months per walk-forward block, each with its own models; unset: train once."""
    validation_fraction: float = Field(0.2, ge=0, lt=1)
    """Chronologically last share of each training span held out for early stopping."""
    top_fraction: float = Field(0.01, gt=0, le=1)
    """Share of the ranker's scored stocks selected each month (at least one)."""
    cnn: Ranker = Field(default_factory=CNNRanker)
    """The ranker: any quant.models.Ranker."""
    lstm: Timer = Field(default_factory=LSTMTimer)
    """The timer: any quant.models.Timer."""


class SignalConfig(Training):
    """What to train on (:class:`Training`), the test span the models predict and the seed.
    Months are ``YYYY-MM``; a bad value is a one-line :class:`SignalError` naming it."""

    test_start: Month = "2014-01"
    """First month of the test span (YYYY-MM)."""
    test_end: Month = "2017-03"
    """Last month of the test span (YYYY-MM)."""
    seed: int = Field(0, ge=0)
    """The random seed of the models' training."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SignalError(describe(type(self), error)) from None

    @model_validator(mode="after")
    def _spans_in_order(self) -> SignalConfig:
        start, end, test_start, test_end = (
            pd.Period(m, freq="M")
            for m in (self.train_start, self.train_end, self.test_start, self.test_end)
        )
        if not start <= end < test_start <= test_end:
            raise ValueError(
                "need train_start <= train_end < test_start <= test_end, got "
                f"{start}, {end}, {test_start}, {test_end}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain values; each model as its ``{class, kwargs}`` table."""
        values = dict(self)
        return values | {name: values[name].to_config() for name in MODEL_SLOTS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: SignalConfig | None = None) -> SignalConfig:
        """From plain values (a TOML table) over ``base`` (default: the defaults). ``cnn`` and
        ``lstm`` are each a model name, a ``{class = "module:Class", kwargs = {...}}`` table,
        or a table of settings that changes ``base``'s model; an unknown key is an error
        naming it."""
        base = base or cls()
        values = dict(data)
        for name, task in MODEL_SLOTS.items():
            if name in values:
                values[name] = task.from_config(
                    values[name], base=getattr(base, name), noun=f"{name} setting"
                )
        return base.replace(values, noun="signals setting")


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
