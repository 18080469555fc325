"""The three tasks a model can serve; a model subclasses one of them.

- :class:`Ranker`: scores every code at each decision date for the CNN-LSTM's monthly
  selection (:mod:`quant.signals`); reads the 32 standardised returns of
  :func:`quant.features.cnn_inputs`, learns 0/1 (above / below the month's median return).
- :class:`Timer`: calls each selected code's next 5 days up or down, daily
  (:mod:`quant.signals`); reads the 30 x 6 windows of :func:`quant.features.lstm_windows`,
  learns 0/1 (the 5-day return is positive).
- :class:`Predictor`: predicts the next day's close of one stock (the prediction study,
  :mod:`quant.study`, ``quant predict`` / ``quant tune``); reads windows of the study's six
  daily features that it chooses itself, learns standardised log closes.

Rankers and timers output (batch, 2) logits (class 1: above the median / up) and train with
cross-entropy; predictors output one value per time step, (batch, steps), and train with the
mean squared error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, ClassVar

from pydantic import Field
from torch import nn
from typing_extensions import Self

from quant.features import CNN_WIDTH, WINDOW, WINDOW_FIELDS
from quant.models.base import (
    BatchSize,
    Dropout,
    Epochs,
    LearningRate,
    Model,
    Patience,
    Size,
    WeightDecay,
    Window,
)
from quant.models.training import TrainConfig


class Classifier(Model):
    """A two-class model trained with cross-entropy on (inputs, 0/1 labels)."""

    lr: LearningRate = 1e-3
    batch_size: BatchSize = 512
    weight_decay: WeightDecay = 0.0
    max_epochs: Epochs = 100
    patience: Patience = 10

    def loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()


class Ranker(Classifier):
    """Scores codes at a decision date: (batch, 32) -> (batch, 2) logits; the softmax of
    class 1 is the score the month's selection ranks by. The window is fixed by the inputs
    (12 monthly then 20 daily returns, see :func:`quant.features.cnn_returns`)."""

    kind: ClassVar[str] = "ranker"
    builtins: ClassVar[dict[str, str]] = {"cnn": "quant.models.cnn:CNNRanker"}

    def window(self) -> Window:
        return Window(tuple(range(CNN_WIDTH)), flat=True)


class Timer(Classifier):
    """Calls a code's next 5 days: (batch, 30, 6) -> (batch, 2) logits; class 1 (up) when its
    softmax is above 0.5. The window is fixed by the inputs (30 bars of open, close, high,
    low, amount, volume, see :func:`quant.features.lstm_windows`). Windows pooled over all
    codes number in the millions: a timer trains on a seeded subsample."""

    kind: ClassVar[str] = "timer"
    builtins: ClassVar[dict[str, str]] = {"lstm": "quant.models.lstm_timer:LSTMTimer"}

    max_train_windows: Size = 200_000
    """The most windows (training and validation together) one model trains on: a
    uniform, seeded subsample of all codes' windows."""
    max_eval_windows: Size = 100_000
    """The most windows of the pooled test sample that measures accuracy over all codes."""
    max_span: Annotated[int, Field(ge=WINDOW)] = 60
    """The 30 bars of a window must lie within this many trading days (windows glued across
    long suspensions are skipped)."""

    def window(self) -> Window:
        return Window(tuple(range(len(WINDOW_FIELDS))), steps=WINDOW)


def hidden_sizes(
    n_inputs: int, n_outputs: int = 1, alphas: Iterable[int] = range(1, 11)
) -> list[int]:
    """The empirical rule m = sqrt(n + l) + alpha for the hidden size, rounded; distinct
    sizes in ascending order (n inputs per time step, l outputs)."""
    return sorted({round(math.sqrt(n_inputs + n_outputs) + a) for a in alphas})


class Predictor(Model):
    """Predicts the next day's close: (batch, steps, inputs) windows of the study's six daily
    features (quant.study.series.FEATURES) -> (batch, steps), one prediction per time step
    (the last one is the next day's). Every predictor applies ``dropout``; ``epochs`` is the
    most epochs."""

    kind: ClassVar[str] = "predictor"
    builtins: ClassVar[dict[str, str]] = {
        "bp": "quant.models.predictors:BPPredictor",
        "lstm1d": "quant.models.predictors:LSTM1DPredictor",
        "lstm": "quant.models.predictors:LSTMPredictor",
    }
    #: The setting the hidden-size rule fills in a search grid (unless the grid gives it).
    size_setting: ClassVar[str | None] = None

    lr: LearningRate = 3e-3
    dropout: Dropout = 0.1
    epochs: Epochs = 100
    patience: Patience = 10
    batch_size: BatchSize = 32

    def train_config(self, **overrides: Any) -> TrainConfig:
        return super().train_config(max_epochs=self.epochs, **overrides)

    def loss(self) -> nn.Module:
        return nn.MSELoss()

    def with_size(self, size: int) -> Self:
        """This model with hidden size ``size`` (a point of the hidden-size rule)."""
        return self.replace({self.size_setting: size})

    @classmethod
    def grid(
        cls,
        axes: Mapping[str, Sequence[Any]] | None = None,
        base: Self | None = None,
        alphas: Iterable[int] = range(1, 11),
    ) -> list[Self]:
        """The product of the axes (see :meth:`Model.grid`), each point with every hidden
        size of the rule m = sqrt(n + 1) + alpha for its n inputs per time step, unless the
        axes give the size setting."""
        points = super().grid(axes, base)
        if cls.size_setting is None or cls.size_setting in {**cls.search_axes, **(axes or {})}:
            return points
        alphas = list(alphas)
        sized = [
            point.with_size(m)
            for point in points
            for m in hidden_sizes(point.window().n_inputs, 1, alphas)
        ]
        return list(dict.fromkeys(sized))
