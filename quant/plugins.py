"""Find a plug-in class from its name: a built-in name, ``package.module:Class`` or
``path/to/file.py:Class``. Strategies (quant.engine.plugins) and models (quant.models.base)
are both found here, so a user's model plugs in the way a user's strategy does.

A name that finds nothing is a one-line error (with the closest built-in name); a module
that fails while it loads (a syntax error, a missing import of its own) is an error that
shows the module's own traceback, without the frames of the import machinery and of
this loader. Plug-in code that asks to end the process (``sys.exit``, ``exit()``: a
SystemExit), while it loads or runs (:func:`exits_as_errors`), is a one-line
:class:`PluginExit` naming the plug-in and the file and line that asked, instead of
``quant`` ending with the plug-in's exit status and no message.

A sweep's task on another machine loads plug-in files from copies shipped with the job
(quant.sweep.ship): :data:`FILE_COPIES` maps the path a spec names to its copy there."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from quant.errors import UserError

#: Plug-in files shipped to this process: the absolute path a spec names (on the machine
#: that read the config) -> the copy to load here (quant.sweep.ship fills it in a task).
FILE_COPIES: dict[Path, Path] = {}


class PluginExit(UserError):
    """Plug-in code asked to end the process (SystemExit), or ended it."""


@contextmanager
def exits_as_errors(what: str) -> Iterator[None]:
    """Run plug-in code (``what`` names it: ``strategy momentum``): a SystemExit raised
    inside becomes a :class:`PluginExit` naming ``what`` and the file and line that raised
    it. Other exceptions pass unchanged."""
    try:
        yield
    except SystemExit as exit:
        raise PluginExit(f"{what}: {exit_message(exit)}") from None


def exit_message(exit: SystemExit) -> str:
    """Where plug-in code called sys.exit, and with what, in words."""
    frames = traceback.extract_tb(exit.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return (
        f"its code{where} called sys.exit({exit.code!r}); a plug-in reports a problem by "
        "raising an exception"
    )


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
            close = difflib.get_close_matches(spec, list(builtins), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise self.error(
                f"unknown {self.kind} {spec!r}{hint}: built-ins are {', '.join(builtins)}; "
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

    def named(self, value: object, where: str = "") -> tuple[str, Mapping[str, Any]] | None:
        """What a config value names, as (spec, settings): a string is a spec without
        settings, a table ``{class = SPEC, kwargs = {...}}`` (qlib's form) a spec with its
        settings; None for any other value. A table with ``class`` and other keys, or whose
        ``class`` is not a string, is an :attr:`error` starting with ``where``."""
        if isinstance(value, str):
            return value, {}
        if isinstance(value, Mapping) and "class" in value:
            extra = sorted(set(value) - {"class", "kwargs"})
            kwargs = value.get("kwargs", {})
            if extra or not isinstance(value["class"], str) or not isinstance(kwargs, Mapping):
                raise self.error(
                    f"{where}a {self.kind} table holds class (a name or module:Class) and "
                    f"kwargs, got {dict(value)!r}"
                )
            return value["class"], kwargs
        return None

    def _module(self, where: str, spec: str) -> ModuleType:
        if names_file(where):
            path = Path(where).expanduser().resolve()
            path = FILE_COPIES.get(path, path)
            if not path.is_file():
                raise self.error(f"{self.kind} {spec!r}: no such file {path}")
            name = f"quant_user_{self.kind}_{abs(hash(str(path)))}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            try:
                module_spec.loader.exec_module(module)
            except SystemExit as exit:
                del sys.modules[name]
                raise PluginExit(f"{self.kind} {spec!r}: {exit_message(exit)}") from None
            except Exception as error:
                del sys.modules[name]
                raise self.error(self._failed(spec, path, error)) from None
            return module
        try:
            return importlib.import_module(where)
        except ModuleNotFoundError as error:
            if error.name and (where + ".").startswith(error.name + "."):  # not there at all
                raise self.error(f"{self.kind} {spec!r}: cannot import {where} ({error})") from None
            raise self.error(self._failed(spec, where, error)) from None
        except SystemExit as exit:
            raise PluginExit(f"{self.kind} {spec!r}: {exit_message(exit)}") from None
        except Exception as error:
            raise self.error(self._failed(spec, where, error)) from None

    def _failed(self, spec: str, where: object, error: Exception) -> str:
        """The message for a module that raised while it loaded: its own traceback."""
        trace = traceback.TracebackException.from_exception(error)
        trace.stack = traceback.StackSummary.from_list(
            [frame for frame in trace.stack if not _loader_frame(frame.filename)]
        )
        return f"{self.kind} {spec!r}: {where} failed to load:\n{''.join(trace.format()).rstrip()}"


def names_file(where: str) -> bool:
    """Whether the part of a spec before its colon names a file (``path/to/file.py``)
    rather than a module (``package.module``)."""
    return where.endswith(".py") or "/" in where or "\\" in where


def _loader_frame(filename: str) -> bool:
    """Frames of this module and of Python's import machinery."""
    return filename in (__file__, importlib.__file__) or filename.startswith("<frozen importlib")
