"""The checks of what a strategy's ``next`` hands the platform's methods: a bad argument
is one line (a :class:`StrategyError`) naming the strategy, the method, the argument and
the line of the strategy's file that passed it, instead of a traceback that ends in the
engine's own code (or, worse, an order sized from a NaN)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np

from quant.errors import UserError

#: The engine's own files and backtrader's: a call site in them is not the strategy's.
_INSIDE = (str(Path(__file__).parent), str(Path(bt.__file__).parent))
_REAL = (int, float, np.integer, np.floating)


class StrategyError(UserError):
    """A strategy asked for something its plan does not hold, or passed a bad argument to
    the platform's methods; the message names the strategy, the method and argument, the
    code, and the strategy's file and line."""


def call_site() -> str:
    """Where the strategy's code called into the engine: ``FILE, line N`` of the innermost
    frame outside quant/engine and backtrader ("" when there is none)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(_INSIDE):
            return f"{name}, line {frame.f_lineno}"
        frame = frame.f_back
    return ""


def bad_argument(strategy: str, call: str, problem: str) -> StrategyError:
    """The one-line error for ``call`` (``method(argument)``) of ``strategy``, with the
    strategy's file and line."""
    site = call_site()
    return StrategyError(f"strategy {strategy}: {call}: {problem}" + (f" ({site})" if site else ""))


def is_number(value: Any) -> bool:
    """A finite real number (not a bool): shares, yuan, weights."""
    return isinstance(value, _REAL) and not isinstance(value, bool) and math.isfinite(value)


def number(strategy: str, call: str, value: Any, what: str, minimum: float | None = 0.0) -> float:
    """``value`` as a float, or :func:`bad_argument` when it is not a finite number of at
    least ``minimum`` (None: any sign); ``what`` says what it is (``shares``, ``yuan``)."""
    if not (is_number(value) and (minimum is None or value >= minimum)):
        bound = "" if minimum is None else f" >= {minimum:g}"
        problem = f"{what} must be a finite number{bound}, got {value!r}"
        raise bad_argument(strategy, call, problem)
    return float(value)
