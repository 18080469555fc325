"""Find a plug-in class from its name: a built-in name, ``package.module:Class`` or
``path/to/file.py:Class``. Strategies (quant.engine.plugins) and models (quant.models.base)
are both found here, so a user's model plugs in the way a user's strategy does."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class PluginKind:
    """What is being loaded, for the checks and the messages: ``kind`` names one
    ("strategy"), ``plural`` several, ``base`` is the class every plug-in must subclass
    (``base_name``: how users import it) and ``error`` the exception raised."""

    kind: str
    plural: str
    base: type
    base_name: str
    error: type[Exception]

    def load(self, spec: str, builtins: Mapping[str, str]) -> type:
        """The class named by ``spec``: a key of ``builtins`` (name -> ``module:Class``),
        ``module:Class`` or ``path/to/file.py:Class``. Raises ``error`` with a one-line
        message naming ``spec`` when it cannot be found or is not a ``base``."""
        target = builtins.get(spec, spec)
        if ":" not in target:
            raise self.error(
                f"unknown {self.kind} {spec!r}: built-ins are {', '.join(builtins)}; "
                "a custom one is named module:Class or path/to/file.py:Class"
            )
        where, class_name = target.rsplit(":", 1)
        module = self._module(where, spec)
        cls = getattr(module, class_name, None)
        if cls is None:
            found = [
                n
                for n, o in vars(module).items()
                if inspect.isclass(o)
                and issubclass(o, self.base)
                and o.__module__ == module.__name__
            ]
            raise self.error(
                f"{self.kind} {spec!r}: {where} has no class {class_name!r} "
                f"({self.plural} there: {', '.join(found) or 'none'})"
            )
        if not (inspect.isclass(cls) and issubclass(cls, self.base)):
            raise self.error(f"{self.kind} {spec!r}: {class_name} must subclass {self.base_name}")
        return cls

    def _module(self, where: str, spec: str) -> ModuleType:
        if where.endswith(".py") or "/" in where or "\\" in where:
            path = Path(where).expanduser().resolve()
            if not path.is_file():
                raise self.error(f"{self.kind} {spec!r}: no such file {path}")
            name = f"quant_user_{self.kind}_{abs(hash(str(path)))}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
            return module
        try:
            return importlib.import_module(where)
        except ModuleNotFoundError as error:
            raise self.error(f"{self.kind} {spec!r}: cannot import {where} ({error})") from None
