"""Engine rules that planted bugs once slipped past (issue 20), each on a hand-checkable
market: a dated rate applies on its date; with fills at the close, the limits are the
close's; a suspended holding's count of days without a bar starts again when it trades;
a stock that opens at limit-up and closes below it; the price of a fraction of a share paid
in cash on an ex-rights day.

Calendar (2023): D0 Mon 08-21 .. D9 Fri 09-01. An order placed at a day's close fills at
the next day's open (or close, with ``fill_at = "close"``). Main-board limits: 10 %.
"""

from __future__ import annotations

import pytest

from quant.engine import Rules
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of, run_script

D = sessions("2023-08-21", periods=10)


def commission_and_fee(value: float) -> float:
    """Commission 0.025 % (at least 5 yuan) and transfer fee 0.001 %: the default rules."""
    return max(value * 0.00025, 5.0) + value * 0.00001


def test_stamp_duty_changes_on_its_date_not_the_day_after():
    """Stamp duty: 0.1 % until 2023-08-27, 0.05 % from 2023-08-28 (Monday, D5)."""
    quiet = make_bars("600000.SH", D, close=[10.0] * 10)
    script = {
        "2023-08-21": [("buy", "600000.SH", 2000)],
        "2023-08-24": [("sell", "600000.SH", 1000)],  # fills Friday 08-25: 0.1 %
        "2023-08-25": [("sell", "600000.SH", 1000)],  # fills Monday 08-28: 0.05 %
    }
    result = run_script(panel_of(quiet), script, "2023-08-22", "2023-08-30")
    sells = result.fills[result.fills["side"] == "sell"]
    assert sells["date"].tolist() == [D[4], D[5]]
    stamp = sells["costs"].to_numpy() - commission_and_fee(10_000.0)
    assert stamp == pytest.approx([10.0, 5.0], abs=1e-9)


def test_with_fills_at_the_close_the_limit_down_check_reads_the_close():
    """On D2, X opens at its limit-down (9.00) and closes above it (9.50): a sell at the
    close fills. Y opens at 10.00 and closes at its limit-down: a sell at the close is
    refused. (At the open it is the other way round.)"""
    x = make_bars("600000.SH", D[:4], close=[10.0, 10.0, 9.5, 9.5], open=[10.0, 10.0, 9.0, 9.5])
    y = make_bars("600001.SH", D[:4], close=[10.0, 10.0, 9.0, 9.0], open=[10.0, 10.0, 10.0, 9.0])
    script = {
        "2023-08-21": [("buy", "600000.SH", 1000), ("buy", "600001.SH", 1000)],
        "2023-08-22": [("sell", "600000.SH", 1000), ("sell", "600001.SH", 1000)],
    }
    at_close = run_script(
        panel_of(x, y), script, "2023-08-22", "2023-08-24", rules=Rules(fill_at="close")
    )
    sold = at_close.fills[at_close.fills["side"] == "sell"]
    assert sold[["date", "code", "price"]].values.tolist() == [[D[2], "600000.SH", 9.5]]
    assert at_close.refusals[["date", "code", "reason"]].values.tolist() == [
        [D[2], "600001.SH", "limit-down"]
    ]
    at_open = run_script(panel_of(x, y), script, "2023-08-22", "2023-08-24")
    sold = at_open.fills[at_open.fills["side"] == "sell"]
    assert sold[["date", "code", "price"]].values.tolist() == [[D[2], "600001.SH", 10.0]]
    assert at_open.refusals[["code", "reason"]].values.tolist() == [["600000.SH", "limit-down"]]


def test_a_stock_that_opens_at_limit_up_and_closes_below_it():
    """On D2, Z opens at its limit-up (11.00) and closes at 10.50: a buy at the open is
    refused, a buy at the close fills at 10.50."""
    z = make_bars("600000.SH", D[:4], close=[10.0, 10.0, 10.5, 10.5], open=[10.0, 10.0, 11.0, 10.5])
    script = {"2023-08-22": [("buy", "600000.SH", 1000)]}
    at_open = run_script(panel_of(z), script, "2023-08-22", "2023-08-24")
    assert at_open.fills.empty
    assert at_open.refusals[["date", "reason"]].values.tolist() == [[D[2], "limit-up"]]
    at_close = run_script(
        panel_of(z), script, "2023-08-22", "2023-08-24", rules=Rules(fill_at="close")
    )
    assert at_close.fills[["date", "price", "size"]].values.tolist() == [[D[2], 10.5, 1000]]
    assert at_close.refusals.empty


def test_the_count_of_days_without_a_bar_starts_again_when_the_stock_trades():
    """write_off_after_days = 3. W has no bar on D2-D3 (two days), trades on D4, then has
    none from D5 on: it is written off at the start of D7, the third day of the second
    run, not on D5 (the third day without a bar counted across the day it traded)."""
    w = make_bars("600001.SH", D[[0, 1, 4]], close=[8.0, 8.0, 8.4])
    quiet = make_bars("600000.SH", D, close=[10.0] * 10)  # the market trades on
    script = {"2023-08-21": [("buy", "600001.SH", 1000)]}
    result = run_script(
        panel_of(quiet, w), script, "2023-08-22", "2023-09-01", rules=Rules(write_off_after_days=3)
    )
    closing = result.fills.iloc[-1]
    assert (closing["date"], closing["side"], closing["price"]) == (D[7], "sell", 8.4)
    assert closing["note"] == "written off at the last close after 3 days without a bar"
    assert result.events[["date", "event"]].values.tolist() == [[D[7], "written off"]]


def test_a_fraction_of_a_share_is_paid_at_the_ex_rights_reference_price():
    """1.25 bonus shares per 100 on D2 (adjustment factor 1 -> 1.0125): 1,000 shares become
    1,012.5; the half share is paid in cash at the ex-rights reference price, the day
    before's close over the ratio: 10.125 / 1.0125 = 10.00, so 5.00 yuan (not at D2's
    open 9.95 or close 9.90, nor at the day before's close 10.125)."""
    v = make_bars(
        "600000.SH",
        D[:4],
        close=[10.125, 10.125, 9.90, 9.90],
        open=[10.125, 10.125, 9.95, 9.90],
        adj_factor=[1.0, 1.0, 1.0125, 1.0125],
    )
    script = {"2023-08-21": [("buy", "600000.SH", 1000)]}
    result = run_script(panel_of(v), script, "2023-08-22", "2023-08-24")
    event = result.events.iloc[0]
    assert (event["date"], event["shares_before"], event["shares_after"]) == (D[2], 1000, 1012)
    assert event["cash"] == pytest.approx(5.0, abs=1e-9)
    assert result.cash.loc[D[2]] == pytest.approx(result.cash.loc[D[1]] + 5.0, abs=1e-9)
    assert result.equity.loc[D[2]] == pytest.approx(result.cash.loc[D[2]] + 1012 * 9.90, abs=1e-9)
