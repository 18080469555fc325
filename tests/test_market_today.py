"""Today's market, end to end: each fault of the 2010-2017-only engine (STAR CDRs, re-coded
ChiNext shares, order sizes by board, budgets under one lot, index bars among stocks, holes
in a download, ST stocks, re-coded Beijing shares) on a few hand-made stocks and days."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.data import DataError, DataWarning, load_bars
from quant.engine import AShareStrategy, BacktestConfig, Context, Plan, run_backtest
from quant.engine.config import ConfigError
from quant.errors import UserError
from quant.report import strategy_metrics
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of, run_script

D = sessions("2024-03-04", periods=8)  # Mon 4 .. Wed 13 March 2024, no holiday


def jump(code: str, opens_at: float, days=D) -> pd.DataFrame:
    """10.00 every day, but day 2 opens at ``opens_at`` and closes there (high = open)."""
    close = [10.0] * len(days)
    open_ = list(close)
    close[2] = open_[2] = opens_at
    return make_bars(code, days, close, open=open_)


def buy_on_day1(panel, code: str, shares: float = 200):
    return run_script(
        panel, {D[1]: [("buy", code, shares)]}, start=str(D[1].date()), end=str(D[-1].date())
    )


# -- boards from the securities master ------------------------------------------------------
@pytest.mark.parametrize("code", ["688009.SH", "689009.SH"])  # STAR shares, STAR CDR
def test_star_codes_trade_in_a_20_percent_band(code):
    panel = panel_of(jump(code, 11.50), jump("600000.SH", 10.0))
    j = panel.column(code)
    assert panel.limit_up[2, j] == 12.00 and panel.limit_down[2, j] == 8.00  # 10.00 +/- 20 %
    result = buy_on_day1(panel, code)
    assert result.fills[["code", "price"]].values.tolist() == [[code, 11.50]]  # +15 % fills
    at_the_limit = buy_on_day1(panel_of(jump(code, 12.00), jump("600000.SH", 10.0)), code)
    assert at_the_limit.refusals["reason"].tolist() == ["limit-up"]  # +20 % is the limit


def test_a_re_coded_chinext_share_has_the_reformed_20_percent_limit():
    panel = panel_of(jump("302132.SZ", 12.00), jump("600000.SH", 11.00))
    assert panel.limit_up[2, panel.column("302132.SZ")] == 12.00
    assert panel.limit_up[2, panel.column("600000.SH")] == 11.00  # the main board: 10 %
    assert buy_on_day1(panel, "302132.SZ").refusals["reason"].tolist() == ["limit-up"]


# -- order sizes follow the board -------------------------------------------------------------
FLAT = {
    code: make_bars(code, D, [10.0] * len(D)) for code in ("688009.SH", "920799.BJ", "600000.SH")
}


def test_orders_sized_by_board():
    panel = panel_of(*FLAT.values())
    script = {
        D[1]: [
            ("buy", "688009.SH", 100),  # STAR minimum is 200: refused
            ("buy", "688009.SH", 250),  # above the minimum, steps of 1: fills
            ("buy", "920799.BJ", 150),  # Beijing: at least 100, steps of 1: fills
            ("buy", "600000.SH", 150),  # main board: lots of 100: refused
        ]
    }
    result = run_script(panel, script, start=str(D[1].date()), end=str(D[-1].date()))
    assert result.fills[["code", "size"]].values.tolist() == [
        ["688009.SH", 250],
        ["920799.BJ", 150],
    ]
    assert result.refusals[["code", "reason"]].values.tolist() == [
        ["688009.SH", "order size"],
        ["600000.SH", "order size"],
    ]


def test_sizing_rounds_to_the_board_and_logs_a_budget_under_the_minimum():
    panel = panel_of(*FLAT.values())
    script = {
        D[1]: [
            ("value", "688009.SH", 1_500.0),  # 150 shares: under STAR's 200 -> refused, logged
            ("value", "920799.BJ", 1_555.0),  # 155.5 shares -> 155 (steps of 1)
            ("value", "600000.SH", 1_555.0),  # 155.5 shares -> 100 (lots)
        ]
    }
    result = run_script(panel, script, start=str(D[1].date()), end=str(D[-1].date()))
    assert result.fills[["code", "size"]].values.tolist() == [
        ["920799.BJ", 155],
        ["600000.SH", 100],
    ]
    refused = result.refusals.iloc[0]
    assert (refused["date"], refused["code"], refused["side"], refused["reason"]) == (
        D[1],
        "688009.SH",
        "buy",
        "below minimum order",
    )
    assert refused["size"] == pytest.approx(150.0)


def test_a_study_lot_overrides_the_board():
    from quant.engine import Rules

    panel = panel_of(*FLAT.values())
    script = {D[1]: [("buy", "688009.SH", 100), ("buy", "920799.BJ", 150)]}
    result = run_script(panel, script, str(D[1].date()), str(D[-1].date()), rules=Rules(lot=100))
    assert result.fills["code"].tolist() == ["688009.SH"]
    assert result.refusals[["code", "reason"]].values.tolist() == [["920799.BJ", "order size"]]


def test_an_expensive_stock_under_one_lot_is_reported_not_silently_dropped():
    """Half of 100,000 yuan buys 49 lots of a 10-yuan stock but not one lot of a 1,800-yuan
    one: the report counts the refusal, so the low position ratio has its reason."""
    panel = panel_of(
        make_bars("600000.SH", D, [10.0] * len(D)), make_bars("600519.SH", D, [1800.0] * len(D))
    )

    class Half(AShareStrategy):
        @classmethod
        def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
            return Plan(codes=["600000.SH", "600519.SH"])

        def next(self) -> None:
            if self.today == D[1]:
                self.order_target_weights({"600000.SH": 0.5, "600519.SH": 0.5})

    config = BacktestConfig(
        start=str(D[1].date()), end=str(D[-1].date()), cash=100_000.0, strategies=["Half"]
    )
    from quant.engine import run_strategy
    from quant.engine.runner import prepare_context

    result = run_strategy(Half, prepare_context(config, panel, index_panel=panel))
    assert result.fills["code"].tolist() == ["600000.SH"]
    assert result.refusals["reason"].tolist() == ["below minimum order"]
    assert result.refusals["size"].iloc[0] == pytest.approx(100_000 * 0.998 * 0.5 / 1800)
    assert strategy_metrics(result)["refused_orders"] == {"below minimum order": 1}


# -- what the stock data may hold ---------------------------------------------------------------
def test_index_bars_among_stocks_are_named_or_dropped(tmp_path):
    path = tmp_path / "mixed.csv"
    frames = [make_bars(c, D, [10.0] * len(D)) for c in ("600000.SH", "000001.SH", "399001.SZ")]
    pd.concat(frames).to_csv(path, index=False)
    with pytest.raises(UserError, match=r"found 000001\.SH \(indices\), 399001\.SZ \(indices\)"):
        load_bars(path)
    with pytest.warns(DataWarning, match="dropped"):
        bars = load_bars(path, non_stocks="drop")
    assert bars["code"].astype(str).unique().tolist() == ["600000.SH"]


def test_an_equal_weight_universe_never_buys_an_index(tmp_path):
    path = tmp_path / "mixed.csv"
    days = sessions("2024-01-02", "2024-03-29")
    frames = [
        make_bars(c, days, [10.0] * len(days)) for c in ("600000.SH", "000001.SH", "000002.SZ")
    ]
    pd.concat(frames).to_csv(path, index=False)
    config = BacktestConfig(
        data=str(path),
        index_data=str(path.parent / "index.csv"),
        start="2024-02-01",
        end="2024-03-29",
        strategies=["ew_universe"],
        non_stocks="drop",
    )
    make_bars("000001.SH", days, [3000.0] * len(days)).to_csv(config.index_data, index=False)
    with pytest.warns(DataWarning, match="000001.SH"):
        result = run_backtest(config).strategies[0]
    assert set(result.fills["code"]) == {"600000.SH", "000002.SZ"}


def test_bars_before_the_board_opened_are_an_error():
    early = make_bars("688001.SH", sessions("2019-07-15", periods=6), [10.0] * 6)
    with pytest.raises(
        DataError, match=r"688001\.SH, date 2019-07-15: a star stock .* \(2019-07-22\)"
    ):
        panel_of(early)


# -- the calendar: holes and closed days ----------------------------------------------------------
def test_a_session_missing_for_every_code_claims_no_limit_the_day_after():
    """Day 2 is missing for every code (its real close was 12.10). Day 3 opens at 12.10, a
    legal price; against the stale close of day 1 (11.00) it would look like limit-up. A
    backtest over the hole is refused (quant.engine.window), one after it runs."""
    closes = [10.0, 11.0, 12.10, 12.0, 12.0]
    days = D[:5]
    a = make_bars("600000.SH", days.delete(2), [c for k, c in enumerate(closes) if k != 2],
                  open=[10.0, 11.0, 12.10, 12.0], high=[10.0, 11.0, 12.10, 12.0],
                  low=[10.0, 11.0, 11.90, 12.0])  # fmt: skip
    b = make_bars("600004.SH", days.delete(2), [5.0] * 4)
    with pytest.warns(
        DataWarning, match=r"1 exchange sessions have no bar for any code \(2024-03-06\)"
    ):
        panel = panel_of(a, b)
    assert list(panel.dates) == list(days)  # the session is a row, without bars
    assert np.isnan(panel.limit_up[3]).all()  # the reference close is unknown
    assert panel.limit_up[4, 0] == pytest.approx(13.20)  # known again: 12.00 x 1.1
    with pytest.raises(ConfigError, match=r"stock data .* no bar on 1 of .* \(2024-03-06\)"):
        run_script(panel, {}, str(days[1].date()), str(days[-1].date()))
    result = run_script(
        panel, {days[3]: [("buy", "600000.SH", 100)]}, str(days[4].date()), str(days[-1].date())
    )
    assert result.fills[["date", "price"]].values.tolist() == [[days[4], 12.0]]


def test_data_info_refuses_a_weekend_bar_and_warns_about_a_hole(tmp_path, capsys):
    weekend = tmp_path / "weekend.csv"
    days = D[:5].append(pd.DatetimeIndex(["2024-03-09"]))  # a Saturday
    make_bars("600000.SH", days, [10.0] * 6).to_csv(weekend, index=False)
    assert main(["data", "info", "--data", str(weekend)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {weekend}, row 6, code 600000.SH, date 2024-03-09: a bar on a day"
    )
    assert len(err.strip().splitlines()) == 1
    hole = tmp_path / "hole.csv"
    make_bars("600000.SH", D.delete(3), [10.0] * 7).to_csv(hole, index=False)
    assert main(["data", "info", "--data", str(hole)]) == 0
    assert "2024-03-07" in capsys.readouterr().err  # the session without any bar


# -- ST stocks -------------------------------------------------------------------------------------
def test_st_days_get_the_risk_warning_limit():
    bars = jump("600000.SH", 10.50)  # +5 %: the limit of a main-board ST stock until 2026-07
    st = bars.assign(is_st=True)
    assert panel_of(st).limit_up[2, 0] == 10.50
    assert panel_of(bars).limit_up[2, 0] == 11.00  # without is_st: the board's 10 %
    assert buy_on_day1(panel_of(st), "600000.SH").refusals["reason"].tolist() == ["limit-up"]
    assert buy_on_day1(panel_of(bars), "600000.SH").fills["price"].tolist() == [10.50]


def test_without_an_st_column_the_report_says_st_is_not_modelled():
    panel = panel_of(*FLAT.values())
    config = BacktestConfig(start=str(D[1].date()), end=str(D[-1].date()), strategies=["benchmark"],
                            params={"benchmark": {"index": "600000.SH"}})  # fmt: skip
    notes = run_backtest(config, panel=panel, index_panel=panel).notes
    assert any("no is_st column" in note for note in notes)


# -- code changes ------------------------------------------------------------------------------------
#: 830799.BJ traded until 2025-09-30; from 2025-10-09 (after the National Day break) the
#: same shares traded as 920799.BJ, opening near the old close.
OLD_DAYS, NEW_DAYS = sessions("2025-09-24", "2025-09-30"), sessions("2025-10-09", periods=5)


def recoded(tmp_path):
    old = make_bars("830799.BJ", OLD_DAYS, [20.0, 20.2, 20.4, 20.6, 20.8])
    new = make_bars(
        "920799.BJ", NEW_DAYS, [21.0, 21.2, 21.4, 21.6, 21.8], open=[20.9, 21.0, 21.2, 21.4, 21.6]
    )
    bars = tmp_path / "bars.csv"
    pd.concat([old, new, make_bars("600000.SH", OLD_DAYS.append(NEW_DAYS), [10.0] * 10)]).to_csv(
        bars, index=False
    )
    changes = tmp_path / "changes.csv"
    changes.write_text("old_code,new_code,date\n830799.BJ,920799.BJ,2025-10-09\n")
    return bars, changes


def test_a_code_change_merges_the_histories(tmp_path):
    bars, changes = recoded(tmp_path)
    frame = load_bars(bars, code_changes=changes)
    assert "830799.BJ" not in set(frame["code"].astype(str))
    panel = panel_of(frame)
    j = panel.column("920799.BJ")
    first_new = panel.dates.get_loc(NEW_DAYS[0])
    assert not panel.new_listing[first_new, j]  # not an IPO: its listing is the old code's
    assert panel.limit_up[first_new, j] == pytest.approx(27.04)  # 20.80 x 1.3
    script = {OLD_DAYS[1]: [("buy", "920799.BJ", 100)], NEW_DAYS[1]: [("target", "920799.BJ", 0)]}
    result = run_script(panel, script, str(OLD_DAYS[1].date()), str(NEW_DAYS[-1].date()))
    # bought under the old code's bars, held across the change, sold under the new code
    assert result.fills[["date", "code", "side"]].values.tolist() == [
        [OLD_DAYS[2], "920799.BJ", "buy"],
        [NEW_DAYS[2], "920799.BJ", "sell"],
    ]


def test_without_the_change_a_held_stock_is_frozen_and_a_warning_suggests_it(tmp_path):
    bars, _ = recoded(tmp_path)
    panel = panel_of(load_bars(bars))
    assert panel.code_change_candidates[["old", "new"]].values.tolist() == [
        ["830799.BJ", "920799.BJ"]
    ]
    script = {OLD_DAYS[1]: [("buy", "830799.BJ", 100)]}
    result = run_script(panel, script, str(OLD_DAYS[1].date()), str(NEW_DAYS[-1].date()))
    assert len(result.notes) == 1 and "code-changes file" in result.notes[0]
    assert "held 830799.BJ when its bars stopped on 2025-09-30; 920799.BJ" in result.notes[0]
    last = result.positions[result.positions["date"] == NEW_DAYS[-1]]
    assert last[["code", "tradable"]].values.tolist() == [["830799.BJ", False]]  # frozen


def test_a_code_change_that_overlaps_is_an_error(tmp_path):
    bars, changes = recoded(tmp_path)
    changes.write_text("old_code,new_code,date\n830799.BJ,920799.BJ,2025-09-29\n")
    with pytest.raises(DataError, match=r"830799\.BJ has bars until 2025-09-30"):
        load_bars(bars, code_changes=changes)


def test_the_backtest_command_takes_the_calendar_and_code_change_options(tmp_path, capsys):
    bars, changes = recoded(tmp_path)
    index = tmp_path / "index.csv"
    make_bars("000001.SH", OLD_DAYS.append(NEW_DAYS), [3000.0] * 10).to_csv(index, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        code = main(["backtest", "--data", str(bars), "--index-data", str(index), "--strategies",
                     "benchmark", "--start", "2025-09-25", "--end", "2025-10-15", "--code-changes",
                     str(changes), "--calendar", "exchange", "--out", str(tmp_path / "run")])  # fmt: skip
    assert code == 0
    config = (tmp_path / "run" / "config.toml").read_text()
    assert f'code_changes = "{changes}"' in config and 'calendar = "exchange"' in config
