"""Find a strategy class from its name: a built-in (``momentum``), ``package.module:Class``
or ``path/to/file.py:Class``. Unknown names get an error that lists the built-ins."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

from quant.engine.config import ConfigError
from quant.engine.strategy import AShareStrategy


def builtins() -> dict[str, str]:
    from strategies import BUILTINS

    return BUILTINS


def load_strategy(spec: str) -> type[AShareStrategy]:
    target = builtins().get(spec, spec)
    if ":" not in target:
        raise ConfigError(
            f"unknown strategy {spec!r}: built-ins are {', '.join(builtins())}; "
            "a custom one is named module:Class or path/to/file.py:Class"
        )
    where, class_name = target.rsplit(":", 1)
    module = _load_module(where, spec)
    cls = getattr(module, class_name, None)
    if cls is None:
        found = [
            n
            for n, o in vars(module).items()
            if inspect.isclass(o)
            and issubclass(o, AShareStrategy)
            and o.__module__ == module.__name__
        ]
        raise ConfigError(
            f"strategy {spec!r}: {where} has no class {class_name!r} (strategies there: {', '.join(found) or 'none'})"
        )
    if not (inspect.isclass(cls) and issubclass(cls, AShareStrategy)):
        raise ConfigError(
            f"strategy {spec!r}: {class_name} must subclass quant.engine.AShareStrategy"
        )
    return cls


def strategy_name(spec: str, cls: type[AShareStrategy]) -> str:
    """Built-ins keep their name; custom strategies are named by their class."""
    return spec if spec in builtins() else cls.__name__


def _load_module(where: str, spec: str):
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"strategy {spec!r}: no such file {path}")
        name = f"quant_user_strategy_{abs(hash(str(path)))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as error:
        raise ConfigError(f"strategy {spec!r}: cannot import {where} ({error})") from None
