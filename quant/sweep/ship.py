"""The user's plug-ins, shipped with a sweep's job to every Ray node through Ray's runtime
environment (``working_dir``: "Environment dependencies" in Ray's docs), so that a cell runs
the same code on any node, whatever that node's disk holds.

- A plug-in named by its file (``path/to/file.py:Class``, anywhere in the config: a
  strategy, a model, a signal source) is named by its absolute path once the sweep file is
  read (:func:`absolute_specs`, against the current folder, as ``quant backtest`` reads
  it), so every cell's config names the same file wherever it runs. On a cluster the file
  is copied into the job's working folder, and a task loads that copy in place of the path
  (quant.plugins.FILE_COPIES).
- A plug-in named by its module (``package.module:Class``) whose top-level package is not
  installed (it lies outside the Python's site-packages and standard library, and is not the
  project's ``quant`` or ``strategies``, which every node installs): the package's folder
  (or the module's file) is copied into the job's working folder, which Ray puts on each
  task's ``sys.path``.

A named file that is not there, or more than :data:`MAX_BYTES` to ship, is refused before
any task runs (:class:`ShipError`). What a plug-in reads by itself (a file of signals) is
not shipped: name it by a path every node sees.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sysconfig
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quant.engine.config import BacktestConfig
from quant.errors import UserError
from quant.io import scratch_folder
from quant.plugins import names_file

#: ``where:Class``, the form of every plug-in spec (quant.plugins).
SPEC = re.compile(r"^(?P<where>[^:]+):(?P<name>[A-Za-z_]\w*)$")
#: The most a job ships (Ray uploads its working folder to the cluster's store).
MAX_BYTES = 100 * 2**20
#: Top-level packages every node has: the project's own (installed on every node).
PROJECT = ("quant", "strategies")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class ShipError(UserError):
    """A plug-in that cannot be shipped to the cluster's nodes; one line naming it."""


def absolute_specs(value: Any, folder: Path) -> Any:
    """``value`` (a config's table, list or text) with every plug-in named by a relative
    file path (``file.py:Class``) named by its absolute path against ``folder``."""
    if isinstance(value, dict):
        return {key: absolute_specs(item, folder) for key, item in value.items()}
    if isinstance(value, list):
        return [absolute_specs(item, folder) for item in value]
    match = SPEC.match(value) if isinstance(value, str) else None
    if match and names_file(match["where"]):
        path = (folder / Path(match["where"]).expanduser()).resolve()
        return f"{path}:{match['name']}"
    return value


def plugin_specs(value: Any) -> set[tuple[str, str]]:
    """Every (where, class) of the plug-in specs in ``value`` (a config as plain values)."""
    if isinstance(value, dict):
        return set().union(*(plugin_specs(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(plugin_specs(item) for item in value))
    match = SPEC.match(value) if isinstance(value, str) else None
    return {(match["where"], match["name"])} if match else set()


@dataclass
class Shipment:
    """What a job ships: its working folder (None: nothing to ship) and, for each plug-in
    file, its copy there (the absolute path on this machine -> the name in the folder)."""

    folder: Path | None = None
    copies: dict[str, str] = field(default_factory=dict)

    @property
    def runtime_env(self) -> dict[str, Any]:
        """Ray's runtime environment of the job's tasks."""
        return {"working_dir": str(self.folder)} if self.folder else {}


@contextmanager
def shipment(configs: Iterable[BacktestConfig]) -> Iterator[Shipment]:
    """The plug-ins the ``configs`` name that a node may lack, copied into a temporary
    working folder for the length of the block. Raises :class:`ShipError`."""
    wanted = set().union(*(plugin_specs(config.to_dict()) for config in configs))
    files = sorted({Path(where) for where, _ in wanted if names_file(where)})
    packages = sorted({own for where, _ in wanted if not names_file(where) for own in _own(where)})
    if not files and not packages:
        yield Shipment()
        return
    with scratch_folder("quant-ship") as folder:
        copies = {}
        for k, path in enumerate(files):
            if not path.is_file():
                raise ShipError(f"plug-in file {path}: no such file on this machine")
            name = f"plugins/{k}_{path.name}"
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, folder / name)
            copies[str(path)] = name
        for top, origin in packages:
            if origin.is_dir():
                shutil.copytree(origin, folder / top, ignore=SKIPPED)
            else:
                shutil.copyfile(origin, folder / origin.name)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        if size > MAX_BYTES:
            raise ShipError(
                f"the plug-ins to ship to the cluster ({', '.join(map(str, files))}"
                f"{', ' if files and packages else ''}{', '.join(t for t, _ in packages)}) "
                f"hold {size / 2**20:,.0f} MB, more than {MAX_BYTES // 2**20} MB: install "
                "them on every node instead"
            )
        yield Shipment(folder, copies)


def _own(where: str) -> list[tuple[str, Path]]:
    """The top-level package of module ``where`` with its folder (or file), when it is the
    user's own (found, and neither installed nor the project's); else nothing."""
    top = where.split(".")[0]
    if top in PROJECT or not all(part.isidentifier() for part in where.split(".")):
        return []
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return []
    if found is None:
        return []  # not importable here either: the cell reports it, as a local run would
    if found.submodule_search_locations:
        origin = Path(next(iter(found.submodule_search_locations)))
    elif found.origin and found.origin not in ("built-in", "frozen"):
        origin = Path(found.origin)
    else:
        return []
    installed = {
        Path(sysconfig.get_paths()[key]).resolve()
        for key in ("purelib", "platlib", "stdlib", "platstdlib")
    }
    if any(origin.resolve().is_relative_to(place) for place in installed):
        return []
    return [(top, origin)]
