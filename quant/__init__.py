"""A-share quant research platform: data, models, signals and backtrader backtests.

The names a notebook or a script needs are here, loaded when first used (so that the
``quant`` command's help stays fast)::

    import quant
    result = quant.backtest(strategies=["benchmark", "momentum"], start="2015-01-01")

:func:`backtest` (quant.api), :class:`BacktestConfig`, :class:`BacktestResult`,
:class:`AShareStrategy`, :class:`Context`, :class:`Plan` (quant.engine) and
:func:`load_panel` (quant.data). In IPython and Jupyter the platform's own errors show as
one line (:func:`one_line_errors`, installed on import).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__version__ = "0.1.0"

#: name -> the module it is loaded from on first use
_LAZY = {
    "backtest": "quant.api",
    "BacktestConfig": "quant.engine",
    "BacktestResult": "quant.engine",
    "AShareStrategy": "quant.engine",
    "Context": "quant.engine",
    "Plan": "quant.engine",
    "load_panel": "quant.data",
}

__all__ = [*_LAZY, "one_line_errors"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'quant' has no attribute {name!r}")


def one_line_errors() -> bool:
    """In IPython (a notebook's kernel, the terminal shell), show the platform's own errors
    (quant.errors.UserError: a bad setting, data, plan or output folder) as the one line
    ``quant`` prints, ``ConfigError: ...``, instead of a traceback through the platform's
    code; any other exception keeps its traceback (IPython's ``set_custom_exc``, which
    replaces another custom handler). Returns whether an IPython shell was found."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    from quant.errors import UserError

    def show(shell: Any, kind: type, error: BaseException, tb: Any, tb_offset: Any = None) -> Any:
        lines = [f"{kind.__name__}: {error}"]
        shell._showtraceback(kind, error, lines)  # the kernel's error output, of one line
        return lines

    shell.set_custom_exc((UserError,), show)
    return True


one_line_errors()
