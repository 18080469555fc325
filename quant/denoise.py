"""Wavelet denoising of daily series (PyWavelets), causal by default.

Both variants use the universal soft threshold sigma * sqrt(2 ln N) on every detail level,
with sigma = MAD(finest details) / 0.6745 (Donoho-Johnstone), N the length denoised.

- :func:`denoise_causal` (the one to use): the value of day i is the last point of the
  denoised trailing window of days i-W+1..i, so it depends on days <= i only. The first W-1
  days have no full window and are NaN (callers drop windows that touch them).
- :func:`denoise_leaky` **LEAKS THE FUTURE**: it denoises the whole series at once, so day
  i's value is smoothed with days after i. It exists only to measure how much this common
  mistake inflates accuracy; it is never a default.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pywt

Mode = Literal["none", "causal", "leaky"]
MODES: tuple[str, ...] = ("none", "causal", "leaky")
DEFAULT_WINDOW = 64
DEFAULT_WAVELET = "db4"
DEFAULT_LEVEL = 3


def _denoise_last_axis(values: np.ndarray, wavelet: str, level: int) -> np.ndarray:
    """Denoise every row of ``values`` along its last axis; same shape back."""
    length = values.shape[-1]
    level = min(level, pywt.dwt_max_level(length, pywt.Wavelet(wavelet).dec_len))
    if level < 1:
        raise ValueError(f"{length} points are too few for a {wavelet} wavelet decomposition")
    coeffs = pywt.wavedec(values, wavelet, level=level, axis=-1)
    sigma = np.median(np.abs(coeffs[-1]), axis=-1, keepdims=True) / 0.6745
    threshold = sigma * math.sqrt(2.0 * math.log(length))
    details = [np.sign(c) * np.maximum(np.abs(c) - threshold, 0.0) for c in coeffs[1:]]
    return pywt.waverec([coeffs[0], *details], wavelet, axis=-1)[..., :length]


def denoise_causal(
    values: np.ndarray,
    window: int = DEFAULT_WINDOW,
    wavelet: str = DEFAULT_WAVELET,
    level: int = DEFAULT_LEVEL,
) -> np.ndarray:
    """Denoise each column of ``values`` (T, ...) along time using only the trailing
    ``window`` days of each day; rows before the first full window are NaN."""
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.nan)
    if len(values) < window:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)  # (T-W+1, ..., W)
    out[window - 1 :] = _denoise_last_axis(windows, wavelet, level)[..., -1]
    return out


def denoise_leaky(
    values: np.ndarray, wavelet: str = DEFAULT_WAVELET, level: int = DEFAULT_LEVEL
) -> np.ndarray:
    """LEAKS THE FUTURE: denoise each column over the whole series at once. For measuring
    the inflation that look-ahead smoothing causes, never for real predictions."""
    values = np.asarray(values, dtype=float)
    return np.moveaxis(_denoise_last_axis(np.moveaxis(values, 0, -1), wavelet, level), -1, 0)


def denoise(values: np.ndarray, mode: Mode = "none", window: int = DEFAULT_WINDOW) -> np.ndarray:
    """Dispatch on ``mode``: "none" returns the values unchanged (as floats)."""
    if mode == "none":
        return np.asarray(values, dtype=float)
    if mode == "causal":
        return denoise_causal(values, window)
    if mode == "leaky":
        return denoise_leaky(values)
    raise ValueError(f"unknown wavelet mode {mode!r}: choose one of {', '.join(MODES)}")
