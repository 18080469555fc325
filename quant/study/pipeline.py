"""One model on one stock: split in time order, (optionally) denoise, build windows, fit the
scalers and the network on the training span, stop early on the validation span, predict
the validation and test spans.

Spans are sets of *target* days (the day whose close is predicted), in time order:

    | ... fit (train_days - val_days) ... | val (val_days) | test (test_days) |  <- last bar

A sample whose target is day d reads data up to day d-1 only, so nothing a prediction sees
comes from its own day or later; scalers see the fit span's samples only, and the network
never sees the test span. Changing any data after day k therefore cannot change a
prediction for day k+1 or earlier (the leak tests check this, wavelets on).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from quant.denoise import Mode, denoise
from quant.models import Predictor, Window, train
from quant.models.step_size import LossDependentStep
from quant.models.training import predict
from quant.study.series import CLOSE, StockSeries
from quant.study.windows import (
    Standardizer,
    build_inputs,
    build_targets,
    log_features,
    valid_anchors,
)

STEPS: tuple[str, ...] = ("adam", "loss")


@dataclass(frozen=True)
class Settings:
    """How a study run treats every stock: spans, inputs, optimiser, seed.

    ``relative``: inputs and targets as log changes against the anchor day's close (a change
    model; default) instead of log price levels (the paper's set-up, prone to "not dare to
    predict" when test prices leave the training range). ``step``: "adam" (plain Adam at the
    model's lr) or "loss" (Adam with :class:`LossDependentStep`, parameter ``alpha``)."""

    train_days: int = 1400
    val_days: int = 200
    test_days: int = 250
    wavelet: Mode = "none"
    wavelet_window: int = 64
    relative: bool = True
    step: str = "adam"
    alpha: float = 0.1
    threshold: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        if self.step not in STEPS:
            raise ValueError(f"unknown step {self.step!r}: choose one of {', '.join(STEPS)}")
        if min(self.val_days, self.test_days) < 1 or self.train_days <= self.val_days:
            raise ValueError(
                f"need test_days >= 1, val_days >= 1 and train_days > val_days, got "
                f"{self.train_days}/{self.val_days}/{self.test_days}"
            )


@dataclass(frozen=True)
class Span:
    """Target rows [start, stop) of one span."""

    start: int
    stop: int

    @property
    def rows(self) -> np.ndarray:
        return np.arange(self.start, self.stop)


@dataclass(frozen=True)
class Split:
    fit: Span
    val: Span
    test: Span


MIN_FIT_DAYS = 100


def split_rows(series: StockSeries, settings: Settings) -> Split:
    """The last ``test_days`` bars are the test targets, the ``val_days`` before them the
    validation targets, and up to ``train_days - val_days`` before those the fit targets
    (fewer when the series is shorter; too few is an error naming the code)."""
    n = len(series)
    test = Span(n - settings.test_days, n)
    val = Span(test.start - settings.val_days, test.start)
    fit_span = Span(max(1, test.start - settings.train_days), val.start)
    if fit_span.stop - fit_span.start < MIN_FIT_DAYS:
        raise ValueError(
            f"{series.code}: {n} bars leave {max(fit_span.stop - fit_span.start, 0)} training "
            f"days before the {settings.val_days} validation and {settings.test_days} test days "
            f"(need >= {MIN_FIT_DAYS}); lower --test-days/--val-days"
        )
    return Split(fit_span, val, test)


@dataclass
class SpanPrediction:
    """Predicted and actual closes of one span's target days, with what the baselines need."""

    dates: np.ndarray
    predicted: np.ndarray
    actual: np.ndarray
    previous: np.ndarray  # actual close of the day before each target day
    previous_change: np.ndarray  # actual change of the day before each target day

    @property
    def predicted_change(self) -> np.ndarray:
        return self.predicted / self.previous - 1

    @property
    def actual_change(self) -> np.ndarray:
        return self.actual / self.previous - 1


@dataclass
class RunResult:
    code: str
    model: str  # the predictor's name
    predictor: Predictor
    settings: Settings
    val: SpanPrediction
    test: SpanPrediction
    training_changes: np.ndarray  # actual changes of the fit and validation target days
    info: dict[str, Any] = field(default_factory=dict)


def run_model(series: StockSeries, predictor: Predictor, settings: Settings) -> RunResult:
    """Train ``predictor`` on ``series`` and predict its validation and test spans.
    Deterministic for a given seed (same numbers whatever the number of threads)."""
    started = time.perf_counter()
    split, features, inputs, spec, usable = _prepare(series, predictor, settings)
    log_close = features[:, CLOSE]

    def samples(name: str) -> tuple[np.ndarray, np.ndarray]:
        a = usable[name]
        return (
            build_inputs(inputs, a, spec, settings.relative),
            build_targets(log_close, a, spec, settings.relative),
        )

    (x_fit, y_fit), (x_val, y_val), (x_test, _) = (samples(n) for n in ("fit", "val", "test"))
    x_scaler, y_scaler = Standardizer.fit(x_fit), Standardizer.fit(y_fit)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is as fast and makes runs repeatable
    try:
        step = LossDependentStep(predictor.lr, settings.alpha) if settings.step == "loss" else None
        network, trained = train(
            predictor,
            (x_scaler.transform(x_fit), y_scaler.transform(y_fit)),
            (x_scaler.transform(x_val), y_scaler.transform(y_val)),
            seed=settings.seed,
            progress=False,
            desc=f"{series.code} {predictor.name}",
            step_size=step,
        )

        previous_close = np.concatenate([[np.nan], series.close[:-1]])  # NaN before bar 0

        def forecast(x: np.ndarray, a: np.ndarray) -> SpanPrediction:
            last = y_scaler.inverse(predict(network, x_scaler.transform(x)))[:, -1]
            predicted_log = last + log_close[a] if settings.relative else last
            close = series.close
            return SpanPrediction(
                dates=series.dates[a + 1].to_numpy(),
                predicted=np.exp(predicted_log),
                actual=close[a + 1],
                previous=close[a],
                previous_change=close[a] / previous_close[a] - 1,
            )

        val_prediction = forecast(x_val, usable["val"])
        test_prediction = forecast(x_test, usable["test"])
    finally:
        torch.set_num_threads(threads)

    past = np.arange(split.fit.start, split.val.stop)
    info = {
        "best_epoch": trained.best_epoch,
        "epochs_run": trained.epochs_run,
        "best_val_loss": trained.best_val_loss,
        "final_train_loss": trained.history[-1]["train_loss"],
        "final_lr": trained.history[-1]["lr"],
        "fit_samples": len(x_fit),
        "val_samples": len(x_val),
        "test_samples": len(x_test),
        "fit_dates": _dates(series, usable["fit"]),
        "val_dates": _dates(series, usable["val"]),
        "test_dates": _dates(series, usable["test"]),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return RunResult(
        code=series.code,
        model=predictor.name,
        predictor=predictor,
        settings=settings,
        val=val_prediction,
        test=test_prediction,
        training_changes=series.close[past] / series.close[past - 1] - 1,
        info=info,
    )


def _prepare(
    series: StockSeries, predictor: Predictor, settings: Settings
) -> tuple[Split, np.ndarray, np.ndarray, Window, dict[str, np.ndarray]]:
    """Spans, log features, (denoised) inputs, window shape and the usable anchors of each
    span; a clear error when the series cannot hold them."""
    split = split_rows(series, settings)
    features = log_features(series.values)
    inputs = denoise(features, settings.wavelet, settings.wavelet_window)
    spec = predictor.window()
    anchors = {name: getattr(split, name).rows - 1 for name in ("fit", "val", "test")}
    usable = {name: valid_anchors(inputs, a, spec) for name, a in anchors.items()}
    if len(usable["test"]) < len(anchors["test"]):
        first = series.dates[anchors["test"][0] + 1].date()
        raise ValueError(
            f"{series.code}: a {predictor.name} window of {spec.days} days does not fit before the test "
            f"span starting {first}; use fewer window days or fewer test days"
        )
    if len(usable["fit"]) < MIN_FIT_DAYS or len(usable["val"]) == 0:
        raise ValueError(
            f"{series.code}: only {len(usable['fit'])} training and {len(usable['val'])} "
            f"validation windows of {spec.days} days for {predictor.name}; need more history"
        )
    return split, features, inputs, spec, usable


def check_task(task: tuple[StockSeries, Predictor, Settings]) -> None:
    """Raise now, before any training, if a task cannot run (series too short, bad window)."""
    _prepare(*task)


def _dates(series: StockSeries, anchors: np.ndarray) -> list[str]:
    """First and last target date of a span."""
    targets = series.dates[anchors + 1]
    return [targets[0].date().isoformat(), targets[-1].date().isoformat()]


def run_task(task: tuple[StockSeries, Predictor, Settings]) -> RunResult:
    """:func:`run_model` on one (series, predictor, settings) tuple: the unit of work
    that :func:`quant.study.parallel.run_all` sends to a process."""
    return run_model(*task)
