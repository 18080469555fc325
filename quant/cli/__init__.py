"""The ``quant`` command. Each area registers its own sub-commands in a module of this
package (quant/cli/<area>.py with a ``register(commands)`` function), found automatically.
User-facing errors (bad data, bad config) print one clear line instead of a traceback."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import warnings
from collections.abc import Sequence

import quant.cli
from quant.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quant", description="A-share quant research platform (CNN-LSTM and friends)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(quant.cli.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"quant.cli.{info.name}")
        if hasattr(module, "register"):
            module.register(commands)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    warnings.showwarning = _show_warning
    try:
        return int(args.run(args) or 0)
    except (UserError, FileNotFoundError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2
