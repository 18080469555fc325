"""Wavelet denoising: the causal version never reads the future; the leaky one does."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.denoise import denoise, denoise_causal, denoise_leaky

WINDOW = 32


def noisy_sine(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clean = np.sin(np.arange(n) / 8.0)
    return clean, clean + 0.3 * rng.normal(size=n)


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(0, 119), shift=st.floats(-50, 50), seed=st.integers(0, 1000))
def test_causal_denoising_never_reads_the_future(cut, shift, seed):
    rng = np.random.default_rng(seed)
    series = np.cumsum(rng.normal(size=(120, 2)), axis=0)
    changed = series.copy()
    changed[cut + 1 :] += shift * rng.normal(size=changed[cut + 1 :].shape)
    before = denoise_causal(series, WINDOW)
    after = denoise_causal(changed, WINDOW)
    assert np.array_equal(before[: cut + 1], after[: cut + 1], equal_nan=True)


def test_leaky_denoising_reads_the_future():
    _, series = noisy_sine()
    changed = series.copy()
    changed[150:] += 5.0
    assert not np.allclose(denoise_leaky(series)[140:150], denoise_leaky(changed)[140:150])


def test_causal_output_starts_with_the_first_full_window_and_removes_noise():
    clean, series = noisy_sine(400)
    out = denoise_causal(series, WINDOW)
    assert np.isnan(out[: WINDOW - 1]).all() and np.isfinite(out[WINDOW - 1 :]).all()
    error_before = np.mean((series[WINDOW:] - clean[WINDOW:]) ** 2)
    error_after = np.mean((out[WINDOW:] - clean[WINDOW:]) ** 2)
    assert error_after < 0.8 * error_before
    # the last point of the causal window is denoised worse than a centred point: the leaky
    # whole-series version (which sees both sides) removes more noise
    assert np.mean((denoise_leaky(series)[WINDOW:] - clean[WINDOW:]) ** 2) < error_after


def test_dispatch_and_errors():
    _, series = noisy_sine()
    assert np.array_equal(denoise(series, "none"), series)
    assert np.array_equal(
        denoise(series, "causal", WINDOW), denoise_causal(series, WINDOW), equal_nan=True
    )
    with pytest.raises(ValueError, match="unknown wavelet mode"):
        denoise(series, "future")  # type: ignore[arg-type]
    assert np.isnan(denoise_causal(series[:10], WINDOW)).all()  # shorter than one window
