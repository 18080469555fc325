"""The market model: the rules table (one test per board and date boundary), order sizes,
the securities master and the trading calendar, each against the exchange's own rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.errors import UserError
from quant.market.calendar import TradingCalendar, exchange_sessions, sessions_from
from quant.market.rules import (
    OrderSize,
    board_opened,
    board_rules,
    limit_free_days,
    limit_rates,
    order_size,
)
from quant.market.securities import UnknownCode, check_kind, classify, code_ranges


def rate(board: str, day: str, st: bool = False) -> float:
    return float(limit_rates(np.array([board]), pd.DatetimeIndex([day]), np.array([[st]]))[0, 0])


# -- price limits, per board and date boundary ---------------------------------------------
@pytest.mark.parametrize(
    ("board", "before", "after", "then", "now", "st_then", "st_now"),
    [
        # 10 % limits begin 1996-12-16 (CSRC notice); no limit the day before
        ("main", "1996-12-13", "1996-12-16", np.nan, 0.10, np.nan, 0.05),
        # registration system: the rates stay 10 % / 5 %
        ("main", "2023-04-07", "2023-04-10", 0.10, 0.10, 0.05, 0.05),
        # main-board risk warning 5 % -> 10 % on 2026-07-06 (SSE/SZSE Trading Rules 2026)
        ("main", "2026-07-03", "2026-07-06", 0.10, 0.10, 0.05, 0.10),
        # ChiNext reform 2020-08-24: 10 % -> 20 %, ST 5 % -> 20 %
        ("chinext", "2020-08-21", "2020-08-24", 0.10, 0.20, 0.05, 0.20),
        # STAR from its first listings, 2019-07-22: 20 % for every stock
        ("star", "2019-07-19", "2019-07-22", np.nan, 0.20, np.nan, 0.20),
        # Beijing: 30 % from the NEEQ select layer (2020-07-27) through the BSE (2021-11-15)
        ("bse", "2020-07-24", "2020-07-27", np.nan, 0.30, np.nan, 0.30),
        ("bse", "2021-11-12", "2021-11-15", 0.30, 0.30, 0.30, 0.30),
    ],
)
def test_limit_rates_change_on_the_rule_dates(board, before, after, then, now, st_then, st_now):
    np.testing.assert_equal(rate(board, before), then)
    np.testing.assert_equal(rate(board, after), now)
    np.testing.assert_equal(rate(board, before, st=True), st_then)
    np.testing.assert_equal(rate(board, after, st=True), st_now)


def test_codes_without_a_board_have_no_limit():
    assert np.isnan(limit_rates(np.array([""]), pd.DatetimeIndex(["2017-01-03"]))).all()


@pytest.mark.parametrize(
    ("board", "listing", "days"),
    [
        ("main", "2023-04-07", 1),  # the approval system: only the listing day
        ("main", "2023-04-10", 5),  # registration-system IPOs: 5 days
        ("chinext", "2020-08-21", 1),
        ("chinext", "2020-08-24", 5),
        ("star", "2019-07-22", 5),
        ("bse", "2021-11-15", 1),  # BSE: no limit on the listing day only
    ],
)
def test_limit_free_days_after_a_listing(board, listing, days):
    assert limit_free_days(board, pd.Timestamp(listing)) == days


def test_the_boards_open_on_their_first_rule_date():
    assert board_opened("star") == pd.Timestamp("2019-07-22")
    assert board_opened("chinext") == pd.Timestamp("2009-10-30")
    assert {board for board in board_rules()} == {"main", "chinext", "star", "bse"}
    assert all(rule.source for rows in board_rules().values() for rule in rows)


# -- order sizes ------------------------------------------------------------------------------
DAY = pd.Timestamp("2024-03-01")


def test_order_sizes_by_board_and_the_study_override():
    assert order_size("main", DAY) == OrderSize(100, 100)
    assert order_size("chinext", DAY) == OrderSize(100, 100)
    assert order_size("star", DAY) == OrderSize(200, 1)  # at least 200, then steps of 1
    assert order_size("bse", DAY) == OrderSize(100, 1)  # at least 100, then steps of 1
    assert order_size("star", DAY, lot=100) == OrderSize(100, 100)  # Rules.lot


@pytest.mark.parametrize(
    ("board", "valid", "invalid"),
    [
        ("main", [100, 200, 1000], [50, 150, 199]),
        ("star", [200, 201, 250, 1999], [100, 150, 199]),
        ("bse", [100, 101, 150], [1, 50, 99]),
    ],
)
def test_buys_need_the_minimum_then_whole_steps(board, valid, invalid):
    sizes = order_size(board, DAY)
    assert all(sizes.is_valid_buy(n) for n in valid)
    assert not any(sizes.is_valid_buy(n) for n in invalid)


def test_round_down_to_an_allowed_size():
    assert order_size("main", DAY).round_down(1045) == 1000
    assert order_size("star", DAY).round_down(250.7) == 250
    assert order_size("star", DAY).round_down(199.9) == 0
    assert order_size("bse", DAY).round_down(99) == 0


def test_sells_may_close_a_balance_under_the_minimum_only_whole():
    main, star = order_size("main", DAY), order_size("star", DAY)
    # main board, 350 held: lots, or the odd 50 together with lots
    assert main.is_valid_sell(100, 350) and main.is_valid_sell(150, 350)
    assert main.is_valid_sell(50, 350) and main.is_valid_sell(350, 350)
    assert not main.is_valid_sell(30, 350) and not main.is_valid_sell(120, 350)
    # STAR, 150 held (under the minimum): only the whole 150
    assert star.is_valid_sell(150, 150) and not star.is_valid_sell(100, 150)
    # STAR, 300 held: any size from 200, or all of it
    assert star.is_valid_sell(250, 300) and star.is_valid_sell(300, 300)
    assert not star.is_valid_sell(150, 300)


def test_selling_down_keeps_at_least_the_target():
    main, star = order_size("main", DAY), order_size("star", DAY)
    assert main.sell_shares(350, 120) == 150  # keep 200: the odd 50 and a lot go
    assert main.sell_shares(350, 0) == 350
    assert star.sell_shares(500, 120) == 380  # keep 120
    assert star.sell_shares(300, 250) == 0  # 50 is under the minimum: no order
    assert star.sell_shares(300, 0) == 300


# -- the securities master ----------------------------------------------------------------
def test_securities_master_classifies_todays_codes():
    table = classify(
        [
            "600000.SH",
            "688009.SH",
            "689009.SH",
            "000001.SZ",
            "002594.SZ",
            "300750.SZ",
            "302132.SZ",
            "830799.BJ",
            "920799.BJ",
            "000001.SH",
            "399001.SZ",
            "510300.SH",
            "159915.SZ",
            "113050.SH",
            "900901.SH",
            "200002.SZ",
        ]
    )
    assert table["board"].tolist()[:9] == [
        "main",
        "star",
        "star",  # a STAR-market CDR
        "main",
        "main",
        "chinext",
        "chinext",  # re-coded ChiNext shares
        "bse",
        "bse",  # the 920 range
    ]
    assert table["kind"].tolist()[9:] == [
        "index",  # 000001.SH is the SSE Composite, 000001.SZ a bank
        "index",
        "fund",
        "fund",
        "bond",
        "b_share",
        "b_share",
    ]


def test_an_unknown_code_range_is_an_error_naming_it():
    with pytest.raises(UnknownCode, match=r"code 999999\.SZ is in no known code range"):
        classify(["600000.SH", "999999.SZ"])


def test_the_code_ranges_do_not_overlap_and_stocks_have_boards():
    rows = code_ranges()
    assert {r.kind for r in rows} >= {"stock", "index", "fund", "bond", "b_share"}
    assert all(bool(r.board) == (r.kind == "stock") for r in rows)


def test_non_stocks_in_stock_data_are_named_or_dropped():
    codes = pd.Index(["600000.SH", "000001.SH", "399001.SZ"])
    with pytest.raises(UserError, match=r"000001\.SH \(indices\), 399001\.SZ \(indices\)"):
        check_kind(codes, "stock", "f.csv")
    dropped, notes = check_kind(codes, "stock", "f.csv", drop=True)
    assert list(dropped) == ["000001.SH", "399001.SZ"] and "dropped" in notes[0]


# -- the trading calendar -------------------------------------------------------------------
def test_the_calendar_finds_closed_days_and_holes():
    dates = pd.DatetimeIndex(["2017-01-03", "2017-01-04", "2017-01-06", "2017-01-07"])
    calendar, gaps = TradingCalendar.of(dates)
    assert list(gaps.closed) == [pd.Timestamp("2017-01-07")]  # a Saturday
    assert list(gaps.missing) == [pd.Timestamp("2017-01-05")]  # a session without bars
    assert len(calendar.sessions) == 4 and calendar.source == "XSHG"
    assert calendar.next_session == pd.Timestamp("2017-01-09")


def test_data_beyond_the_known_sessions_keeps_its_own_dates():
    last = exchange_sessions()[-1]
    later = pd.bdate_range(last + pd.offsets.BDay(1), periods=3)
    dates = exchange_sessions()[-3:].append(later)
    calendar, gaps = TradingCalendar.of(dates)
    assert calendar.source == "XSHG+data" and list(gaps.data_only) == list(later)
    assert list(calendar.sessions[-3:]) == list(later) and calendar.next_session is None
    data_only, _ = TradingCalendar.of(dates, "data")
    assert data_only.source == "data" and len(data_only.sessions) == 6


def test_sessions_per_year_come_from_the_calendar():
    # 2014 had 245 sessions: from the last session of 2013 to the last of 2014, 245 returns
    calendar, _ = TradingCalendar.of(sessions_from("2013-12-31", 246))
    assert calendar.sessions[-1] == pd.Timestamp("2014-12-31")
    assert calendar.sessions_per_year() == pytest.approx(245 / (365 / 365.25))


def test_the_session_after_the_data_is_the_exchanges_or_the_next_weekday():
    calendar, _ = TradingCalendar.of(pd.DatetimeIndex(["2017-09-28", "2017-09-29"]))
    assert calendar.following == pd.Timestamp("2017-10-09")  # after the National Day break
    data_only, _ = TradingCalendar.of(pd.DatetimeIndex(["2017-09-28", "2017-09-29"]), "data")
    assert data_only.following == pd.Timestamp("2017-10-02")  # a Monday: holidays unknown
