"""Atomic file writing: a reader never sees a half-written file, even if the writer dies.

A temporary file is named ``.<target>.<pid>.<random>.tmp``, beside its target, so that a
later run can tell the temporaries of a process that died (killed between writing and
renaming) from those of one still writing, and remove only the former
(:func:`remove_stale_temporaries`)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

#: ``.<name>.<pid>.<random>.tmp``: mkstemp's random part has no dots.
TEMPORARY = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the
    block finishes without error, otherwise delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.{os.getpid()}."
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes 0600 files
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def current_umask() -> int:
    """The process's umask (reading it means setting it: set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(target: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as temporary:
        write(temporary)
    return Path(target)


def write_text_atomic(target: str | Path, text: str) -> Path:
    return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"))


def writer_alive(pid: int) -> bool:
    """Whether the process that named a temporary after itself may still be writing it
    (a reused pid keeps a stale temporary until a later run: never the other way round)."""
    return pid == os.getpid() or psutil.pid_exists(pid)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files (see :func:`atomic_path`) under ``folder``, at any depth,
    whose writing process has ended; return them."""
    removed = []
    for path in Path(folder).rglob(".*.tmp"):
        match = TEMPORARY.match(path.name)
        if match and path.is_file() and not writer_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
