"""The CNN-LSTM trading rules (hold counter, month-end liquidation, retried sells) on a
3-stock market with hand-made signal tables from a source of their own, where every trade
is known."""

from __future__ import annotations

import pandas as pd
import pytest

from quant.engine import BacktestConfig, Context, StrategyResult, run_strategy
from quant.engine.runner import prepare_context
from quant.signals import SignalSet, SignalSource
from strategies.cnn_lstm import CnnLstm
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of

#: XSHG sessions: May 2017 ends on Wednesday the 31st (29-30 May closed for the Dragon
#: Boat festival), June runs Thursday 1 .. Friday 30 without a holiday, July ends Monday 31.
DAYS = sessions("2017-05-02", "2017-07-31")


class HandSource(SignalSource):
    """The hand-made tables below, whatever the window and seed: the CNN-LSTM rules trade
    them as they trade the trained models' (``signals`` names this class)."""

    def tables(self, context: Context) -> SignalSet:
        return SignalSet(SELECTION, TIMING, {"made": "by hand"})


HAND = "tests.test_cnn_lstm_strategy:HandSource"


def hand_run(panel, **params) -> StrategyResult:
    """CnnLstm trading HandSource's tables on ``panel``, June and July 2017."""
    config = BacktestConfig(
        start="2017-06-01",
        end="2017-07-31",
        strategies=["CnnLstm"],
        params={"CnnLstm": {"signals": HAND, **params}},
    )
    return run_strategy(CnnLstm, prepare_context(config, panel, index_panel=panel))


def flat(code: str, limit_down_on: str | None = None) -> pd.DataFrame:
    close = [10.0] * len(DAYS)
    open_ = list(close)
    if limit_down_on:  # opens and stays at limit-down (9.00) from that day on
        k = DAYS.get_loc(pd.Timestamp(limit_down_on))
        close[k:] = [9.0] * (len(DAYS) - k)
        open_[k:] = [9.0] * (len(DAYS) - k)
    return make_bars(code, DAYS, close, open=open_)


SELECTION = pd.DataFrame(
    [
        ("2017-05-31", "600000.SH", True),
        ("2017-05-31", "600004.SH", True),
        ("2017-05-31", "600006.SH", False),
        ("2017-06-30", "600006.SH", True),
        ("2017-06-30", "600000.SH", False),
    ],
    columns=["decision_date", "code", "selected"],
).assign(decision_date=lambda f: pd.to_datetime(f["decision_date"]))

A, B, C = "600000.SH", "600004.SH", "600006.SH"
TIMING = pd.DataFrame(
    [
        ("2017-05-31", A, 1),
        ("2017-05-31", B, -1),
        ("2017-06-01", A, -1),
        ("2017-06-01", B, 1),
        ("2017-06-02", A, -1),
        ("2017-06-02", B, -1),
        ("2017-06-05", A, -1),
        ("2017-06-05", B, 1),
        ("2017-06-06", A, -1),
        ("2017-06-06", B, -1),
        ("2017-06-07", A, -1),
        ("2017-06-07", B, -1),  # A's counter reaches 0: sold 06-08
        ("2017-06-08", A, 1),  # A held until 06-08's open: sold, so this +1 buys it back
        ("2017-06-08", B, -1),
        ("2017-06-09", B, -1),  # B: 5 -> 1, still held at month end
        ("2017-06-30", C, 1),  # July's book
    ],
    columns=["date", "code", "signal"],
).assign(date=lambda f: pd.to_datetime(f["date"]))


@pytest.fixture(scope="module")
def result():
    return hand_run(panel_of(flat(A), flat(B, limit_down_on="2017-06-30"), flat(C)))


def test_trades_follow_the_hold_counter_and_the_month_end(result):
    fills = result.fills[["date", "code", "side"]].itertuples(index=False)
    trades = [(str(d.date()), c, s) for d, c, s in fills]
    assert trades == [
        ("2017-06-01", A, "buy"),  # +1 on 05-31
        ("2017-06-02", B, "buy"),  # +1 on 06-01
        ("2017-06-08", A, "sell"),  # five -1s after its +1
        ("2017-06-09", A, "buy"),  # +1 again on 06-08
        ("2017-06-30", A, "sell"),  # month end: everything sold at the last day's open
        ("2017-07-03", B, "sell"),  # B's sell, refused at limit-down on 06-30, retried
        ("2017-07-03", C, "buy"),  # July's selection, +1 on 06-30
        ("2017-07-31", C, "sell"),  # July's month end
    ]
    refused = result.refusals[["date", "code", "side", "reason"]].values.tolist()
    assert refused == [[pd.Timestamp("2017-06-30"), B, "sell", "limit-down"]]


def test_buys_are_one_nth_of_equity_in_whole_lots(result):
    fills = result.fills
    # N = 2: half of 1,000,000, less the 0.2 % cash buffer, at 10.00 -> 49,900 shares
    assert fills["size"].iloc[0] == 49_900
    equity, cash = result.equity.loc["2017-06-01"], result.cash.loc["2017-06-01"]
    assert fills["size"].iloc[1] == min(equity / 2, cash) * 0.998 / 10.0 // 100 * 100
    # the book is flat on the last day of June but for the refused B
    on_last_day = result.positions[result.positions["date"] == "2017-06-30"]
    assert set(on_last_day["code"]) == {B}


def test_the_source_is_named_in_the_info(result):
    assert result.info == {"signals": HAND, "made": "by hand"}
