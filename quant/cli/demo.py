"""``quant demo``: what `make demo` runs: the built-in sample through the whole platform."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from quant.cli.data import describe, format_summary

if TYPE_CHECKING:
    from quant.engine import BacktestConfig


def demo_config() -> BacktestConfig:
    """The demo's run on the built-in sample: the paper's three strategies, with the
    CNN-LSTM's small training budget (the ``sample`` preset)."""
    from quant.engine import BacktestConfig

    return BacktestConfig(
        data="sample",
        index_data="sample",
        strategies=["benchmark", "momentum", "cnn_lstm"],
        params={"cnn_lstm": {"preset": "sample"}},
    )


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo", description="Run the main job on the built-in sample and write its run folder."
    )
    demo.add_argument(
        "--out",
        default="runs/demo",
        help="run folder (default runs/demo; an earlier demo's is replaced)",
    )
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from quant.engine import run_backtest
    from quant.report import render_summary, write_run
    from quant.rundir import check_output

    config = demo_config()
    check_output(args.out, force=True)  # before any work
    print("Built-in sample:")
    print(format_summary(describe("sample")))
    print(f"\nBacktest {config.start} .. {config.end}: {', '.join(config.strategies)}")
    out = write_run(run_backtest(config), Path(args.out), force=True)
    print(render_summary(out))
    print(
        f"\nreport: {out / 'report.html'} (open it in a browser; report.md and the plots "
        f"{', '.join(p.name for p in sorted(out.glob('*.png')))} beside it)"
    )
    return 0
