"""Where the built-in sample lives. It is built by ``scripts/build_sample.py`` from the
shared real data; see ``quant/data/sample/README.md`` for how its universe was chosen."""

from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).parent / "sample"
SAMPLE_STOCKS = SAMPLE_DIR / "stocks.parquet"
SAMPLE_INDEX = SAMPLE_DIR / "indices.parquet"
