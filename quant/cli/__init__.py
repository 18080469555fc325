"""The ``quant`` command. Each area registers its own sub-commands (quant/cli/<area>.py);
user-facing errors (bad data, bad config) print one clear line instead of a traceback."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from quant.cli import data as data_commands
from quant.cli import demo as demo_commands
from quant.data import DataError

AREAS = (data_commands, demo_commands)


class UserError(Exception):
    """A mistake in the command line or config that the user can fix."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quant", description="A-share quant research platform (CNN-LSTM and friends)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in AREAS:
        area.register(commands)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    warnings.showwarning = _show_warning
    try:
        return int(args.run(args) or 0)
    except (DataError, UserError, FileNotFoundError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2
