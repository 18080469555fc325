"""Walk-forward models found by what they learned from: a model's key
(:func:`model_key`) hashes its settings, its seed, its block's training months and "now",
and the data up to that "now" (:func:`data_until`), and nothing after it. A backtest of any
window and a paper book's evening that reach the same block with the same data up to its
"now" need the same model, and find it under the same key: a book reuses the models a
backtest trained, and ``quant live status`` compares a book with a backtest on the book's
own models.

A store (:class:`ModelStore`) keeps checkpoints (quant.models.training: weights and JSON
only) by key: :class:`FolderModels` in the signal cache (``<cache>/signals/models``, a
manifest with each file's checksum), a book's database (quant.live.book).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from filelock import FileLock

from quant.data.panel import MarketPanel
from quant.io import write_atomic
from quant.manifest import DamagedError, add_to_manifest, check_files

if TYPE_CHECKING:
    from quant.signals.plan import Block, Run

log = logging.getLogger(__name__)

#: Bump when a change of the code changes what a model learns from its key's inputs.
MODEL_VERSION = 1


class ModelStore(Protocol):
    """Checkpoints by model key."""

    def known(self, identity: str) -> str | None:
        """The key of the model the store already chose for ``identity`` (what a model is
        without its data: :func:`model_identity`), or None: a book keeps trading with the
        models it trained, without hashing their data every evening."""

    def load(self, key: str, meta: dict) -> bytes | None:
        """The checkpoint's bytes, checked against their checksum; None when the store
        has none (or only a damaged one, reported in one warning line). ``meta``: the
        model's ``slot``, ``block`` and ``identity``."""

    def save(self, key: str, data: bytes, meta: dict) -> None:
        """Keep a checkpoint (``meta``: its ``slot``, ``block`` and ``identity``)."""


class FolderModels:
    """A folder of checkpoints, ``<key>.pt``, listed with their checksums in the folder's
    manifest (quant.manifest); writers take the folder's lock."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def known(self, identity: str) -> str | None:
        return None

    def load(self, key: str, meta: dict | None = None) -> bytes | None:
        name = f"{key}.pt"
        path = self.folder / name
        if not path.exists():
            return None
        try:
            check_files(self.folder, [name])
        except DamagedError as error:
            log.warning("%s: not used", error)
            return None
        return path.read_bytes()

    def save(self, key: str, data: bytes, meta: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(self.folder / ".lock"):
            write_atomic(self.folder / f"{key}.pt", lambda path: path.write_bytes(data))
            add_to_manifest(self.folder, f"{key}.pt")


def model_identity(run: Run, block: Block, slot: str) -> str:
    """What the model of ``slot`` (``cnn``, ``lstm``) that ``block`` trains in ``run`` is,
    less its data: its settings, the seed, the validation share, the block's training
    months and "now"."""
    config = run.config
    periods = run.months.periods
    payload = {
        "version": MODEL_VERSION,
        "slot": slot,
        "model": getattr(config, slot).to_config(),
        "seed": config.seed,
        "validation_fraction": config.validation_fraction,
        "train": [str(periods[block.train_months[0]]), str(periods[block.train_months[-1]])],
        "now": str(run.panel.dates[block.now].date()),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def model_key(run: Run, block: Block, slot: str) -> str:
    """24 hex digits naming the model: its identity (:func:`model_identity`) and the data
    up to its block's "now" (:func:`data_until`)."""
    text = f"{model_identity(run, block, slot)}:{data_until(run.panel, block.now)}"
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def data_until(panel: MarketPanel, row: int) -> str:
    """Hash of the data up to ``row`` (inclusive): its sessions, and the codes with a bar
    by then with their raw arrays up to it. The same for a panel of later data and for the
    panel as known at that row's close (quant.data.asof), whose later codes have no bar yet."""
    cache = panel.__dict__.setdefault("_data_until", {})
    if row not in cache:
        rows = slice(0, row + 1)
        cols = np.flatnonzero(panel.has_bar[rows].any(axis=0))
        digest = hashlib.blake2b(digest_size=16)
        digest.update(panel.dates[rows].asi8.tobytes())
        digest.update("\0".join(panel.codes[cols]).encode())
        for name in ("open", "high", "low", "close", "volume", "amount", "adj_factor"):
            values = np.ascontiguousarray(getattr(panel, name)[rows][:, cols])
            digest.update(str(values.dtype).encode())
            digest.update(values.data)
        cache[row] = digest.hexdigest()
    return cache[row]
