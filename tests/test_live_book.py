"""A paper book on a hand-made market: the orders file of an evening checked by hand (a
stock at limit-up, a suspended one, a sell that T+1 stops, a STAR order), kills at every
point of an evening leave the book as it was before or after it, a second ``live next``
is told the book is busy, missed evenings are caught up as if booked one by one, the
command line, and what a book refuses to carry."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import quant.live as live
from quant.cli import main
from quant.data import load_panel
from quant.data.asof import as_of
from quant.engine.config import BacktestConfig
from quant.live.book import Book, BookError
from quant.live.evening import FAULT
from tests.conftest import make_bars, sessions

ROOT = Path(__file__).resolve().parents[1]
DAYS = sessions("2023-03-01", periods=40)
EVENING = DAYS[20]  # the evening whose orders are checked by hand
NEXT = DAYS[21]


def closes(base: float, **changes: float) -> list[float]:
    """``base`` every session, with the closes of ``changes`` (``d20=11.0``: session 20)."""
    values = [base] * len(DAYS)
    for key, value in changes.items():
        values[int(key[1:])] = value
    return values


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> dict[str, Path]:
    """Five stocks and an index over 40 sessions of 2023:

    - 600000.SH (main board) closes at 10.00, then at its limit-up 11.00 on session 20;
    - 000001.SZ has no bar on session 20 (suspended), its last close 8.00;
    - 600036.SH closes at 30.00 throughout (the scripted strategy buys it, then sells more
      than it holds);
    - 688001.SH (STAR) closes at 50.00;
    - 600016.SH drifts up, a little each day."""
    folder = tmp_path_factory.mktemp("market")
    later = {f"d{k}": 11.0 for k in range(21, 40)}
    up = closes(10.0, d20=11.0, **later)
    frames = [
        make_bars("600000.SH", DAYS, up, open=closes(10.0, d20=10.5, **later)),
        make_bars("000001.SZ", DAYS.delete(20), [8.0] * 39),
        make_bars("600036.SH", DAYS, closes(30.0)),
        make_bars("688001.SH", DAYS, closes(50.0)),
        make_bars("600016.SH", DAYS, [round(5.0 + 0.02 * k, 2) for k in range(len(DAYS))]),
    ]
    stocks = pd.concat(frames, ignore_index=True)
    stocks["adj_factor"] = 1.0
    index = make_bars("000001.SH", DAYS, [3000.0 + k for k in range(len(DAYS))])
    stocks.to_parquet(folder / "stocks.parquet", index=False)
    index.to_parquet(folder / "index.parquet", index=False)
    return {"data": folder / "stocks.parquet", "index_data": folder / "index.parquet"}


def scripted(market: dict[str, Path], folder: Path, orders: dict[str, list[str]]) -> Path:
    """A book of the scripted strategy (tests.live_strategies.Scripted) from session 1."""
    config = BacktestConfig(
        data=str(market["data"]),
        index_data=str(market["index_data"]),
        start=str(DAYS[1].date()),
        end=str(DAYS[-1].date()),
        strategies=["tests.live_strategies:Scripted"],
        params={
            "Scripted": {
                "codes": ["600000.SH", "000001.SZ", "600036.SH", "688001.SH", "600016.SH"],
                "orders": orders,
            }
        },
        cache_dir=str(folder / "cache"),
    )
    return live.init(config, folder / "book")


def day(value) -> str:
    return str(pd.Timestamp(value).date())


def test_the_orders_file_of_a_hand_made_evening(market, tmp_path):
    orders = {
        day(DAYS[19]): ["600036.SH:200"],  # filled at the open of session 20: bought today
        day(EVENING): [
            "600000.SH:1000",  # a buy of a stock that closed at limit-up tonight
            "000001.SZ:500",  # a buy of a stock suspended today
            "600036.SH:100",  # a buy, then a sell of more than is held tonight
            "600036.SH:-300",
            "688001.SH:250",  # a STAR order: at least 200 shares, then steps of 1
        ],
    }
    book = scripted(market, tmp_path, orders)
    evenings = live.next(book, until=day(EVENING))
    assert [e.session for e in evenings] == list(DAYS[:21])
    path = book / f"orders-{day(NEXT)}.csv"
    assert evenings[-1].orders_path == path
    table = pd.read_csv(path, dtype={"code": str})
    assert (
        path.read_text()
        .splitlines()[1]
        .startswith("Scripted,600000.SH,main,buy,1000,market,11.00,")
    )
    # reference price = tonight's close (the last close while suspended); limits =
    # reference x (1 +/- 10 %) (STAR: 20 %), rounded half up to the fen
    expected = [
        ("600000.SH", "main", "buy", 1000, 11.00, 12.10, 9.90, "lots of 100",
         "at limit-up today: fills only if it opens below 12.10"),
        ("000001.SZ", "main", "buy", 500, 8.00, 8.80, 7.20, "lots of 100", "suspended today"),
        ("600036.SH", "main", "buy", 100, 30.00, 33.00, 27.00, "lots of 100", np.nan),
        ("600036.SH", "main", "sell", 300, 30.00, 33.00, 27.00, "lots of 100",
         "T+1: sells 300 shares, 200 held tonight (shares bought tomorrow cannot be sold "
         "tomorrow)"),
        ("688001.SH", "star", "buy", 250, 50.00, 60.00, 40.00, "at least 200, then steps of 1",
         np.nan),
    ]  # fmt: skip
    columns = ["code", "board", "side", "shares", "reference_price", "limit_up", "limit_down",
               "order_size", "may_stop"]  # fmt: skip
    pd.testing.assert_frame_equal(
        table[columns], pd.DataFrame(expected, columns=columns), check_dtype=False
    )
    assert set(table["strategy"]) == {"Scripted"} and set(table["order_type"]) == {"market"}
    assert list(table["reason"]) == ["scripted buy"] * 3 + ["scripted sell", "scripted buy"]
    # the next evening books them against session 21's bars: 600000 opens at its new
    # limit-up 11.00?  no: 11.00 is inside 9.90 .. 12.10, so it fills; the suspended stock
    # trades again; the sell of 300 with 300 held after the buy is refused under T+1
    evening = live.next(book, until=day(NEXT))[0]
    run = evening.runs["Scripted"]
    assert sorted(zip(run.fills["code"], run.fills["side"], run.fills["size"])) == [
        ("000001.SZ", "buy", 500), ("600000.SH", "buy", 1000), ("600036.SH", "buy", 100),
        ("688001.SH", "buy", 250),
    ]  # fmt: skip
    assert list(zip(run.refusals["code"], run.refusals["reason"])) == [("600036.SH", "T+1")]


def reference(market, folder: Path, until: str) -> Path:
    book = scripted(market, folder, ROTATING)
    live.next(book, until=until)
    return book


#: Orders on every few sessions, so that each evening has fills and orders.
ROTATING = {
    day(DAYS[k]): [f"600016.SH:{100 * (1 + k % 3)}", f"600036.SH:{-100 if k % 2 else 100}"]
    for k in range(1, 39, 2)
}


def contents(book: Path) -> dict[str, pd.DataFrame]:
    """Every table of a book but the times it was written at."""
    with Book.open(book) as opened:
        tables = {
            name: opened.frame(f"SELECT * FROM {name}")
            for name in ("sessions", "accounts", "positions", "fills", "refusals", "orders")
        }
    tables["sessions"] = tables["sessions"].drop(columns="booked_at")
    return tables


def same_book(one: Path, other: Path) -> None:
    first, second = contents(one), contents(other)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], obj=name)


def run_next(book: Path, until: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "quant", "live", "next", "--book", str(book), "--until", until],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def integrity(book: Path) -> None:
    with sqlite3.connect(book / "book.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


POINTS = ["start", "computed", "half-written", "written", "committed"]


def test_a_kill_at_any_point_leaves_the_book_before_or_after_the_evening(market, tmp_path):
    """Killed (SIGKILL, nothing cleaned up) at each named point of the evening of session
    12, a book is as it was after session 11, or (killed after the commit) after session
    12; the next ``live next`` then ends it as if nothing had happened (its orders file
    written again from the book)."""
    whole = reference(market, tmp_path / "whole", day(DAYS[12]))
    start = reference(market, tmp_path / "start", day(DAYS[11]))
    books = {}
    for point in POINTS:
        books[point] = tmp_path / f"killed-{point}" / "book"
        shutil.copytree(start, books[point])
    processes = {p: run_next(books[p], day(DAYS[12]), **{FAULT: p}) for p in POINTS}
    for point, process in processes.items():
        _, err = process.communicate(timeout=120)
        assert process.returncode == -signal.SIGKILL, (point, err)
        integrity(books[point])
        with Book.open(books[point]) as opened:
            last = opened.last_session()
        assert last == day(DAYS[12] if point == "committed" else DAYS[11]), point
        orders = books[point] / f"orders-{day(DAYS[13])}.csv"
        assert not orders.exists()  # never half a file: written after the commit, renamed
        live.next(books[point], until=day(DAYS[12]))
        assert orders.exists()
        same_book(books[point], whole)


def test_timed_kills_leave_whole_evenings(market, tmp_path):
    """Killed at moments into a catch-up of 25 evenings, the book holds whole evenings
    only; ``live next`` then catches up the rest, the same as a book never killed."""
    whole = reference(market, tmp_path / "whole", day(DAYS[30]))
    start = reference(market, tmp_path / "start", day(DAYS[5]))
    delays = [1.5, 2.5, 3.5]
    books = [tmp_path / f"kill{k}" / "book" for k in range(len(delays))]
    for book in books:
        shutil.copytree(start, book)
    processes = [run_next(book, day(DAYS[30])) for book in books]
    began = time.monotonic()
    for delay, process in zip(delays, processes):
        time.sleep(max(0.0, began + delay - time.monotonic()))
        process.send_signal(signal.SIGKILL)
    for process, book in zip(processes, books):
        process.communicate(timeout=120)
        integrity(book)
        with Book.open(book) as opened:
            booked = len(opened.sessions())
            accounts = len(opened.table("accounts"))
        assert accounts == booked  # each session booked is whole: one account each
        live.next(book, until=day(DAYS[30]))
        same_book(book, whole)


def test_a_second_live_next_is_told_the_book_is_busy(market, tmp_path):
    book = scripted(market, tmp_path, ROTATING)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from quant.live.book import Book\n"
         "with Book.open(sys.argv[1]) as b, b.lock('test'):\n"
         "    print('held', flush=True); time.sleep(60)", str(book)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BookError, match="the book is busy"):
            live.next(book)
        process = run_next(book, day(DAYS[3]))
        _, err = process.communicate(timeout=120)
        assert process.returncode == 2
        assert err.strip().splitlines()[-1].startswith("error: ") and "busy" in err
    finally:
        holder.kill()
        holder.wait()
    assert live.next(book, until=day(DAYS[3]))  # free again: it books


def test_missed_evenings_are_caught_up_as_if_booked_one_by_one(market, tmp_path):
    caught_up = reference(market, tmp_path / "caught", day(DAYS[25]))
    stepped = scripted(market, tmp_path / "stepped", ROTATING)
    for session in DAYS[:26]:
        assert [e.session for e in live.next(stepped, until=day(session))] == [session]
    same_book(caught_up, stepped)


def test_the_command_line(market, tmp_path, capsys):
    config = tmp_path / "book.toml"
    config.write_text(
        f'data = "{market["data"]}"\nindex_data = "{market["index_data"]}"\n'
        f'start = "{day(DAYS[1])}"\nstrategies = ["tests.live_strategies:Scripted"]\n'
        f'cache_dir = "{tmp_path / "cache"}"\n[params.Scripted]\n'
        'codes = ["600036.SH", "600016.SH"]\n'
        f'orders = {{ "{day(DAYS[2])}" = ["600036.SH:200"] }}\n'
    )
    book = tmp_path / "book"
    assert main(["live", "init", "--config", str(config), "--book", str(book)]) == 0
    assert main(["live", "next", "--book", str(book), "--until", day(DAYS[3])]) == 0
    out = capsys.readouterr().out
    # 200 x 30.00 = 6,000 yuan: the minimum commission of 5 yuan and a transfer fee of
    # 0.001 % (0.06 yuan); no stamp duty on a buy
    assert f"{day(DAYS[3])}: Scripted 999,994.94 (1 fills, 0 refused)" in out
    assert f"0 orders for {day(DAYS[4])}: {book}/orders-{day(DAYS[4])}.csv" in out
    assert main(["live", "status", "--book", str(book)]) == 0
    out = capsys.readouterr().out
    assert "600036.SH" in out and "none: the same fills, refusals and net values" in out
    assert main(["live", "next", "--book", str(book), "--until", day(DAYS[3])]) == 0
    # the data holds more sessions: --until stopped it, not the data's end
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"{book}: nothing to book up to --until {day(DAYS[3])}: the last booked is {day(DAYS[3])}"
    )
    assert main(["live", "init", "--config", str(config), "--book", str(book)]) == 2
    assert "already exists" in capsys.readouterr().err
    no_start = tmp_path / "no_start.toml"  # the backtest's default start would book years
    no_start.write_text("\n".join(line for line in config.read_text().splitlines()
                                  if not line.startswith("start")))  # fmt: skip
    # a book started the session after the data's last: day 0 is that last session, whose
    # evening writes the first orders; one started later has no day 0 in the data yet
    following = sessions(DAYS[-1], periods=2)[1]
    for name, start in (("tomorrow", following), ("late", pd.Timestamp("2030-01-02"))):
        assert main(["live", "init", "--config", str(config), "--book", str(tmp_path / name),
                     "--start", day(start)]) == 0  # fmt: skip
    assert main(["live", "next", "--book", str(tmp_path / "tomorrow")]) == 0
    assert (tmp_path / "tomorrow" / f"orders-{day(following)}.csv").exists()
    capsys.readouterr()
    # one line each, naming what is at fault
    errors = {
        ("next", "--book", str(tmp_path / "late")):
            f"the book starts on 2030-01-02, and the data ends on {day(DAYS[-1])}: its day 0",
        ("next", "--book", str(tmp_path / "none")): "no book there (book.db missing)",
        ("status", "--book", str(tmp_path / "none")): "no book there (book.db missing)",
        ("next", "--book", str(book), "--until", "2023-13-01"): "--until '2023-13-01': not a date",
        ("init", "--config", str(config), "--book", str(tmp_path / "b2"), "--start", "2023-02-30"):
            "--start '2023-02-30': not a date",
        ("init", "--config", str(tmp_path / "none.toml"), "--book", str(tmp_path / "b3")):
            "no such config file",
        ("init", "--config", str(no_start), "--book", str(tmp_path / "b4")):
            f"{no_start}: no start: a book needs its first session",
    }  # fmt: skip
    for args, message in errors.items():
        assert main(["live", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and message in err[-1], (args, err)


def test_as_of_is_the_data_known_at_that_close(market):
    """The panel cut at a session equals the panel of the data up to it, plus the next
    session without any bar; nothing computed from later rows survives."""
    full = load_panel(market["data"])
    bars = pd.read_parquet(market["data"])
    earlier = load_panel(bars[bars["date"] <= EVENING])
    known = as_of(full, EVENING)
    assert known.dates[-1] == NEXT and known.dates[:-1].equals(earlier.dates)
    assert known.calendar.next_session == DAYS[22]
    cols = known.codes.get_indexer(earlier.codes)
    for name in ("close", "has_bar", "listed", "open_at_limit_up", "close_at_limit_up"):
        np.testing.assert_array_equal(getattr(known, name)[:-1, cols], getattr(earlier, name))
        assert not getattr(known, name)[-1].any() if name != "close" else True
    assert np.isnan(known.close[-1]).all() and not known.has_bar[-1].any()
    suspended = known.column("000001.SZ")
    assert not known.listed[-2, suspended]  # its later bars are not known that evening
    assert full.listed[DAYS.get_loc(EVENING), suspended]


def test_status_says_which_days_differ_from_the_backtest_and_why(market, tmp_path):
    """A bar of a booked session corrected since (600016.SH closes 0.10 higher on session
    6, when the book holds it): status finds that day, says the data changed, and values
    every other day the same."""
    book = reference(market, tmp_path, day(DAYS[10]))
    bars = pd.read_parquet(market["data"])
    row = (bars["code"] == "600016.SH") & (bars["date"] == DAYS[6])
    bars.loc[row, ["close", "high"]] += 0.10
    corrected = load_panel(bars)
    index = load_panel(market["index_data"], kind="index")
    status = live.status(book, panel=corrected, index_panel=index)
    assert list(zip(status.differences["session"], status.differences["why"])) == [
        (day(DAYS[6]), "different data: the session's bars changed since it was booked")
    ]
    held = 200 + 100 + 300  # bought at the opens of sessions 2, 4 and 6 (ROTATING)
    nav = status.nav
    assert nav.loc[DAYS[6], "backtest:Scripted"] - nav.loc[DAYS[6], "Scripted"] == pytest.approx(
        held * 0.10 / 1_000_000, abs=1e-12
    )
    others = nav.index != DAYS[6]
    np.testing.assert_array_equal(nav["Scripted"][others], nav["backtest:Scripted"][others])
    text = str(status)
    assert f"  {day(DAYS[6])} Scripted: equity " in text and "different data" in text


def test_a_refused_order_is_named_as_the_reason_a_day_differs():
    from quant.live.status import _why

    columns = ["code", "side", "size", "price"]
    fill = pd.DataFrame([("600000.SH", "buy", 100.0, 10.0)], columns=columns)
    refusal = pd.DataFrame(
        [("600000.SH", "buy", 100.0, "limit-up")], columns=[*columns[:3], "reason"]
    )
    none = fill.iloc[:0]
    what, why = _why(
        "2023-03-01", "x", none, refusal, fill, refusal.iloc[:0], 1e6, 999_000.0, False
    )
    assert what == "equity 1,000,000.00 in the book, 999,000.00 in the backtest"
    assert why == "a refusal: the book refused buy 100 600000.SH (limit-up)"
    assert _why("2023-03-01", "x", fill, none, fill, none, 1e6, 1e6, False) is None


def test_the_orders_file_writes_each_rows_shares_as_they_are(tmp_path):
    """A frictionless benchmark's fractions of a share beside whole lots: each row as it
    is (they once made every stock's lots 4600.00)."""
    from quant.live.orders import COLUMNS, write_orders

    rows = [
        ["benchmark", "000001.SH", "index", "buy", 308.47726, "market", np.nan, np.nan, np.nan,
         "any amount: fractions of a share too (a reference without costs)", "", ""],
        ["momentum", "002092.SZ", "main", "buy", 15100.0, "market", 13.14, 14.45, 11.83,
         "lots of 100", "rank 4", ""],
    ]  # fmt: skip
    path = write_orders(tmp_path, "2017-03-01", pd.DataFrame(rows, columns=COLUMNS))
    lines = path.read_text().splitlines()
    assert lines[1].startswith("benchmark,000001.SH,index,buy,308.48,market,,,,any amount")
    assert (
        lines[2] == "momentum,002092.SZ,main,buy,15100,market,13.14,14.45,11.83,lots of 100,rank 4,"
    )
