"""``quant data update`` on recorded shapes, never the network: an akshare store (the
stand-in East Money of test_akshare_store, answering as akshare 1.19.5 does) asks only for
the sessions it lacks, says why when there is nothing to add (the exchange has not closed,
not a session, the source has no new day) and asks again for a day the source had not
published; an imported store takes its source folder's new files."""

from __future__ import annotations

import datetime as dt

import akshare
import pandas as pd
import pytest

from quant.cli import main
from quant.data import load_bars
from quant.data.akshare_source import Akshare
from quant.data.manifest import read_manifest
from quant.data.store import Store
from quant.data.update import last_final_session, update_store
from tests.test_akshare_store import CODES, FakeEastMoney, no_wait

BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(day: str, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=BEIJING)


@pytest.fixture
def east(monkeypatch) -> FakeEastMoney:
    fake = FakeEastMoney()
    fake.install(lambda name, function: monkeypatch.setattr(akshare, name, function))
    return fake


def client() -> Akshare:
    return Akshare(call=no_wait())


def filled(store, until: str, codes=CODES, start=dt.date(2023, 1, 1)) -> None:
    """A store fetched (as quant data fetch does) up to ``until``'s evening."""
    Store.open(store, "stocks").fetch(
        list(codes), start, dt.date(2050, 1, 1), client(), progress=False, now=at(until, 17)
    )


def asked(east: FakeEastMoney) -> set[tuple[str, str, str]]:
    return {(c["symbol"], c["start_date"], c["end_date"]) for c in east.hist_calls()}


def test_last_final_session():
    assert last_final_session(at("2023-04-14", 17)) == dt.date(2023, 4, 14)  # a Friday
    assert last_final_session(at("2023-04-14", 15, 30)) == dt.date(2023, 4, 13)
    assert last_final_session(at("2023-04-16", 12)) == dt.date(2023, 4, 14)  # Sunday
    assert last_final_session(at("2023-05-02", 17)) == dt.date(2023, 4, 28)  # Labour Day


def test_an_akshare_store_asks_only_for_the_sessions_it_lacks(east, tmp_path):
    """Each code from its own start: 600000.SH was fetched from March only; an update
    asks every code for the days after those asked for (2023-04-01 on) up to 04-14 and
    nothing before, and the store then equals one fetched in one go."""
    store = tmp_path / "store"
    filled(store, "2023-03-31", codes=("000001.SZ", "830799.BJ"))
    filled(store, "2023-03-31", codes=("600000.SH",), start=dt.date(2023, 3, 1))
    east.calls.clear()
    done = update_store(store, client=client(), now=at("2023-04-14", 18))
    assert asked(east) == {(code[:6], "20230401", "20230414") for code in CODES}
    assert (done.before, done.after, done.target) == (
        dt.date(2023, 3, 31), dt.date(2023, 4, 14), dt.date(2023, 4, 14)
    )  # fmt: skip
    # 9 sessions: April 3 .. 14 without Qingming (April 5); raw and hfq for each code
    assert done.new_bars == 3 * 9 and done.requests == 6
    assert done.line.endswith(
        "27 new bars of 3 codes, last session 2023-03-31 -> 2023-04-14; 6 requests"
    )
    one_go = tmp_path / "one_go"
    filled(one_go, "2023-04-14", codes=("000001.SZ", "830799.BJ"))
    filled(one_go, "2023-04-14", codes=("600000.SH",), start=dt.date(2023, 3, 1))
    pd.testing.assert_frame_equal(load_bars(store), load_bars(one_go))

    east.calls.clear()
    again = update_store(store, client=client(), now=at("2023-04-16", 10))  # a Sunday
    assert east.calls == [] and again.new_bars == 0
    assert again.line.endswith(
        "up to date: the last session is 2023-04-14; today (2023-04-16) is not a session"
    )
    during = update_store(store, client=client(), now=at("2023-04-17", 14, 5))
    assert east.calls == []
    assert during.line.endswith(
        "up to date: the last session is 2023-04-14; the exchange has not closed yet: today's "
        "bars (2023-04-17) are final at 16:00 Beijing time, it is 14:05"
    )


def test_a_day_the_source_has_not_published_is_asked_for_again(east, tmp_path):
    store = tmp_path / "store"
    filled(store, "2023-04-14")
    published = {code: bars for code, bars in east.bars.items()}
    east.bars = {code: bars[bars["date"] <= "2023-04-14"] for code, bars in published.items()}
    east.calls.clear()
    done = update_store(store, client=client(), now=at("2023-04-17", 16, 30))
    assert asked(east) == {(code[:6], "20230415", "20230417") for code in CODES}
    assert done.new_bars == 0 and done.after == dt.date(2023, 4, 14)
    assert (
        "the source has no new day: asked for the sessions after 2023-04-14 up to 2023-04-17"
        in done.line
    )
    assert {e["end"] for e in read_manifest(store)["codes"].values()} == {"2023-04-14"}
    east.bars = published  # published later that evening
    east.calls.clear()
    later = update_store(store, client=client(), now=at("2023-04-17", 20))
    assert asked(east) == {(code[:6], "20230415", "20230417") for code in CODES}
    assert later.after == dt.date(2023, 4, 17) and later.new_bars == 3


def tidy_day(folder, day: str, close: float = 10.0) -> None:
    """One day's bars of two stocks as a tidy CSV file, the way a daily export arrives."""
    bars = pd.DataFrame(
        {"date": day, "code": ["600000.SH", "000001.SZ"], "open": close, "high": close + 0.1,
         "low": close - 0.1, "close": close, "volume": 1e6, "amount": 1e7, "adj_factor": 1.0}
    )  # fmt: skip
    bars.to_csv(folder / f"{day}.csv", index=False)


def test_an_imported_store_takes_its_folders_new_files(tmp_path, capsys, monkeypatch):
    source, store = tmp_path / "daily", tmp_path / "store"
    source.mkdir()
    for day in ("2023-04-10", "2023-04-11", "2023-04-12"):
        tidy_day(source, day)
    imported = ["data", "import", str(source), "--format", "tidy", "--out", str(store)]
    assert main(imported) == 0
    monkeypatch.setattr("quant.data.update.clock", lambda: at("2023-04-13", 18))
    assert main(["data", "update", "--store", str(store)]) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(
            "the source has no new day: its files end at 2023-04-12, as the store does (tidy "
            f"files at {source})"
        )
    )
    tidy_day(source, "2023-04-13", close=10.5)
    assert main(["data", "update", "--store", str(store)]) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("2 new bars from the tidy files, last session 2023-04-12 -> 2023-04-13")
    )
    bars = load_bars(store)
    assert bars["date"].max() == pd.Timestamp("2023-04-13")
    assert bars[bars["date"] == "2023-04-13"]["close"].tolist() == [10.5, 10.5]
    assert read_manifest(store)["imported"]["format"] == "tidy"
    # a revised earlier day is said, and a bad new file refused as any import is
    tidy_day(source, "2023-04-11", close=9.9)
    tidy_day(source, "2023-04-14", close=11.0)
    monkeypatch.setattr("quant.data.update.clock", lambda: at("2023-04-14", 18))
    assert main(["data", "update", "--store", str(store)]) == 0
    assert "; 2 bars of earlier sessions differ from the store's" in capsys.readouterr().out
    bad = pd.read_csv(source / "2023-04-14.csv")
    bad.loc[0, "high"] = 1.0  # below its low
    bad.assign(date="2023-04-17").to_csv(source / "2023-04-17.csv", index=False)
    monkeypatch.setattr("quant.data.update.clock", lambda: at("2023-04-17", 18))
    assert main(["data", "update", "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "600000.SH" in err and "2023-04-17" in err
    assert load_bars(store)["date"].max() == pd.Timestamp("2023-04-14")  # kept as it was


def test_what_cannot_be_updated(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    assert main(["data", "update", "--store", str(tmp_path / "mine")]) == 2
    assert "no manifest.json: not a store" in capsys.readouterr().err
    assert main(["data", "update", "--store", str(tmp_path / "absent")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'absent'}: no such folder " + (
        "(quant data fetch or import makes a store)"
    )
