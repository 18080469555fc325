"""The CNN ranker and the LSTM timer: the paper's Table 1 shapes, they learn a planted
pattern, one seed gives one model, and checkpoints restore the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from quant.models import train as train_model
from quant.models.cnn import CNNRanker
from quant.models.lstm_timer import LSTMTimer
from quant.models.training import load_checkpoint, predict, save_checkpoint


def count(model: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


def test_cnn_follows_table_1():
    model = CNNRanker().build()
    assert count(model, nn.Conv1d) == 2  # two convolution layers
    assert count(model, nn.Linear) == 3  # two fully connected hidden layers + the output
    assert count(model, nn.ReLU) == 2 and count(model, nn.Tanh) == 2
    assert count(model, nn.Dropout) >= 1
    assert model(torch.zeros(7, 32)).shape == (7, 2)


def test_lstm_follows_table_1():
    model = LSTMTimer().build()
    lstms = [m for m in model.modules() if isinstance(m, nn.LSTM)]
    assert len(lstms) == 1 and lstms[0].num_layers == 1  # one LSTM layer
    assert count(model, nn.Linear) == 2  # one dense hidden layer (tanh) + the output
    assert count(model, nn.Tanh) == 1 and count(model, nn.Dropout) >= 1
    assert model(torch.zeros(5, 30, 6)).shape == (5, 2)


def test_settings_reach_the_training_loop():
    config = CNNRanker(weight_decay=0.01, max_epochs=7, patience=3).train_config(seed=5)
    assert (config.lr, config.weight_decay, config.max_epochs, config.patience, config.seed) == (
        1e-3,
        0.01,
        7,
        3,
        5,
    )
    lstm = LSTMTimer().train_config(seed=0)
    assert lstm.lr == 1e-3 and lstm.max_epochs == 100 and lstm.weight_decay > 0


def planted_cnn_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 when the recent daily returns (the last 20 inputs) sum above zero."""
    x = np.random.default_rng(seed).normal(size=(n, 32)).astype(np.float32)
    return x, (x[:, 12:].sum(axis=1) > 0).astype(np.int64)


def planted_lstm_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 when the closes (feature 1) drifted up over the window's second half."""
    x = np.random.default_rng(seed).normal(size=(n, 30, 6)).astype(np.float32)
    return x, (x[:, 15:, 1].sum(axis=1) > 0).astype(np.int64)


def accuracy(model: nn.Module, data: tuple[np.ndarray, np.ndarray]) -> float:
    return float((predict(model, data[0]).argmax(axis=1) == data[1]).mean())


@pytest.fixture(autouse=True)
def one_thread():
    """Small models train faster on one thread, above all on a shared, busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_cnn_learns_a_planted_pattern():
    settings = CNNRanker(max_epochs=10, patience=3, batch_size=128)
    train, val, test = (planted_cnn_data(n, s) for n, s in ((2000, 0), (300, 1), (1000, 2)))
    model, result = train_model(settings, train, val, seed=4, progress=False)
    assert accuracy(model, test) > 0.85
    assert result.epochs_run <= 10 and len(result.history) == result.epochs_run


def test_one_seed_gives_one_model():
    settings = CNNRanker(max_epochs=2, batch_size=128)
    train, test = planted_cnn_data(400, 0), planted_cnn_data(100, 1)
    first, second, other = (
        train_model(settings, train, None, seed=seed, progress=False)[0] for seed in (4, 4, 5)
    )
    np.testing.assert_array_equal(predict(first, test[0]), predict(second, test[0]))
    assert not np.array_equal(predict(first, test[0]), predict(other, test[0]))


def test_lstm_learns_a_planted_pattern():
    settings = LSTMTimer(max_epochs=8, patience=3, batch_size=128)
    train, val, test = (planted_lstm_data(n, s) for n, s in ((2000, 0), (300, 1), (1000, 2)))
    model, _ = train_model(settings, train, val, seed=0, progress=False)
    assert accuracy(model, test) > 0.8


def test_checkpoints_restore_the_same_predictions(tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 30, 6)).astype(np.float32)
    for settings, inputs in (
        (CNNRanker(), x[:, 0, :].repeat(6, axis=1)[:, :32]),
        (LSTMTimer(), x),
    ):
        torch.manual_seed(1)
        model = settings.build()
        path = save_checkpoint(tmp_path / "model.pt", model, {"record": {"epochs_run": 3}})
        fresh = settings.build()
        assert load_checkpoint(path, fresh) == {"record": {"epochs_run": 3}}
        np.testing.assert_array_equal(predict(fresh, inputs), predict(model.eval(), inputs))
