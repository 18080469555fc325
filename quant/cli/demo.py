"""``quant demo``: what `make demo` runs on the built-in sample."""

from __future__ import annotations

import argparse

from quant.cli.data import describe, format_summary
from quant.data import resolve_source


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="run the main job on the built-in sample")
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    # The backtest engine is not built yet: the demo loads and summarises the sample only.
    print("Built-in sample, stocks:")
    print(format_summary(describe("sample")))
    print("\nBuilt-in sample, indices:")
    print(format_summary(describe(str(resolve_source("sample", index=True)))))
    return 0
