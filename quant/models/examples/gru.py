"""An example of a model added with one file: a GRU (gated recurrent unit, Cho et al. 2014,
"Learning Phrase Representations using RNN Encoder-Decoder", arXiv:1406.1078), as a
next-day predictor for the prediction study and as a timer for the CNN-LSTM strategy.

Run it by module or by file, and set it like a built-in::

    quant predict --data sample --codes 000538.SZ --models lstm,quant/models/examples/gru.py:GRUPredictor --param gru.t=10
    quant tune --data sample --codes 000538.SZ --models quant.models.examples.gru:GRUPredictor --grid gru.t=10,20

    # a backtest config: the CNN-LSTM rules timed by the GRU
    [params.cnn_lstm]
    lstm = { class = "quant.models.examples.gru:GRUTimer", kwargs = { hidden = 16 } }
"""

from __future__ import annotations

import torch
from torch import nn

from quant.models import Timer
from quant.models.base import Dropout, Size
from quant.models.predictors import LSTMPredictor


class GRUNet(nn.Module):
    """(batch, steps, inputs) -> one GRU layer -> a linear read-out of every step:
    (batch, steps) when ``n_outputs`` is 1, or only the last step's (batch, n_outputs)
    when ``last``."""

    def __init__(
        self, n_inputs: int, hidden: int, n_outputs: int, dropout: float, last: bool
    ) -> None:
        super().__init__()
        self.gru = nn.GRU(n_inputs, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_outputs)
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(x)
        out = self.head(self.dropout(states))
        return out[:, -1] if self.last else out.squeeze(-1)


class GRUPredictor(LSTMPredictor):
    """The multi-D LSTM's windows (``t`` days of the six features, one day per step) and
    settings, read by a GRU: a subclass of a built-in changes only what differs."""

    name = "gru"

    mem: Size = 10
    """Units of the GRU layer."""

    def build(self) -> nn.Module:
        return GRUNet(self.window().n_inputs, self.mem, 1, self.dropout, last=False)


class GRUTimer(Timer):
    """The timer's 30 x 6 windows, the up/down logits read from the last step."""

    name = "gru"

    hidden: Size = 32
    """Units of the GRU layer."""
    dropout: Dropout = 0.2

    def build(self) -> nn.Module:
        return GRUNet(len(self.window().columns), self.hidden, 2, self.dropout, last=True)
