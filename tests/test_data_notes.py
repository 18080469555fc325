"""What the plausibility checks across the panel (quant.data.plausibility) change in a
backtest: the broker never resizes a position on an ex-rights day whose adjustment factor the
raw prices do not bear out without saying so, and every report carries the factor and
survivorship warnings. Hand-made stocks and days where the right share counts are known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from quant.engine import BacktestConfig, run_backtest
from quant.engine.broker import SUSPECT_FACTOR_EVENT
from quant.report import strategy_metrics, write_run
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of, run_script

D = sessions("2024-03-04", periods=6)  # Mon 4 .. Mon 11 March 2024
FACTOR = [1.0, 1.0, 1.0, 1.5, 1.5, 1.5]  # ex-rights on Thursday 7 March (D[3]): x 1.5 shares
#: A 10-for-20 bonus issue: the close falls from 15 to the ex-rights reference 15 / 1.5 = 10.
REAL = make_bars("600000.SH", D, [15.0, 15.0, 15.0, 10.0, 10.0, 10.0], adj_factor=FACTOR)
#: The same factor step, but the raw close moves +1 % (10.1 against a reference of 6.67: far
#: beyond the 10 % limit): the factor is wrong, or the prices are.
WRONG = make_bars("600001.SH", D, [10.0, 10.0, 10.0, 10.1, 10.1, 10.1], adj_factor=FACTOR)


def run(script):
    result = run_script(panel_of(REAL, WRONG), script, str(D[1].date()), str(D[-1].date()))
    assert any("Scripted kept the share count of 1 positions" in note for note in result.notes)
    return result


def test_the_panel_flags_only_the_change_the_prices_do_not_bear_out():
    panel = panel_of(REAL, WRONG)
    assert np.argwhere(panel.suspect_factor).tolist() == [[3, 1]]


def test_a_suspect_ex_rights_day_keeps_the_share_count_and_logs_it():
    result = run({D[1]: [("buy", "600000.SH", 1000), ("buy", "600001.SH", 1000)]})
    assert result.events[["date", "code", "event", "shares_before", "shares_after"]].values.tolist() == [
        [D[3], "600001.SH", SUSPECT_FACTOR_EVENT, 1000, 1000],
        [D[3], "600000.SH", "ex-rights", 1000, 1500],
    ]  # fmt: skip
    held = result.positions[result.positions["date"] == D[3]].set_index("code")["shares"]
    assert held.to_dict() == {"600000.SH": 1500, "600001.SH": 1000}
    # the holdings follow the raw prices: 15,000 -> 15,000 and 10,000 -> 10,100 (resizing the
    # second by 1.5 would have made it 15,150: a gain of 5,050 yuan out of nothing)
    change = result.equity[D[3]] - result.equity[D[2]]
    assert change == pytest.approx(100.0)
    assert strategy_metrics(result)["suspect_factor_days"] == 1
    assert result.notes == [
        "Scripted kept the share count of 1 positions on ex-rights days whose adj_factor "
        "change the raw prices do not bear out (600001.SH 2024-03-07): not multiplied by the "
        "factor's ratio, so the holdings follow the raw prices there (events: "
        f"'{SUSPECT_FACTOR_EVENT}')"
    ]


def test_an_order_placed_before_a_suspect_ex_rights_day_is_not_restated():
    """Whole-position sells placed the night before: the real ex-rights day's sells the new
    1,500 shares, the suspect day's the 1,000 still held."""
    script = {
        D[1]: [("buy", "600000.SH", 1000), ("buy", "600001.SH", 1000)],
        D[2]: [("target", "600000.SH", 0), ("target", "600001.SH", 0)],
    }
    result = run(script)
    sells = result.fills[result.fills["side"] == "sell"]
    assert sells[["date", "code", "size"]].values.tolist() == [
        [D[3], "600000.SH", 1500],
        [D[3], "600001.SH", 1000],
    ]
    assert result.refusals.empty


# -- every report carries the panel's warnings ----------------------------------------------------
DAYS = sessions("2022-01-04", "2023-12-29")


def survivors_with_a_wrong_factor() -> pd.DataFrame:
    """200 codes trading every session of 2022 and 2023 up to the last (no code ends:
    today's survivors, where the exchanges delisted at least 87 companies, 1.7 % of those
    listed: about 3.3 of 200 codes should have ended), one of which has a factor step
    without a price gap."""
    factor = [1.0] * 100 + [2.0] * (len(DAYS) - 100)
    frames = [make_bars("600000.SH", DAYS, [10.0] * len(DAYS), adj_factor=factor)]
    frames += [make_bars(f"{600001 + k:06d}.SH", DAYS, [10.0] * len(DAYS)) for k in range(199)]
    return pd.concat(frames, ignore_index=True)


def test_every_report_shows_the_survivorship_and_factor_warnings(tmp_path):
    bars = survivors_with_a_wrong_factor()
    index = panel_of(make_bars("000001.SH", DAYS, [3000.0] * len(DAYS)))
    config = BacktestConfig(start="2023-01-05", end="2023-12-29", strategies=["benchmark"])
    result = run_backtest(config, panel_of(bars), index)
    survivorship = next(
        n for n in result.notes if n.startswith("the universe looks like survivors")
    )
    assert "0 of 200 codes (0.0%) stop trading before the data's end" in survivorship
    assert "the exchanges delisted at least 87 A-share companies over 2022-01-04 .. 2023-12-29" in (
        survivorship
    )
    factor = (
        f"1 adj_factor changes without a matching raw price gap (600000.SH {DAYS[100].date()}): "
        "the adjusted prices may be wrong there; backtests keep a position's share count on "
        "those days instead of resizing it (an event in the run's events)"
    )
    assert factor in result.notes
    out = write_run(result, tmp_path / "run")
    assert {survivorship, factor} <= set(json.loads((out / "metrics.json").read_text())["notes"])
    report = (out / "report.md").read_text()
    assert f"- {survivorship}" in report and f"- {factor}" in report
