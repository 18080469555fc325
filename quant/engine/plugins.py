"""Find a strategy class from its name: a built-in (``momentum``), ``package.module:Class``
or ``path/to/file.py:Class``. Unknown names get an error that lists the built-ins."""

from __future__ import annotations

from quant.engine.config import ConfigError
from quant.engine.strategy import AShareStrategy
from quant.plugins import PluginKind

STRATEGIES = PluginKind(
    "strategy", "strategies", AShareStrategy, "quant.engine.AShareStrategy", ConfigError
)


def builtins() -> dict[str, str]:
    from strategies import BUILTINS

    return BUILTINS


def load_strategy(spec: str) -> type[AShareStrategy]:
    return STRATEGIES.load(spec, builtins())


def strategy_name(spec: str, cls: type[AShareStrategy]) -> str:
    """Built-ins keep their name; custom strategies are named by their class."""
    return spec if spec in builtins() else cls.__name__
