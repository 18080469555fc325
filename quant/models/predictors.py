"""The next-day close predictors of the LSTM study, all taking (batch, steps, inputs) windows
(see :mod:`quant.study.windows`) and returning (batch, steps) predictions, one per step:

- :class:`BPNet`: the paper's 4-layer BP network (input, two hidden, output) applied to each
  step on its own (the study uses it with one step: one day's 6 features);
- :class:`SequenceLSTM`: one LSTM layer of memory size ``mem`` and a linear read-out at every
  time node; the 1-D LSTM (x_dim = L/t closes per node) and the multi-dimensional LSTM
  (6 features of one day per node) differ only in their windows.

Dropout acts on the hidden activations (the paper's "multiply some neurons by 0").
Each network has its model class (:class:`BPPredictor`, :class:`LSTM1DPredictor`,
:class:`LSTMPredictor`): its settings, its window and its hidden-size search.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from pydantic import model_validator
from torch import nn
from typing_extensions import Self

from quant.models.base import Size, Sizes, Window
from quant.models.tasks import Predictor
from quant.study.series import CLOSE, FEATURES

ALL_FEATURES = tuple(range(len(FEATURES)))


class BPNet(nn.Module):
    def __init__(self, n_inputs: int, hidden: Sequence[int] = (10, 10), dropout: float = 0.0):
        super().__init__()
        if len(hidden) != 2 or min(hidden) < 1:
            raise ValueError(f"the BP network has two hidden layers, got sizes {list(hidden)}")
        first, second = hidden
        self.net = nn.Sequential(
            nn.Linear(n_inputs, first),
            nn.Tanh(),
            nn.Dropout(dropout),
            nn.Linear(first, second),
            nn.Tanh(),
            nn.Dropout(dropout),
            nn.Linear(second, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class SequenceLSTM(nn.Module):
    def __init__(self, n_inputs: int, mem: int = 10, dropout: float = 0.0):
        super().__init__()
        if mem < 1:
            raise ValueError(f"the LSTM memory size must be >= 1, got {mem}")
        self.lstm = nn.LSTM(n_inputs, mem, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(mem, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.lstm(x)
        return self.head(self.dropout(hidden)).squeeze(-1)


class BPPredictor(Predictor):
    """The paper's BP network on one day's six features (steps = 1)."""

    name = "bp"
    size_setting = "hidden"

    hidden: Sizes = (8, 8)
    """Units of the two hidden layers."""

    def window(self) -> Window:
        return Window(ALL_FEATURES, steps=1)

    def build(self) -> nn.Module:
        return BPNet(self.window().n_inputs, self.hidden, self.dropout)

    def with_size(self, size: int) -> Self:
        return self.replace({"hidden": (size, size)})


class LSTM1DPredictor(Predictor):
    """The 1-D LSTM: the last ``L`` closes cut into ``t`` time nodes of x_dim = L/t closes
    (the paper's Fig. 2-2)."""

    name = "lstm1d"
    size_setting = "mem"
    search_axes: ClassVar[dict[str, list[Any]]] = {"L": [10, 20, 40], "t": [2, 5, 10]}

    L: Size = 20
    """Closes per sample."""
    t: Size = 5
    """Time nodes per sample (must divide L)."""
    mem: Size = 6
    """Memory size of the LSTM layer."""

    @model_validator(mode="after")
    def _t_divides_L(self) -> Self:
        if not self.fits({}, self):
            raise ValueError(f"needs t dividing L, got L={self.L}, t={self.t}")
        return self

    @classmethod
    def fits(cls, changes: Mapping[str, Any], base: Predictor) -> bool:
        L, t = (changes.get(k, getattr(base, k)) for k in ("L", "t"))
        return t <= L and L % t == 0

    def window(self) -> Window:
        return Window((CLOSE,), steps=self.t, width=self.L // self.t)

    def build(self) -> nn.Module:
        return SequenceLSTM(self.window().n_inputs, self.mem, self.dropout)


class LSTMPredictor(Predictor):
    """The multi-dimensional LSTM: ``t`` days of the six features, one day per time node
    (the paper's Fig. 2-3)."""

    name = "lstm"
    size_setting = "mem"
    search_axes: ClassVar[dict[str, list[Any]]] = {"t": [10, 20]}

    t: Size = 20
    """Days per sample."""
    mem: Size = 10
    """Memory size of the LSTM layer."""

    def window(self) -> Window:
        return Window(ALL_FEATURES, steps=self.t)

    def build(self) -> nn.Module:
        return SequenceLSTM(self.window().n_inputs, self.mem, self.dropout)
