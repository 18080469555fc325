"""Every validation error names the file, code and date at fault."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from quant.data import DataError, DataWarning, ReadOptions, load_bars, load_index
from tests.conftest import make_bars, sessions

DAYS = sessions("2014-01-06", periods=8)


def good(code: str = "600000.SH") -> pd.DataFrame:
    return make_bars(code, DAYS, [10.0, 10.1, 10.2, 10.0, 9.9, 10.3, 10.4, 10.5])


def write_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(DataError) as caught:
        load_bars(path)
    message = str(caught.value)
    for fragment in (str(path.name), *fragments):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_good_file_loads_typed_and_sorted(tmp_path):
    frame = pd.concat([good("600000.SH"), good("000001.SZ")])
    loaded = load_bars(write_csv(tmp_path, frame))
    assert list(loaded["code"].astype(str).unique()) == ["000001.SZ", "600000.SH"]
    assert loaded["close"].dtype == "float64"
    assert loaded["date"].dtype == "datetime64[ns]"
    assert len(loaded) == 16


def test_missing_column(tmp_path):
    expect_error(write_csv(tmp_path, good().drop(columns="volume")), "missing column", "volume")


def test_misspelt_column_gets_a_hint(tmp_path):
    frame = good().rename(columns={"amount": "amout"})
    expect_error(write_csv(tmp_path, frame), "'amount'", "found 'amout'")


def test_column_names_are_case_insensitive(tmp_path):
    frame = good().rename(columns=str.upper)
    assert len(load_bars(write_csv(tmp_path, frame))) == 8


def test_non_numeric_price(tmp_path):
    frame = good().astype({"close": object})
    frame.loc[3, "close"] = "12,3x"
    expect_error(
        write_csv(tmp_path, frame), "row 4", "600000.SH", "2014-01-09", "'12,3x'", "not a number"
    )


def test_nan_price(tmp_path):
    frame = good()
    frame.loc[2, "open"] = float("nan")
    expect_error(write_csv(tmp_path, frame), "row 3", "2014-01-08", "NaN", "open")


@pytest.mark.parametrize("value", [0.0, -1.5])
def test_non_positive_price(tmp_path, value):
    frame = good()
    frame.loc[5, "low"] = value
    expect_error(write_csv(tmp_path, frame), "row 6", "2014-01-13", "non-positive low")


def test_high_below_low(tmp_path):
    frame = good()
    frame.loc[1, ["high", "low"]] = [9.0, 11.0]
    expect_error(write_csv(tmp_path, frame), "row 2", "2014-01-07", "high is below low")


def test_duplicate_rows_in_one_file(tmp_path):
    frame = pd.concat([good(), good().iloc[[4]]])
    expect_error(
        write_csv(tmp_path, frame), "duplicate", "600000.SH", "2014-01-10", "row 5", "row 9"
    )


def test_duplicate_rows_across_files_name_both_files(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    write_csv(folder, good(), "a.csv")
    write_csv(folder, good().iloc[[0]], "b.csv")
    with pytest.raises(DataError) as caught:
        load_bars(folder)
    assert "a.csv" in str(caught.value) and "b.csv" in str(caught.value)
    assert "2014-01-06" in str(caught.value)


def test_unsorted_dates(tmp_path):
    frame = good().iloc[[0, 1, 3, 2, 4, 5, 6, 7]]
    expect_error(write_csv(tmp_path, frame), "row 4", "2014-01-08", "not in increasing order")


def test_codes_interleaved_by_date_are_fine(tmp_path):
    frame = pd.concat([good("600000.SH"), good("000001.SZ")]).sort_values("date", kind="stable")
    loaded = load_bars(write_csv(tmp_path, frame))
    assert loaded["date"].is_monotonic_increasing is False  # re-sorted by code, date
    assert (
        loaded.groupby("code", observed=True)["date"]
        .apply(lambda d: d.is_monotonic_increasing)
        .all()
    )


def test_date_that_is_not_a_date(tmp_path):
    frame = good().astype({"date": object})
    frame.loc[6, "date"] = "yesterday"
    expect_error(write_csv(tmp_path, frame), "row 7", "'yesterday'", "not a date")


def test_other_date_spellings_are_parsed(tmp_path):
    frame = good().assign(date=DAYS.strftime("%Y/%m/%d"))
    assert load_bars(write_csv(tmp_path, frame))["date"].iloc[0] == pd.Timestamp("2014-01-06")
    frame = good().assign(date=DAYS.strftime("%Y%m%d").astype(int))
    assert load_bars(write_csv(tmp_path, frame))["date"].iloc[-1] == DAYS[-1]


def test_timezone_aware_dates_become_exchange_local(tmp_path):
    frame = good().assign(date=DAYS.tz_localize("Asia/Shanghai").tz_convert("UTC"))
    path = tmp_path / "tz.parquet"
    frame.to_parquet(path)
    assert list(load_bars(path)["date"]) == list(DAYS)


@pytest.mark.parametrize("content", ["", "date,code,open,high,low,close,volume,amount\n"])
def test_empty_csv(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    expect_error(path, "empty file")


def test_empty_parquet(tmp_path):
    path = tmp_path / "empty.parquet"
    good().iloc[:0].to_parquet(path)
    expect_error(path, "empty file")


@pytest.mark.parametrize("code", ["600000", "sh600000", "600000.SS", "60000.SH"])
def test_unknown_code_format(tmp_path, code):
    frame = pd.concat([good("000001.SZ"), good(code)])
    expect_error(write_csv(tmp_path, frame), "row 9", f"'{code}'", "unknown code format")


def test_weekly_code_mixed_with_daily_ones(tmp_path):
    weekly = make_bars(
        "000002.SZ", pd.date_range("2014-01-03", periods=8, freq="W-FRI"), [10.0] * 8
    )
    frame = pd.concat([good(), weekly])
    expect_error(
        write_csv(tmp_path, frame), "000002.SZ", "median gap of 7 days", "mixed with daily"
    )


def test_intraday_bars(tmp_path):
    frame = good()  # hourly stamps: 10:30 on most days, 14:00 on the fourth
    frame["date"] = frame["date"] + pd.Timedelta(hours=10, minutes=30)
    frame.loc[3, "date"] += pd.Timedelta(hours=3, minutes=30)
    expect_error(write_csv(tmp_path, frame), "row 4", "2014-01-09", "stamped 14:00", "intraday")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    expect_error(path, "cannot be read as parquet")


def test_missing_path_and_unknown_type(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_bars(tmp_path / "nope.parquet")
    other = tmp_path / "bars.xlsx"
    other.write_text("x")
    with pytest.raises(DataError, match="unknown file type"):
        load_bars(other)


def test_zero_volume_is_a_warning(tmp_path):
    frame = good()
    frame.loc[3, "volume"] = 0
    with pytest.warns(DataWarning, match=r"1 bars have zero volume .*2014-01-09"):
        loaded = load_bars(write_csv(tmp_path, frame))
    assert len(loaded) == 8


def test_gaps_are_warnings(tmp_path):
    other = good("000001.SZ")
    gapped = good().drop(index=[3, 4])  # 2014-01-09 and 2014-01-10 missing: a suspension
    with pytest.warns(DataWarning) as caught:
        load_bars(write_csv(tmp_path, pd.concat([other, gapped])))
    text = " ".join(str(w.message) for w in caught)
    assert re.search(r"1 codes have trading days without a bar .*\(2 stock-days", text)
    assert "600000.SH 2014-01-09..2014-01-10 (2 days)" in text

    late = make_bars("000001.SZ", sessions("2014-03-03", periods=3), [10.0] * 3)
    with pytest.warns(
        DataWarning, match=r"27 exchange sessions have no bar for any code \(2014-01-16"
    ):
        load_bars(write_csv(tmp_path, pd.concat([good(), late]), "hole.csv"))


def test_missing_amount_is_approximated_with_a_warning(tmp_path):
    frame = good().drop(columns="amount")
    frame["high"] = frame["close"] + 0.2
    with pytest.warns(DataWarning, match=r"1 files have no amount column \(first: .*bars\.csv\)"):
        loaded = load_bars(write_csv(tmp_path, frame))
    expected = frame["volume"] * (frame["open"] + frame["high"] + frame["low"] + frame["close"]) / 4
    assert loaded["amount"].tolist() == pytest.approx(expected.tolist())
    assert loaded.attrs["amount_approximated"] is True
    assert load_bars(write_csv(tmp_path, good(), "full.csv")).attrs["amount_approximated"] is False


# -- plausibility of values: units, finite numbers, codes, flags ---------------------------


def test_amount_in_other_units_than_volume_is_an_error(tmp_path):
    frame = good()
    frame["volume"] = frame["volume"] / 100  # lots, while amount stays in yuan
    expect_error(
        write_csv(tmp_path, frame),
        "row 1",
        "600000.SH",
        "2014-01-06",
        "amount / volume = 1000 yuan a share",
        "100 times the price, as with volume in lots",
    )


def test_single_bars_with_a_wrong_volume_are_a_warning(tmp_path):
    frame = good()
    frame.loc[4, "volume"] = 10_000.0  # that day's volume in lots: amount / volume = 9,900
    with pytest.warns(
        DataWarning, match=r"1 bars have amount / volume outside .*row 5.*2014-01-10"
    ):
        loaded = load_bars(write_csv(tmp_path, frame))
    assert loaded["volume"].iloc[4] == 10_000.0  # kept as it is: the warning names it


def test_units_tolerance_is_one_percent_beyond_low_and_high(tmp_path):
    frame = good()  # low = high = close = 10.0 on the first day
    frame.loc[0, "amount"] = 1_000_000 * 10.0 * 1.0099  # 0.99 % above the high: fine
    assert len(load_bars(write_csv(tmp_path, frame))) == 8
    frame.loc[[0, 1, 2, 3, 4], "amount"] = frame["volume"] * frame["close"] * 1.0101
    expect_error(write_csv(tmp_path, frame, "over.csv"), "row 1", "10.1 yuan a share")


def test_index_bars_are_not_held_to_share_prices(tmp_path):
    index = make_bars("000300.SH", DAYS, [3500.0] * 8, volume=1.5e9)
    index["amount"] = 1.7e11  # amount / volume = 113 yuan, no price of a 3,500-point index
    assert len(load_index(write_csv(tmp_path, index))) == 8


def test_fractional_share_counts_are_an_error(tmp_path):
    frame = good()
    frame.loc[2, "volume"] = 1_000_000.5
    frame["amount"] = frame["volume"] * frame["close"]
    expect_error(write_csv(tmp_path, frame), "row 3", "volume 1e+06 is not a whole number")


@pytest.mark.parametrize(("column", "row"), [("close", 2), ("volume", 5), ("adj_factor", 8)])
def test_infinite_values_are_errors(tmp_path, column, row):
    frame = good().assign(adj_factor=1.0)
    frame.loc[row - 1, column] = float("inf")
    expect_error(write_csv(tmp_path, frame), f"row {row}", f"{column} is inf (not a finite")


def test_booleans_as_volume_are_an_error(tmp_path):
    frame = good().assign(volume=True)
    path = tmp_path / "flags.parquet"
    frame.to_parquet(path)
    expect_error(path, "row 1", "volume is a column of booleans")
    mixed = good().astype({"volume": object})  # a file cannot mix them: a frame can
    mixed.loc[3, "volume"] = False
    with pytest.raises(DataError, match=r"row 4, .*volume is a boolean"):
        load_bars(mixed)


@pytest.mark.parametrize("blank", ["", "  ", None])
def test_blank_code_is_an_error(tmp_path, blank):
    frame = pd.concat([good("000001.SZ"), good()], ignore_index=True)
    frame.loc[11, "code"] = blank
    path = tmp_path / "blank.parquet"
    frame.to_parquet(path)
    expect_error(path, "row 12", "blank code")
    expect_error(write_csv(tmp_path, frame), "row 12", "blank code")


def test_integer_codes_are_an_error_not_a_crash(tmp_path):
    frame = good().assign(code=600000)
    path = tmp_path / "numbers.parquet"
    frame.to_parquet(path)
    expect_error(path, "row 1", "code 600000 is a number, not text", "leading zeros")
    mixed = pd.concat([good(), good("000001.SZ").assign(code=1)], ignore_index=True)
    with pytest.raises(DataError, match=r"row 9, .*code 1 is a number"):
        load_bars(mixed.astype({"code": object}))


# -- dates: formats, time zones, daily stamps, the future ---------------------------------


def test_day_first_dates_are_refused_unless_their_format_is_given(tmp_path):
    frame = good().assign(date=DAYS.strftime("%d/%m/%Y"))  # 06/01/2014 .. 15/01/2014
    path = write_csv(tmp_path, frame)
    expect_error(path, "row 1", "'06/01/2014' is ambiguous", "--date-format %d/%m/%Y")
    loaded = load_bars(path, options=ReadOptions(date_format="%d/%m/%Y"))
    assert list(loaded["date"]) == list(DAYS)
    with pytest.raises(DataError, match=r"row 1, .*'06/01/2014' is not a date in the format"):
        load_bars(path, options=ReadOptions(date_format="%Y-%m-%d"))


def test_sorting_day_first_dates_no_longer_swaps_days_and_months(tmp_path):
    # The case: sorted as advised, month-first parsing moved 03/01 to 1 March.
    frame = good().assign(date=DAYS.strftime("%d/%m/%Y")).sort_values("date")
    expect_error(write_csv(tmp_path, frame), "is ambiguous")


def test_dates_with_a_time_zone_become_beijing_dates(tmp_path):
    stamps = [f"{d.date()} 00:00:00+08:00" for d in DAYS]  # crashed before
    assert list(load_bars(write_csv(tmp_path, good().assign(date=stamps)))["date"]) == list(DAYS)
    utc_midnight = [f"{d.date()}T00:00:00Z" for d in DAYS]  # 08:00 in Beijing, same day
    loaded = load_bars(write_csv(tmp_path, good().assign(date=utc_midnight), "utc.csv"))
    assert list(loaded["date"]) == list(DAYS)
    # Beijing midnight written in UTC: 16:00 the day before, with its offset
    shifted = [f"{(d - pd.Timedelta(hours=8)).isoformat()}+00:00" for d in DAYS]
    loaded = load_bars(write_csv(tmp_path, good().assign(date=shifted), "shifted.csv"))
    assert list(loaded["date"]) == list(DAYS)


def test_dates_mixing_zoned_and_plain_stamps_are_an_error(tmp_path):
    stamps = [f"{d.date()} 00:00:00+08:00" for d in DAYS]
    stamps[3] = str(DAYS[3].date())
    expect_error(write_csv(tmp_path, good().assign(date=stamps)), "row 4", "time zone")


def test_daily_bars_stamped_at_the_close_are_daily(tmp_path):
    frame = good().assign(date=DAYS + pd.Timedelta(hours=15))  # 15:00 Beijing, every day
    assert list(load_bars(write_csv(tmp_path, frame))["date"]) == list(DAYS)


def test_daily_stamp_after_the_close_without_a_zone_is_refused(tmp_path):
    frame = good().assign(date=DAYS - pd.Timedelta(hours=8))  # Beijing midnight in UTC, naive
    expect_error(write_csv(tmp_path, frame), "row 1", "stamped at 16:00 without a time zone")


def test_dates_after_today_are_an_error(tmp_path):
    frame = pd.concat([good(), good().iloc[[7]].assign(date=pd.Timestamp("2100-01-04"))])
    expect_error(write_csv(tmp_path, frame), "row 9", "date 2100-01-04", "date after today")
