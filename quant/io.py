"""Atomic writing of files and folders: a reader never sees a half-written one, even if the
writer dies.

A temporary is made beside its target and named ``.<target>.<pid>.<random>.tmp`` after
the process writing it, so that a later run can tell the temporaries of a process that
died (killed between writing and renaming) from those of one still writing, and remove
only the former (:func:`remove_stale_temporaries`).
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

#: ``.<target>.<pid>.<random>.tmp`` (being written) or ``.old`` (an old folder moved aside
#: by :func:`exchange_folders`); the random part has no dots.
TEMPORARY = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[^.]+\.(?P<kind>tmp|old)$")

AT_FDCWD = -100
RENAME_EXCHANGE = 2  # linux/fs.h


def temporary_prefix(target: Path) -> str:
    """How the names of this process's temporaries for ``target`` begin."""
    return f".{target.name}.{os.getpid()}."


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the
    block finishes without error, otherwise delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=temporary_prefix(target), suffix=".tmp", dir=target.parent
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes 0600 files
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def scratch_folder(name: str) -> Iterator[Path]:
    """A temporary folder in the system's temporary folder for the length of the block,
    named after this process (``.<name>.<pid>.<random>.tmp``) so that what a killed
    process left under ``name`` is removed by the next user (done here first)."""
    root = Path(tempfile.gettempdir())
    remove_stale_temporaries(root, name)
    folder = Path(tempfile.mkdtemp(prefix=temporary_prefix(root / name), suffix=".tmp", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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


class TooLarge(ValueError):
    """A file holds more bytes than its reader accepts; the message names it."""


def read_bounded(path: str | Path, limit: int, encoding: str = "utf-8") -> str:
    """The text of ``path``, reading at most ``limit`` + 1 bytes: :class:`TooLarge` when it
    holds more than ``limit`` (so a huge or endless file, ``/dev/zero`` included, costs
    no more than the limit). FileNotFoundError and other OSErrors as ``open`` raises them;
    UnicodeDecodeError for bytes that are not ``encoding``."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{path} holds more than {limit:,} bytes, the most it may")
    return data.decode(encoding)


def must_be_empty(target: Path) -> None:
    """The default rule of :func:`atomic_folder`: nothing there, or an empty folder."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not an empty folder")


@contextmanager
def atomic_folder(
    target: str | Path, replaceable: Callable[[Path], None] = must_be_empty
) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; when the block finishes without error,
    put it in place of ``target``, otherwise delete it.

    ``replaceable(target)`` raises if what is at ``target`` may not be replaced; it is
    called before the block and again before the swap (default: :func:`must_be_empty`).
    A folder that is there is swapped out in one step (:func:`exchange_folders`) and then
    deleted, so a reader sees the old folder or the new one, whole, at every moment.
    """
    target = Path(target)
    replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(prefix=temporary_prefix(target), suffix=".tmp", dir=target.parent)
    )
    try:
        os.chmod(temporary, 0o777 & ~current_umask())  # mkdtemp makes 0700 folders
        yield temporary
        replaceable(target)
        if target.exists():
            exchange_folders(temporary, target)  # the temporary name now holds the old one
        else:
            os.rename(temporary, target)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)


def exchange_folders(new: Path, old: Path) -> None:
    """Swap the folders ``new`` and ``old``: afterwards ``old`` holds what ``new`` held and
    the other way round. In one step where the system has it (Linux renameat2 with
    RENAME_EXCHANGE, see renameat2(2)); elsewhere by three renames, the old folder passing
    through ``.<old>.<pid>.<random>.old``: a kill then may leave ``old`` missing, and
    :func:`remove_stale_temporaries` puts it back."""
    if _exchange_atomically(new, old):
        return
    aside = old.with_name(f"{temporary_prefix(old)}{secrets.token_hex(4)}.old")
    os.rename(old, aside)
    os.rename(new, old)
    os.rename(aside, new)


def _exchange_atomically(new: Path, old: Path) -> bool:
    """False where the system or the file system lacks the exchange."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(AT_FDCWD, os.fsencode(new), AT_FDCWD, os.fsencode(old), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(old))


def _renameat2() -> ctypes._CFuncPtr | None:
    """glibc's renameat2 (2.28 and later); None elsewhere."""
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


def os_error_text(error: OSError) -> str:
    """An OSError in words for a one-line message: the file, then the system's reason
    ("No space left on device", "Read-only file system", "Permission denied")."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"


def writer_alive(pid: int) -> bool:
    """Whether the process that named a temporary after itself may still be writing it
    (a reused pid keeps a stale temporary until a later run: never the other way round).
    A zombie (ended, not yet reaped by its parent) writes nothing more."""
    if pid == os.getpid():
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # not ours to look at: assume it may still write
        return True


def remove_stale_temporaries(
    folder: str | Path, target: str | None = None, recursive: bool = False
) -> list[Path]:
    """Delete the temporaries in ``folder`` (at any depth with ``recursive``; only those of
    ``target`` if given) whose writing process has ended, and return them. An old folder
    moved aside by :func:`exchange_folders` goes back in place if its target is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.rglob(".*") if recursive else folder.glob(".*")):
        match = TEMPORARY.match(path.name)
        if not match or (target is not None and match["target"] != target):
            continue
        if writer_alive(int(match["pid"])) or not path.exists():  # or inside one removed
            continue
        original = path.with_name(match["target"])
        if match["kind"] == "old" and not original.exists():
            os.rename(path, original)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        else:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
