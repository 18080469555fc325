"""The next-day close predictors of the LSTM study, all taking (batch, steps, inputs) windows
(see :mod:`quant.study.windows`) and returning (batch, steps) predictions, one per step:

- :class:`BPNet`: the paper's 4-layer BP network (input, two hidden, output) applied to each
  step on its own (the study uses it with one step: one day's 6 features);
- :class:`SequenceLSTM`: one LSTM layer of memory size ``mem`` and a linear read-out at every
  time node; the 1-D LSTM (x_dim = L/t closes per node) and the multi-dimensional LSTM
  (6 features of one day per node) differ only in their windows.

Dropout acts on the hidden activations (the paper's "multiply some neurons by 0").
Train them with :func:`quant.models.training.fit`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

MODELS: tuple[str, ...] = ("bp", "lstm1d", "lstm")


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


def build_predictor(
    model: str, n_inputs: int, *, hidden: Sequence[int], mem: int, dropout: float
) -> nn.Module:
    """The network of ``model`` ("bp", "lstm1d" or "lstm") for windows of ``n_inputs``."""
    if model == "bp":
        return BPNet(n_inputs, hidden, dropout)
    if model in ("lstm1d", "lstm"):
        return SequenceLSTM(n_inputs, mem, dropout)
    raise ValueError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
