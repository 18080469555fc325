"""Run folders that are whole: checked before any work, written beside, swapped in.

A run is written into a temporary folder beside its target (``.<name>.<pid>.<random>.tmp``,
see quant.io.atomic_folder) and put in place only once every file is written, with a
manifest of their checksums (quant.manifest) written last: an existing
run folder is swapped out in one step and then deleted, so a reader of the target sees
the old run or the new one, whole, at every moment. Whatever a killed run leaves beside
its target is named after the run's process and removed by the next run into that
target, once that process has ended (quant.io.remove_stale_temporaries).

What may be written over (checked by :func:`check_output` before any work, and again
before the swap):

- nothing there, or an empty folder: written;
- a run folder (``config.toml`` and ``metrics.json``, and only files of the kinds a run
  writes, see :data:`RUN_FILE_SUFFIXES`): replaced whole with ``force``, refused without;
- anything else (a file, a folder holding other files or folders, the file system's root,
  the current folder or one holding it): refused, never deleted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from quant.errors import UserError
from quant.io import (
    TEMPORARY,
    atomic_folder,
    os_error_text,
    remove_stale_temporaries,
    temporary_prefix,
)
from quant.manifest import write_manifest

#: Files that mark a folder as a run folder.
RUN_MARKERS = ("config.toml", "metrics.json")
#: The kinds of files a run folder holds (see quant.report.write_run).
RUN_FILE_SUFFIXES = frozenset({".toml", ".json", ".csv", ".parquet", ".png", ".md", ".html"})


class OutputError(UserError):
    """The run folder cannot be written where asked; the message says why."""


def check_output(target: str | Path, force: bool = False) -> Path:
    """Fail now, with one line, if the run folder cannot be written to ``target`` at the
    end: ``target`` is a file or holds other files, holds a run and ``force`` is not set,
    or its parent cannot be created or written (probed by creating and removing a
    temporary folder there). Removes what killed runs left beside ``target``. Returns the
    absolute target. Raises :class:`OutputError`."""
    target = _prepare(target, force)
    try:
        probe = tempfile.mkdtemp(prefix=temporary_prefix(target), suffix=".tmp", dir=target.parent)
        Path(probe).rmdir()
    except OSError as error:
        raise OutputError(f"cannot write the run folder {target}: {os_error_text(error)}") from None
    return target


@contextmanager
def staged_folder(target: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target`` to write a run into; when the
    block ends without error, write its manifest and put it in place of ``target`` (by the
    module's rules). On
    an error or an interrupt the temporary folder is deleted and ``target`` is left as it
    was. Raises :class:`OutputError`, also for a failed write (a full disk)."""
    target = _prepare(target, force)
    try:
        with atomic_folder(target, lambda t: _refuse_unless_writable(t, force)) as folder:
            yield folder
            write_manifest(folder)
    except OSError as error:
        raise OutputError(
            f"cannot write the run folder {target}: {os_error_text(error)} (what was there is "
            "left as it was)"
        ) from None


def _prepare(target: str | Path, force: bool) -> Path:
    target = Path(target).resolve()
    if target == target.parent:
        raise OutputError(f"cannot write a run folder at {target}: choose a folder inside it")
    if target == Path.cwd() or target in Path.cwd().parents:
        raise OutputError(
            f"cannot write a run folder at {target}: it is the current folder or holds it; "
            "choose a folder inside it"
        )
    existing = next(folder for folder in target.parents if folder.exists())
    if not existing.is_dir():
        raise OutputError(f"cannot write the run folder {target}: {existing} is a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target.parent, target.name)
    except OSError as error:
        raise OutputError(f"cannot write the run folder {target}: {os_error_text(error)}") from None
    _refuse_unless_writable(target, force)
    return target


def _refuse_unless_writable(target: Path, force: bool) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"{target} is a file, not a run folder: choose another --out")
    if not any(target.iterdir()):
        return
    foreign = _not_a_run(target)
    if foreign:
        raise OutputError(
            f"{target} is not a run folder ({foreign}): it is never replaced; choose another --out"
        )
    if not force:
        raise OutputError(
            f"{target} holds an earlier run: pass --force to replace it whole, or choose "
            "another --out"
        )


def _not_a_run(folder: Path) -> str:
    """Why ``folder`` is not a run folder ("" if it is one): a run folder holds the run
    markers and only files of the kinds a run writes (and temporaries of atomic writes)."""
    missing = [marker for marker in RUN_MARKERS if not (folder / marker).is_file()]
    if missing:
        return f"no {' or '.join(missing)}"
    foreign = sorted(
        entry.name
        for entry in folder.iterdir()
        if not entry.is_file()
        or (entry.suffix not in RUN_FILE_SUFFIXES and not TEMPORARY.match(entry.name))
    )
    return f"it holds {', '.join(foreign[:3])}" if foreign else ""
