"""``quant report RUN`` (rebuild a run folder's report.md, report.html and plots from its
files) and ``quant compare RUN_A RUN_B ...`` (several runs in one table and one page)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="rebuild a run folder's report.html, report.md and plots from its files",
    )
    report.add_argument("run_dir", help="a folder written by quant backtest (or a sweep's cell)")
    report.set_defaults(run=run_report)

    compare = commands.add_parser(
        "compare",
        help="several run folders in one table and one HTML page",
        description="Prints one table of every run's strategies and writes one self-contained "
        "HTML page (the table, each run's headline, net values and drawdowns).",
    )
    compare.add_argument("runs", nargs="+", metavar="RUN", help="run folders of quant backtest")
    compare.add_argument(
        "--out", default="compare.html", help="the HTML page to write (default compare.html)"
    )
    compare.set_defaults(run=run_compare)


def run_report(args: argparse.Namespace) -> int:
    from quant.report.folder import rebuild_reports
    from quant.report.markdown import render_summary

    paths = rebuild_reports(args.run_dir)
    print(render_summary(args.run_dir))
    print()
    for path in paths:
        print(path)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from quant.report.compare import read_runs, render_compare, write_compare

    runs = read_runs(args.runs)
    print(render_compare(runs))
    print(f"\npage: {write_compare(runs, Path(args.out))}")
    return 0
