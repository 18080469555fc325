"""The study pipeline: no look-ahead (wavelets on too), spans in time order, and a model that
finds a planted pattern but no skill in a random walk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.models.predictors import BPPredictor, LSTM1DPredictor, LSTMPredictor
from quant.study.pipeline import RunResult, Settings, run_model, split_rows
from quant.study.scores import direction_block
from quant.study.series import StockSeries
from tests.conftest import sessions

TINY = {
    "bp": BPPredictor(hidden=(4, 4), epochs=3, lr=1e-2),
    "lstm1d": LSTM1DPredictor(L=8, t=4, mem=3, epochs=3, lr=1e-2),
    "lstm": LSTMPredictor(t=5, mem=4, epochs=3, lr=1e-2),
}
SPANS = {"train_days": 200, "val_days": 50, "test_days": 100}


def synthetic_series(returns: np.ndarray, code: str = "000001.SZ", seed: int = 0) -> StockSeries:
    """Bars whose close follows ``returns``; open/high/low/volume are noisy but harmless."""
    rng = np.random.default_rng(seed)
    close = 10 * np.exp(np.cumsum(returns))
    open_ = close * np.exp(0.003 * rng.normal(size=len(close)))
    high = np.maximum(open_, close) * (1 + 0.005 * rng.random(len(close)))
    low = np.minimum(open_, close) * (1 - 0.005 * rng.random(len(close)))
    volume = 1e6 * np.exp(0.3 * rng.normal(size=len(close)))
    values = np.column_stack([open_, high, close, low, volume, volume * close])
    return StockSeries(code, sessions("2012-01-02", periods=len(close)), values)


def random_walk(n: int, seed: int) -> np.ndarray:
    return 0.02 * np.random.default_rng(seed).normal(size=n)


def test_spans_are_in_time_order_and_too_short_a_series_is_named():
    series = synthetic_series(random_walk(400, 1))
    split = split_rows(series, Settings(**SPANS))
    assert (split.fit.start, split.fit.stop) == (100, 250)  # train_days include validation
    assert (split.val.start, split.val.stop) == (250, 300)
    assert (split.test.start, split.test.stop) == (300, 400)
    with pytest.raises(ValueError, match=r"000001\.SZ: 120 bars"):
        split_rows(synthetic_series(random_walk(120, 1)), Settings(**SPANS))


def changed_after(series: StockSeries, day: int, seed: int = 9) -> StockSeries:
    """The same series with every value after ``day`` replaced by something else."""
    values = series.values.copy()
    values[day + 1 :] *= np.exp(
        0.1 * np.random.default_rng(seed).normal(size=values[day + 1 :].shape)
    )
    return StockSeries(series.code, series.dates, values)


def predictions(result: RunResult) -> pd.Series:
    return pd.Series(result.test.predicted, index=result.test.dates)


@pytest.mark.parametrize("model", ["bp", "lstm1d", "lstm"])
@pytest.mark.parametrize("wavelet", ["none", "causal"])
def test_changing_data_after_day_k_never_changes_the_prediction_for_day_k_plus_1(model, wavelet):
    series = synthetic_series(random_walk(400, 2))
    settings = Settings(**SPANS, wavelet=wavelet, wavelet_window=32)
    k = 340  # inside the test span
    before = predictions(run_model(series, TINY[model], settings))
    after = predictions(run_model(changed_after(series, k), TINY[model], settings))
    past = series.dates[: k + 2]  # targets up to day k+1
    assert before[before.index.isin(past)].equals(after[after.index.isin(past)])
    assert len(before[before.index.isin(past)]) == k + 2 - 300
    assert not before.equals(after)  # the later predictions did see the change


def test_the_leaky_wavelet_is_caught_by_the_same_test():
    series = synthetic_series(random_walk(400, 2))
    settings = Settings(**SPANS, wavelet="leaky")
    k = 340
    before = predictions(run_model(series, TINY["lstm"], settings))
    after = predictions(run_model(changed_after(series, k), TINY["lstm"], settings))
    past = series.dates[: k + 2]
    assert not np.allclose(before[before.index.isin(past)], after[after.index.isin(past)])


PLANTED = {"train_days": 450, "val_days": 100, "test_days": 250}
LEARNER = LSTM1DPredictor(L=4, t=4, mem=4, epochs=30, lr=1e-2, dropout=0.0, patience=5)


def mean_reverting(n: int, phi: float, seed: int) -> np.ndarray:
    """AR(1) returns r[d] = phi r[d-1] + noise: with phi < 0 tomorrow tends to undo today, so
    the direction is predictable at about 1/2 + arcsin(|phi|)/pi, while repeating
    yesterday's direction is as wrong as the model is right."""
    noise = 0.02 * np.random.default_rng(seed).normal(size=n)
    returns = np.zeros(n)
    for day in range(1, n):
        returns[day] = phi * returns[day - 1] + noise[day]
    return returns


def test_a_planted_pattern_beats_every_baseline():
    series = synthetic_series(mean_reverting(800, -0.6, seed=3))
    result = run_model(series, LEARNER, Settings(**PLANTED))
    scores = direction_block(result.test, result.training_changes)
    low, _ = scores["model"].interval
    assert scores["model"].n >= 245
    assert low > max(scores[b].value for b in ("always_up", "yesterday", "majority"))
    assert scores["model"].value > 0.62  # theory: 0.5 + arcsin(0.6)/pi = 0.70


def test_a_random_walk_gives_no_skill_within_the_interval():
    series = synthetic_series(random_walk(800, seed=4))
    result = run_model(series, LEARNER, Settings(**PLANTED))
    scores = direction_block(result.test, result.training_changes)
    low, high = scores["model"].interval
    assert low < 0.5 < high
    assert low < max(scores[b].value for b in ("always_up", "yesterday", "majority"))
