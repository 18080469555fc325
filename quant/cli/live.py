"""``quant live init|next|status``: follow strategies day by day in a paper book
(quant.live; README, "Following a strategy day by day")."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    live = commands.add_parser(
        "live",
        help="follow strategies day by day in a paper book: tomorrow's orders",
        description="A paper book steps the backtest's own broker, rules and strategies one "
        "session at a time, keeps its state in a database (the book's folder), and writes "
        "the orders of the next session every evening.",
    )
    actions = live.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="start a book from a backtest config",
        description="Start a book in a new folder: the config's strategies and parameters, "
        "rules, cash, data and seed (its end is not used: a book goes on). Nothing is booked "
        "until quant live next.",
    )
    init.add_argument("--config", required=True, type=Path, help="a backtest config (TOML)")
    init.add_argument("--book", required=True, type=Path, help="the book's folder (new or empty)")
    init.add_argument(
        "--start",
        help="the first session with a return, YYYY-MM-DD (default: the config's start); day 0, "
        "the session before it, is the first evening",
    )
    init.set_defaults(run=run_init)

    advance = actions.add_parser(
        "next",
        help="book the sessions the data holds since the last evening; write tomorrow's orders",
        description="Book every session of the data after the last one booked, in order, "
        "each once and in one transaction: the orders of the session before are booked "
        "against its bars, the strategies decide at its close (retraining models when the "
        "walk-forward plan says so), and orders-NEXT.csv is written in the book's folder.",
    )
    advance.add_argument("--book", required=True, type=Path, help="the book's folder")
    advance.add_argument("--until", help="book no session after this date (YYYY-MM-DD)")
    advance.set_defaults(run=run_next)

    status = actions.add_parser(
        "status",
        help="positions, cash, pending orders; net value against the benchmark and a backtest",
        description="Where the book stands: positions, cash and pending orders; its net value "
        "against the benchmark index and against a backtest of the same sessions on the data "
        "as it is now, with every day where they differ and why.",
    )
    status.add_argument("--book", required=True, type=Path, help="the book's folder")
    status.add_argument(
        "--no-compare",
        action="store_true",
        help="do not run the backtest of the book's sessions (faster)",
    )
    status.set_defaults(run=run_status)


def run_init(args: argparse.Namespace) -> int:
    import quant.live

    folder = quant.live.init(args.config, args.book, start=args.start)
    print(f"book started in {folder}; book its first evening with: quant live next --book {folder}")
    return 0


def run_next(args: argparse.Namespace) -> int:
    import quant.live

    evenings = quant.live.next(args.book, until=args.until)
    for evening in evenings:
        parts = [
            f"{name} {run.equity:,.2f} ({len(run.fills)} fills, {len(run.refusals)} refused)"
            for name, run in evening.runs.items()
        ]
        trained = f"; trained {', '.join(evening.trained)}" if evening.trained else ""
        print(f"{evening.session.date()}: {'; '.join(parts)}{trained}")
    if evenings:
        last = evenings[-1]
        orders = sum(len(run.state.orders) for run in last.runs.values())
        print(f"{orders} orders for {last.following.date()}: {last.orders_path}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    import quant.live

    print(quant.live.status(args.book, compare=not args.no_compare))
    return 0
