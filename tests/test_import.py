"""`quant data import`: each layout converted offline into a store that --data reads, and
the same table as reading the layout directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.data import DataError, load_bars
from quant.data.store import Store
from tests.test_layouts import (
    FACTORS,
    TUSHARE,
    akshare_rows,
    baostock_rows,
    check_akshare_values,
    qlib_folder,
)

#: qlib's cn_data lists indices among its instruments: reading stocks skips them.
pytestmark = pytest.mark.filterwarnings("ignore:.*skipped 1 instruments:UserWarning")


def layout_sources(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "ak").mkdir()
    akshare_rows().to_csv(tmp_path / "ak" / "000001.csv", index=False, encoding="gbk")
    (tmp_path / "ts").mkdir()
    TUSHARE.to_csv(tmp_path / "ts" / "daily.csv", index=False)
    FACTORS.to_csv(tmp_path / "ts" / "adj_factor.csv", index=False)
    baostock_rows().to_csv(tmp_path / "bs.csv", index=False)
    qlib = qlib_folder(tmp_path / "qlib", [2.0e7, 4.0e7, np.nan, 3.0e6 / 0.11])
    return {"akshare": tmp_path / "ak", "tushare": tmp_path / "ts", "baostock": tmp_path / "bs.csv",
            "qlib": qlib}  # fmt: skip


@pytest.mark.parametrize("layout", ["akshare", "tushare", "baostock", "qlib"])
def test_import_writes_a_store_that_data_reads(tmp_path, capsys, layout):
    source = layout_sources(tmp_path)[layout]
    out = tmp_path / "store"
    assert main(["data", "import", "--format", layout, str(source), "--out", str(out)]) == 0
    assert f"-> {out}" in capsys.readouterr().out
    stored, direct = load_bars(out), load_bars(source, format=layout)
    pd.testing.assert_frame_equal(
        stored.assign(code=stored["code"].astype(str)),
        direct.assign(code=direct["code"].astype(str)),
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"] == f"import:{layout}"
    assert sum(entry["rows"] for entry in manifest["codes"].values()) == len(direct)
    assert sorted(manifest["codes"]) == sorted(direct["code"].astype(str).unique())
    assert [p.name for p in out.glob("*.parquet")] == ["bars.parquet"]  # one file, fast to read
    assert main(["data", "info", "--data", str(out)]) == 0
    assert f"imported                from {layout} files" in capsys.readouterr().out
    with pytest.raises(DataError, match="imported from import:"):
        Store.open(out, "stocks")  # a fetch would mix sources


def test_import_of_a_gbk_akshare_csv_with_and_without_its_encoding(tmp_path, capsys):
    path = tmp_path / "hist.csv"
    akshare_rows().to_csv(path, index=False, encoding="gbk")
    argv = ["data", "import", "--format", "akshare", str(path), "--out"]
    assert main([*argv, str(tmp_path / "named"), "--encoding", "gbk"]) == 0
    assert main([*argv, str(tmp_path / "detected")]) == 0
    check_akshare_values(load_bars(tmp_path / "named"))
    check_akshare_values(load_bars(tmp_path / "detected"))
    assert main([*argv, str(tmp_path / "wrong"), "--encoding", "utf-8"]) == 2
    assert "cannot be decoded as utf-8" in capsys.readouterr().err


def test_import_refuses_a_folder_with_files_and_leaves_nothing_on_error(tmp_path, capsys):
    source = layout_sources(tmp_path)["tushare"]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    argv = ["data", "import", "--format", "tushare", str(source), "--out"]
    assert main([*argv, str(tmp_path / "full")]) == 2
    assert "choose a new or empty folder" in capsys.readouterr().err
    assert (
        main(["data", "import", "--format", "qlib", str(source), "--out", str(tmp_path / "new")])
        == 2
    )
    assert "not a qlib data folder" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_import_of_day_first_tidy_dates_with_date_format(tmp_path, capsys):
    days = ["03/01/2017", "04/01/2017", "05/01/2017", "06/01/2017", "09/01/2017"]
    frame = pd.DataFrame({"date": days, "code": "600000.SH", "open": 10.0, "high": 10.2,
                          "low": 9.9, "close": 10.1, "volume": 1000, "amount": 10050.0})  # fmt: skip
    frame.to_csv(tmp_path / "dayfirst.csv", index=False)
    assert main(["data", "info", "--data", str(tmp_path / "dayfirst.csv")]) == 2
    assert "'03/01/2017' is ambiguous" in capsys.readouterr().err
    argv = ["data", "import", "--format", "tidy", str(tmp_path / "dayfirst.csv")]
    assert main([*argv, "--out", str(tmp_path / "s"), "--date-format", "%d/%m/%Y"]) == 0
    dates = load_bars(tmp_path / "s")["date"]
    assert list(dates) == list(pd.to_datetime(["2017-01-03", "2017-01-04", "2017-01-05",
                                               "2017-01-06", "2017-01-09"]))  # fmt: skip
