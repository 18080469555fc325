"""The akshare download code and the on-disk store, without the network.

A stand-in East Money (``FakeEastMoney``) answers in the shapes of akshare 1.19.5: the same
function names and parameters, the same Chinese column names and order, volume in lots,
dates as ``datetime.date``. ``test_stand_in_matches_the_installed_akshare`` ties those
shapes to the installed akshare source. The stand-in replaces the functions on the real
akshare module (monkeypatch), so the production look-up path is the one tested.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import akshare
import numpy as np
import pandas as pd
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.cli import main
from quant.data import DataError, MarketPanel, load_bars, load_index
from quant.data.akshare_source import (
    HIST_COLUMNS,
    INDEX_COLUMNS,
    Akshare,
    ResponseError,
    bars_from_hist,
    factor_from_hfq,
    normalize_code,
)
from quant.data.store import (
    MANIFEST,
    BlockedError,
    Store,
    Throttle,
    last_complete_day,
    read_manifest,
)
from quant.errors import UserError
from quant.market.rules import round_to_fen
from tests.conftest import sessions

ROOT = Path(__file__).resolve().parents[1]
DAYS = sessions("2023-01-02", "2023-06-30")
START, END = dt.date(2023, 1, 1), dt.date(2023, 6, 30)
LATER = dt.datetime(2024, 1, 1, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
CODES = ("000001.SZ", "600000.SH", "830799.BJ")
#: akshare 1.19.5 ``stock_zh_a_hist`` columns, in its order.
HIST_ANSWER = ["日期", "股票代码", "开盘", "收盘", "最高", "最低", "成交量", "成交额", "振幅",
               "涨跌幅", "涨跌额", "换手率"]  # fmt: skip


class FakeEastMoney:
    """Answers akshare's calls from a made-up market with known adjustment factors.

    Each code trades every day of ``DAYS`` with raw prices at the fen; its true factor
    steps up on ``EVENTS`` (cash dividend, bonus shares), and the hfq series is the raw
    series x factor rounded to the fen, as East Money publishes it.
    """

    EVENTS: ClassVar[dict[str, float]] = {"2023-02-15": 1.03, "2023-05-10": 1.5}

    def __init__(self, empty: tuple[str, ...] = ()):
        self.empty = set(empty)
        self.calls: list[tuple[str, dict]] = []
        self.failures: list[BaseException] = []
        self.before = lambda name, kwargs: None
        self.bars = {code: self._market(code) for code in (*CODES, "000003.SZ")}

    @staticmethod
    def _market(code: str) -> pd.DataFrame:
        rng = np.random.default_rng(int(code[:6]))
        factor = np.ones(len(DAYS))
        for day, step in FakeEastMoney.EVENTS.items():
            factor[day <= DAYS] *= step
        adjusted = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, len(DAYS))))
        close = round_to_fen(adjusted / factor * factor[0])
        open_ = round_to_fen(close * (1 + rng.normal(0, 0.005, len(DAYS))))
        high = np.maximum(open_, close) + 0.05
        low = np.minimum(open_, close) - 0.05
        lots = rng.integers(1_000, 90_000, len(DAYS)).astype(float)
        return pd.DataFrame(
            {"date": DAYS, "open": open_, "high": high, "low": low, "close": close,
             "lots": lots, "amount": lots * 100 * close, "factor": factor}
        )  # fmt: skip

    def install(self, patch) -> None:
        for name in ("stock_zh_a_hist", "stock_info_a_code_name", "stock_info_sh_delist",
                     "stock_info_sz_delist", "stock_zh_index_daily_em"):  # fmt: skip
            patch(name, getattr(self, name))

    def _answer(self, name: str, kwargs: dict) -> None:
        self.calls.append((name, kwargs))
        self.before(name, kwargs)
        if self.failures:
            raise self.failures.pop(0)

    def hist_calls(self) -> list[dict]:
        return [kwargs for name, kwargs in self.calls if name == "stock_zh_a_hist"]

    def stock_zh_a_hist(self, symbol="000001", period="daily", start_date="19700101",
                        end_date="20500101", adjust="", timeout=None):  # fmt: skip
        self._answer("stock_zh_a_hist", dict(symbol=symbol, start_date=start_date,
                                             end_date=end_date, adjust=adjust))  # fmt: skip
        code = next((c for c in self.bars if c[:6] == symbol), None)
        if code is None or code in self.empty:
            return pd.DataFrame()
        bars = self.bars[code]
        bars = bars[(bars["date"] >= start_date) & (bars["date"] <= end_date)]
        if bars.empty:
            return pd.DataFrame()
        scale = bars["factor"] if adjust == "hfq" else 1.0
        answer = pd.DataFrame(
            {
                "日期": bars["date"].dt.date,
                "股票代码": symbol,
                **{name: round_to_fen(bars[field] * scale)
                   for name, field in (("开盘", "open"), ("收盘", "close"),
                                       ("最高", "high"), ("最低", "low"))},
                "成交量": bars["lots"].astype("int64"),
                "成交额": bars["amount"],
                "振幅": 1.0, "涨跌幅": 0.5, "涨跌额": 0.05, "换手率": 0.3,
            }
        )  # fmt: skip
        return answer.reset_index(drop=True)

    def stock_info_a_code_name(self):
        self._answer("stock_info_a_code_name", {})
        return pd.DataFrame({"code": ["000001", "600000", "830799"], "name": ["a", "b", "c"]})

    def stock_info_sh_delist(self, symbol="全部"):
        self._answer("stock_info_sh_delist", dict(symbol=symbol))
        return pd.DataFrame(
            {"公司代码": ["600001", "900901", "-"], "公司简称": ["x", "B股", "-"],
             "上市日期": [None] * 3, "暂停上市日期": [None] * 3}
        )  # fmt: skip

    def stock_info_sz_delist(self, symbol="终止上市公司"):
        self._answer("stock_info_sz_delist", dict(symbol=symbol))
        return pd.DataFrame(
            {"证券代码": ["000003", "200003"], "证券简称": ["y", "B"],
             "上市日期": [None] * 2, "终止上市日期": [None] * 2}
        )  # fmt: skip

    def stock_zh_index_daily_em(self, symbol="csi931151", start_date="19900101",
                                end_date="20500101"):  # fmt: skip
        self._answer("stock_zh_index_daily_em", dict(symbol=symbol, start_date=start_date,
                                                     end_date=end_date))  # fmt: skip
        if symbol != "sh000300":
            raise TypeError("'NoneType' object is not subscriptable")  # akshare, unknown code
        days = DAYS[(start_date <= DAYS) & (end_date >= DAYS)]
        level = 4000 + np.arange(len(days), dtype=float)
        return pd.DataFrame(
            {"date": days.strftime("%Y-%m-%d"), "open": level, "close": level + 1,
             "high": level + 5, "low": level - 5, "volume": np.full(len(days), 90_000_000),
             "amount": np.full(len(days), 2.5e11)}
        )  # fmt: skip


@pytest.fixture
def east(monkeypatch) -> FakeEastMoney:
    fake = FakeEastMoney(empty=("000003.SZ",))
    fake.install(lambda name, function: monkeypatch.setattr(akshare, name, function))
    return fake


def no_wait() -> Throttle:
    return Throttle(pause=0, sleep=lambda s: None)


def fetch(store_dir, codes=CODES, start=START, end=END, kind="stocks", **options):
    client = Akshare(call=no_wait())
    store = Store.open(store_dir, kind)
    return store.fetch(list(codes), start, end, client, progress=False, now=LATER, **options)


# -- the shapes of akshare's answers -----------------------------------------------------


def test_stand_in_matches_the_installed_akshare():
    import inspect

    def source(name: str) -> str:
        function = getattr(akshare, name)
        return inspect.getsource(getattr(function, "__wrapped__", function))

    hist = source("stock_zh_a_hist")
    # its answer is the final column selection: the last mention of each name, in order
    positions = [hist.rindex(f'"{name}"') for name in HIST_ANSWER]
    assert positions == sorted(positions)
    assert '"hfq": "2"' in hist and "start_date" in hist and "end_date" in hist
    index = source("stock_zh_index_daily_em")
    assert all(f'"{name}"' in index for name in INDEX_COLUMNS)
    assert '"公司代码"' in source("stock_info_sh_delist")
    assert '"证券代码"' in source("stock_info_sz_delist")
    assert '["code", "name"]' in source("stock_info_a_code_name")
    fake = FakeEastMoney()
    assert list(fake.stock_zh_a_hist("000001", start_date="20230101")) == HIST_ANSWER
    assert set(HIST_COLUMNS) <= set(HIST_ANSWER)


def test_column_mapping_lots_to_shares_and_adj_factor_by_hand():
    # 2 days, then a 0.50 yuan cash dividend: the raw close falls from 10.50 to 10.00
    # while the hfq series carries on at 10.50, so the factor steps from 1 to 1.05.
    dates = [dt.date(2023, 3, d) for d in (1, 2, 3)]
    raw = pd.DataFrame(
        {"日期": dates, "股票代码": "000001", "开盘": [9.9, 10.0, 10.1], "收盘": [10.0, 10.5, 10.0],
         "最高": [10.1, 10.6, 10.2], "最低": [9.8, 9.9, 9.9], "成交量": [1234, 10, 5],
         "成交额": [1.2e6, 1.0e4, 5.0e3], "振幅": 0.0, "涨跌幅": 0.0, "涨跌额": 0.0, "换手率": 0.0}
    )  # fmt: skip
    hfq = raw.assign(收盘=[10.0, 10.5, 10.5], 开盘=[9.9, 10.0, 10.61])
    bars = bars_from_hist(raw, hfq, "000001.SZ")
    assert list(bars.columns) == ["date", "code", "open", "high", "low", "close", "volume",
                                  "amount", "adj_factor"]  # fmt: skip
    assert bars["date"].tolist() == list(pd.to_datetime(dates))
    assert (bars["code"] == "000001.SZ").all()
    assert bars["volume"].tolist() == [123_400, 1_000, 500]  # lots of 100 -> shares
    assert bars["amount"].tolist() == [1.2e6, 1.0e4, 5.0e3]  # yuan, unchanged
    assert bars["close"].tolist() == [10.0, 10.5, 10.0]  # raw prices stay raw
    assert bars["adj_factor"].tolist() == pytest.approx([1.0, 1.0, 1.05])
    assert (bars["close"] * bars["adj_factor"]).tolist() == pytest.approx([10.0, 10.5, 10.5])
    # the panel's ex-rights reference on day 3 is the previous close / 1.05 = 10.00
    panel = MarketPanel.from_frame(load_bars_from(bars))
    assert panel.limit_up[2, 0] == 11.0 and panel.limit_down[2, 0] == 9.0


def load_bars_from(frame: pd.DataFrame) -> pd.DataFrame:
    return load_bars(frame)


def test_raw_times_adj_factor_reproduces_the_hfq_prices():
    east = FakeEastMoney()
    raw = east.stock_zh_a_hist("600000", start_date="20230101", end_date="20231231")
    hfq = east.stock_zh_a_hist("600000", start_date="20230101", end_date="20231231", adjust="hfq")
    bars = bars_from_hist(raw, hfq, "600000.SH")
    for raw_name, name in (("收盘", "close"), ("开盘", "open"), ("最高", "high"), ("最低", "low")):
        rebuilt = bars[name] * bars["adj_factor"]
        # the hfq series is rounded to the fen; the factor carries a day's rounding
        assert np.abs(rebuilt - hfq[raw_name]).max() <= 0.011, name
    close = bars["close"]  # half a fen of hfq rounding, plus the factor's, scaled
    assert np.abs(close * bars["adj_factor"] - hfq["收盘"]).max() <= 0.005 * (
        1 + close.max() / close.min()
    )
    # and the factor moves on the two ex-rights days only, by their steps
    changes = bars["adj_factor"].pct_change().fillna(0).to_numpy()
    moved = bars["date"][np.abs(changes) > 1e-9].dt.strftime("%Y-%m-%d").tolist()
    assert moved == list(FakeEastMoney.EVENTS)
    steps = 1 + changes[np.abs(changes) > 1e-9]
    assert steps == pytest.approx(list(FakeEastMoney.EVENTS.values()), rel=2e-3)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    events=st.lists(st.tuples(st.integers(1, 79), st.floats(0.01, 1.0)), max_size=4),
)
def test_factor_changes_exactly_on_ex_rights_days(seed, events):
    rng = np.random.default_rng(seed)
    true = np.full(80, rng.uniform(1, 30))
    for day, step in events:
        true[day:] *= 1 + step
    raw = round_to_fen(np.exp(rng.normal(np.log(12), 0.1, 80)))
    hfq = round_to_fen(raw * true)
    factor = factor_from_hfq(raw, hfq)
    assert np.abs(raw * factor - hfq).max() <= 0.0051 + 0.005 * raw.max() / raw.min()
    moved = set(np.flatnonzero(np.diff(factor) != 0) + 1)
    assert moved == {day for day, _ in events}


def test_factor_edge_cases():
    raw = np.array([10.0, 10.0, 10.0, 10.0])
    # missing or non-positive hfq closes keep the factor in force (NaN before the first)
    factor = factor_from_hfq(raw, np.array([np.nan, 20.0, -5.0, 20.0]))
    assert np.isnan(factor[0]) and factor[1:].tolist() == [2.0, 2.0, 2.0]
    # an appended stretch continues the stored factor instead of re-deriving it
    assert factor_from_hfq(raw[:1], np.array([20.01]), previous=(2.0, 10.0)).tolist() == [2.0]


def test_a_missing_hfq_series_leaves_the_code_without_adj_factor(caplog):
    raw = FakeEastMoney().stock_zh_a_hist("600000", start_date="20230101")
    bars = bars_from_hist(raw, pd.DataFrame(), "600000.SH")
    assert bars["adj_factor"].isna().all() and "no hfq series" in caplog.text
    assert MarketPanel.from_frame(load_bars_from(bars)).codes_without_adj == ("600000.SH",)


def test_index_bars_lots_and_symbol(east):
    client = Akshare(call=no_wait())
    bars = client.index_bars("000300.SH", dt.date(2023, 1, 1), dt.date(2023, 1, 6))
    assert east.calls[-1] == ("stock_zh_index_daily_em",
                              {"symbol": "sh000300", "start_date": "20230101",
                               "end_date": "20230106"})  # fmt: skip
    # 2023-01-02 was a holiday: 4 sessions from the 3rd to the 6th
    assert bars["volume"].tolist() == [9e9] * 4 and (bars["code"] == "000300.SH").all()
    assert "adj_factor" not in bars.columns
    assert client.index_bars("399999.SZ", START, END).empty  # akshare fails on unknown codes


def test_code_lists_keep_a_shares_only(east):
    client = Akshare(call=no_wait())
    assert client.listed_codes() == ["000001.SZ", "600000.SH", "830799.BJ"]
    assert client.delisted_codes() == ["000003.SZ", "600001.SH"]  # no B-shares, no "-"
    assert ("stock_info_sh_delist", {"symbol": "全部"}) in east.calls
    assert ("stock_info_sz_delist", {"symbol": "终止上市公司"}) in east.calls


@pytest.mark.parametrize(
    ("text", "code"),
    [("600000", "600000.SH"), ("000001", "000001.SZ"), ("300750", "300750.SZ"),
     ("688981", "688981.SH"), ("830799", "830799.BJ"), ("920001", "920001.BJ"),
     ("sz000001", "000001.SZ"), ("600000.sh", "600000.SH")],
)  # fmt: skip
def test_normalize_code(text, code):
    assert normalize_code(text) == code


def test_normalize_code_errors():
    with pytest.raises(DataError, match="give the exchange"):
        normalize_code("000300", index=True)
    assert normalize_code("sh000300", index=True) == "000300.SH"
    with pytest.raises(DataError, match="not an A-share"):
        normalize_code("900901")
    with pytest.raises(DataError, match="unknown code format"):
        normalize_code("60000")
    with pytest.raises(DataError, match=r"not an A-share of SH \(akshare would fetch 000300.SZ"):
        normalize_code("000300.SH")


def test_bars_without_usable_prices_are_dropped(caplog):
    raw = FakeEastMoney().stock_zh_a_hist("600000", start_date="20230101", end_date="20230106")
    raw.loc[1, "开盘"] = np.nan  # East Money's "-"
    raw.loc[2, "收盘"] = 0.0
    bars = bars_from_hist(raw, raw, "600000.SH")
    # sessions 3..6 January (the 2nd was a holiday): the 4th and 5th have no usable price
    assert bars["date"].dt.day.tolist() == [3, 6] and "dropped 2 bars" in caplog.text


def test_a_missing_column_is_a_clear_error(east, tmp_path, monkeypatch):
    answer = east.stock_zh_a_hist
    monkeypatch.setattr(
        akshare, "stock_zh_a_hist", lambda **kw: answer(**kw).drop(columns="成交量")
    )
    with pytest.raises(ResponseError, match=r"stock_zh_a_hist\(000001\).*no column '成交量'"):
        fetch(tmp_path)
    assert not list(tmp_path.glob("*.parquet"))


# -- pacing, retries, blocking -----------------------------------------------------------


class Clock:
    """A fake clock that ``sleep`` advances; records every wait."""

    def __init__(self):
        self.now, self.waits = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_pause_between_requests():
    clock = Clock()
    throttle = Throttle(pause=1.5, sleep=clock.sleep, clock=clock)
    starts = []

    def request():
        starts.append(clock.now)
        clock.now += 0.2  # the request itself takes 0.2 s

    for _ in range(3):
        throttle(request)
    assert starts == pytest.approx([0.0, 1.7, 3.4])  # 1.5 s from the end of the last one
    assert clock.waits == pytest.approx([1.5, 1.5])


def test_retries_back_off_exponentially_then_succeed():
    clock = Clock()
    throttle = Throttle(pause=1.0, retries=4, backoff=5.0, sleep=clock.sleep, clock=clock)
    failures = [
        requests.exceptions.ConnectionError(
            ("Connection aborted.", http.client.RemoteDisconnected("closed"))
        ),
        ConnectionResetError(104, "reset"),
        requests.exceptions.ReadTimeout("timed out"),
    ]

    def flaky(symbol):
        if failures:
            raise failures.pop(0)
        return symbol

    assert throttle(flaky, symbol="000001") == "000001"
    assert clock.waits == [5.0, 10.0, 20.0]  # the backoff covers the pause
    assert throttle.requests == 4


def test_blocked_after_the_last_retry_says_what_to_do():
    clock = Clock()
    throttle = Throttle(pause=1.0, retries=3, backoff=2.0, sleep=clock.sleep, clock=clock)

    def refused(**kwargs):
        raise requests.exceptions.ConnectionError("Remote end closed connection")

    with pytest.raises(BlockedError) as error:
        throttle(refused, symbol="600000")
    assert clock.waits == [2.0, 4.0, 8.0] and throttle.requests == 4
    message = str(error.value)
    assert "refused(symbol='600000')" in message and "4 tries" in message
    assert "blocks IPs" in message and "run the same command again" in message


def test_other_errors_are_not_retried():
    throttle = no_wait()

    def broken():
        raise ValueError("a bug, not the network")

    with pytest.raises(ValueError, match="a bug"):
        throttle(broken)
    assert throttle.requests == 1


def test_blocked_mid_fetch_keeps_the_finished_codes_and_reports_progress(east, tmp_path, capsys):
    def refuse_600000(name, kwargs):
        if kwargs.get("symbol") == "600000":
            raise requests.exceptions.ConnectionError("Remote end closed connection")

    east.before = refuse_600000
    args = ["data", "fetch", "--codes", *CODES, "--start", "2023-01-01", "--end", "2023-06-30",
            "--store", str(tmp_path), "--pause", "0", "--retries", "0"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stock_zh_a_hist(symbol='600000'")
    assert "1 of 3 codes done" in err and "blocks IPs" in err
    assert sorted(read_manifest(tmp_path)["codes"]) == ["000001.SZ"]
    assert (tmp_path / "000001.SZ.parquet").exists()


# -- the store ---------------------------------------------------------------------------


def test_fetch_writes_a_store_that_loads_like_files(east, tmp_path):
    report = fetch(tmp_path)
    assert (report.fetched, report.empty, report.requests) == (3, 0, 6)  # raw + hfq each
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "000001.SZ.parquet", "600000.SH.parquet", "830799.BJ.parquet", MANIFEST]  # fmt: skip
    bars = load_bars(tmp_path)
    assert sorted(bars["code"].astype(str).unique()) == list(CODES)
    assert len(bars) == 3 * len(DAYS)
    one = bars[bars["code"] == "600000.SH"].reset_index(drop=True)
    truth = east.bars["600000.SH"]
    assert one["close"].tolist() == truth["close"].tolist()
    assert one["volume"].tolist() == (truth["lots"] * 100).tolist()
    panel = MarketPanel.from_frame(bars)
    assert panel.codes_without_adj == ()
    entry = read_manifest(tmp_path)["codes"]["600000.SH"]
    assert entry == {"start": "2023-01-01", "end": "2023-06-30", "rows": len(DAYS),
                     "first_date": "2023-01-03", "last_date": "2023-06-30"}  # fmt: skip


def test_a_second_call_fetches_nothing_and_a_later_end_only_the_new_days(east, tmp_path):
    fetch(tmp_path, end=dt.date(2023, 3, 31))
    east.calls.clear()
    again = fetch(tmp_path, end=dt.date(2023, 3, 31))
    assert (again.up_to_date, again.requests, east.calls) == (3, 0, [])

    grown = fetch(tmp_path, end=END)  # the 2023-05-10 bonus issue falls in the new part
    asked = {(c["symbol"], c["start_date"], c["end_date"]) for c in east.hist_calls()}
    assert asked == {(code[:6], "20230401", "20230630") for code in CODES}
    assert grown.new_rows == 3 * len(DAYS[DAYS >= "2023-04-01"])
    incremental = load_bars(tmp_path)
    one_go = tmp_path / "one_go"
    fetch(one_go)
    pd.testing.assert_frame_equal(incremental, load_bars(one_go))


def test_an_earlier_start_refetches_the_whole_range(east, tmp_path):
    fetch(tmp_path, start=dt.date(2023, 3, 1))
    east.calls.clear()
    fetch(tmp_path)
    asked = {(c["symbol"], c["start_date"], c["end_date"]) for c in east.hist_calls()}
    assert asked == {(code[:6], "20230101", "20230630") for code in CODES}
    assert len(load_bars(tmp_path)) == 3 * len(DAYS)


def test_end_is_capped_at_the_last_complete_day(east, tmp_path):
    during_session = dt.datetime(2023, 6, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    Store.open(tmp_path, "stocks").fetch(
        ["600000.SH"], START, END, Akshare(call=no_wait()), progress=False, now=during_session
    )
    assert {c["end_date"] for c in east.hist_calls()} == {"20230629"}
    assert load_bars(tmp_path)["date"].max() == pd.Timestamp("2023-06-29")


def test_last_complete_day():
    beijing = dt.timezone(dt.timedelta(hours=8))
    assert last_complete_day(dt.datetime(2024, 3, 5, 15, 59, tzinfo=beijing)) == dt.date(2024, 3, 4)
    assert last_complete_day(dt.datetime(2024, 3, 5, 16, 0, tzinfo=beijing)) == dt.date(2024, 3, 5)
    utc = dt.datetime(2024, 3, 5, 7, 30, tzinfo=dt.timezone.utc)  # 15:30 in Beijing
    assert last_complete_day(utc) == dt.date(2024, 3, 4)


def test_empty_codes_are_recorded_and_info_says_survivor_biased(east, tmp_path, capsys):
    args = ["data", "fetch", "--all", "--start", "2023-01-01", "--end", "2023-06-30",
            "--store", str(tmp_path), "--pause", "0"]  # fmt: skip
    assert main(args) == 0
    assert "5 codes: 5 fetched" in capsys.readouterr().out
    manifest = read_manifest(tmp_path)
    assert manifest["universe"]["delisted"] == ["000003.SZ", "600001.SH"]
    assert manifest["codes"]["600001.SH"]["rows"] == 0  # no file for an empty code
    assert manifest["codes"]["000003.SZ"]["rows"] == 0
    assert not (tmp_path / "600001.SH.parquet").exists()

    assert main(["data", "info", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SURVIVOR-BIASED: 2 codes came back empty (000003.SZ, 600001.SH)" in out
    assert "0 of 2 delisted codes have bars" in out
    assert main(["data", "info", "--data", str(tmp_path), "--json"]) == 0
    store = json.loads(capsys.readouterr().out)["store"]
    assert store["survivor_biased"] is True and store["empty_codes"] == 2

    # an empty code is not asked for again, unless asked to
    east.calls.clear()
    assert main(args) == 0 and east.calls[3:] == []  # only the three list requests
    east.empty.clear()
    assert main([*args, "--retry-empty"]) == 0
    assert {c["symbol"] for c in east.hist_calls()} == {"000003", "600001"}
    assert read_manifest(tmp_path)["codes"]["000003.SZ"]["rows"] == len(DAYS)


def test_info_on_a_store_without_gaps_or_with_hand_picked_codes(east, tmp_path, capsys):
    fetch(tmp_path)
    assert main(["data", "info", "--data", str(tmp_path)]) == 0
    assert "survivorship            unknown: codes chosen by hand" in capsys.readouterr().out


def test_index_store(east, tmp_path, capsys):
    args = ["data", "fetch", "--index", "--codes", "000300.SH", "sz399999", "--start",
            "2023-01-01", "--end", "2023-01-31", "--store", str(tmp_path), "--pause", "0"]  # fmt: skip
    assert main(args) == 0
    bars = load_index(tmp_path)
    assert bars["code"].astype(str).unique().tolist() == ["000300.SH"]
    with pytest.raises(UserError, match=r"expected A-share stocks only, found 000300.SH"):
        load_bars(tmp_path)  # index bars are not stocks
    assert read_manifest(tmp_path)["codes"]["399999.SZ"]["rows"] == 0
    with pytest.raises(DataError, match="holds index bars"):
        Store.open(tmp_path, "stocks")
    assert main(["data", "fetch", "--index", "--all", "--start", "2023-01-01",
                 "--store", str(tmp_path)]) == 2  # fmt: skip
    assert "--all lists stocks only" in capsys.readouterr().err


def test_one_fetch_per_store(east, tmp_path):
    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(DataError, match="another fetch is writing"):
            fetch(tmp_path)
    fetch(tmp_path)  # free again


def test_a_folder_of_other_files_is_not_taken_for_a_store(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "mine.parquet")
    with pytest.raises(DataError, match="not a store"):
        Store.open(tmp_path, "stocks")


# -- interruptions -----------------------------------------------------------------------

DRIVER = """
import os, signal, sys
import akshare
from tests.test_akshare_store import CODES, FakeEastMoney
mode, store = sys.argv[1:3]
fake = FakeEastMoney()
fake.install(lambda name, function: setattr(akshare, name, function))
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
if mode == "between-codes":  # code 1 is stored; the first request for code 2 never returns
    fake.before = lambda name, kw: die() if kw.get("symbol") == "600000" else None
else:  # code 2's file is written under its temporary name, and the rename never happens
    rename = os.replace
    os.replace = lambda a, b: die() if str(b).endswith("600000.SH.parquet") else rename(a, b)
from quant.cli import main
main(["data", "fetch", "--codes", *CODES, "--start", "2023-01-01", "--end", "2023-06-30",
      "--store", store, "--pause", "0"])
"""


@pytest.mark.parametrize("mode", ["between-codes", "between-write-and-rename"])
def test_a_killed_fetch_leaves_no_half_file_and_resumes_with_what_is_missing(mode, east, tmp_path):
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, mode, str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    leftovers = sorted(p.name for p in store.iterdir())
    temporary = [name for name in leftovers if name.endswith(".tmp")]
    if mode == "between-write-and-rename":
        assert len(temporary) == 1 and temporary[0].startswith(".600000.SH.parquet.")
        assert (store / temporary[0]).stat().st_size > 0  # written in full, never renamed
    else:
        assert temporary == []
    assert [n for n in leftovers if n.endswith(".parquet")] == ["000001.SZ.parquet"]
    assert sorted(read_manifest(store)["codes"]) == ["000001.SZ"]
    assert load_bars(store)["code"].astype(str).unique().tolist() == ["000001.SZ"]

    report = fetch(store)  # the next call asks for the two missing codes only
    assert {c["symbol"] for c in east.hist_calls()} == {"600000", "830799"}
    assert (report.up_to_date, report.fetched, report.requests) == (1, 2, 4)
    assert not [p for p in store.iterdir() if p.name.endswith(".tmp")]  # cleaned up
    fresh = tmp_path / "fresh"
    fetch(fresh)
    pd.testing.assert_frame_equal(load_bars(store), load_bars(fresh))


def test_a_file_written_but_not_in_the_manifest_is_reconciled(east, tmp_path):
    fetch(tmp_path, end=dt.date(2023, 3, 31))
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    del manifest["codes"]["600000.SH"]  # as if killed between the rename and the manifest
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    fetch(tmp_path, end=END)
    bars = load_bars(tmp_path)  # no duplicate (code, date) rows: validation would fail
    assert len(bars) == 3 * len(DAYS)
    assert read_manifest(tmp_path)["codes"]["600000.SH"]["rows"] == len(DAYS)


def test_a_store_file_lost_since_the_manifest_is_fetched_again(east, tmp_path):
    fetch(tmp_path)
    os.remove(tmp_path / "830799.BJ.parquet")
    east.calls.clear()
    report = fetch(tmp_path)
    assert (report.fetched, report.up_to_date) == (1, 2)
    assert len(load_bars(tmp_path)) == 3 * len(DAYS)
