"""``quant signals``: train (or reuse) the CNN-LSTM models and print their signal tables'
summary and quality, without a backtest (the options of ``python -m quant.signals``)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    signals = commands.add_parser(
        "signals",
        help="build the CNN-LSTM signal tables (see quant signals --help)",
        add_help=False,
    )
    signals.set_defaults(run=run_signals, passthrough=True)  # options go to quant.signals


def run_signals(args: argparse.Namespace) -> int:
    from quant.signals import main

    return main(args.extra)
