"""Run folders that are whole: checked before any work, written beside, moved into place.

A run is written into a staging folder beside its target, ``.<name>.partial-<pid>-<random>``,
and moved into place only once every file is written. An existing target is swapped with
the staging folder in one step (Linux ``renameat2(RENAME_EXCHANGE)``, see renameat2(2)), so
a reader of the target sees the old run or the new one, whole, at every moment; the old run
then sits under the staging name and is deleted. Where the exchange is missing (other
systems, some network file systems) the old run is first renamed to
``.<name>.replaced-<pid>-<random>``, then the new one in: a kill between the two renames
leaves no target for a moment, and the next run into the same target puts the old run back.

Whatever a killed run leaves beside its target (a staging folder, an old run being
deleted) is named after the run's process and removed by the next run into that target,
once that process has ended.

What may be written over (:func:`check_output`, also checked again before the swap):

- nothing there, or an empty folder: written;
- a run folder (``config.toml`` and ``metrics.json``, and only files of the kinds a run
  writes, see :data:`RUN_FILE_SUFFIXES`): replaced whole with ``force``, refused without;
- anything else (a file, a folder holding other files or folders): refused, never deleted.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from quant.errors import UserError
from quant.io import TEMPORARY, current_umask, writer_alive

#: Files that mark a folder as a run folder.
RUN_MARKERS = ("config.toml", "metrics.json")
#: The kinds of files a run folder holds (see quant.report.write_run).
RUN_FILE_SUFFIXES = frozenset({".toml", ".json", ".csv", ".parquet", ".png", ".md"})
#: A staging folder, or an old run being deleted; ``replaced``: an old run moved aside.
LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|replaced)-(?P<pid>\d+)-[^.]+$")

AT_FDCWD = -100
RENAME_EXCHANGE = 2


class OutputError(UserError):
    """The run folder cannot be written where asked; the message says why."""


def check_output(target: str | Path, force: bool = False) -> Path:
    """Fail now, with one line, if the run folder cannot be written to ``target`` at the
    end: ``target`` is a file or holds other files, holds a run and ``force`` is not set,
    or its parent cannot be created or written (probed by creating and removing a staging
    folder there). Removes what killed runs left beside ``target``. Returns the absolute
    target. Raises :class:`OutputError`."""
    target = _prepare(target, force)
    _make_staging(target).rmdir()
    return target


@contextmanager
def staged_folder(target: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target`` to write a run into; when the block
    ends without error, put it in place of ``target`` (see the module's rules; raises
    :class:`OutputError`). On an error or an interrupt, the staging folder is deleted and
    ``target`` is left as it was."""
    target = _prepare(target, force)
    staging = _make_staging(target)
    try:
        yield staging
        _refuse_unless_writable(target, force)  # the same rules, in case it changed meanwhile
        if target.exists():
            _exchange(staging, target)
            shutil.rmtree(staging)  # the old run
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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


def _prepare(target: str | Path, force: bool) -> Path:
    target = Path(target).resolve()
    existing = next(folder for folder in target.parents if folder.exists())
    if not existing.is_dir():
        raise OutputError(f"cannot write the run folder {target}: {existing} is a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot write the run folder {target}: {_reason(error)}") from None
    remove_leftovers(target)
    _refuse_unless_writable(target, force)
    return target


def _make_staging(target: Path) -> Path:
    try:
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.partial-{os.getpid()}-", dir=target.parent)
        )
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700 folders
    except OSError as error:
        raise OutputError(f"cannot write the run folder {target}: {_reason(error)}") from None
    return staging


def remove_leftovers(target: Path) -> list[Path]:
    """Delete what runs into ``target`` that have ended left beside it; an old run moved
    aside (see the module) goes back in place if the target is missing. Returns what was
    deleted."""
    removed = []
    for entry in sorted(target.parent.iterdir()):
        match = LEFTOVER.match(entry.name)
        if not match or match["name"] != target.name or writer_alive(int(match["pid"])):
            continue
        if match["kind"] == "replaced" and not target.exists():
            os.rename(entry, target)
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _exchange(new: Path, old: Path) -> None:
    """Swap the folders ``new`` and ``old``: afterwards ``old`` holds the new run and
    ``new`` the old one."""
    if _exchange_atomically(new, old):
        return
    aside = old.with_name(f".{old.name}.replaced-{os.getpid()}-{secrets.token_hex(4)}")
    os.rename(old, aside)
    os.rename(new, old)
    os.rename(aside, new)


def _exchange_atomically(new: Path, old: Path) -> bool:
    """renameat2(RENAME_EXCHANGE) (Linux >= 3.15, glibc >= 2.28); False where the system
    or the file system lacks it."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(AT_FDCWD, os.fsencode(new), AT_FDCWD, os.fsencode(old), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(old))


def _renameat2() -> ctypes._CFuncPtr | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def _reason(error: OSError) -> str:
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"
