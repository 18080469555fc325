"""The shared training loop: seeds, early stopping, the step-size hook, checkpoints."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from quant.models.training import (
    TrainConfig,
    evaluate,
    fit,
    load_checkpoint,
    predict,
    save_checkpoint,
)


def linear_data(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)).astype(np.float32)
    return x, y[:, None]


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Dropout(0.1), nn.Linear(8, 1))


def test_same_seed_same_weights_and_training_helps():
    x, y = linear_data()
    config = TrainConfig(max_epochs=30, batch_size=32, lr=1e-2, seed=3, progress=False)
    first, second = make_model(), make_model()
    before = evaluate(first, (x, y), nn.MSELoss())
    fit(first, (x, y), nn.MSELoss(), config)
    fit(second, (x, y), nn.MSELoss(), config)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    assert evaluate(first, (x, y), nn.MSELoss()) < 0.1 * before


def test_early_stopping_restores_the_best_epoch():
    x, y = linear_data(64)
    xv, yv = linear_data(64, seed=1)
    yv = -yv  # a validation set the model can only get worse at
    model = make_model()
    config = TrainConfig(max_epochs=50, batch_size=16, lr=1e-2, patience=3, progress=False)
    result = fit(model, (x, y), nn.MSELoss(), config, validation=(xv, yv))
    assert result.stopped_early and result.epochs_run == result.best_epoch + 3
    best = min(h["val_loss"] for h in result.history)
    assert result.best_val_loss == best
    assert np.isclose(evaluate(model, (xv, yv), nn.MSELoss()), best, rtol=1e-5)


def test_step_size_hook_sets_the_learning_rate_from_the_loss():
    x, y = linear_data(64)
    seen: list[float] = []

    def step(loss: float) -> float:
        seen.append(loss)
        return 0.5e-3

    result = fit(
        make_model(),
        (x, y),
        nn.MSELoss(),
        TrainConfig(max_epochs=2, batch_size=32, progress=False),
        step_size=step,
    )
    assert len(seen) == 2 * 2 - 1  # every batch but the first
    assert result.history[-1]["lr"] == 0.5e-3


def test_checkpoint_round_trip(tmp_path):
    x, y = linear_data(64)
    model = make_model()
    fit(model, (x, y), nn.MSELoss(), TrainConfig(max_epochs=3, progress=False))
    path = save_checkpoint(tmp_path / "m.pt", model, {"hidden": 8})
    fresh = make_model(seed=99)
    assert load_checkpoint(path, fresh) == {"hidden": 8}
    np.testing.assert_array_equal(predict(model, x), predict(fresh, x))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left behind
