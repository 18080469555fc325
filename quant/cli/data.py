"""``quant data ...``: look at market data."""

from __future__ import annotations

import argparse
import json

from quant.data import MarketPanel, load_bars


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="inspect, fetch or generate market data")
    actions = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    info = actions.add_parser("info", help="summary of a data source")
    info.add_argument(
        "--data", default="sample", help="'sample' (built-in) or a Parquet/CSV file or folder"
    )
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(run=run_info)


def describe(source: str) -> dict[str, object]:
    """The figures `quant data info` prints."""
    panel = MarketPanel.from_frame(load_bars(source))
    return {"source": str(source), **panel.summary()}


def run_info(args: argparse.Namespace) -> int:
    summary = describe(args.data)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(format_summary(summary))
    return 0


def format_summary(summary: dict[str, object]) -> str:
    lines = [
        f"source                  {summary['source']}",
        f"codes                   {summary['codes']:,}",
        f"dates                   {summary['first_date']} .. {summary['last_date']} "
        f"({summary['trading_days']:,} trading days)",
        f"rows                    {summary['rows']:,}",
        f"suspended stock-days    {summary['suspended_share']:.2%} of listed stock-days",
        f"zero-volume bars        {summary['zero_volume_bars']:,}",
        f"codes without adj_factor {summary['codes_without_adj_factor']:,} (adjusted = raw)",
        f"codes ending early      {summary['codes_ending_early']:,} "
        "(last bar before the data's last day: delisted or suspended)",
    ]
    return "\n".join(lines)
