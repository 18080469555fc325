"""``quant sweep``: a grid of backtests as Ray tasks (quant.sweep, docs/sweeps.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = (
    "Each cell (a combination) is a backtest of the config's strategies, run as a Ray task; "
    "its run folder goes under --out/cells/, and --out/results.csv and --out/report.md sum up "
    "every cell. A second call skips the finished cells. See docs/sweeps.md."
)


def register(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser("sweep", description=DESCRIPTION)
    sweep.add_argument(
        "--config", required=True, help="sweep file: a backtest config with a [sweep] table"
    )
    sweep.add_argument("--out", required=True, help="the sweep's folder (resumed if it is one)")
    sweep.add_argument(
        "--address",
        help="join the Ray cluster at this address (ray start --head prints it; 'auto': the "
        "one started on this machine); default: a local Ray on this machine's cores",
    )
    sweep.add_argument("--cpus", type=int, help="cores of the local Ray (default: all)")
    sweep.set_defaults(run=run_sweep_command)


def run_sweep_command(args: argparse.Namespace) -> int:
    from quant.engine.config import ConfigError
    from quant.sweep import read_sweep, sweep

    if args.cpus is not None and (args.cpus < 1 or args.address):
        raise ConfigError("--cpus takes a whole number >= 1, for a local Ray only (no --address)")
    plan = read_sweep(args.config)  # every key and value checked before any work
    out = Path(args.out)
    outcome, _ = sweep(plan, out, args.address, args.cpus)
    for key, failure in outcome.failed.items():
        print(f"cell {key} failed: {failure.error}", file=sys.stderr)
    print(
        f"{len(plan.cells)} cells: {len(outcome.ran)} ran, {len(outcome.skipped)} finished "
        f"earlier (skipped), {len(outcome.failed)} failed, in {outcome.seconds:,.0f} s\n"
        f"results: {out / 'results.csv'}\nreport: {out / 'report.md'}"
    )
    return 1 if outcome.failed else 0
