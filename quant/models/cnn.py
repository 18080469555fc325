"""The CNN stock ranker of Liu, Zhang and Ma (2017), Table 1: two 1-D convolution layers
over the 32 returns, two fully connected hidden layers and a two-class output (below /
above the month's median return), trained with cross-entropy by the one ``train``."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import AfterValidator
from torch import nn

from quant.features import CNN_WIDTH
from quant.models.base import Dropout, Epochs, Patience, Size, Sizes, WeightDecay
from quant.models.tasks import Ranker


def _odd(size: int) -> int:
    if size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (a same-length convolution), got {size}")
    return size


class CNNRanker(Ranker):
    """The paper's ranker. Defaults: small filters (the input is only 32 long), dropout and
    L2 against overfitting, Adam 0.001, at most the paper's 500 epochs with early stopping
    once 20 epochs bring no better validation loss."""

    name = "cnn"

    channels: Sizes = (16, 32)
    """Filters of the two convolution layers."""
    kernel_size: Annotated[Size, AfterValidator(_odd)] = 3
    """Width of both convolution kernels (odd: the padding keeps the length)."""
    hidden: Sizes = (64, 16)
    """Units of the two fully connected hidden layers."""
    dropout: Dropout = 0.3
    weight_decay: WeightDecay = 1e-4
    max_epochs: Epochs = 500
    patience: Patience = 20

    def build(self) -> CNNRankerNet:
        return CNNRankerNet(
            self.window().n_inputs, self.channels, self.kernel_size, self.hidden, self.dropout
        )


class CNNRankerNet(nn.Module):
    """(batch, 32) standardised returns -> (batch, 2) logits. Conv layers use ReLU, the
    fully connected layers Tanh (the paper's "ReLU, Tanh"); a max-pool halves the length
    after the convolutions."""

    def __init__(
        self,
        n_inputs: int = CNN_WIDTH,
        channels: tuple[int, int] = (16, 32),
        kernel_size: int = 3,
        hidden: tuple[int, int] = (64, 16),
        dropout: float = 0.3,
        n_classes: int = 2,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.features = nn.Sequential(
            nn.Conv1d(1, channels[0], kernel_size, padding=pad),
            nn.ReLU(),
            nn.Conv1d(channels[0], channels[1], kernel_size, padding=pad),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Flatten(),
        )
        flat = channels[1] * (n_inputs // 2)
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(flat, hidden[0]),
            nn.Tanh(),
            nn.Dropout(dropout),
            nn.Linear(hidden[0], hidden[1]),
            nn.Tanh(),
            nn.Linear(hidden[1], n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.unsqueeze(1)))
