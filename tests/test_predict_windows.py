"""Window builders of the prediction study on a hand-made series where every window is known."""

from __future__ import annotations

import numpy as np
import pytest

from quant.models.predictors import BPPredictor, LSTM1DPredictor, LSTMPredictor
from quant.study.series import CLOSE, FEATURES
from quant.study.windows import (
    Standardizer,
    build_inputs,
    build_targets,
    log_features,
    target_rows,
    valid_anchors,
)

T = 30


def day_index_features() -> np.ndarray:
    """Feature f of day d = 100 * f + d, so any window's content names its days."""
    return 100.0 * np.arange(len(FEATURES))[None, :] + np.arange(T)[:, None]


def test_bp_window_is_one_day_of_six_features_and_targets_the_next_close():
    values = day_index_features()
    spec = BPPredictor().window()
    x = build_inputs(values, np.array([5, 9]), spec, relative=False)
    assert x.shape == (2, 1, 6)
    assert x[0, 0].tolist() == [5, 105, 205, 305, 405, 505]
    assert target_rows(np.array([5, 9]), spec).tolist() == [[6], [10]]


def test_lstm1d_window_cuts_the_last_L_closes_into_t_segments():
    values = day_index_features()
    spec = LSTM1DPredictor(L=6, t=3).window()  # x_dim = 2
    x = build_inputs(values, np.array([10]), spec, relative=False)
    close = 100 * CLOSE
    # the closes of days 5..10, two per time node
    assert x.shape == (1, 3, 2)
    assert (x[0] - close).tolist() == [[5, 6], [7, 8], [9, 10]]
    # targets: first close of the next segment, and the (L+1)-th close (day 11)
    assert target_rows(np.array([10]), spec).tolist() == [[7, 9, 11]]


def test_multi_dimensional_lstm_window_is_t_days_by_six_with_next_day_targets():
    values = day_index_features()
    spec = LSTMPredictor(t=4).window()
    x = build_inputs(values, np.array([7, 8]), spec, relative=False)
    assert x.shape == (2, 4, 6)
    assert x[0, :, 0].tolist() == [4, 5, 6, 7]  # open of days 4..7
    assert x[0, 1].tolist() == [5, 105, 205, 305, 405, 505]  # all six features of day 5
    assert np.array_equal(x[1, :3], x[0, 1:])  # the next window: shifted by one day
    assert target_rows(np.array([7, 8]), spec).tolist() == [[5, 6, 7, 8], [6, 7, 8, 9]]


def test_relative_windows_subtract_the_anchor_close_from_prices_only():
    values = day_index_features()
    spec = LSTMPredictor(t=2).window()
    x = build_inputs(values, np.array([12]), spec, relative=True)
    anchor_close = values[12, CLOSE]
    assert x[0, :, 0].tolist() == [11 - anchor_close, 12 - anchor_close]  # open
    assert x[0, :, 4].tolist() == [411, 412]  # volume untouched
    log_close = np.log(np.arange(1.0, T + 1))
    y = build_targets(log_close, np.array([12]), spec, relative=True)
    assert y[0].tolist() == pytest.approx([0.0, log_close[13] - log_close[12]])


def test_valid_anchors_need_a_full_window_without_nan():
    values = day_index_features()
    values[3, CLOSE] = np.nan
    spec = LSTM1DPredictor(L=4, t=2).window()
    kept = valid_anchors(values, np.arange(T), spec)
    # anchor a reads days a-3..a: it needs a >= 3 and must not include day 3
    assert kept.tolist() == list(range(7, T))


def test_lstm1d_needs_t_dividing_L():
    with pytest.raises(ValueError, match="t dividing L"):
        LSTM1DPredictor.of({"L": 10, "t": 3})


def test_log_features_and_a_scaler_fitted_on_training_rows_only():
    values = np.array([[10.0, 11.0, 10.0, 9.0, 0.0, 0.0], [20.0, 22.0, 20.0, 18.0, 99.0, 9.0]])
    logged = log_features(values)
    assert logged[1, CLOSE] == pytest.approx(np.log(20.0))
    assert logged[1, 4] == pytest.approx(np.log(100.0))
    scaler = Standardizer.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert scaler.mean.tolist() == [2.0, 5.0] and scaler.std.tolist() == [1.0, 1.0]
    assert scaler.transform(np.array([[5.0, 5.0]])).tolist() == [[3.0, 0.0]]
    assert scaler.inverse(np.array([[3.0, 0.0]])).tolist() == [[5.0, 5.0]]
