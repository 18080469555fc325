"""``quant backtest`` and ``quant plot``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quant.cli.data import add_market_options

if TYPE_CHECKING:
    from quant.engine import BacktestConfig


def register(commands: argparse._SubParsersAction) -> None:
    backtest = commands.add_parser(
        "backtest",
        description="Options override the config file, which overrides the defaults.",
    )
    backtest.add_argument("--config", help="TOML config (e.g. configs/paper.toml)")
    backtest.add_argument("--data", help="stock bars: 'sample' or a Parquet/CSV file or folder")
    backtest.add_argument("--index-data", help="index bars: 'sample' or a file or folder")
    backtest.add_argument(
        "--strategies",
        help="comma-separated strategy names, e.g. benchmark,momentum: replaces the config's "
        "list, and drops the config's parameters, baselines and paper figures of the "
        "strategies it leaves out",
    )
    backtest.add_argument(
        "--strategy",
        action="append",
        default=[],
        metavar="SPEC",
        help="add a custom strategy: package.module:Class or path/to/file.py:Class (repeatable)",
    )
    backtest.add_argument("--start", help="first day of the test window (YYYY-MM-DD)")
    backtest.add_argument("--end", help="last day of the test window (YYYY-MM-DD)")
    backtest.add_argument(
        "--clip",
        action="store_true",
        help="cut a window that reaches beyond the data (or an index held) to what they hold, "
        "with a warning (default: an error naming both)",
    )
    backtest.add_argument(
        "--train-start", help="cnn_lstm: first month of the training span (YYYY-MM)"
    )
    backtest.add_argument(
        "--train-end",
        help="cnn_lstm: last month of the training span (YYYY-MM); the test span is --start..--end",
    )
    backtest.add_argument("--cash", type=float, help="starting cash in yuan (default 1,000,000)")
    backtest.add_argument(
        "--fill-at", choices=("open", "close"), help="fill orders at the next open or close"
    )
    backtest.add_argument("--seed", type=int, help="random seed for trained strategies")
    backtest.add_argument(
        "--seeds",
        help="comma-separated seeds: trained strategies run once per seed, e.g. 0,1,2,3,4",
    )
    backtest.add_argument(
        "--workers", type=int, help="processes for independent runs (default: one per core)"
    )
    add_market_options(backtest)
    backtest.add_argument("--out", help="run folder (default runs/<timestamp>)")
    backtest.add_argument(
        "--force", action="store_true", help="replace the run folder --out holds (whole)"
    )
    backtest.set_defaults(run=run_backtest_command)

    plot = commands.add_parser("plot", description="Redraw a run folder's plots from its CSVs.")
    plot.add_argument("run_dir", help="a folder written by quant backtest")
    plot.set_defaults(run=run_plot)


def config_from_args(
    args: argparse.Namespace, base: BacktestConfig | None = None
) -> BacktestConfig:
    from quant.engine import BacktestConfig, ConfigError

    config = base or (BacktestConfig.from_toml(args.config) if args.config else BacktestConfig())
    changes: dict[str, Any] = {}
    for name in ("data", "index_data", "start", "end", "cash", "seed", "workers", "calendar"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.code_changes:
        changes["code_changes"] = args.code_changes
    if args.corporate_actions:
        changes["corporate_actions"] = args.corporate_actions
    if args.drop_non_stocks:
        changes["non_stocks"] = "drop"
    if args.clip:
        changes["clip"] = True
    if args.seeds:
        try:
            changes["seeds"] = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
        except ValueError:
            raise ConfigError(
                f"--seeds takes whole numbers separated by commas, not {args.seeds!r}"
            ) from None
    strategies = args.strategies.split(",") if args.strategies else list(config.strategies)
    strategies = [s.strip() for s in strategies if s.strip()] + list(args.strategy)
    config = config.with_strategies(strategies, where="command line: ")
    spans = {k: getattr(args, k) for k in ("train_start", "train_end") if getattr(args, k)}
    if spans:
        params = {name: dict(values) for name, values in config.params.items()}
        params.setdefault("cnn_lstm", {}).update(spans)
        changes["params"] = params
    if args.fill_at:
        changes["rules"] = config.rules.replace({"fill_at": args.fill_at}, where="--fill-at: ")
    return config.replace(changes, where="command line: ")


def run_backtest_command(args: argparse.Namespace) -> int:
    from quant.engine import run_backtest
    from quant.report import render_summary, write_run
    from quant.rundir import check_output

    config = config_from_args(args)
    out = Path(args.out or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
    check_output(out, args.force)  # before any work
    result = run_backtest(config)
    write_run(result, out, args.force)
    print(render_summary(out))
    print(f"\nreport: {out / 'report.html'} (and report.md)")
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from quant.manifest import MANIFEST, add_to_manifest
    from quant.report import plot_run

    paths = plot_run(args.run_dir)
    if (Path(args.run_dir) / MANIFEST).is_file():  # the folder stays whole (quant.manifest)
        add_to_manifest(args.run_dir, *(path.name for path in paths))
    for path in paths:
        print(path)
    return 0
