"""Manifests: the files of a folder with their sizes and SHA-256 checksums, so that a
reader tells a whole, untouched folder (a cache entry, a run folder, a sweep's cell) from a
damaged one (a truncated file, a flipped bit, a file missing, overwritten or added) before
it uses a byte of it.

``manifest.json`` in the folder: ``{"version": 1, "files": {NAME: {"bytes": N, "sha256":
HEX}}}``, names relative to the folder with ``/`` between parts, written atomically
(quant.io). A folder is whole when every file its manifest lists is there with its size and
checksum (:func:`check_files`); with ``exact``, it also holds no file the manifest does not
list (temporaries of atomic writes aside).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from quant.errors import UserError
from quant.io import TEMPORARY, read_bounded, write_text_atomic

MANIFEST = "manifest.json"
VERSION = 1
#: A manifest larger than this is not one of ours (a run folder's lists a few dozen files).
MAX_MANIFEST_BYTES = 4 * 2**20
CHUNK = 2**20


class DamagedError(UserError):
    """A folder's files do not match its manifest; the message names the folder and the
    file, in one line."""


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(path: Path) -> dict[str, Any]:
    """A manifest's entry for ``path``: its size in bytes and its SHA-256."""
    return {"bytes": path.stat().st_size, "sha256": sha256(path)}


def folder_files(folder: Path) -> list[str]:
    """The files under ``folder`` (at any depth) a manifest lists: all but the manifest
    itself and temporaries of atomic writes (quant.io)."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file()
        and path.name != MANIFEST
        and not any(TEMPORARY.match(part) for part in path.relative_to(folder).parts)
    )


def write_manifest(folder: str | Path, names: Iterable[str] | None = None) -> dict[str, Any]:
    """Write ``folder``'s manifest of ``names`` (default: every file of
    :func:`folder_files`) atomically; returns its ``files`` table."""
    folder = Path(folder)
    files = {name: describe_file(folder / name) for name in sorted(names or folder_files(folder))}
    _write(folder, files)
    return files


def add_to_manifest(folder: str | Path, *names: str) -> None:
    """List ``names`` (files of ``folder``) in its manifest beside the files it lists
    already (a damaged or missing manifest starts afresh). The caller holds the folder's
    lock: two writers at once would each drop the other's entry."""
    folder = Path(folder)
    try:
        files = read_manifest(folder)
    except DamagedError:
        files = {}
    files.update({name: describe_file(folder / name) for name in names})
    _write(folder, files)


def read_manifest(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The ``files`` table of ``folder``'s manifest. Raises :class:`DamagedError` when it
    is missing, too large or not a manifest."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        values = json.loads(read_bounded(path, MAX_MANIFEST_BYTES))
    except FileNotFoundError:
        raise DamagedError(f"{folder}: no {MANIFEST}") from None
    except (OSError, ValueError) as error:  # too large, unreadable, not JSON
        raise DamagedError(f"{path}: not a manifest ({_first_line(error)})") from None
    files = values.get("files") if isinstance(values, dict) else None
    if (
        not isinstance(values, dict)
        or values.get("version") != VERSION
        or not isinstance(files, dict)
        or not all(_is_entry(entry) for entry in files.values())
    ):
        raise DamagedError(f"{path}: not a manifest of version {VERSION}")
    return files


def check_files(
    folder: str | Path, names: Iterable[str] | None = None, *, exact: bool = False
) -> dict[str, dict[str, Any]]:
    """Check files of ``folder`` against its manifest: ``names`` (each must be listed), or
    every file it lists; with ``exact``, the folder may also hold no file it does not list.
    Returns the manifest's ``files``. Raises :class:`DamagedError` naming the first file at
    fault."""
    folder = Path(folder)
    files = read_manifest(folder)
    for name in files if names is None else names:
        if name not in files:
            raise DamagedError(f"{folder}: {name} is not in its {MANIFEST}")
        check_file(folder, name, files[name])
    if exact:
        extra = sorted(set(folder_files(folder)) - set(files))
        if extra:
            raise DamagedError(f"{folder}: {extra[0]} is not in its {MANIFEST}")
    return files


def check_file(folder: Path, name: str, expected: dict[str, Any]) -> None:
    """One file against its manifest entry; :class:`DamagedError` if it differs."""
    path = folder / name
    if not path.is_file():
        raise DamagedError(f"{folder}: {name} is missing")
    size = path.stat().st_size
    if size != expected["bytes"]:
        raise DamagedError(
            f"{folder}: {name} has {size:,} bytes, its {MANIFEST} says {expected['bytes']:,}"
        )
    if sha256(path) != expected["sha256"]:
        raise DamagedError(f"{folder}: {name} differs from its checksum in {MANIFEST}")


def _write(folder: Path, files: dict[str, dict[str, Any]]) -> None:
    text = json.dumps({"version": VERSION, "files": dict(sorted(files.items()))}, indent=1)
    write_text_atomic(folder / MANIFEST, text + "\n")


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("bytes"), int)
        and isinstance(entry.get("sha256"), str)
    )


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__
