"""The CNN-LSTM strategy end to end on the built-in sample with a tiny training budget:
the training span is set by dates, the test span is the backtest window, a second run
reuses the cached models, and the report carries the models' own quality."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from quant.cli import main
from quant.engine import BacktestConfig, ConfigError, run_backtest
from quant.engine.runner import prepare_context
from quant.signals import SignalError, training
from strategies.cnn_lstm import CnnLstm

TINY = {
    "preset": "sample",
    "cnn": {"max_epochs": 2, "patience": 1},
    "lstm": {"max_epochs": 1, "max_train_windows": 3000, "max_eval_windows": 2000},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn")
    config = BacktestConfig(
        start="2016-01-01",
        end="2016-04-30",
        strategies=["benchmark", "cnn_lstm"],
        params={"cnn_lstm": TINY},
        cache_dir=str(out / "cache"),
        workers=1,
    )
    path = out / "config.toml"
    path.write_text(config.to_toml())
    args = ["backtest", "--config", str(path), "--train-start", "2012-01", "--train-end", "2015-06"]
    assert main([*args, "--out", str(out / "run")]) == 0
    return out


def test_trained_on_its_span_tested_on_the_window(run_dir):
    metrics = json.loads((run_dir / "run" / "metrics.json").read_text())
    info = metrics["strategies"]["cnn_lstm"]["seeds"]["0"]["info"]
    assert (info["train"], info["test"]) == ("2012-01 .. 2015-06", "2016-01 .. 2016-04")
    block = info["training"][0]
    # every sample the models learned from ends before the test span's first decision date
    assert block["cnn"]["validation_months"].endswith("2015-06")
    assert pd.Timestamp(block["lstm"]["validation_days"].split("..")[1]) < pd.Timestamp(
        "2015-12-31"
    )
    selection = pd.read_parquet(run_dir / "run" / "cnn_lstm_seed0_selection.parquet")
    assert selection["decision_date"].min() >= pd.Timestamp("2015-12-31")
    report = (run_dir / "run" / "report.md").read_text()
    section = report[report.index("## cnn_lstm") :]
    assert "### Model quality on the test span" in section
    assert "always up" in section and "always down" in section


def test_a_second_run_reuses_the_cached_models(run_dir, monkeypatch):
    trained = []
    train = training.train
    monkeypatch.setattr(
        training,
        "train",
        lambda model, *a, **k: (trained.append(model.name), train(model, *a, **k))[1],
    )
    config = BacktestConfig.from_toml(run_dir / "run" / "config.toml")
    config = config.replace(
        {"strategies": ["cnn_lstm"], "params": {"cnn_lstm": config.params["cnn_lstm"]}}
    )
    assert config.workers == 1  # in this process, where the training calls are counted
    result = run_backtest(config).strategies[0]
    first = pd.read_csv(run_dir / "run" / "nav.csv", index_col=0, parse_dates=True)["cnn_lstm"]
    assert list(result.nav.index) == list(first.index)
    assert result.nav.to_numpy() == pytest.approx(first.to_numpy(), abs=1e-9)
    assert trained == []  # no model trained again


def sample(**values) -> CnnLstm.Params:
    return CnnLstm.Params(preset="sample", **values)


def test_the_window_sets_the_test_span_and_seeds_come_from_the_run():
    config = BacktestConfig(start="2016-01-01", end="2016-04-30", strategies=["cnn_lstm"])
    context = prepare_context(config)
    signals = sample(train_end="2015-06").source().run_config(context)
    assert (signals.test_start, signals.test_end, signals.seed) == ("2016-01", "2016-04", 0)
    with pytest.raises(ConfigError, match="cnn_lstm: the test span is the backtest window"):
        CnnLstm.Params.of({"test_start": "2015-01"}, name="cnn_lstm")
    with pytest.raises(
        SignalError, match="signals walk_forward: need train_start <= train_end < test_start"
    ):
        sample(train_end="2016-02").source().run_config(context)
