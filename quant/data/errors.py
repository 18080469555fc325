"""What can be wrong with data: the error that stops a load and the warnings that do not.

Every module of quant.data raises and warns with these, so this module imports nothing of
the package (the bottom of its import order)."""

from __future__ import annotations

import warnings

from quant.errors import UserError


class DataError(UserError, ValueError):
    """Input data that cannot be used; the message says where and why (file, row, code,
    date), in one line."""


class DataWarning(UserWarning):
    """Something real data has (zero-volume days, suspensions) that the user should know."""


class CountedWarning(DataWarning):
    """A DataWarning about ``count`` rows of one kind, the first at ``first``: warnings
    about pieces of the same data (quant.data.intake) add up into one."""

    def __init__(self, count: int, text: str, first: str = "") -> None:
        self.count, self.text, self.first = count, text, first
        super().__init__(f"{count} {text.format(first=first)}")


def warn_counted(count: int, text: str, first: str = "") -> None:
    """Warn about ``count`` rows; ``text`` follows the count and may name ``{first}``."""
    warnings.warn(CountedWarning(count, text, first), stacklevel=3)
