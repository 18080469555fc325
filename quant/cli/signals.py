"""``quant signals``: train (or reuse) the walk-forward models and print their signal
tables' summary and quality, without a backtest."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

#: Where ``quant backtest`` keeps the tables with the default cache_dir: a build here is
#: reused by a backtest of the same data, spans, settings and seed.
DEFAULT_CACHE = ".cache/quant/signals"


DESCRIPTION = (
    "Train (or reuse from the cache) the walk-forward models of a preset and print the "
    "tables' summary, the models' quality and their training records as JSON (loss "
    "histories: report.json in the printed folder)."
)


def register(commands: argparse._SubParsersAction) -> None:
    signals = commands.add_parser("signals", description=DESCRIPTION)
    signals.add_argument("--data", default="sample", help="stock bars: 'sample' or a path")
    signals.add_argument(
        "--preset",
        default="paper",
        help="training budget: paper (default) or sample (quant.signals.PRESETS)",
    )
    signals.add_argument(
        "--cache", default=DEFAULT_CACHE, help=f"cache folder (default {DEFAULT_CACHE})"
    )
    signals.add_argument("--retrain-every", type=int, default=None, metavar="K")
    signals.add_argument("--seed", type=int, default=None)
    signals.add_argument("--device", default=None, help="torch device (default: GPU if seen)")
    signals.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    signals.set_defaults(run=run_signals)


def run_signals(args: argparse.Namespace) -> int:
    from quant.data import load_panel
    from quant.signals import build_signals, preset
    from quant.signals.cache import json_default

    config = preset(args.preset)
    changes = {"retrain_every": args.retrain_every, "seed": args.seed}
    config = config.replace(
        {k: v for k, v in changes.items() if v is not None}, where="command line: "
    )
    start = time.perf_counter()
    panel = load_panel(args.data)
    loaded = time.perf_counter()
    tables = build_signals(panel, config, args.cache, device=args.device, threads=args.threads)
    done = time.perf_counter()
    summary = {
        "folder": str(tables.folder),
        "load_seconds": round(loaded - start, 1),
        "build_seconds": round(done - loaded, 1),
        "selection_rows": len(tables.selection),
        "selected_rows": int(tables.selection["selected"].sum()),
        "timing_rows": len(tables.timing),
        "quality": tables.quality,
        "training": [
            {k: _without_history(v) for k, v in record.items()}
            for record in tables.report["training"]
        ],
    }
    print(json.dumps(summary, indent=2, default=json_default))
    return 0


def _without_history(value: Any) -> Any:
    return {k: v for k, v in value.items() if k != "history"} if isinstance(value, dict) else value
