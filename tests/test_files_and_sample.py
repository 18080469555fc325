"""Loading files and folders, the built-in sample, and `quant data info`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.data import load_bars, load_index, resolve_source
from quant.data.sample import SAMPLE_DIR
from scripts.build_sample import N_STOCKS, choose_universe
from tests.conftest import SHARED_INDEX, SHARED_STOCKS, make_bars, sessions

DAYS = sessions("2014-01-06", periods=5)


def test_csv_keeps_leading_zeros_and_matches_parquet(tmp_path):
    frame = make_bars("000001.SZ", DAYS, [10.0, 10.1, 10.2, 10.3, 10.4])
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_parquet(tmp_path / "a.parquet")
    from_csv, from_parquet = load_bars(tmp_path / "a.csv"), load_bars(tmp_path / "a.parquet")
    assert set(from_csv["code"].astype(str)) == {"000001.SZ"}
    pd.testing.assert_frame_equal(from_csv, from_parquet)


def test_folder_of_mixed_files_ignores_manifest_and_temporary_files(tmp_path):
    make_bars("000001.SZ", DAYS, [10.0] * 5).to_parquet(tmp_path / "000001.SZ.parquet")
    nested = tmp_path / "more"
    nested.mkdir()
    make_bars("600000.SH", DAYS, [5.0] * 5).to_csv(nested / "600000.SH.csv", index=False)
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / ".600519.SH.parquet.tmp").write_bytes(b"half-written")
    loaded = load_bars(tmp_path)
    assert sorted(loaded["code"].astype(str).unique()) == ["000001.SZ", "600000.SH"]
    assert len(loaded) == 10


def test_empty_folder(tmp_path):
    from quant.data import DataError

    with pytest.raises(DataError, match=r"holds no \.parquet or \.csv"):
        load_bars(tmp_path)


# -- the built-in sample ----------------------------------------------------------------


def test_sample_is_small_and_complete():
    size = sum(p.stat().st_size for p in SAMPLE_DIR.glob("*.parquet"))
    assert size <= 15_000_000
    bars = load_bars("sample")
    assert bars["code"].nunique() == N_STOCKS
    assert bars["date"].min() == pd.Timestamp("2010-01-04")
    assert bars["date"].max() == pd.Timestamp("2017-04-18")
    index = load_index("sample")
    assert sorted(index["code"].astype(str).unique()) == ["000001.SH", "000300.SH"]


def test_sample_equals_the_shared_data_for_its_codes(shared_data):
    sample = load_bars("sample")
    shared = load_bars(SHARED_STOCKS)
    shared = shared[shared["code"].isin(sample["code"].unique())].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        sample.assign(code=sample["code"].astype(str)),
        shared.assign(code=shared["code"].astype(str)),
    )
    # the sample's universe is exactly the documented point-in-time choice
    assert sorted(sample["code"].astype(str).unique()) == choose_universe(shared)
    # and it keeps stocks that stop trading before the data ends
    last = sample.groupby("code", observed=True)["date"].max()
    assert (last < pd.Timestamp("2017-01-01")).sum() > 10


def test_universe_choice_ignores_everything_after_2013():
    rng = np.random.default_rng(0)
    days = sessions("2012-01-02", "2014-06-30")
    frames = [
        make_bars(
            f"{600000 + i:06d}.SH", days, [10.0] * len(days), volume=rng.uniform(1, 9, len(days))
        )
        for i in range(30)
    ]
    bars = pd.concat(frames, ignore_index=True)
    before = choose_universe(bars, n=10)
    later = bars["date"] > "2013-12-31"
    changed = bars.copy()
    changed.loc[later, "amount"] = rng.uniform(1e6, 1e9, later.sum())  # a wildly different future
    changed = changed[~(later & (changed["code"] == before[0]))]  # one chosen stock delists
    assert choose_universe(changed, n=10) == before


# -- quant data info ------------------------------------------------------------------


def independent_summary(bars: pd.DataFrame) -> dict[str, object]:
    """The same figures, computed directly from the tidy table."""
    calendar = np.sort(bars["date"].unique())
    span = bars.groupby("code", observed=True)["date"].agg(["min", "max", "size"])
    listed = np.searchsorted(calendar, span["max"]) - np.searchsorted(calendar, span["min"]) + 1
    return {
        "codes": len(span),
        "rows": len(bars),
        "first_date": str(pd.Timestamp(calendar[0]).date()),
        "last_date": str(pd.Timestamp(calendar[-1]).date()),
        "suspended_share": float((listed - span["size"]).sum() / listed.sum()),
    }


def info_json(source: str, capsys) -> dict[str, object]:
    assert main(["data", "info", "--data", source, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_info_on_the_sample(capsys):
    info = info_json("sample", capsys)
    expected = independent_summary(load_bars("sample"))
    assert info["suspended_share"] == pytest.approx(expected.pop("suspended_share"))
    assert {k: info[k] for k in expected} == expected


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_info_on_both_shared_files(shared_data, capsys):
    info = info_json(str(SHARED_STOCKS), capsys)
    assert (info["codes"], info["rows"]) == (3198, 4_045_022)
    assert (info["first_date"], info["last_date"]) == ("2010-01-04", "2017-04-18")
    assert info["codes_without_adj_factor"] == 234
    assert info["suspended_share"] == pytest.approx(
        independent_summary(load_bars(SHARED_STOCKS))["suspended_share"]
    )
    info = info_json(str(SHARED_INDEX), capsys)
    assert (info["codes"], info["rows"]) == (8, 13_409)


def test_info_prints_a_readable_table_and_errors_are_one_line(capsys, tmp_path):
    assert main(["data", "info", "--data", str(resolve_source("sample", index=True))]) == 0
    out = capsys.readouterr().out
    assert "codes                   2" in out and "2010-01-04 .. 2017-04-18" in out
    assert main(["data", "info", "--data", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.csv: no such file" in err


def test_loading_only_some_codes(tmp_path):
    make_bars("000001.SZ", DAYS, [10.0] * 5).to_parquet(tmp_path / "a.parquet")
    make_bars("600000.SH", DAYS, [5.0] * 5).to_csv(tmp_path / "b.csv", index=False)
    assert set(load_bars(tmp_path, codes=["600000.SH"])["code"].astype(str)) == {"600000.SH"}
    assert set(load_bars(tmp_path, codes=["000001.SZ"])["code"].astype(str)) == {"000001.SZ"}
    assert load_bars(tmp_path, codes=["600519.SH"]).empty
