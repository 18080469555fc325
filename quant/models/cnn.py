"""The CNN stock ranker of Liu, Zhang and Ma (2017), Table 1: two 1-D convolution layers
over the 32 returns, two fully connected hidden layers and a two-class output (below /
above the month's median return), trained with cross-entropy by the shared loop."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from quant.models.training import Arrays, TrainConfig, TrainResult, fit, seed_everything


@dataclass(frozen=True)
class CNNSettings:
    """Architecture and training budget. Defaults: small filters (the input is only 32
    long), dropout and L2 against overfitting, Adam 0.001, at most the paper's 500 epochs
    with early stopping once 20 epochs bring no better validation loss."""

    channels: tuple[int, int] = (16, 32)
    kernel_size: int = 3
    hidden: tuple[int, int] = (64, 16)
    dropout: float = 0.3
    weight_decay: float = 1e-4
    lr: float = 1e-3
    batch_size: int = 512
    max_epochs: int = 500
    patience: int = 20

    def build(self, n_inputs: int = 32) -> CNNRanker:
        return CNNRanker(n_inputs, self.channels, self.kernel_size, self.hidden, self.dropout)

    def train_config(
        self, seed: int, device: str | None = None, progress: bool = True, stage: str = "CNN"
    ) -> TrainConfig:
        return TrainConfig.of(self, seed=seed, device=device, progress=progress, desc=stage)


class CNNRanker(nn.Module):
    """(batch, 32) standardised returns -> (batch, 2) logits. Conv layers use ReLU, the
    fully connected layers Tanh (the paper's "ReLU, Tanh"); a max-pool halves the length
    after the convolutions."""

    def __init__(
        self,
        n_inputs: int = 32,
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


def train_cnn(
    train: Arrays,
    validation: Arrays | None,
    settings: CNNSettings,
    *,
    seed: int,
    device: str | None = None,
    progress: bool = True,
    stage: str = "CNN",
) -> tuple[CNNRanker, TrainResult]:
    """A fresh ranker (weights drawn from ``seed``) trained on (inputs, 0/1 labels)."""
    seed_everything(seed)
    model = settings.build(train[0].shape[1])
    config = settings.train_config(seed, device, progress, stage)
    return model, fit(model, train, nn.CrossEntropyLoss(), config, validation)
