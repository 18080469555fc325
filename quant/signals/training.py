"""Train or load one block's model: :func:`train_or_load` serves every model slot (the
ranker and the timer), from the training set each slot's task builds
(:func:`ranker_training_set`, :func:`timer_training_set`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from quant.features import HORIZON, CNNInputs, CNNLabels, forward_returns, lstm_windows
from quant.io import write_atomic
from quant.manifest import DamagedError, add_to_manifest, check_files
from quant.models import Model, train
from quant.models.training import (
    Arrays,
    CheckpointError,
    TrainResult,
    checkpoint_bytes,
    load_checkpoint,
    pick_device,
)
from quant.signals.config import SignalError
from quant.signals.models import model_identity, model_key
from quant.signals.plan import Block, Run, chronological_split

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSet:
    """What a block's model learns from: (inputs, targets) to train on, the same to stop
    early on (None: no validation), and the counts and spans its training record keeps."""

    train: Arrays
    validation: Arrays | None
    record: dict[str, Any]


def train_or_load(
    run: Run, block: Block, slot: str, training_set: Callable[[], TrainingSet]
) -> tuple[nn.Module, dict[str, Any]]:
    """The network of model slot ``slot`` (``cnn``, ``lstm``: a field of the config) for
    ``block``, with its training record: loaded from the checkpoint an earlier build of the
    same cache key saved (``<slot>_<block>.pt`` in ``run.folder``), else from ``run.models``
    (the store of models by what they learned from, quant.signals.models), else trained on
    ``training_set()`` (called only then) and saved in both, the folder's with its checksum
    in the folder's manifest (quant.manifest). A checkpoint that is not in the manifest,
    differs from its checksum or does not load as weights only
    (quant.models.training.load_checkpoint) is never used: one warning line, and the
    model is looked for in the store or trained again. The caller holds the cache key's
    lock."""
    settings: Model = getattr(run.config, slot)
    path = None if run.folder is None else run.folder / f"{slot}_{block.name}.pt"
    if path is not None and path.exists():
        try:
            check_files(run.folder, [path.name])
            return _loaded(settings, path.read_bytes(), str(path), run)
        except (DamagedError, CheckpointError) as error:
            log.warning("%s: trained again", error)
            path.unlink(missing_ok=True)
    key, stored, meta = "", None, {}
    if run.models is not None:
        identity = model_identity(run, block, slot)
        meta = {"slot": slot, "block": block.name, "identity": identity}
        key = run.models.known(identity) or model_key(run, block, slot)
        stored = run.models.load(key, meta)
    if stored is not None:
        try:
            network, record = _loaded(settings, stored, f"model {key}", run)
        except CheckpointError as error:
            log.warning("%s: trained again", error)
        else:
            _keep(path, run, stored)
            return network, record
    data = training_set()
    start = time.perf_counter()
    network, result = train(
        settings,
        data.train,
        data.validation,
        seed=run.config.seed,
        device=run.device,
        desc=f"{settings.name} {block.name}",
    )
    record = {**data.record, **_result_record(result, time.perf_counter() - start)}
    checkpoint = checkpoint_bytes(network, {"record": record, "model": settings.to_config()})
    _keep(path, run, checkpoint)
    if run.models is not None:
        run.models.save(key, checkpoint, meta)
    return network, record


def _loaded(settings: Model, data: bytes, name: str, run: Run) -> tuple[nn.Module, dict]:
    network = settings.build()
    meta = load_checkpoint(data, network, name)
    if not isinstance(meta, dict) or not isinstance(meta.get("record"), dict):
        raise CheckpointError(f"{name}: its meta holds no training record")
    return network.to(pick_device(run.device)), meta["record"]


def _keep(path: Path | None, run: Run, checkpoint: bytes) -> None:
    """The checkpoint in the build's folder, listed in its manifest (none for a book)."""
    if path is not None:
        write_atomic(path, lambda target: target.write_bytes(checkpoint))
        add_to_manifest(run.folder, path.name)


def ranker_training_set(
    run: Run, block: Block, inputs: CNNInputs, labels: CNNLabels
) -> TrainingSet:
    """The ranker's samples: every (decision date, code) of the block's training months
    with a known label, the last months held out for validation."""
    use = np.isin(inputs.month, block.train_months) & np.isfinite(labels.label)
    if not use.any():
        raise SignalError(
            f"no CNN training sample in {run.config.train_start}..{block.name} (exclusive): "
            "a code needs 14 months of history before its first training month"
        )
    x, y, month = inputs.x[use], labels.label[use].astype(np.int64), inputs.month[use]
    val = chronological_split(month, run.config.validation_fraction)
    log.info("CNN %s: %d training, %d validation samples", block.name, (~val).sum(), val.sum())
    periods = run.months.periods
    return TrainingSet(
        (x[~val], y[~val]),
        (x[val], y[val]) if val.any() else None,
        {
            "train": int((~val).sum()),
            "validation": int(val.sum()),
            "train_months": _span(periods[month[~val]]),
            "validation_months": _span(periods[month[val]]) if val.any() else None,
        },
    )


def timer_training_set(run: Run, block: Block, window_ok: np.ndarray) -> TrainingSet:
    """The timer's samples: a seeded subsample of the windows whose 5-day label ends by the
    block's "now", the last days held out for validation and purged (no training label
    reaches into them)."""
    settings, bars = run.config.lstm, run.bars
    first_row = run.months.first_row[block.train_months[0]]
    candidates = np.flatnonzero(
        window_ok & (bars.row >= first_row) & (bars.row + HORIZON <= block.now)
    )
    ret, _ = forward_returns(run.panel, bars.row[candidates], bars.col[candidates])
    candidates = candidates[np.isfinite(ret) & (ret != 0)]
    rows = bars.row[candidates]
    val = chronological_split(rows, run.config.validation_fraction)
    if val.any():  # purge: no training label may reach into the validation days
        val_start = rows[val].min()
        keep = val | (rows + HORIZON < val_start)
        candidates, val = candidates[keep], val[keep]
    rng = np.random.default_rng([run.config.seed, int(block.now)])
    n_val = round(settings.max_train_windows * run.config.validation_fraction) if val.any() else 0
    train_part = subsample(rng, candidates[~val], settings.max_train_windows - n_val)
    val_part = subsample(rng, candidates[val], n_val)
    if not len(train_part):
        raise SignalError(f"no LSTM training window before {block.name}")

    def arrays(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ret, _ = forward_returns(run.panel, bars.row[positions], bars.col[positions])
        return lstm_windows(bars, positions), (ret > 0).astype(np.int64)

    log.info(
        "LSTM %s: %d of %d training windows, %d of %d validation windows",
        block.name,
        len(train_part),
        (~val).sum(),
        len(val_part),
        val.sum(),
    )
    dates = run.panel.dates
    return TrainingSet(
        arrays(train_part),
        arrays(val_part) if len(val_part) else None,
        {
            "candidates": int((~val).sum()),
            "train": len(train_part),
            "validation_candidates": int(val.sum()),
            "validation": len(val_part),
            "train_days": _span(dates[bars.row[train_part]]),
            "validation_days": _span(dates[bars.row[val_part]]) if len(val_part) else None,
        },
    )


def subsample(rng: np.random.Generator, positions: np.ndarray, cap: int) -> np.ndarray:
    """At most ``cap`` positions, drawn uniformly without replacement, in sorted order."""
    if len(positions) <= cap:
        return positions
    return np.sort(rng.choice(positions, size=cap, replace=False))


def _result_record(result: TrainResult, seconds: float) -> dict[str, Any]:
    return {
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "seconds": round(seconds, 2),
        "history": [
            {k: round(v, 6) for k, v in epoch.items() if k.endswith("loss")}
            for epoch in result.history
        ],
    }


def _span(values: pd.Index) -> str:
    return f"{_label(values.min())}..{_label(values.max())}"


def _label(value: Any) -> str:
    return value.date().isoformat() if isinstance(value, pd.Timestamp) else str(value)
