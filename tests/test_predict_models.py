"""The predictors' shapes, the LSTM's causality in time, and the loss-dependent step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from quant.models.predictors import BPNet, LSTM1DPredictor, SequenceLSTM
from quant.models.step_size import LossDependentStep
from quant.models.training import TrainConfig, fit


def test_shapes_one_prediction_per_time_step():
    x = torch.randn(5, 7, 6)
    assert BPNet(6, (4, 3)).eval()(x[:, :1]).shape == (5, 1)
    assert SequenceLSTM(6, mem=4).eval()(x).shape == (5, 7)
    assert isinstance(LSTM1DPredictor(L=2, t=1, mem=3, dropout=0.0).build(), SequenceLSTM)
    with pytest.raises(ValueError, match="two hidden layers"):
        BPNet(6, (4,))


def test_lstm_output_at_a_step_ignores_later_steps():
    torch.manual_seed(0)
    model = SequenceLSTM(3, mem=5).eval()
    x = torch.randn(2, 6, 3)
    changed = x.clone()
    changed[:, 4:] += 10.0
    with torch.no_grad():
        assert torch.equal(model(x)[:, :4], model(changed)[:, :4])
        assert not torch.allclose(model(x)[:, 4:], model(changed)[:, 4:])


def test_loss_dependent_step_is_insensitive_to_alpha_while_loss_is_large():
    big_loss = 50.0
    rates = [LossDependentStep(1e-3, alpha, max_lr=1.0)(big_loss) for alpha in (0.01, 0.1, 1.0)]
    assert max(rates) / min(rates) < 1.03  # 1/(50.01) vs 1/(51): within 2 %


def test_loss_dependent_step_is_bounded_by_alpha_as_loss_vanishes():
    for alpha in (0.05, 0.5):
        step = LossDependentStep(1e-3, alpha)
        assert step(1e-9) == pytest.approx(1e-3 / alpha, rel=1e-6)
        assert step(0.0) <= 1e-3 / alpha
    step = LossDependentStep(1e-3, 0.1)
    assert step(0.5) == pytest.approx(1e-3 / 0.6)  # the formula inside the clip
    assert step(1e6) == step.bounds[0] == 1e-5  # clipped below
    assert step(math.nan) == step.bounds[0]
    with pytest.raises(ValueError):
        LossDependentStep(1e-3, 0.0)


def test_loss_dependent_step_drives_the_shared_training_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0, 0.5], dtype=np.float32))[:, None]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 1))
    step = LossDependentStep(5e-2, alpha=0.5)
    result = fit(
        model,
        (x, y),
        nn.MSELoss(),
        TrainConfig(max_epochs=60, batch_size=16, progress=False),
        step_size=step,
    )
    lrs = [h["lr"] for h in result.history]
    assert lrs[-1] > 3 * lrs[0]  # the step grows as the loss falls...
    assert lrs[-1] <= 5e-2 / 0.5  # ...up to base_lr / alpha
    assert result.history[-1]["train_loss"] < 0.01 * result.history[0]["train_loss"]
