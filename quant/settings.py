"""Typed settings: the one way a table a user writes becomes values the code can trust.

A model's settings (:mod:`quant.models.base`), a strategy's parameters
(:mod:`quant.engine.params`) and the backtest config with its rules
(:mod:`quant.engine.config`) are pydantic models with this house style: frozen, unknown
keys refused, no coercion (``"no"`` is not a bool, ``100.5`` not a whole number, a string
not a list), NaN and infinity refused, every default checked, and each field's docstring
its description. :func:`describe` turns pydantic's errors into one line that names each
key at fault, with the closest valid name of a misspelt one (pydantic docs, "Strict Mode"
and "Validation Errors"). Config files are read through :func:`read_toml`, at most
:data:`MAX_CONFIG_BYTES` of them, and an error line names at most :data:`MOST_NAMED`
keys, values shortened, however many a file gets wrong.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from typing_extensions import Self

from quant.io import TooLarge, read_bounded

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The largest config file read: a config is a few kB; this bounds what a wrong file
#: (a data file named by mistake, a runaway generator) costs before it is refused.
MAX_CONFIG_BYTES = 2**20
#: The most keys, values or problems an error line names (then "and N more").
MOST_NAMED = 10
#: The most characters of a value an error line shows.
MOST_SHOWN = 80


def read_toml(
    path: str | Path, error: type[Exception], what: str = "config file"
) -> tuple[dict[str, Any], str]:
    """The tables and the text of the TOML file ``path``; ``error`` (one line naming the
    file) when it is missing, a folder, larger than :data:`MAX_CONFIG_BYTES`, not UTF-8
    or not valid TOML."""
    path = Path(path)
    try:
        text = read_bounded(path, MAX_CONFIG_BYTES)
        return tomllib.loads(text), text
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except TooLarge:
        raise error(
            f"{path}: more than {MAX_CONFIG_BYTES // 2**20} MB, too large for a {what}"
        ) from None
    except UnicodeDecodeError as failure:
        raise error(f"{path}: not UTF-8 text (byte {failure.start})") from None
    except tomllib.TOMLDecodeError as failure:
        raise error(f"{path}: not valid TOML: {shown(str(failure), 4 * MOST_SHOWN)}") from None
    except OSError as failure:
        raise error(f"{path}: cannot read the {what}: {failure.strerror or failure}") from None


def shown(text: str, most: int = MOST_SHOWN) -> str:
    """``text`` for an error line: at most ``most`` characters (then "...")."""
    return text if len(text) <= most else f"{text[: most - 3]}..."


def listed(items: Iterable[str], most: int = MOST_NAMED, sep: str = ", ") -> str:
    """``items`` joined, at most ``most`` of them, then how many more."""
    items = list(items)
    more = f"{sep}and {len(items) - most:,} more" if len(items) > most else ""
    return sep.join(items[:most]) + more


class Settings(BaseModel):
    """Base of every table of settings: subclass, declare typed fields with a default, a
    range (``Field(ge=..., ...)``) and a docstring each."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
        validate_default=True,
    )

    #: What :meth:`of` and :meth:`replace` raise, with :func:`describe`'s one line.
    error: ClassVar[type[Exception]] = ValueError

    @classmethod
    def of(
        cls, values: Mapping[str, Any], *, where: str = "", noun: str = "setting", name: str = ""
    ) -> Self:
        """The settings ``values`` over the defaults, or :attr:`error` with one line that
        starts with ``where`` (a file, a code), calls the keys ``noun`` and the table
        ``name`` (default: the class's ``name``, if it has one)."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as error:
            raise cls.error(describe(cls, error, where, noun, name)) from None

    def replace(
        self,
        changes: Mapping[str, Any],
        *,
        where: str = "",
        noun: str = "setting",
        name: str = "",
    ) -> Self:
        """A copy with ``changes``, checked like :meth:`of`."""
        return self.of({**dict(self), **changes}, where=where, noun=noun, name=name)


def changes_to(
    cls: type[Settings], name: str, types: Mapping[str, Any] | None = None
) -> type[Settings]:
    """A settings class called ``name`` whose fields are ``cls``'s, each optional: ``None``
    (the default) leaves the value unchanged, any other value is checked by the field's own
    type and range and described by its docstring, so that a table of changes to settings
    declared once (e.g. a preset's) needs no second declaration. ``types`` gives a field
    another type (its range and docstring are kept apart). Subclass the result to add
    fields, checks and its :attr:`~Settings.error`."""
    fields: dict[str, Any] = {}
    for key, info in cls.model_fields.items():
        if types and key in types:
            kind = types[key]
        elif info.metadata:
            kind = Annotated[(info.annotation, *info.metadata)]
        else:
            kind = info.annotation
        fields[key] = (kind | None, Field(None, description=info.description))
    return create_model(name, __base__=Settings, __module__=cls.__module__, **fields)


def _union_branch(part: Any) -> bool:
    """A part of an error's location that names a branch of a union (pydantic's tags:
    ``literal['table']``, ``constrained-float``, ``tuple[...]``), not a key."""
    return isinstance(part, str) and ("[" in part or part.startswith("constrained-"))


def describe(
    cls: type[BaseModel],
    error: ValidationError,
    where: str = "",
    noun: str = "setting",
    name: str = "",
) -> str:
    """One line from pydantic's errors: the unknown keys with the closest valid names, then
    each bad value with its key (``rules.lot`` for a key of a nested table). ``name`` (or
    else the class's ``name`` attribute) starts each problem; ``where`` starts the line."""
    name = name or str(getattr(cls, "name", "") or "")
    label = f"{name}: " if name else ""
    unknown: dict[tuple[Any, ...], list[str]] = {}  # by the path of the table holding them
    problems = []
    alternatives: dict[str, int] = {}  # a union's key -> its problem, the branches' joined
    for item in error.errors(include_url=False):
        loc = tuple(part for part in item["loc"] if not _union_branch(part))
        key = ".".join(str(part) for part in loc)
        if len(loc) < len(item["loc"]) and item["type"] not in ("extra_forbidden", "missing"):
            message = item["msg"][0].lower() + item["msg"][1:]
            if key in alternatives:  # one line for the value, each branch's need joined
                problems[alternatives[key]] += f" or {message.removeprefix('input should be ')}"
                continue
            alternatives[key] = len(problems)
            problems.append(f"{label}{shown(key)} = {shown(repr(item['input']))}: {message}")
            continue
        if item["type"] == "extra_forbidden":
            unknown.setdefault(item["loc"][:-1], []).append(str(item["loc"][-1]))
        elif item["type"] == "value_error":
            problems.append(f"{label}{shown(str(item['ctx']['error']), 12 * MOST_SHOWN)}")
        elif item["type"] == "missing":  # an item of a tuple
            problems.append(f"{label}{shown(key)} is missing in {shown(repr(item['input']))}")
        else:
            message = item["msg"][0].lower() + item["msg"][1:]
            problems.append(f"{label}{shown(key)} = {shown(repr(item['input']))}: {message}")
    for path, keys in reversed(unknown.items()):
        prefix = "".join(f"{part}." for part in path)
        known = list(_table(cls, path))
        named = [
            f"{prefix}{shown(key)} (did you mean {prefix}{close[0]}?)"
            if close
            else f"{prefix}{shown(key)}"
            for key in keys[:MOST_NAMED]
            for close in [difflib.get_close_matches(key, known, n=1, cutoff=0.6)]
        ]
        more = f", and {len(keys) - MOST_NAMED:,} more" if len(keys) > MOST_NAMED else ""
        owner = f" for {name}" if name else ""
        table = f" in {prefix[:-1]}" if prefix else ""
        problems.insert(
            0,
            f"unknown {noun}(s) {', '.join(named)}{more}{owner}; "
            f"known{table}: {', '.join(known) or 'none'}",
        )
    return where + listed(problems, sep="; ")


def _table(cls: type[BaseModel], path: tuple[Any, ...]) -> dict[str, Any]:
    """The fields of the (nested) settings at ``path``; empty where it is not a model."""
    for part in path:
        field = cls.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return {}
        cls = annotation
    return cls.model_fields
