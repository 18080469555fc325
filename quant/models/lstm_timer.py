"""The LSTM timer of Liu, Zhang and Ma (2017), Table 1: one LSTM layer over a 30 x 6
window of daily bars, one fully connected hidden layer with tanh and a two-class output
(the next 5 days' return is negative / positive), trained with cross-entropy."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from quant.models.training import Arrays, TrainConfig, TrainResult, fit, seed_everything


@dataclass(frozen=True)
class LSTMSettings:
    """Architecture, training budget and how many windows to train on.

    Windows pooled over all codes number in the millions; ``max_train_windows`` caps the
    (uniform, seeded) subsample, ``max_eval_windows`` the pooled test sample that measures
    accuracy over all codes. ``max_span``: the 30 bars of a window must lie within this
    many trading days (windows glued across long suspensions are skipped).
    """

    hidden: int = 32
    dense: int = 16
    dropout: float = 0.2
    weight_decay: float = 1e-5
    lr: float = 1e-3
    batch_size: int = 512
    max_epochs: int = 100
    patience: int = 5
    max_train_windows: int = 200_000
    max_eval_windows: int = 100_000
    max_span: int = 60

    def build(self, n_features: int = 6) -> LSTMTimer:
        return LSTMTimer(n_features, self.hidden, self.dense, self.dropout)

    def train_config(
        self, seed: int, device: str | None = None, progress: bool = True, stage: str = "LSTM"
    ) -> TrainConfig:
        return TrainConfig.of(self, seed=seed, device=device, progress=progress, desc=stage)


class LSTMTimer(nn.Module):
    """(batch, 30, 6) windows -> (batch, 2) logits, read from the last LSTM state."""

    def __init__(
        self,
        n_features: int = 6,
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


def train_lstm(
    train: Arrays,
    validation: Arrays | None,
    settings: LSTMSettings,
    *,
    seed: int,
    device: str | None = None,
    progress: bool = True,
    stage: str = "LSTM",
) -> tuple[LSTMTimer, TrainResult]:
    """A fresh timer (weights drawn from ``seed``) trained on (windows, 0/1 labels)."""
    seed_everything(seed)
    model = settings.build(train[0].shape[2])
    config = settings.train_config(seed, device, progress, stage)
    return model, fit(model, train, nn.CrossEntropyLoss(), config, validation)
