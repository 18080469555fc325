"""Typed contracts (issue 13): each measured fault of strategy parameters and settings is a
one-line error naming the strategy or the key, raised before any data is loaded."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from quant.cli import main
from quant.cli.backtest import config_from_args
from quant.cli.backtest import register as register_backtest
from quant.engine import AShareStrategy, BacktestConfig, ConfigError, Context, Plan, run_backtest
from quant.engine.params import read_params
from strategies.baselines import EqualWeightUniverse, Reversal
from strategies.benchmark import Benchmark
from strategies.cnn_lstm import CnnLstm
from strategies.examples.low_volatility import LowVolatility
from strategies.momentum import Momentum

ROOT = Path(__file__).resolve().parents[1]


def refused(strategies: list[str], params: dict) -> str:
    """The one-line error of a run with these parameters; ``data`` names no file, so the
    error must come before the data is read."""
    config = BacktestConfig(data="/nowhere.parquet", strategies=strategies, params=params)
    with pytest.raises(ConfigError) as error:
        run_backtest(config)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_misspelt_parameter_names_the_strategy_the_key_and_the_closest_name():
    message = refused(["momentum"], {"momentum": {"top_fracton": 0.5}})
    assert message == (
        "unknown parameter(s) top_fracton (did you mean top_fraction?) for momentum; known: "
        "top_fraction, formation_months, skip_months"
    )


def test_parameters_of_a_strategy_that_is_not_run_are_an_error():
    message = refused(["benchmark", "momentum"], {"reversal": {"lookback_days": 10}})
    assert message.startswith("params.reversal: no strategy 'reversal' in this run")
    assert "it runs benchmark, momentum" in message
    misspelt = refused(["momentum"], {"momentun": {"top_fraction": 0.1}})
    assert "(did you mean momentum?)" in misspelt


@pytest.mark.parametrize(
    ("strategy", "values", "message"),
    [
        # read the future: momentum 8.15 a year instead of 1.71, reversal 1.97 instead of 1.11
        ("momentum", {"skip_months": -1}, "momentum: skip_months = -1: input should be greater"),
        ("reversal", {"lookback_days": -5}, "reversal: lookback_days = -5: input should be greater"),
        # formation_months = 0 bought the first code every month
        ("momentum", {"formation_months": 0}, "momentum: formation_months = 0: input should be"),
        # a negative hold_days doubled the trades
        ("cnn_lstm", {"hold_days": -1}, "cnn_lstm: hold_days = -1: input should be greater"),
        ("momentum", {"top_fraction": 0.0}, "momentum: top_fraction = 0.0: input should be greater"),
        ("momentum", {"top_fraction": 1.5}, "momentum: top_fraction = 1.5: input should be less"),
        ("momentum", {"top_fraction": math.nan}, "momentum: top_fraction = nan: input should be a finite"),
        ("momentum", {"skip_months": 1.5}, "momentum: skip_months = 1.5: input should be a valid integer"),
        ("reversal", {"lookback_days": "20"}, "reversal: lookback_days = '20': input should be a valid integer"),
        ("ew_universe", {"cash": math.inf}, "ew_universe: cash = inf: input should be a finite number"),
        ("benchmark", {"index": 300}, "benchmark: index = 300: input should be a valid string"),
        ("cnn_lstm", {"train_end": "2013-1"}, "cnn_lstm: train_end = '2013-1': string should match"),
        ("cnn_lstm", {"test_start": "2015-01"}, "cnn_lstm: the test span is the backtest window"),
    ],
)  # fmt: skip
def test_parameter_values_are_type_and_range_checked(strategy, values, message):
    assert refused([strategy], {strategy: values}).startswith(message)


def test_every_builtin_parameter_has_a_default_and_a_docstring():
    for strategy in (Benchmark, Momentum, CnnLstm, EqualWeightUniverse, Reversal, LowVolatility):
        for name, field in strategy.Params.model_fields.items():
            assert field.description, f"{strategy.__name__}.{name} has no docstring"
        assert strategy.Params() == read_params(strategy, strategy.__name__, {})
        with pytest.raises(ValueError, match="frozen"):
            strategy.Params().__setattr__(next(iter(strategy.Params.model_fields)), 1)


def test_a_prepare_that_does_not_take_typed_params_is_named():
    class OldStyle(AShareStrategy):
        @classmethod
        def prepare(cls, context: Context, codes=("600000.SH",), **unused) -> Plan:
            return Plan(codes=list(codes))

    with pytest.raises(ConfigError, match=r"strategy OldStyle: prepare must be .* not prepare\("):
        read_params(OldStyle, "OldStyle", {})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[rules]\nlot = 100.5", "rules.lot = 100.5: input should be a valid integer"),
        ('[rules]\nt_plus_one = "no"', "rules.t_plus_one = 'no': input should be a valid boolean"),
        ("[rules]\nmin_commission = nan", "rules.min_commission = nan: input should be a finite number"),
        ("cash = nan", "cash = nan: input should be a finite number"),
        ("cash = inf", "cash = inf: input should be a finite number"),
        ("cash = -1.0", "cash = -1.0: input should be greater than 0"),
        ('strategies = "momentum"', "strategies = 'momentum': input should be a valid list"),
        ("[rules]\nlott = 100", "unknown setting(s) rules.lott (did you mean rules.lot?); known in rules:"),
        ("seed = -1", "seed = -1: input should be greater than or equal to 0"),
        ("workers = 1.5", "workers = 1.5: input should be a valid integer"),
    ],
)  # fmt: skip
def test_settings_are_type_checked_with_one_line_errors_naming_the_key(tmp_path, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as error:
        BacktestConfig.from_toml(path)
    assert str(error.value) == f"{path}: {message}" or str(error.value).startswith(
        f"{path}: {message}"
    )
    assert "\n" not in str(error.value)


def test_unquoted_toml_dates_are_dates_and_the_saved_form_is_unchanged(tmp_path):
    path = tmp_path / "dates.toml"
    path.write_text("start = 2015-01-05\nend = 2015-06-30\n")
    config = BacktestConfig.from_toml(path)
    assert (config.start, config.end) == ("2015-01-05", "2015-06-30")
    pairs = BacktestConfig(rules={"stamp_duty": [["2008-09-19", 0.001]]})
    assert 'stamp_duty = [\n    [\n        "2008-09-19",' in pairs.to_toml()  # lists, as before
    paper = BacktestConfig.from_toml(ROOT / "configs/paper.toml")
    assert 'transfer_fee = "table"' in paper.to_toml() and 'stamp_duty = "table"' in paper.to_toml()


def test_settings_built_in_python_are_checked_the_same_way():
    with pytest.raises(ConfigError, match=r"^cash = nan: input should be a finite number$"):
        BacktestConfig(cash=math.nan)
    with pytest.raises(ConfigError, match=r"^rules\.lot = 100\.5: input should be a valid integer"):
        BacktestConfig(rules={"lot": 100.5})
    config = BacktestConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.cash = 5.0
    assert config.replace({"cash": 5.0}).cash == 5.0


def test_the_command_line_reports_a_bad_setting_in_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('strategies = "momentum"')
    assert main(["backtest", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: strategies = 'momentum': input should be a valid list\n"
    )


def test_strategies_on_the_command_line_drop_the_settings_of_those_left_out(tmp_path):
    import argparse

    commands = argparse.ArgumentParser().add_subparsers()
    register_backtest(commands)
    parser = commands.choices["backtest"]
    paper = str(ROOT / "configs/paper.toml")
    config = config_from_args(parser.parse_args(["--config", paper, "--strategies", "momentum"]))
    assert config.strategies == ["momentum"] and set(config.params) == {"momentum"}
    assert config.baselines == ["momentum"] and list(config.paper.figures) == ["momentum"]
    path = tmp_path / "typo.toml"
    path.write_text('strategies = ["momentum"]\n[params.momentun]\ntop_fraction = 0.1\n')
    kept = config_from_args(parser.parse_args(["--config", str(path), "--strategies", "momentum"]))
    assert set(kept.params) == {"momentun"}  # not a strategy of the config: still refused later
