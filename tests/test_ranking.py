"""The ranking seam (quant.engine.ranking): a user's strategy exposes its scores through its
plan's ``scores`` table, the runner checks it with one-line errors and adds the returns
after the fill, computed by hand here on a small market and proved free of look-ahead
(changing prices up to the decision's close, or after a horizon's end, changes nothing);
momentum and reversal expose theirs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import Field

from quant.engine import AShareStrategy, BacktestConfig, Context, Plan, run_strategy
from quant.engine.ranking import SCORES, scores_table
from quant.engine.runner import prepare_context
from quant.engine.strategy import StrategyError
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of

DAYS = sessions("2017-05-02", periods=40)
A, B = "600000.SH", "600004.SH"
#: A's open rises 1 % a session from 10; B's falls 1 % a session from 20.
OPEN_A = 10.0 * 1.01 ** np.arange(len(DAYS))
OPEN_B = 20.0 * 0.99 ** np.arange(len(DAYS))


class Ranked(AShareStrategy):
    """Scores A above B on the window's first session (day 0) and on its tenth, from a
    matrix (the helper a user's strategy calls); or the table given in ``table``."""

    class Params(AShareStrategy.Params):
        table: list[list] = Field(default_factory=list)
        """Rows (decision_date, code, score) to expose instead."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> Plan:
        plan = Plan(codes=[A, B])
        if params.table:
            plan.tables[SCORES] = pd.DataFrame(
                params.table, columns=["decision_date", "code", "score"]
            )
        else:
            dates = context.dates[[0, 10]]
            plan.tables[SCORES] = scores_table(dates, [A, B], np.array([[2.0, 1.0], [2.0, np.nan]]))
        return plan

    def next(self) -> None:
        pass


def market(open_a=OPEN_A, open_b=OPEN_B):
    bars = [
        make_bars(code, DAYS, list(opens * 1.002), open=list(opens))
        for code, opens in ((A, open_a), (B, open_b))
    ]
    return panel_of(*bars)


def scored(panel, table=None, end=DAYS[-1]):
    params = {"Ranked": {"table": table}} if table else {}
    config = BacktestConfig(
        start=str(DAYS[1].date()), end=str(end.date()), strategies=["Ranked"], params=params
    )
    context = prepare_context(config, panel, index_panel=panel)
    return run_strategy(Ranked, context).tables[SCORES]


def test_returns_after_the_fill_by_hand():
    table = scored(market())
    assert list(table["code"]) == [A, B, A]  # B's NaN score on the tenth session is left out
    first = table.iloc[0]  # decided at day 0's close, filled at the next session's open
    assert first["fill_row"] == 1
    for horizon in (1, 5, 20):
        assert first[f"return_{horizon}"] == pytest.approx(1.01**horizon - 1, rel=1e-9)
        assert table.iloc[1][f"return_{horizon}"] == pytest.approx(0.99**horizon - 1, rel=1e-9)
    # the tenth session's decision: 20 sessions after its fill lie past the window's end
    last = table.iloc[2]
    assert last["return_20"] == pytest.approx(1.01**20 - 1, rel=1e-9)
    short = scored(market(), end=DAYS[25])
    assert np.isnan(short.iloc[2]["return_20"]) and np.isfinite(short.iloc[2]["return_5"])


def test_no_return_looks_ahead_or_back():
    before = scored(market())
    # prices up to the first decision's close (day 0) and after its 20-session horizon
    changed_a = OPEN_A.copy()
    changed_a[0] *= 3.0
    changed_a[1 + 20 + 1 :] *= 0.5
    after = scored(market(open_a=changed_a))
    assert after.iloc[0][["return_1", "return_5", "return_20"]].tolist() == pytest.approx(
        before.iloc[0][["return_1", "return_5", "return_20"]].tolist()
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([["2017-05-08", "600099.SH", 1.0]], "code 600099.SH is not in the data"),
        ([["2017-05-06", A, 1.0]], "2017-05-06 is not a session of the data"),
        ([["2017-05-08", A, 1.0], ["2017-05-08", A, 2.0]], f"{A} on 2017-05-08 appears twice"),
        ([["2017-05-08", A, float("inf")]], f"score inf for {A} on 2017-05-08"),
    ],
)
def test_a_bad_scores_table_is_a_one_line_error(table, message):
    with pytest.raises(StrategyError) as error:
        scored(market(), table)
    assert str(error.value) == f"strategy Ranked: its plan's scores table: {message}"


def test_momentum_and_reversal_expose_every_score_and_what_they_bought():
    config = BacktestConfig(
        start="2015-01-01", end="2015-04-30", strategies=["momentum", "reversal"]
    )
    context = prepare_context(config)
    for name in ("momentum", "reversal"):
        result = run_strategy(name, context)
        table = result.tables[SCORES]
        bought = result.tables["selection"]
        assert len(table) > 100 * len(bought["decision_date"].unique())  # every ranked stock
        chosen = table[table["selected"]][["decision_date", "code"]].reset_index(drop=True)
        expected = bought[["decision_date", "code"]].reset_index(drop=True).astype({"code": str})
        pd.testing.assert_frame_equal(chosen.astype({"code": str}), expected)
        assert table["return_20"].notna().any()
