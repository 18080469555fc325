"""Issue 13 changed how strategies and settings are written, not what they compute: the
paper configuration on the built-in sample (what ``make demo`` runs, plus the two
baselines) gives the figures the code gave before.

KEPT holds the figures of ``metrics.json`` at commit 232f3ef (the start of the work), by::

    git worktree add /tmp/base 232f3ef && cp configs/paper_sample.toml /tmp/base/configs/
    cd /tmp/base && make install
    .venv/bin/quant backtest --config configs/paper_sample.toml --out runs/kept

(timings aside; the run trains the CNN-LSTM's small ``sample`` preset for seed 0). One
count differs, for a reason: a buy that the monthly retry dropped silently once the cash
was gone (``strategies/monthly.py``, before: ``if available <= 0: break``) is now logged as
refused for ``cash`` by ``AShareStrategy.buy_list`` (SIZING_CASH_REFUSALS, the rows of
refusals.parquet that only the new run has: reason ``cash``, side ``buy``). Trades, net
values and positions are the same row for row.

Issue 21 made the transfer fee and stamp duty dated, by exchange (quant/market/fee_rules.csv):
the run here sets the one transfer-fee rate and the stamp-duty pairs of before
(``PRE_TABLE_FEES``), so that it still shows the rest of the engine unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quant.cli.demo import demo_config
from quant.engine import BacktestConfig, run_backtest
from quant.engine.params import read_params
from quant.engine.plugins import load_strategy
from quant.report import write_run
from strategies.cnn_lstm import CnnLstm

ROOT = Path(__file__).resolve().parents[1]

KEPT = {
    "benchmark": {
        "annualized_return": 0.13830966431837144,
        "max_drawdown": 0.48596978524470325,
        "total_return": 0.522939725327694,
        "volatility": 0.264964398283588,
        "sharpe": 0.6230546252022258,
        "calmar": 0.2846054806652795,
        "turnover": 0.10855277691968593,
        "trades": 1,
        "costs": 0.0,
        "average_position_ratio": 0.9999999999992583,
        "final_equity": 1522939.7253276939,
        "refused_orders": {},
    },
    "momentum": {
        "annualized_return": -0.10866798307104564,
        "max_drawdown": 0.7010284037746821,
        "total_return": -0.31170640134838257,
        "volatility": 0.43061441016171204,
        "sharpe": -0.0499090898361884,
        "calmar": -0.15501223985493842,
        "turnover": 5.229219761891426,
        "trades": 254,
        "costs": 23292.1427064,
        "average_position_ratio": 0.9702639403039307,
        "final_equity": 688293.5986516174,
        "refused_orders": {
            "suspended": 217,
            "cash": 35,
            "below minimum order": 34,
            "limit-down": 5,
        },
    },
    "cnn_lstm": {
        "annualized_return": 0.25336691456949634,
        "max_drawdown": 0.20111874159211485,
        "total_return": 1.0819434516949658,
        "volatility": 0.230995954875374,
        "sharpe": 1.093356387542329,
        "calmar": 1.2597876884260992,
        "turnover": 10.006886238973738,
        "trades": 324.0,
        "costs": 74025.304348,
        "average_position_ratio": 0.4537386706598325,
        "final_equity": 2081943.4516949658,
        "refused_orders": {"suspended": 84, "cash": 11, "limit-down": 1},
    },
    "ew_universe": {
        "annualized_return": 0.18156013865416032,
        "max_drawdown": 0.4989280909644245,
        "total_return": 0.7189794289661355,
        "volatility": 0.30009771211315844,
        "sharpe": 0.7080274526981462,
        "calmar": 0.36390041359107655,
        "turnover": 0.8003151979705532,
        "trades": 16936,
        "costs": 5502234.813396601,
        "average_position_ratio": 0.9962478067758994,
        "final_equity": 1718979428.9661355,
        "refused_orders": {
            "suspended": 21215,
            "cash": 1980,
            "limit-down": 150,
            "below minimum order": 96,
            "limit-up": 47,
        },
    },
    "reversal": {
        "annualized_return": 0.018757709902973208,
        "max_drawdown": 0.6250381519951782,
        "total_return": 0.0622016569533137,
        "volatility": 0.35865613803298313,
        "sharpe": 0.23298330091674357,
        "calmar": 0.030010503907796516,
        "turnover": 9.871747604306776,
        "trades": 363,
        "costs": 59117.8582606,
        "average_position_ratio": 0.9712996398019835,
        "final_equity": 1062201.6569533136,
        "refused_orders": {
            "suspended": 438,
            "below minimum order": 68,
            "cash": 34,
            "limit-down": 2,
        },
    },
}
#: The fees before the dated table of issue 21 (a study's override, as a config can set them).
PRE_TABLE_FEES = {
    "transfer_fee": 0.00001,
    "stamp_duty": [["2008-09-19", 0.001], ["2023-08-28", 0.0005]],
}
#: Buys of the monthly retries that no cash was left for, now logged (see the docstring).
SIZING_CASH_REFUSALS = {"ew_universe": 3700, "momentum": 4, "reversal": 33}


def test_the_demo_is_part_of_the_sample_configuration():
    config = BacktestConfig.from_toml(ROOT / "configs/paper_sample.toml")
    DEMO = demo_config()
    assert set(DEMO.strategies) <= set(config.strategies)
    assert (DEMO.data, DEMO.index_data, DEMO.start, DEMO.end, DEMO.cash, DEMO.seed_list) == (
        config.data, config.index_data, config.start, config.end, config.cash, config.seed_list
    )  # fmt: skip
    assert DEMO.rules == config.rules
    for name in DEMO.strategies:
        assert effective(name, DEMO) == effective(name, config)


def effective(name: str, config: BacktestConfig) -> object:
    """A strategy's parameters; for the CNN-LSTM, the signal settings they come to."""
    params = read_params(load_strategy(name), name, config.params.get(name, {}))
    if isinstance(params, CnnLstm.Params):
        return params.hold_days, params.source().signal_config("2014-01", "2017-03", seed=0)
    return params


@pytest.fixture(scope="module")
def metrics(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("kept")
    config = BacktestConfig.from_toml(ROOT / "configs/paper_sample.toml")
    rules = config.rules.replace(PRE_TABLE_FEES)
    config = config.replace({"cache_dir": str(out / "cache"), "rules": rules})  # trained afresh
    write_run(run_backtest(config), out / "run")
    return json.loads((out / "run" / "metrics.json").read_text())["strategies"]


@pytest.mark.parametrize("name", list(KEPT))
def test_the_figures_are_those_of_the_code_before(metrics, name):
    figures = metrics[name]
    expected = dict(KEPT[name])
    refused = dict(expected.pop("refused_orders"))
    if name in SIZING_CASH_REFUSALS:
        refused["cash"] += SIZING_CASH_REFUSALS[name]
    assert figures["refused_orders"] == refused
    for key, value in expected.items():
        assert figures[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
