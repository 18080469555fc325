"""The figures behind the plausibility thresholds, measured on the shared real data.

    .venv/bin/python scripts/plausibility_figures.py [--data ../shared/data/ashare_daily_2010_2017.parquet]

Prints: how far amount / volume lies outside [low, high] (quant.data.validate.
UNITS_TOLERANCE), how many adj_factor changes each slack flags (quant.data.plausibility.
FACTOR_MOVE_SLACK), the largest share of days on which a code's factor changes
(FACTOR_CHANGE_SHARE). Takes about a minute. (Survivorship is measured against the
exchanges' published delisting counts: quant/data/survivorship.py.)
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from quant.data import DataWarning, MarketPanel, load_bars
from quant.data.plausibility import suspect_factor_changes
from quant.market.rules import limit_rates

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ashare_daily_2010_2017.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        bars = load_bars(args.data)
    panel = MarketPanel.from_frame(bars)
    units(bars)
    factors(panel)


def units(bars) -> None:
    traded = bars["volume"].to_numpy() > 0
    average = bars["amount"].to_numpy()[traded] / bars["volume"].to_numpy()[traded]
    low, high = bars["low"].to_numpy()[traded], bars["high"].to_numpy()[traded]
    outside = np.maximum(low / average - 1, average / high - 1)
    print(f"amount / volume beyond [low, high], {traded.sum():,} traded bars:")
    for limit in (0.0, 0.0004, 0.01, 0.5):
        print(f"  more than {limit:.2%}: {int((outside > limit).sum()):,} bars")


def factors(panel: MarketPanel) -> None:
    rates = limit_rates(panel.board, panel.dates, panel.is_st)
    previous = np.vstack([np.full((1, panel.adj_factor.shape[1]), np.nan), panel.adj_factor[:-1]])
    with np.errstate(invalid="ignore"):
        changes = panel.has_bar & (np.abs(previous / panel.adj_factor - 1) > 1e-6)
    print(f"adj_factor changes: {int(changes.sum()):,}")
    for slack in (0.0, 0.005):
        flagged = suspect_factor_changes(
            panel.close, panel.adj_factor, panel.has_bar, rates, slack=slack
        )
        print(f"  flagged with a slack of {slack:.1%}: {int(flagged.sum()):,}")
    steps = np.maximum(panel.has_bar.sum(axis=0) - 1, 1)
    print(
        f"  largest share of a code's steps with a change: {(changes.sum(axis=0) / steps).max():.1%}"
    )


if __name__ == "__main__":
    main()
