"""The study's scores of one span's predictions: direction accuracy (all days, and only the
days with |predicted change| >= threshold), each beside the naive baselines on the same
days, price accuracy beside "tomorrow = today", and the spread of predicted changes."""

from __future__ import annotations

from typing import Any

import numpy as np

from quant.metrics.accuracy import (
    Accuracy,
    always_up_accuracy,
    change_spread,
    direction_accuracy,
    majority_accuracy,
    price_accuracy,
    threshold_mask,
    yesterday_direction_accuracy,
)
from quant.study.pipeline import SpanPrediction

BASELINES: tuple[str, ...] = ("always_up", "yesterday", "majority")


def direction_block(
    span: SpanPrediction, training_changes: np.ndarray, mask: np.ndarray | None = None
) -> dict[str, Accuracy]:
    """The model's direction accuracy and the three baselines', all on the same days."""
    actual = span.actual_change
    return {
        "model": direction_accuracy(span.predicted_change, actual, mask),
        "always_up": always_up_accuracy(actual, mask),
        "yesterday": yesterday_direction_accuracy(actual, span.previous_change, mask),
        "majority": majority_accuracy(actual, training_changes, mask),
    }


def log_mse(span: SpanPrediction) -> float:
    """Mean squared error of the predicted log close: comparable across every model and
    window shape (the training loss is not: its scaling depends on the window)."""
    return float(np.mean((np.log(span.predicted) - np.log(span.actual)) ** 2))


def score_span(
    span: SpanPrediction, training_changes: np.ndarray, threshold: float
) -> dict[str, Any]:
    """All scores of one span, JSON-ready."""
    mask = threshold_mask(span.predicted_change, threshold)
    return {
        "days": len(span.actual),
        "direction": {k: v.as_dict() for k, v in direction_block(span, training_changes).items()},
        "thresholded": {
            "threshold": threshold,
            **{k: v.as_dict() for k, v in direction_block(span, training_changes, mask).items()},
        },
        "price_accuracy": price_accuracy(span.predicted, span.actual),
        "price_accuracy_naive": price_accuracy(span.previous, span.actual),
        "spread": change_spread(span.predicted_change, span.actual_change),
        "log_mse": log_mse(span),
    }
