"""What the plausibility checks across the panel (quant.data.plausibility) change in a
backtest: the broker never resizes a position on an ex-rights day whose adjustment factor the
raw prices do not bear out without saying so. Hand-made stocks and days where the right share
counts are known."""

from __future__ import annotations

import numpy as np
import pytest

from quant.data import DataWarning
from quant.engine.broker import SUSPECT_FACTOR_EVENT
from quant.report import strategy_metrics
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
    with pytest.warns(DataWarning, match=r"Scripted kept the share count of 1 positions"):
        return run_script(panel_of(REAL, WRONG), script, str(D[1].date()), str(D[-1].date()))


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
