"""The signal tables on disk, in a folder named by a hash of the data and the config
(:func:`cache_key`), so that a second build with the same data and config reads them
instead of training. The folder's manifest (quant.manifest) holds the checksum of every
table, of report.json and of each model's checkpoint: a file that differs from it is never
read."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.io import write_atomic, write_text_atomic
from quant.manifest import DamagedError, add_to_manifest, check_files
from quant.signals.config import SignalConfig

#: Bump when a change of the code changes the tables or their report, so old caches are
#: not reused (3: the timer's quality gained the always-down baseline; 4: manifests and
#: weights-only checkpoints).
CACHE_VERSION = 4
TABLES = ("selection", "timing", "cnn_monthly")
#: The files of a complete set of tables (report.json last: it marks the set complete).
TABLE_FILES = (*(f"{name}.parquet" for name in TABLES), "report.json")


@dataclass(frozen=True)
class SignalTables:
    """One build's tables (quant.signals.tables, quant.signals.quality) and its report:
    ``{"key", "version", "config", "quality": {"cnn", "lstm"}, "training": [one record per
    block]}``; ``folder`` holds them."""

    selection: pd.DataFrame
    timing: pd.DataFrame
    cnn_monthly: pd.DataFrame
    report: dict[str, Any]
    folder: Path

    @property
    def quality(self) -> dict[str, Any]:
        return self.report["quality"]


def panel_fingerprint(panel: MarketPanel) -> str:
    """Hash of everything the signals read: the calendar, the codes and the raw arrays."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(panel.dates.asi8.tobytes())
    digest.update("\0".join(panel.codes).encode())
    for name in ("open", "high", "low", "close", "volume", "amount", "adj_factor"):
        values = np.ascontiguousarray(getattr(panel, name))
        digest.update(str(values.dtype).encode())
        digest.update(values.data)
    return digest.hexdigest()


def cache_key(panel: MarketPanel, config: SignalConfig) -> str:
    """20 hex digits from the data (:func:`panel_fingerprint`), the config and
    :data:`CACHE_VERSION`."""
    payload = {
        "version": CACHE_VERSION,
        "data": panel_fingerprint(panel),
        "config": config.to_dict(),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def save_tables(tables: SignalTables) -> None:
    """Each table atomically, then report.json (its presence marks a complete set), then
    their checksums in the folder's manifest. The caller holds the cache key's lock."""
    for name in TABLES:
        frame = getattr(tables, name)
        write_atomic(tables.folder / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p))
    text = json.dumps(tables.report, indent=2, default=json_default, allow_nan=True)
    write_text_atomic(tables.folder / "report.json", text)
    add_to_manifest(tables.folder, *TABLE_FILES)


def load_tables(folder: str | Path) -> SignalTables | None:
    """Tables saved by :func:`save_tables`, or None when the folder holds no complete set.
    Raises :class:`quant.manifest.DamagedError` (one line naming the file) when a file of
    the set is missing, not in the manifest or differs from its checksum."""
    folder = Path(folder)
    report_path = folder / "report.json"
    if not report_path.exists():
        return None
    check_files(folder, TABLE_FILES)
    try:
        frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # checked bytes of ours: only a bug gets here
        raise DamagedError(f"{folder}: cannot read its tables ({error})") from None
    return SignalTables(**frames, report=report, folder=folder)


def discard_tables(folder: Path) -> None:
    """Remove a set of tables (the checkpoints stay: each is checked when it is read)."""
    for name in TABLE_FILES:
        (folder / name).unlink(missing_ok=True)


def json_default(value: Any) -> Any:
    """numpy scalars as Python numbers, for ``json.dumps``."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
