"""The ``quant`` command. Each area registers its own sub-commands in a module of this
package (quant/cli/<area>.py with a ``register(commands)`` function), found automatically.
``COMMANDS`` says which module holds which command and its line in ``quant --help``, so
that ``quant --help`` imports no area module and ``quant data info`` does not import torch
for ``quant predict`` (a test keeps it in step with the modules). An area module imports
only argparse-level names at its top and the libraries a command uses inside the function
that runs it, so that help and argument errors come at once (benchmarks/cli_startup.py).
User-facing errors (bad data, bad config: quant.errors.UserError) print one clear line
instead of a traceback; any other exception (one raised by a user's strategy, or a bug of
ours) shows its traceback, with the file and line where it was raised. Ctrl-C
(``interrupted``, exit status 130 = 128 + SIGINT). Long steps show their progress on a
terminal, or as lines with ``-v`` (see quant.progress)."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import quant.cli
from quant.errors import UserError


class Command(NamedTuple):
    module: str  # the module of this package that registers the command
    summary: str  # its line in ``quant --help``


COMMANDS = {
    "backtest": Command("backtest", "run strategies under A-share rules and write a run folder"),
    "plot": Command("backtest", "redraw a run folder's plots from its CSVs"),
    "data": Command("data", "inspect, fetch or generate market data"),
    "demo": Command("demo", "run the main job on the built-in sample"),
    "report": Command("report", "rebuild a run folder's report.md and report.html from its files"),
    "compare": Command("report", "one table and one HTML page of several run folders"),
    "predict": Command("predict", "next-day close prediction study: BP, 1-D LSTM, multi-D LSTM"),
    "tune": Command("predict", "grid search on the validation span; writes the parameter library"),
    "signals": Command(
        "signals", "build the walk-forward ranker and timer's signal tables (no backtest)"
    ),
    "sweep": Command(
        "sweep", "run every combination of a sweep file's settings, seeds and windows as Ray tasks"
    ),
    "live": Command("live", "follow strategies day by day in a paper book: tomorrow's orders"),
}


def area_modules() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(quant.cli.__path__))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; given a known command about to run, its module registers it (the only
    area module imported), otherwise each command is listed from ``COMMANDS``."""
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
    if command in COMMANDS:
        module = importlib.import_module(f"quant.cli.{COMMANDS[command].module}")
        module.register(commands)
    else:  # quant --help, or a command that is not one: the list is all it needs
        for name, (_, summary) in COMMANDS.items():
            commands.add_parser(name, help=summary)
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
    from quant import progress

    try:
        with progress.display(verbose=args.verbose):
            return int(args.run(args) or 0)
    except UserError as error:  # ours: one line; any other error shows its traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # raised in a worker: its own traceback, once (quant.workers)
        carried = getattr(error, "worker_traceback", None)
        if not carried:
            raise
        print(carried, end="", file=sys.stderr)
        return 1
