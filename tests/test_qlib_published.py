"""A qlib data folder as published sets hold it (issue 19, point 2): upper-case instrument
folders, suspended days padded with flat bars of zero or NaN volume (and days missing
altogether, NaN, as dump_bin's reindexing leaves them), a bonus issue on every stock, and
the volume either in raw shares or adjusted (raw / factor, qlib's Yahoo collector). The
reader drops the padding and counts it, measures the volume convention both ways, refuses
to guess on weak evidence, and gives the raw values computed here by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.data import DataError, ReadOptions, load_bars, load_panel
from quant.data.notes import data_notes

CALENDAR = pd.bdate_range("2024-03-04", periods=12)  # Mon 4 .. Tue 19 March 2024, sessions
#: qlib's factor = adjusted / original price; the bonus issue (10 for 10) on day 6 doubles it.
FACTOR = [0.1] * 6 + [0.2] * 6
RAW_CLOSE = [10.00, 10.10, 10.20, 10.20, 10.20, 10.30, 5.20, 5.25, 5.30, 5.20, 5.10, 5.00]
#: Raw shares: 1 million a day before the bonus, 2 million after (the turnover carries on).
RAW_VOLUME = [1.0e6, 1.1e6, 0.9e6, 0.0, np.nan, 1.0e6, 2.0e6, 2.2e6, 1.8e6, 2.0e6, 2.1e6, 1.9e6]
PADDED = {3, 4}  # 600000.SH: suspended, flat at 10.20, volume 0 then NaN
STOCKS = ["SH600000", "SH600001", "SZ000001", "SZ000002"]


def write_bin(path: Path, start: int, values: list[float]) -> None:
    """As scripts/dump_bin.py writes: np.hstack([date_index, values]).astype('<f')."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.hstack([[start], values]).astype("<f").tofile(path)


def published(root: Path, volume: str, bonus: bool = True) -> Path:
    """The folder: four stocks with the same bars (600000 with the padded days, 000001 with
    two days missing (NaN), 000002 padded on its last two days, suspended at the end)."""
    (root / "calendars").mkdir(parents=True)
    (root / "calendars" / "day.txt").write_text(
        "\n".join(d.date().isoformat() for d in CALENDAR) + "\n"
    )
    (root / "instruments").mkdir()
    (root / "instruments" / "all.txt").write_text(
        "".join(f"{s}\t2024-03-04\t2024-03-19\n" for s in STOCKS)
    )
    factor = np.array(FACTOR if bonus else [0.1] * 12)
    close = np.array(RAW_CLOSE if bonus else [10.0] * 12)
    for symbol in STOCKS:
        shares = np.array(RAW_VOLUME)
        raw = {"open": close, "high": close + 0.05 * (shares > 0), "low": close - 0.05 * (shares > 0),
               "close": close}  # fmt: skip
        if symbol != "SH600000":  # only 600000 is suspended on days 3 and 4
            shares = np.where(np.isnan(shares) | (shares == 0), 1.0e6, shares)
            raw = {**raw, "high": close + 0.05, "low": close - 0.05}
        fields = {name: values * factor for name, values in raw.items()}
        if symbol == "SZ000001":  # two days without a row
            for values in fields.values():
                values[[8, 9]] = np.nan
        if symbol == "SZ000002":  # suspended on the last two days: flat at 5.20, no volume
            for name in ("open", "high", "low", "close"):
                fields[name][10:] = close[9] * factor[9]
            shares = shares.copy()
            shares[10:] = 0.0
        fields["volume"] = shares / factor if volume == "adjusted" else shares
        fields["factor"] = factor
        for name, values in fields.items():
            write_bin(root / "features" / symbol / f"{name}.day.bin", 0, list(values))
    return root


@pytest.mark.parametrize("volume", ["raw", "adjusted"])
def test_the_padding_is_dropped_and_counted_and_the_volume_measured(tmp_path, volume):
    folder = published(tmp_path / "cn_data", volume)
    bars = load_bars(folder, format="qlib")
    first = bars[bars["code"] == "600000.SH"]
    kept = [d for k, d in enumerate(CALENDAR) if k not in PADDED]
    assert list(first["date"]) == kept
    # raw = adjusted / factor to the fen; shares as traded whichever way they were stored
    assert first["close"].tolist() == [c for k, c in enumerate(RAW_CLOSE) if k not in PADDED]
    assert first["volume"].tolist() == [1.0e6, 1.1e6, 0.9e6, 1.0e6, 2.0e6, 2.2e6, 1.8e6, 2.0e6,
                                        2.1e6, 1.9e6]  # fmt: skip
    assert first["adj_factor"].tolist() == pytest.approx([1.0] * 4 + [2.0] * 6)  # / the first
    assert len(bars[bars["code"] == "000001.SZ"]) == 10  # NaN days: no bar
    assert bars[bars["code"] == "000002.SZ"]["date"].max() == CALENDAR[9]
    notes = bars.attrs["notes"]
    assert (
        "qlib: 4 padded suspended days of 2 codes (flat bars at the last close with zero or "
        in (notes[0])
    )
    said = {"raw": "raw shares, measured", "adjusted": "adjusted (raw shares = volume x factor)"}
    assert notes[1].startswith(f"qlib volume read as {said[volume]}")
    assert (
        "on 4 ex-rights days (factor steps of 10% or more) the volume moved by the factor's"
        in (notes[1])
    )
    # by hand: the median raw volume of five traded days before and after the bonus doubles
    # on three stocks (1.0 -> 2.0 million) and grows 2.05 / 1.0 on 000001 (its days 8 and 9
    # are missing): slope 1 + ln(1.025) / (4 ln 2) = 1.0089 for raw shares, 0.0089 for
    # adjusted ones (halved by the doubled factor)
    assert ("to the power 1.01 +/- 0.01" if volume == "raw" else "to the power 0.01 +/- 0.01") in (
        notes[1]
    )


def test_the_volume_read_the_wrong_way_differs_by_the_factor(tmp_path):
    """What the default used to do to a raw folder: multiply shares by the factor."""
    folder = published(tmp_path / "cn_data", "raw")
    wrong = load_bars(folder, format="qlib", options=ReadOptions(qlib_volume="adjusted"))
    assert wrong[wrong["code"] == "600001.SH"]["volume"].iloc[0] == 1.0e6 * 0.1


def test_weak_evidence_is_refused_unless_the_volume_is_named(tmp_path):
    folder = published(tmp_path / "cn_data", "raw", bonus=False)  # no ex-rights day at all
    with pytest.raises(DataError) as error:
        load_bars(folder, format="qlib")
    assert str(error.value) == (
        f"{folder}: cannot tell whether volume is in raw shares or adjusted (raw shares / "
        "factor): no ex-rights day and no amount to tell by; name it with --qlib-volume raw "
        "or --qlib-volume adjusted"
    )
    named = load_bars(folder, format="qlib", options=ReadOptions(qlib_volume="raw"))
    assert named.attrs["notes"][-1].startswith("qlib volume read as raw shares, as named")


def test_import_keeps_what_was_done_and_approximated_for_every_report(tmp_path, capsys):
    folder = published(tmp_path / "cn_data", "raw")
    out = tmp_path / "store"
    assert main(["data", "import", "--format", "qlib", str(folder), "--out", str(out)]) == 0
    assert "note: qlib: 4 padded suspended days" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["approximated"]) == {"amount", "is_st"}  # no amount field, no ST
    assert manifest["notes"][0].startswith("qlib: 4 padded suspended days")
    assert "000002.SZ" in manifest["listed_at_end"]
    panel = load_panel(out)
    assert panel.amount_approximated and panel.suspended_at_end == ("000002.SZ",)
    notes = data_notes(panel)  # what every backtest report lists
    assert notes[0].startswith("the stock data has no amount column: amount approximated")
    assert any(n.startswith("qlib volume read as raw shares, measured") for n in notes)
    assert main(["data", "info", "--data", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "note                    the stock data has no amount column" in shown
    assert "note                    qlib: 4 padded suspended days" in shown
    assert "(1 more are suspended there, still listed)" in shown


def test_lower_case_folders_as_dump_bin_writes_them(tmp_path):
    folder = published(tmp_path / "cn_data", "raw")
    for symbol in STOCKS:
        (folder / "features" / symbol).rename(folder / "features" / symbol.lower())
    assert len(load_bars(folder, format="qlib")) == 10 + 12 + 10 + 10


def test_a_synthetic_market_written_the_qlib_way_comes_back(tmp_path):
    """quant.data.synth.write_qlib (what benchmarks/data_intake.py imports at 5,200 codes)
    round trip: the padded days are the market's suspended days, the volume is measured
    raw (bonus issues multiply the synthetic shares), the bars are the market's."""
    from quant.data import synth

    market = synth.generate(120, 600, seed=3)
    folder = synth.write_qlib(market, tmp_path / "cn_data", upper=True)
    panel = load_panel(folder, format="qlib")
    assert f"qlib: {int(market.suspended.sum()):,} padded suspended days" in panel.notes[0]
    assert panel.notes[1].startswith("qlib volume read as raw shares, measured: on ")
    assert list(panel.codes) == list(market.codes)
    np.testing.assert_array_equal(panel.has_bar, market.has_bar)
    bars = market.has_bar
    np.testing.assert_array_equal(panel.price("close")[bars], market.close[bars])
    np.testing.assert_allclose(panel.volume[bars], market.volume[bars], rtol=1e-7)
    assert panel.suspended_at_end == ()  # synthetic suspensions never touch the last day
