"""Hand one large object (the run's Context with its MarketPanels) to worker processes
through shared memory instead of a copy in each.

The object is pickled with protocol 5, its NumPy arrays out of band (PEP 574): every array
buffer is copied once into one shared memory block, and each worker rebuilds the object from
the small pickle with its arrays as read-only views on that block, copying nothing. Nothing
here names the object's fields: whatever arrays a MarketPanel (or any picklable object)
holds are shared, and the object stays one thing that is handed over whole (Ray's object
store hands NumPy arrays to its workers the same way). Read-only views also mean a worker
that writes into the panel fails loudly instead of changing another run's data.

Where the system's shared memory (``/dev/shm`` on Linux) has too little room, the object
is handed over by value instead (one copy per worker, as before), with a warning: writing
past the end of a full ``/dev/shm`` would kill the process with SIGBUS.
"""

from __future__ import annotations

import logging
import pickle
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Each buffer starts at a multiple of this many bytes (cache lines; any dtype's alignment).
ALIGN = 64
SHM_FOLDER = Path("/dev/shm")


@dataclass(frozen=True)
class Shared:
    """A handle to an object in shared memory (small: pickle it to each worker).
    ``block`` is None when the object travels by value in ``pickled``."""

    pickled: bytes
    block: str | None = None
    spans: tuple[tuple[int, int], ...] = ()  # (offset, bytes) of each buffer in the block

    def load(self) -> Any:
        """The object, its arrays read-only views on the block (mapped for the rest of
        this process's life)."""
        if self.block is None:
            return pickle.loads(self.pickled)
        block = _Block(name=self.block)
        _ATTACHED.append(block)
        view = block.buf.toreadonly()
        return pickle.loads(self.pickled, buffers=[view[a : a + n] for a, n in self.spans])


class _Block(SharedMemory):
    """A block attached by a worker. Closing it while arrays still view it raises
    BufferError (at the worker's exit, from ``__del__``): the mapping is then left to the
    system, which unmaps it when the process ends."""

    def close(self) -> None:
        with suppress(BufferError):
            super().close()


_ATTACHED: list[_Block] = []


@contextmanager
def shared(obj: Any) -> Iterator[Shared]:
    """Put ``obj``'s array buffers in one shared memory block for the duration of the
    block; yield the handle. The block is freed at the end (and, if this process is
    killed, by multiprocessing's resource tracker once the workers have ended too)."""
    buffers: list[pickle.PickleBuffer] = []
    pickled = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [buffer.raw() for buffer in buffers]
    spans, size = [], 0
    for raw in raws:
        size = -(-size // ALIGN) * ALIGN
        spans.append((size, raw.nbytes))
        size += raw.nbytes
    if not _room_for(size):
        log.warning(
            "%s has no room for the %.0f MB shared panel: each worker gets a copy (give "
            "a container more, e.g. docker run --shm-size)",
            SHM_FOLDER,
            size / 2**20,
        )
        by_value = pickle.dumps(obj, protocol=5)
        del obj, raws, buffers
        yield Shared(by_value)
        return
    block = SharedMemory(create=True, size=max(size, 1))
    try:
        for raw, (start, length) in zip(raws, spans):
            block.buf[start : start + length] = raw
        del obj, raws, buffers  # the caller may now drop its own copy
        yield Shared(pickled, block.name, tuple(spans))
    finally:
        block.close()
        block.unlink()


def _room_for(size: int) -> bool:
    """Whether the shared memory file system (where there is one to look at) has room."""
    if not SHM_FOLDER.is_dir():
        return True
    return shutil.disk_usage(SHM_FOLDER).free > size
