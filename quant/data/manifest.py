"""The manifest of a folder of bars (an akshare store, an imported store, a synthetic
market): ``manifest.json``, what the folder holds and where it came from. Readers take from
it what the bars cannot say (approximated fields, notes, codes still listed at the end);
quant.data.store writes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quant.data.errors import DataError

MANIFEST = "manifest.json"
FORMAT = 1


def read_manifest(root: str | Path) -> dict[str, Any] | None:
    """The manifest of a store (or a synthetic market) folder; None if there is none."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{path}: not a manifest of format {FORMAT}")
    return manifest


def manifest_of(root: str | Path) -> dict[str, Any] | None:
    """The folder's manifest, or None where there is none or the manifest.json is someone
    else's (the folder is then plain files)."""
    if not Path(root).is_dir():
        return None
    try:
        return read_manifest(root)
    except DataError:
        return None
