"""``quant demo``: what `make demo` runs: the built-in sample through the whole platform."""

from __future__ import annotations

import argparse
from pathlib import Path

from quant.cli.data import describe, format_summary
from quant.engine import BacktestConfig, run_backtest
from quant.report import render_summary, write_run
from quant.rundir import check_output

#: The demo's strategies and their settings on the built-in sample: the paper's three, with
#: the CNN-LSTM's small training budget (the ``sample`` preset).
DEMO = BacktestConfig(
    data="sample",
    index_data="sample",
    strategies=["benchmark", "momentum", "cnn_lstm"],
    params={"cnn_lstm": {"preset": "sample"}},
)


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="run the main job on the built-in sample")
    demo.add_argument(
        "--out",
        default="runs/demo",
        help="run folder (default runs/demo; an earlier demo's is replaced)",
    )
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    check_output(args.out, force=True)  # before any work
    print("Built-in sample:")
    print(format_summary(describe("sample")))
    print(f"\nBacktest {DEMO.start} .. {DEMO.end}: {', '.join(DEMO.strategies)}")
    out = write_run(run_backtest(DEMO), Path(args.out), force=True)
    print(render_summary(out))
    print(
        f"\nreport: {out / 'report.html'} (open it in a browser; report.md and the plots "
        f"{', '.join(p.name for p in sorted(out.glob('*.png')))} beside it)"
    )
    return 0
