"""The ablations (strategies/ablations.py) on a 4-stock market with hand-made model tables,
where the right trades are known: the CNN's selection held all month, a random selection
of the same size among the scored stocks, and a seeded coin in place of the LSTM."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from quant.engine import BacktestConfig, ConfigError, Context, run_strategy
from quant.engine.params import read_params
from quant.engine.runner import plan_runs, prepare_context
from strategies.ablations import (
    CnnOnly,
    RandomSelect,
    RandomTiming,
    random_selection,
)
from strategies.cnn_lstm import CnnLstm, TimingPlan, timing_plan
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of

#: XSHG sessions: May 2017 ends on Wednesday the 31st, June runs Thursday 1 .. Friday 30,
#: July ends Monday 31 (as in tests/test_cnn_lstm_strategy.py).
DAYS = sessions("2017-05-02", "2017-07-31")
A, B, C, D = "600000.SH", "600004.SH", "600006.SH", "600007.SH"
SUSPENDED = pd.DatetimeIndex(["2017-06-01", "2017-06-02"])  # B has no bar on these days

#: June: A and B selected among A, B, C; July: C selected among A, C, D.
SELECTION = pd.DataFrame(
    [
        ("2017-05-31", A, True),
        ("2017-05-31", B, True),
        ("2017-05-31", C, False),
        ("2017-06-30", C, True),
        ("2017-06-30", A, False),
        ("2017-06-30", D, False),
    ],
    columns=["decision_date", "code", "selected"],
).assign(decision_date=lambda f: pd.to_datetime(f["decision_date"]))

#: The LSTM's calls: A up then down five times (sold 06-08 by cnn_lstm), B down.
TIMING = pd.DataFrame(
    [("2017-05-31", A, 1), ("2017-05-31", B, -1)]
    + [(d, A, -1) for d in ("2017-06-01", "2017-06-02", "2017-06-05", "2017-06-06", "2017-06-07")]
    + [(d, B, -1) for d in ("2017-06-05", "2017-06-06", "2017-06-07")]
    + [("2017-06-30", C, -1)],
    columns=["date", "code", "signal"],
).assign(date=lambda f: pd.to_datetime(f["date"]))


class HandModels(CnnLstm):
    """Stands in for the trained models (under the ablation in the MRO): the CNN-LSTM's
    plan from the hand-made tables."""

    @classmethod
    def prepare(cls, context: Context, params: CnnLstm.Params) -> TimingPlan:
        return timing_plan(context, SELECTION, TIMING)


class HandCnnOnly(CnnOnly, HandModels):
    pass


class HandRandomSelect(RandomSelect, HandModels):
    pass


class HandRandomTiming(RandomTiming, HandModels):
    pass


def flat(code: str, days: pd.DatetimeIndex = DAYS) -> pd.DataFrame:
    return make_bars(code, days, [10.0] * len(days))


@pytest.fixture(scope="module")
def market():
    return panel_of(flat(A), flat(B, DAYS.difference(SUSPENDED)), flat(C), flat(D))


def run(strategy: type, market, seed: int = 0, params: dict | None = None):
    name = strategy.__name__
    config = BacktestConfig(
        start="2017-06-01", end="2017-07-31", strategies=[name], params={name: params or {}}
    )
    context = prepare_context(config, market, index_panel=market)
    return run_strategy(strategy, context, seed)


def trades(result) -> list[tuple[str, str, str]]:
    fills = result.fills[["date", "code", "side"]].itertuples(index=False)
    return [(str(d.date()), c, s) for d, c, s in fills]


def test_cnn_only_buys_the_selection_at_the_decision_and_holds_it_all_month(market):
    result = run(HandCnnOnly, market)
    assert trades(result) == [
        ("2017-06-01", A, "buy"),  # decided at the close of 05-31, filled at the next open
        ("2017-06-06", B, "buy"),  # suspended 06-01 and 06-02: bought once it trades again
        ("2017-06-30", A, "sell"),  # held through the LSTM's five -1s, sold at month end
        ("2017-06-30", B, "sell"),
        ("2017-07-03", C, "buy"),  # July's selection, though the LSTM said -1
        ("2017-07-31", C, "sell"),
    ]
    refused = result.refusals[["date", "code", "side", "reason"]].values.tolist()
    assert refused == [[pd.Timestamp("2017-06-01"), B, "buy", "suspended"]]
    # 1/N of equity each (N = 2), less the cash buffer, in whole lots at 10.00
    assert result.fills["size"].iloc[0] == 49_900


def test_cnn_only_trades_like_the_cnn_lstm_with_the_lstm_always_up(market):
    """The ablation is the CNN-LSTM's own rules: the same fills as cnn_lstm reading a
    timing table of +1 on every traded day of the holding month."""
    ablated = run(HandCnnOnly, market)
    traded = ablated.tables["timing"]
    assert set(traded["signal"]) == {1}
    assert not ((traded["code"] == B) & traded["date"].isin(SUSPENDED)).any()

    class AlwaysUp(CnnLstm):
        @classmethod
        def prepare(cls, context: Context, params: CnnLstm.Params) -> TimingPlan:
            return timing_plan(context, SELECTION, traded)

    assert trades(run(AlwaysUp, market)) == trades(ablated)


def test_hold_days_is_refused_where_the_selection_is_held_all_month():
    for strategy in (CnnOnly, RandomSelect):
        with pytest.raises(ConfigError, match="hold_days does not apply"):
            read_params(strategy, "cnn_only", {"hold_days": 3})
    assert read_params(RandomTiming, "random_timing", {"hold_days": 3}).hold_days == 3


def test_random_select_draws_as_many_stocks_among_the_scored_each_month(market):
    result = run(HandRandomSelect, market, seed=3)
    drawn = result.tables["selection"]
    picked = drawn[drawn["selected"]].groupby("decision_date")["code"].apply(sorted)
    assert list(picked.index) == list(pd.to_datetime(["2017-05-31", "2017-06-30"]))
    assert [len(codes) for codes in picked] == [2, 1]  # the CNN's counts
    assert set(picked.iloc[1]) <= {A, C, D}  # among the month's scored codes
    # held all month: bought at the first open after the decision, sold at month end
    july = [t for t in trades(result) if t[0] >= "2017-07-01"]
    assert july == [
        ("2017-07-03", picked.iloc[1][0], "buy"),
        ("2017-07-31", picked.iloc[1][0], "sell"),
    ]


def test_random_selection_is_uniform_among_the_scored_codes_and_seeded():
    codes = [f"60{k:04d}.SH" for k in range(10)]
    table = pd.DataFrame(
        {
            "decision_date": pd.Timestamp("2017-05-31"),
            "code": codes,
            "selected": [True, True] + [False] * 8,
        }
    )
    draws = np.array([random_selection(table, seed)["selected"] for seed in range(2000)])
    assert (draws.sum(axis=1) == 2).all()
    assert np.abs(draws.mean(axis=0) - 0.2).max() < 0.04  # each code 2 in 10 of the draws
    assert random_selection(table, 7).equals(random_selection(table, 7))


def test_random_timing_tosses_a_coin_on_the_lstm_days_as_often_up_as_the_lstm(market):
    result = run(HandRandomTiming, market, seed=1)
    tossed = result.tables["timing"]
    assert tossed[["date", "code"]].equals(TIMING[["date", "code"]])
    inside = TIMING["date"] >= "2017-05-31"  # the window's day 0 on
    assert result.info["up_share"] == pytest.approx((TIMING.loc[inside, "signal"] > 0).mean())
    again = run(HandRandomTiming, market, seed=1).tables["timing"]
    assert tossed.equals(again)

    class Tossed(CnnLstm):  # the CNN-LSTM's rules reading the coin's calls
        @classmethod
        def prepare(cls, context: Context, params: CnnLstm.Params) -> TimingPlan:
            return timing_plan(context, SELECTION, tossed)

    assert trades(run(Tossed, market)) == trades(result)


def test_random_timing_coin_share_follows_up_share():
    big = pd.DataFrame(
        {
            "date": np.repeat(DAYS[20:60], 50),
            "code": np.tile([f"60{k:04d}.SH" for k in range(50)], 40),
            "signal": 1,
        }
    )

    class Big(HandModels):
        @classmethod
        def prepare(cls, context: Context, params: CnnLstm.Params) -> TimingPlan:
            return TimingPlan(tables={"selection": SELECTION, "timing": big})

    class BigRandomTiming(RandomTiming, Big):
        pass

    market = panel_of(flat(A))
    config = BacktestConfig(start="2017-06-01", end="2017-07-31", strategies=["x"])
    context = prepare_context(config, market, index_panel=market)
    for share in (0.2, 0.7):
        params = read_params(BigRandomTiming, "random_timing", {"up_share": share})
        plan = BigRandomTiming.prepare(context, params)
        assert (plan.tables["timing"]["signal"] > 0).mean() == pytest.approx(share, abs=0.03)


def test_an_ablation_with_other_models_than_the_runs_cnn_lstm_is_refused():
    params = {"cnn_lstm": {"preset": "sample"}, "cnn_only": {"preset": "sample"}}
    same = BacktestConfig(strategies=["cnn_lstm", "cnn_only", "random_timing"], params=params)
    with pytest.raises(ConfigError, match="cnn_only trades other signals than random_timing"):
        plan_runs(same)  # random_timing trains the paper preset
    params["random_timing"] = {"preset": "sample", "hold_days": 3}  # not a model setting
    assert plan_runs(same.replace({"params": params})).names[-1] == "random_timing"
    params["cnn_only"] = {"preset": "sample", "top_fraction": 0.05}
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "cnn_only trades other signals than cnn_lstm in this run (source and settings "
            "('walk_forward', {'preset': 'sample', 'top_fraction': 0.05}) against "
            "('walk_forward', {'preset': 'sample'})): give both"
        ),
    ):
        plan_runs(same.replace({"params": params}))
