"""Data intake at the scale of the A-share market (issue 19, point 6): a qlib data folder of
5,200 codes x 3,966 sessions, generated from the synthetic market the way qlib's dump_bin
writes one and published sets hold it (adjusted prices, raw volume, suspended days padded
with flat bars; quant.data.synth.write_qlib), imported with ``quant data import --format
qlib``; then ``quant data info`` on the resulting store, on the synthetic market's own
tidy store, and on an akshare-style store of one Parquet file per code.

Each command runs in its own process, measured by benchmarks/process_tree.py: wall time and
the peak memory of the whole process tree (PSS where Linux gives it, else RSS).
Targets: the import <= 60 s and <= 3 GiB; ``data info`` <= 15 s and <= 1.5 GiB.

    .venv/bin/python benchmarks/data_intake.py                  # 5,200 x 3,966
    .venv/bin/python benchmarks/data_intake.py --stocks 500 --days 500   # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from process_tree import GIB, Measurement, measure

from quant.data import synth

QUANT = str(Path(sys.executable).with_name("quant"))
TARGETS = {"import": (60.0, 3.0), "info": (15.0, 1.5)}


def per_code_store(market: synth.SynthMarket, out: Path) -> Path:
    """The market as an akshare store holds bars: one Parquet file per code, a manifest."""
    out.mkdir(parents=True)
    bars = market.bars
    entries = {}
    for code, part in bars.groupby("code", observed=True, sort=False):
        part.assign(code=str(code)).to_parquet(out / f"{code}.parquet", index=False)
        entries[str(code)] = {
            "start": str(part["date"].iloc[0].date()),
            "end": str(part["date"].iloc[-1].date()),
            "rows": len(part),
            "first_date": str(part["date"].iloc[0].date()),
            "last_date": str(part["date"].iloc[-1].date()),
        }
    manifest = {"format": 1, "kind": "stocks", "source": "akshare", "codes": entries}
    (out / "manifest.json").write_text(json.dumps(manifest) + "\n")
    return out


def report(name: str, target: str, result: Measurement) -> None:
    seconds, gib = TARGETS[target]
    peak = (result.peak_pss if result.peak_pss is not None else result.peak_rss) / GIB
    kind = "PSS" if result.peak_pss is not None else "RSS"
    verdict = "within" if result.seconds <= seconds and peak <= gib else "OVER"
    print(
        f"{name:42s} {result.seconds:7.1f} s  {peak:5.2f} GiB {kind} (RSS "
        f"{result.peak_rss / GIB:.2f})  target {seconds:.0f} s, {gib} GiB: {verdict}"
        + ("" if result.returncode == 0 else f"  EXIT {result.returncode}"),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=5200)
    parser.add_argument("--days", type=int, default=3966)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None, help="folder (default: temporary)")
    parser.add_argument("--skip-per-code", action="store_true", help="no per-code store")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        started = time.perf_counter()
        market = synth.generate(args.stocks, args.days, args.seed)
        qlib = synth.write_qlib(market, work / "qlib")
        tidy = synth.write(market, work / "synthetic")
        per_code = None if args.skip_per_code else per_code_store(market, work / "per_code")
        size = sum(p.stat().st_size for p in qlib.rglob("*") if p.is_file())
        print(
            f"made {len(market.codes):,} codes x {len(market.dates):,} sessions "
            f"({int(market.has_bar.sum()):,} bars; qlib folder {size / 2**20:,.0f} MiB) in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        del market
        store = work / "store"
        command = [QUANT, "data", "import", "--format", "qlib", str(qlib), "--out", str(store)]
        report("quant data import --format qlib", "import", measure(command))
        size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
        print(f"{'':42s} store {size / 2**20:,.0f} MiB on disk")
        report("quant data info (the imported store)", "info", measure([QUANT, "data", "info", "--data", str(store)]))  # fmt: skip
        report("quant data info (synthetic tidy store)", "info", measure([QUANT, "data", "info", "--data", str(tidy)]))  # fmt: skip
        if per_code is not None:
            report("quant data info (one file per code)", "info", measure([QUANT, "data", "info", "--data", str(per_code)]))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
