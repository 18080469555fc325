"""A strategy's parameters: one typed, frozen object, declared once by the strategy.

A strategy declares its parameters as a ``Params`` class (a subclass of its base's
``Params``, ultimately :class:`StrategyParams`): one typed field per parameter, with its
default, its range (``Field(ge=...)``) and a docstring. A run's ``[params.NAME]`` table is
read into it before any data is loaded: an unknown key is a one-line :class:`ConfigError`
naming the strategy, the key and the closest valid name, a value of the wrong type or out
of range one naming the strategy and the key (see :mod:`quant.settings`). Parameters for a
strategy that the run does not include are an error too.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from quant.engine.config import ConfigError
from quant.settings import Settings


class StrategyParams(Settings):
    """Base of every strategy's ``Params``: no parameters."""

    error = ConfigError


def read_params(strategy: type, name: str, values: Mapping[str, Any]) -> StrategyParams:
    """``values`` (the run's ``[params.NAME]`` table) as the typed parameters of
    ``strategy`` (an AShareStrategy class run as ``name``). Raises a one-line
    :class:`ConfigError` naming the strategy for an unknown key, a bad value, a ``Params``
    that is not a :class:`StrategyParams`, or a ``prepare`` that does not take them."""
    params = strategy.Params
    if not (isinstance(params, type) and issubclass(params, StrategyParams)):
        raise ConfigError(
            f"strategy {name}: its Params must subclass quant.engine.StrategyParams "
            "(or its base strategy's Params)"
        )
    arguments = inspect.signature(strategy.prepare).parameters.values()
    if [a.kind for a in arguments] != [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 2:
        raise ConfigError(
            f"strategy {name}: prepare must be a classmethod prepare(cls, context, params) "
            f"that takes its typed Params, not prepare{inspect.signature(strategy.prepare)}"
        )
    return params.of(values, noun="parameter", name=name)


def check_params_used(params: Mapping[str, Any], names: Sequence[str]) -> None:
    """A :class:`ConfigError` for parameters given for a strategy the run does not include
    (a misspelt or dropped name), with the closest name of the run."""
    for key in params:
        if key not in names:
            raise ConfigError(
                f"params.{key}: no strategy {key!r} in this run{closest(key, names)}; it runs "
                f"{', '.join(names)} (a custom strategy's parameters go under its class name)"
            )


def check_strategy_names(
    key: str, given: Iterable[str], names: Sequence[str], builtins: Iterable[str]
) -> None:
    """A :class:`ConfigError` for a name in the config's ``key`` (``baselines``, the
    strategies of ``paper.figures``) that is neither a strategy of the run (``names``) nor
    a built-in one, with the closest of them."""
    known = list(dict.fromkeys([*names, *builtins]))
    for name in given:
        if name not in known:
            raise ConfigError(
                f"{key}: no strategy {name!r}{closest(name, known)}; name one this run "
                f"includes ({', '.join(names)}) or a built-in one"
            )


def closest(word: str, names: Iterable[str]) -> str:
    """`` (did you mean NAME?)`` with the closest of ``names`` to ``word``, or nothing."""
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
