"""The LSTM timer of Liu, Zhang and Ma (2017), Table 1: one LSTM layer over a 30 x 6
window of daily bars, one fully connected hidden layer with tanh and a two-class output
(the next 5 days' return is negative / positive), trained with cross-entropy."""

from __future__ import annotations

import torch
from torch import nn

from quant.features import WINDOW_FIELDS
from quant.models.base import Dropout, Patience, Size, WeightDecay
from quant.models.tasks import Timer


class LSTMTimer(Timer):
    """The paper's timer, trained on at most ``max_train_windows`` windows."""

    name = "lstm"

    hidden: Size = 32
    """Memory size of the LSTM layer."""
    dense: Size = 16
    """Units of the fully connected hidden layer."""
    dropout: Dropout = 0.2
    weight_decay: WeightDecay = 1e-5
    patience: Patience = 5

    def build(self) -> LSTMTimerNet:
        return LSTMTimerNet(len(self.window().columns), self.hidden, self.dense, self.dropout)


class LSTMTimerNet(nn.Module):
    """(batch, 30, 6) windows -> (batch, 2) logits, read from the last LSTM state."""

    def __init__(
        self,
        n_features: int = len(WINDOW_FIELDS),
        hidden: int = 32,
        dense: int = 16,
        dropout: float = 0.2,
        n_classes: int = 2,
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(hidden, dense),
            nn.Tanh(),
            nn.Linear(dense, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(x)
        return self.head(output[:, -1])
