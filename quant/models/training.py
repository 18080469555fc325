"""The one training loop every model of the platform uses: seeded, mini-batched, with L2
(weight decay), early stopping on a chronological validation split (best weights are
restored), an optional loss-dependent step size, progress by epoch (quant.progress), and
checkpoints that hold weights and JSON only (read without unpickling code)."""

from __future__ import annotations

import copy
import io
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from quant import progress
from quant.errors import UserError
from quant.io import atomic_path

Arrays = tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor]


@dataclass
class TrainConfig:
    """How to train. ``weight_decay`` is the L2 penalty; ``patience`` epochs without a
    better validation loss stop training (0 disables early stopping)."""

    max_epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    seed: int = 0
    device: str | None = None
    shuffle: bool = True
    progress: bool = True  # report each epoch (False: trainings too small to be worth it)
    desc: str = "training"  # the stage's name in progress reports

    @classmethod
    def of(cls, settings: Any, **overrides: Any) -> TrainConfig:
        """The loop's config from a model's settings: every field they share (lr,
        batch_size, weight_decay, max_epochs, patience...), then ``overrides``."""
        shared = {
            f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)
        }
        return cls(**{**shared, **overrides})


@dataclass
class TrainResult:
    best_epoch: int
    best_val_loss: float
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def stopped_early(self) -> bool:
        return self.best_epoch < self.epochs_run


#: Maps the latest training loss to the next learning rate (see quant.models.step_size).
StepSize = Callable[[float], float]


def seed_everything(seed: int) -> None:
    """Fix Python's, NumPy's and torch's random state: same seed, same model."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - third-party code may use the global state
    torch.manual_seed(seed)


def pick_device(preferred: str | None = None) -> torch.device:
    """The GPU when torch sees one (or the device asked for), the CPU otherwise."""
    if preferred:
        return torch.device(preferred)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_tensor(values: np.ndarray | torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    tensor = values if isinstance(values, torch.Tensor) else torch.from_numpy(np.asarray(values))
    if dtype is not None:
        return tensor.to(dtype)
    return tensor.float() if tensor.is_floating_point() else tensor


def fit(
    model: nn.Module,
    train: Arrays,
    loss_fn: nn.Module,
    config: TrainConfig,
    validation: Arrays | None = None,
    step_size: StepSize | None = None,
) -> TrainResult:
    """Train ``model`` in place on (inputs, targets) and return what happened.

    With ``validation``, the epoch with the lowest validation loss wins and its weights are
    restored at the end. ``step_size``, if given, sets the learning rate before every batch
    from the previous batch's loss (a loss-dependent step).
    """
    seed_everything(config.seed)
    device = pick_device(config.device)
    model.to(device)
    x_train, y_train = (as_tensor(a) for a in train)
    if len(x_train) == 0:
        raise ValueError(f"{config.desc}: no training samples")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    best_state = copy.deepcopy(model.state_dict())
    best_loss, best_epoch, stale = math.inf, 0, 0
    history: list[dict[str, float]] = []
    last_loss: float | None = None

    with progress.step(
        config.desc, config.max_epochs, "epoch", quiet=not config.progress, upto=True
    ) as epochs:
        epoch = 0
        for epoch in range(1, config.max_epochs + 1):
            model.train()
            order = (
                torch.randperm(len(x_train), generator=generator)
                if config.shuffle
                else torch.arange(len(x_train))
            )
            total, count = 0.0, 0
            for start in range(0, len(order), config.batch_size):
                index = order[start : start + config.batch_size]
                xb, yb = x_train[index].to(device), y_train[index].to(device)
                if step_size is not None and last_loss is not None:
                    for group in optimizer.param_groups:
                        group["lr"] = step_size(last_loss)
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
                last_loss = float(loss.detach())
                total += last_loss * len(index)
                count += len(index)
            record = {
                "epoch": epoch,
                "train_loss": total / count,
                "lr": optimizer.param_groups[0]["lr"],
            }
            if validation is not None:
                record["val_loss"] = evaluate(model, validation, loss_fn, config.batch_size, device)
                monitored = record["val_loss"]
            else:
                monitored = record["train_loss"]
            history.append(record)
            if monitored < best_loss - 1e-12:
                best_loss, best_epoch, stale = monitored, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            losses = " ".join(f"{k} {v:.4g}" for k, v in record.items() if k.endswith("loss"))
            epochs.advance(note=f"{losses}, best epoch {best_epoch} ({best_loss:.4g})")
            if validation is not None and config.patience and stale >= config.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(best_epoch, best_loss, epoch, history)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: Arrays,
    loss_fn: nn.Module,
    batch_size: int = 4096,
    device: torch.device | None = None,
) -> float:
    """Mean loss of ``model`` on (inputs, targets), in eval mode (no dropout)."""
    x, y = (as_tensor(a) for a in data)
    device = device or next(model.parameters()).device
    model.eval()
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size].to(device), y[start : start + batch_size].to(device)
        total += float(loss_fn(model(xb), yb)) * len(xb)
    return total / max(len(x), 1)


@torch.no_grad()
def predict(
    model: nn.Module,
    inputs: np.ndarray | torch.Tensor,
    batch_size: int = 4096,
    fixed: bool = False,
) -> np.ndarray:
    """Model outputs in eval mode, as a NumPy array on the CPU. With ``fixed``, every
    forward pass has exactly ``batch_size`` rows (the last batch padded with zeros, whose
    outputs are dropped): the arithmetic of BLAS kernels depends on the shape they are
    given, so without it a row's output can differ in its last bits with the number of
    rows predicted beside it. The walk-forward signals use it, so that a paper book's
    evening, which predicts one day, gives what a backtest's whole block gave
    (tests/test_live_replay.py)."""
    x = as_tensor(inputs)
    device = next(model.parameters()).device
    model.eval()
    outputs = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        rows = len(batch)
        if fixed and rows < batch_size:
            batch = torch.cat([batch, batch.new_zeros((batch_size - rows, *batch.shape[1:]))])
        outputs.append(model(batch.to(device)).cpu()[:rows])
    if not outputs:
        return np.empty((0,))
    return torch.cat(outputs).numpy()


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded into the model: not one of ours, damaged, or
    holding anything but tensors and JSON (a pickle that would run code); one line."""


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict[str, Any]) -> Path:
    """The model's weights (its ``state_dict``: tensors) and ``meta`` (as JSON text:
    whatever rebuilds the model, its training record), atomically, with ``torch.save``."""
    data = checkpoint_bytes(model, meta)
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def checkpoint_bytes(model: nn.Module, meta: dict[str, Any]) -> bytes:
    """What :func:`save_checkpoint` writes, as bytes (a paper book keeps them in its
    database)."""
    payload = {"state_dict": model.state_dict(), "meta": json.dumps(meta, default=str)}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def load_checkpoint(
    source: str | Path | bytes, model: nn.Module, name: str | None = None
) -> dict[str, Any]:
    """Load weights saved by :func:`save_checkpoint` (a file, or its bytes) into
    ``model``; returns the meta.

    Read with ``torch.load(weights_only=True)``: its unpickler builds tensors, dicts, lists
    and plain values only, so a crafted file cannot run code (torch's "Serialization
    semantics", weights_only). Raises :class:`CheckpointError` (one line naming the file,
    or ``name``) for a file that is not such a checkpoint of this model, whatever is wrong
    with it."""
    name = name or str(source if not isinstance(source, bytes) else "checkpoint")
    try:
        readable = io.BytesIO(source) if isinstance(source, bytes) else source
        payload = torch.load(readable, map_location="cpu", weights_only=True)
        meta = json.loads(payload["meta"])
        model.load_state_dict(payload["state_dict"])
    except Exception as error:  # an untrusted file: any failure of the reader is its fault
        lines = str(error).strip().splitlines() or [""]
        raise CheckpointError(
            f"{name}: not a weights-only checkpoint of this model "
            f"({type(error).__name__}: {lines[0][:200]})"
        ) from None
    model.eval()
    return meta
