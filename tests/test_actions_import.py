"""Corporate-action tables of akshare, tushare and baostock read into one checked table
(quant.data.actions), from files of their real shape (tests/data/actions/README.md says
where each row comes from); never the network. Every refusal is one line naming the file,
row, code and date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from quant.cli import main
from quant.data import DataError, load_panel
from quant.data.actions import check_against, load_actions, write_actions

HERE = Path(__file__).parent / "data" / "actions"
D = pd.Timestamp


@pytest.fixture(scope="module")
def sample():
    with pytest.warns(Warning):
        return load_panel("sample")


def tushare_csv(folder: Path) -> Path:
    """tushare's HTTP answer as its client makes it a DataFrame, saved as a user would."""
    answer = json.loads((HERE / "tushare_dividend.json").read_text(encoding="utf-8"))
    frame = pd.DataFrame(answer["data"]["items"], columns=answer["data"]["fields"])
    frame.to_csv(folder / "dividend.csv", index=False)
    return folder / "dividend.csv"


def rows(table) -> list[list]:
    columns = ["code", "ex_date", "record_date", "pay_date", "listing_date", "cash", "bonus",
               "transfer", "rights", "rights_price"]  # fmt: skip
    frame = table.frame[columns].astype(object).where(table.frame[columns].notna(), None)
    return frame.values.tolist()


def test_tushare_dividend(tmp_path):
    """Per share, cash before tax (cash_div_tax), only 实施 rows; stk_div alone taken as
    transferred shares; YYYYMMDD dates."""
    table = load_actions(tushare_csv(tmp_path))
    assert table.layouts == ("tushare",)
    assert rows(table) == [
        ["000001.SZ", D("2025-10-15"), D("2025-10-14"), D("2025-10-15"), None, 0.236, 0, 0, 0, 0],
        ["600000.SH", D("2015-06-23"), D("2015-06-19"), D("2015-06-23"), None, 0.757, 0, 0, 0, 0],
        ["600000.SH", D("2016-06-23"), D("2016-06-22"), D("2016-06-23"), D("2016-06-24"), 0.515, 0, 0.1, 0, 0],
        ["600848.SH", D("1995-06-07"), D("1995-06-06"), None, None, 0, 0, 0.1, 0, 0],
    ]  # fmt: skip
    assert any("2 rows not carried out (div_proc not 实施)" in note for note in table.notes)
    assert any("1 rows give only stk_div" in note for note in table.notes)


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        ("cash_div_tax", r"missing column\(s\) cash_div_tax of tushare \(cash_div is after tax"),
        ("stk_div", r"missing column\(s\) stk_div of tushare"),
    ],
)
def test_a_tushare_answer_without_its_amount_columns_is_refused(tmp_path, dropped, message):
    """``pro.dividend(fields=...)`` without cash_div_tax (or stk_div): every cash dividend
    (or bonus issue) would read as 0, be dropped as a plan that pays nothing, and leave
    the factor to reinvest it untaxed. Refused, naming the column."""
    file = tushare_csv(tmp_path)
    pd.read_csv(file, dtype=str).drop(columns=[dropped]).to_csv(file, index=False)
    with pytest.raises(DataError, match=message):
        load_actions(file)


def test_baostock_dividend():
    """Per share, text fields, "" for none; the after-tax "0.6813或0.71915" is not read;
    a plan without dividOperateDate is left out."""
    table = load_actions(HERE / "baostock_dividend.csv")
    assert rows(table) == [
        ["600000.SH", D("2015-06-23"), D("2015-06-19"), D("2015-06-23"), None, 0.757, 0, 0, 0, 0],
        ["600000.SH", D("2016-06-23"), D("2016-06-22"), D("2016-06-23"), D("2016-06-24"), 0.515, 0, 0.1, 0, 0],
        ["600036.SH", D("2025-07-11"), D("2025-07-10"), D("2025-07-11"), None, 2.0, 0, 0, 0, 0],
    ]  # fmt: skip
    assert table.notes == (
        f"{HERE / 'baostock_dividend.csv'}: 1 rows not carried out (no dividOperateDate) left out",
    )


def test_akshare_tables_per_10_shares_with_the_code_in_the_file_name():
    """Sina's dividends and rights, cninfo's and East Money's tables: amounts per 10
    shares divided by 10; Sina's 1900-01-01 read as no date; plans not carried out left."""
    table = load_actions(HERE / "akshare")
    assert set(table.layouts) == {
        "akshare_sina_dividend",
        "akshare_sina_rights",
        "akshare_cninfo",
        "akshare_em",
    }
    by_code = {code: group for code, group in table.frame.groupby("code")}
    rights = by_code["600036.SH"].iloc[0]
    assert (rights["rights"], rights["rights_price"], rights["ex_date"], rights["pay_date"]) == (
        pytest.approx(0.13),
        8.85,
        D("2010-03-15"),
        D("2010-03-05"),
    )
    assert pd.isna(rights["listing_date"])  # Sina's 1900-01-01
    assert by_code["600012.SH"]["cash"].tolist() == pytest.approx([0.22, 0.23, 0.23, 0.23])
    assert by_code["600009.SH"]["pay_date"].tolist() == [
        D("2014-08-15"),
        D("2015-08-20"),
        D("2016-08-18"),
    ]
    assert by_code["300073.SZ"][["transfer", "ex_date"]].values.tolist() == [[1.0, D("2011-05-20")]]


def test_akshare_answers_saved_as_parquet_keep_their_date_objects(tmp_path):
    """akshare gives dates as datetime.date objects (``.dt.date``) and NaT; Parquet keeps them."""
    frame = pd.DataFrame(
        {
            "公告日期": [dt.date(2016, 7, 12)],
            "送股": [0],
            "转增": [0],
            "派息": [2.3],
            "进度": ["实施"],
            "除权除息日": [dt.date(2016, 7, 19)],
            "股权登记日": [dt.date(2016, 7, 18)],
            "红股上市日": [pd.NaT],
        }
    )
    frame.to_parquet(tmp_path / "sh600012.parquet")
    table = load_actions(tmp_path / "sh600012.parquet")
    assert rows(table) == [
        ["600012.SH", D("2016-07-19"), D("2016-07-18"), None, None, 0.23, 0, 0, 0, 0]
    ]


def test_stamps_with_a_zone_or_a_time_are_beijing_dates(tmp_path):
    """Midnight in Beijing stored in UTC is 16:00 the day before: read as the Beijing date,
    as the bars' dates are (quant.data.validate.parse_dates), not as the UTC day; a time
    every row shares (a daily stamp at 15:00) is dropped, not kept to miss every session."""
    beijing = pd.DatetimeIndex(["2016-06-23", "2016-07-19"]).tz_localize("Asia/Shanghai")
    zoned = pd.DataFrame(
        {"code": ["600000.SH", "600012.SH"], "ex_date": beijing.tz_convert("UTC"), "cash": 0.5}
    )
    zoned.to_parquet(tmp_path / "zoned.parquet")
    assert load_actions(tmp_path / "zoned.parquet").frame["ex_date"].tolist() == [
        D("2016-06-23"),
        D("2016-07-19"),
    ]
    timed = zoned.assign(ex_date=pd.to_datetime(["2016-06-23 15:00", "2016-07-19 15:00"]))
    timed.to_parquet(tmp_path / "timed.parquet")
    assert load_actions(tmp_path / "timed.parquet").frame["ex_date"].tolist() == [
        D("2016-06-23"),
        D("2016-07-19"),
    ]


def test_the_tidy_table_written_reads_back_the_same(tmp_path):
    table = load_actions([HERE / "akshare", HERE / "baostock_dividend.csv"])
    for name in ("actions.csv", "actions.parquet"):
        write_actions(table, tmp_path / name)
        again = load_actions(tmp_path / name)
        assert again.layouts == ("tidy",) and rows(again) == rows(table)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"cash": -0.1}, r"row 1, code 600000.SH, date 2016-06-23: cash is negative"),
        (
            {"cash": 5.15 * 10 * 10},
            r"row 1, code 600000.SH, date 2016-06-23: cash 100\+ yuan a share",
        ),
        ({"record_date": "2016-06-23"}, r"row 1, .*record_date on or after ex_date"),
        ({"code": "900901"}, r"row 1, .*'900901' is not an A-share code"),
        ({"rights": 0.3}, r"row 1, .*a rights issue without a positive rights_price"),
        ({"rights": 0.3, "rights_price": 5.0}, r"a dividend and a rights issue in one row"),
        ({"ex_date": "2016/23/06"}, r"row 1, code 600000.SH"),
    ],
)
def test_bad_rows_are_one_line_naming_file_row_code_and_date(tmp_path, row, message):
    values = {
        "code": "600000.SH",
        "ex_date": "2016-06-23",
        "record_date": "2016-06-22",
        "cash": 0.515,
    }
    pd.DataFrame([{**values, **row}]).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=message) as error:
        load_actions(tmp_path / "a.csv")
    assert str(error.value).startswith(str(tmp_path / "a.csv")) and "\n" not in str(error.value)


def test_two_different_rows_for_one_action_are_refused_and_repeats_dropped(tmp_path):
    row = {"code": "600000.SH", "ex_date": "2016-06-23", "cash": 0.515}
    pd.DataFrame([row, row]).to_csv(tmp_path / "same.csv", index=False)
    assert len(load_actions(tmp_path / "same.csv")) == 1
    pd.DataFrame([row, {**row, "cash": 0.5}]).to_csv(tmp_path / "two.csv", index=False)
    with pytest.raises(
        DataError, match=r"row 1, .*two different dividend rows .*the other: .*row 2"
    ):
        load_actions(tmp_path / "two.csv")


def test_an_unknown_layout_names_its_columns(tmp_path):
    pd.DataFrame({"date": ["2016-06-23"], "dividend": [0.5]}).to_csv(
        tmp_path / "x.csv", index=False
    )
    with pytest.raises(
        DataError, match=r"x.csv: not a corporate-actions table .*columns: date, dividend\)$"
    ):  # the file's own columns only, not the row numbers we add (_source, _row)
        load_actions(tmp_path / "x.csv")


def test_the_real_actions_explain_the_sample_datas_factor_changes(sample):
    """600000.SH 2015 and 2016, 600009.SH 2014-2016 and the rights issue of 600036.SH in
    2010, from the sources above, give the adjustment factor's change on their ex dates
    to within the fen's rounding (quant.data.actions.check)."""
    table = load_actions([HERE / "akshare", HERE / "baostock_dividend.csv"])
    check = check_against(table, sample)
    assert check.rows == 6 and check.mismatches == [] and check.unexplained == []
    wrong = table.frame.copy()
    wrong.loc[wrong["code"] == "600009.SH", "cash"] *= 10  # per 10 shares read as per share
    bad = check_against(type(table)(wrong, "wrong.csv"), sample)
    assert [(c, d) for c, d, _, _ in bad.mismatches] == [
        ("600009.SH", D("2014-08-15")), ("600009.SH", D("2015-08-20")), ("600009.SH", D("2016-08-18"))
    ]  # fmt: skip
    assert "3 rows imply an ex-rights ratio" in bad.notes("wrong.csv")[0]


def test_an_ex_date_that_is_no_session_is_refused(sample, tmp_path):
    pd.DataFrame([{"code": "600000.SH", "ex_date": "2016-06-25", "cash": 0.5}]).to_csv(
        tmp_path / "a.csv", index=False
    )
    with pytest.raises(
        DataError, match=r"a.csv, row 1, code 600000.SH, date 2016-06-25: ex_date is not a session"
    ):
        check_against(load_actions(tmp_path / "a.csv"), sample)


def test_quant_data_import_writes_one_checked_table(tmp_path, capsys):
    out = tmp_path / "actions.parquet"
    assert main(["data", "import", "--corporate-actions", str(tushare_csv(tmp_path)), str(HERE / "akshare"),
                 "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "13 corporate actions of 7 codes" in printed and "note: " in printed
    assert len(load_actions(out)) == 13
    # against the sample: 600000.SH 2015-2016, 600009.SH 2014-2016 and 600036.SH 2010 are
    # its codes and days; 300073.SZ, 600012.SH and 600848.SH are not among its codes; every
    # factor change of 600000.SH and 600009.SH between their rows' ex dates has a row
    assert main(["data", "info", "--corporate-actions", str(out)]) == 0
    assert (
        "  against the data      6 rows of its codes and days; 3 codes it lacks; 0 rows whose "
        "ratio differs from the adj_factor's change; 0 factor changes without a row (between "
        "each code's first and last ex date: a table need not cover every year)"
    ) in capsys.readouterr().out.splitlines()
    assert main(["data", "import", "--corporate-actions", str(HERE / "baostock_dividend.csv"), "--format",
                 "tushare", "--out", str(tmp_path / "b.csv")]) == 2  # fmt: skip
    assert "the files are baostock corporate-action tables" in capsys.readouterr().err


def test_actions_from_factors_says_a_bad_input_in_one_line(tmp_path):
    """scripts/actions_from_factors.py: a missing --data or an --out of an unknown type is
    one line (it once ended in a traceback of our own code)."""
    from scripts.actions_from_factors import main as derive_main

    cases = {
        ("--data", str(tmp_path / "none"), "--out", str(tmp_path / "a.parquet")):
            f"error: {tmp_path / 'none'}: no such file or folder",
        ("--data", "sample", "--out", str(tmp_path / "a.txt")):
            f"error: {tmp_path / 'a.txt'}: write the corporate-actions table as .parquet or .csv",
    }  # fmt: skip
    for args, message in cases.items():
        with pytest.raises(SystemExit) as stop:
            derive_main(list(args))
        assert stop.value.code == message
    assert not list(tmp_path.iterdir())
