"""Find a strategy class from its name: a built-in (``momentum``), ``package.module:Class``
or ``path/to/file.py:Class``. Unknown names get an error that lists the built-ins. A class
may subclass quant.engine.AShareStrategy or backtrader's own ``bt.Strategy`` (run as
quant.engine.bt_strategy describes).

Built-ins are whatever the installed packages register as entry points of the group
``quant.strategies`` (name = ``module:Class``; this project's are in pyproject.toml), so the
engine names no strategy module itself, and another package can add strategies by name the
same way (Python Packaging User Guide, "Entry points specification")."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

import backtrader as bt

from quant.engine.base import BaseStrategy
from quant.engine.bt_strategy import adapt
from quant.engine.config import ConfigError
from quant.plugins import PluginKind

#: The group of the entry points that name built-in strategies.
GROUP = "quant.strategies"

STRATEGIES = PluginKind(
    "strategy",
    "strategies",
    bt.Strategy,
    "quant.engine.AShareStrategy (or backtrader's bt.Strategy)",
    ConfigError,
)


@functools.cache
def builtins() -> dict[str, str]:
    """Built-in strategies: name -> ``module:Class``, sorted by name. Raises a
    :class:`ConfigError` when none are registered (the package is not installed)."""
    found = {point.name: point.value for point in entry_points(group=GROUP)}
    if not found:
        raise ConfigError(
            f"no built-in strategies are registered (entry points {GROUP!r}): install the "
            "package (make install, or pip install -e .)"
        )
    return dict(sorted(found.items()))


def load_strategy(spec: str) -> type[BaseStrategy]:
    """The class ``spec`` names, as the engine runs it (quant.engine.bt_strategy.adapt)."""
    return adapt(STRATEGIES.load(spec, builtins()))


def strategy_name(spec: str, cls: type[BaseStrategy]) -> str:
    """Built-ins keep their name; custom strategies are named by their class."""
    return spec if spec in builtins() else cls.__name__
