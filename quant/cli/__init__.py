"""The ``quant`` command. Each area registers its own sub-commands in a module of this
package (quant/cli/<area>.py with a ``register(commands)`` function), found automatically.
``COMMANDS`` says which module holds which command, so that ``quant data info`` does not
import torch for ``quant predict`` (a test keeps it in step with the modules). User-facing
errors (bad data, bad config: quant.errors.UserError) print one clear line instead of a
traceback; any other exception (one raised by a user's strategy, or a bug of ours) shows
its traceback, with the file and line where it was raised. Ctrl-C (``interrupted``, exit status 130 = 128 + SIGINT). Long steps show their progress
on a terminal, or as lines with ``-v`` (see quant.progress)."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import warnings
from collections.abc import Sequence

import quant.cli
from quant import progress
from quant.errors import UserError

#: command -> the module of this package that registers it
COMMANDS = {
    "backtest": "backtest",
    "plot": "backtest",
    "data": "data",
    "demo": "demo",
    "predict": "predict",
    "report": "report",
    "compare": "report",
    "tune": "predict",
    "signals": "signals",
    "sweep": "sweep",
}


def area_modules() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(quant.cli.__path__))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; given the command about to run, only its module is imported."""
    parser = argparse.ArgumentParser(
        prog="quant", description="A-share quant research platform (CNN-LSTM and friends)"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="debug logging, and progress as lines when stderr is not a terminal",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = [COMMANDS[command]] if command in COMMANDS else area_modules()
    for name in names:
        module = importlib.import_module(f"quant.cli.{name}")
        if hasattr(module, "register"):
            module.register(commands)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # Ctrl-C: workers and staging folders are gone already
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str]) -> int:
    command = next((word for word in argv if not word.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:  # our own debug lines, not every library's (matplotlib's fill pages)
        for name in ("quant", "strategies"):
            logging.getLogger(name).setLevel(logging.DEBUG)
    warnings.showwarning = _show_warning
    try:
        with progress.display(verbose=args.verbose):
            return int(args.run(args) or 0)
    except UserError as error:  # ours: one line; any other error shows its traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
