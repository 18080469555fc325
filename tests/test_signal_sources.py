"""Signal sources: the CNN-LSTM rules read their tables from a source named by a parameter
(the built-in walk-forward models, or a user's class by module:Class or file.py:Class with
typed settings); a bad name or setting is a one-line error before the data loads, and
tables that break the contract are refused naming the source, the table and the value."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from quant.cli import main
from quant.engine import BacktestConfig, ConfigError, run_backtest
from quant.signals import (
    SignalError,
    SignalSet,
    check_signals,
    source_from_config,
)
from quant.signals.config import PRESETS
from strategies.cnn_lstm import CnnLstm
from tests.engine_helpers import panel_of
from tests.test_cnn_lstm_strategy import SELECTION, TIMING, A, B, C, flat

ROOT = Path(__file__).resolve().parents[1]
MARKET = panel_of(flat(A), flat(B), flat(C))


def params(values: dict) -> CnnLstm.Params:
    return CnnLstm.Params.of(values, name="cnn_lstm", noun="parameter")


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"signals": "walk_forwad"}, "unknown signal source 'walk_forwad' (did you mean walk_forward?)"),
        ({"signals": "quant.signals:SignalSet"}, "SignalSet must subclass quant.signals.SignalSource"),
        ({"signals": "quant.signals:SignalSource"}, "SignalSource must define tables(context)"),
        ({"signals": {"kwargs": {}}}, "signals: expected a source name, module:Class or a {class, kwargs} table"),
        ({"signals": {"class": "walk_forward", "kwargs": {"presett": "sample"}}},
         "signals walk_forward: unknown setting(s) presett (did you mean preset?)"),
        ({"preset": "sampel"}, "unknown signal preset 'sampel'; choose one of ['paper', 'sample']"),
        ({"signals": "tests.test_cnn_lstm_strategy:HandSource", "train_end": "2015-06"},
         "train_end: settings of the walk_forward source, not to be set beside signals"),
        ({"signals": {"class": "walk_forward", "kwargs": {"preset": "sample"}}, "top_fraction": 0.1},
         "top_fraction: settings of the walk_forward source"),
    ],
)  # fmt: skip
def test_a_bad_source_or_setting_is_a_one_line_error(values, message):
    with pytest.raises(ConfigError) as caught:
        params(values)
    assert one_line(caught).startswith("cnn_lstm: ") and message in str(caught.value)


def test_the_walk_forward_settings_go_to_the_built_in_source():
    flat_settings = params({"preset": "sample", "train_end": "2013-06"}).source()
    table = params(
        {
            "signals": {
                "class": "walk_forward",
                "kwargs": {"preset": "sample", "train_end": "2013-06"},
            }
        }
    ).source()
    assert flat_settings == table
    config = flat_settings.signal_config("2014-01", "2014-06", seed=3)
    assert (config.train_end, config.test_end, config.seed) == ("2013-06", "2014-06", 3)
    assert config.cnn == PRESETS["sample"].cnn


def test_a_misspelt_source_fails_before_the_data_is_read(tmp_path):
    config = BacktestConfig(
        data=str(tmp_path / "nowhere.parquet"),
        strategies=["cnn_lstm"],
        params={"cnn_lstm": {"signals": "tests/nowhere.py:Mine"}},
    )
    with pytest.raises(ConfigError, match=r"no such file .*nowhere\.py") as caught:
        run_backtest(config)
    assert "nowhere.parquet" not in one_line(caught)


def test_the_docs_source_example_trades_its_own_tables(tmp_path):
    """The example of docs/cnn_lstm.md, "Signal sources", run from its file with settings."""
    docs = (ROOT / "docs/cnn_lstm.md").read_text()
    (tmp_path / "my_signals.py").write_text(re.search(r"# my_signals.py\n(.*?)```", docs, re.S)[1])
    spec = f"{tmp_path / 'my_signals.py'}:Winners"
    assert source_from_config({"class": spec, "kwargs": {"top": 2}}).top == 2
    with pytest.raises(SignalError) as caught:
        source_from_config({"class": spec, "kwargs": {"top": 0}})
    assert (
        one_line(caught) == f"signals {spec}: top = 0: input should be greater than or equal to 1"
    )
    config = BacktestConfig(
        start="2015-01-01",
        end="2015-04-30",
        strategies=["cnn_lstm"],
        params={"cnn_lstm": {"signals": {"class": spec, "kwargs": {"top": 2}}}},
        workers=1,
    )
    (tmp_path / "config.toml").write_text(config.to_toml())
    out = tmp_path / "run"
    assert main(["backtest", "--config", str(tmp_path / "config.toml"), "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["strategies"]["cnn_lstm"]
    assert metrics["seeds"]["0"]["info"] == {"signals": spec, "top": 2, "days": 20}
    selection = pd.read_parquet(out / "cnn_lstm_seed0_selection.parquet")
    assert selection.groupby("decision_date").size().tolist() == [2, 2, 2, 2]  # Dec..Mar
    buys = pd.read_parquet(out / "trades.parquet").query("side == 'buy'")
    decided = buys["date"].map(
        lambda day: selection["decision_date"][selection["decision_date"] < day].max()
    )
    picked = set(zip(selection["decision_date"], selection["code"]))
    assert len(buys) > 0 and all(pair in picked for pair in zip(decided, buys["code"]))
    assert "### Model quality" not in (out / "report.md").read_text()  # no models to show


def tables(selection: pd.DataFrame = SELECTION, timing: pd.DataFrame = TIMING) -> SignalSet:
    return SignalSet(selection, timing)


@pytest.mark.parametrize(
    ("signals", "message"),
    [
        (SELECTION, "tables() returned a DataFrame, not a SignalSet"),
        (tables(SELECTION.drop(columns="selected")), "selection: missing column(s) selected"),
        (tables(SELECTION.assign(decision_date=SELECTION["decision_date"].astype(str))),
         "selection.decision_date must hold dates (datetime64), got str"),
        (tables(SELECTION.assign(decision_date=pd.Timestamp("2017-05-28"))),  # a Sunday
         "selection.decision_date: 2017-05-28 is not a session of the data (5 rows"),
        (tables(SELECTION.assign(code="600001.SH")), "selection.code: 600001.SH is not a code of the data"),
        (tables(SELECTION.assign(selected=1)), "selection.selected must be bool, got int64"),
        (tables(pd.concat([SELECTION, SELECTION.tail(1)])),
         "selection: more than one row for 600000.SH on 2017-06-30 (1 repeats)"),
        (tables(timing=TIMING.assign(signal=TIMING["signal"].replace(-1, 0))),
         "timing.signal must be +1 or -1, got 0 for 600004.SH on 2017-05-31 (11 rows)"),
        (tables(timing=TIMING.assign(signal=TIMING["signal"] > 0)),
         "timing.signal must be +1 or -1, got True"),
        (tables(timing=TIMING.assign(date=pd.Timestamp("2017-05-31"))),
         "timing: more than one row for 600000.SH on 2017-05-31"),
    ],
)  # fmt: skip
def test_tables_that_break_the_contract_are_refused(signals, message):
    with pytest.raises(SignalError) as caught:
        check_signals(signals, "mine", MARKET)
    assert one_line(caught).startswith("signal source mine: ") and message in str(caught.value)


def test_the_hand_tables_keep_the_contract():
    assert check_signals(tables(), "mine", MARKET).selection is SELECTION
