"""Plug-in strategies by name, the run folder, and the backtest and plot commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from quant.cli import main
from quant.engine import BacktestConfig, ConfigError
from quant.engine.plugins import load_strategy
from strategies.examples.low_volatility import LowVolatility
from strategies.momentum import Momentum

ROOT = Path(__file__).resolve().parents[1]
RUN_FILES = {
    "config.toml",
    "metrics.json",
    "nav.csv",
    "exposure.csv",
    "trades.parquet",
    "positions.parquet",
    "refusals.parquet",
    "events.parquet",
    "momentum_selection.parquet",  # a strategy's own table
    "report.md",
    "net_value.png",
    "drawdown.png",
    "position_ratio.png",
}


def test_strategies_load_by_name_module_or_file():
    assert load_strategy("momentum") is Momentum
    assert load_strategy("strategies.examples.low_volatility:LowVolatility") is LowVolatility
    from_file = load_strategy(f"{ROOT / 'strategies/examples/low_volatility.py'}:LowVolatility")
    assert from_file.__name__ == "LowVolatility" and from_file.prepare


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "momentun",
            "unknown strategy 'momentun' (did you mean momentum?): built-ins are benchmark, "
            "cnn_lstm, cnn_only, ew_universe, momentum, random_select, random_timing, reversal",
        ),
        ("strategies.momentum:Nope", "has no class 'Nope' (strategies there: Momentum)"),
        ("no.such.module:X", "cannot import no.such.module"),
        ("missing/file.py:X", "no such file"),
        ("strategies.monthly:Weights", "must subclass quant.engine.AShareStrategy"),
    ],
)
def test_bad_strategy_names_get_clear_errors(spec, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_strategy(spec)


def test_config_round_trips_through_toml(tmp_path):
    config = BacktestConfig.from_toml(ROOT / "configs/paper.toml")
    path = tmp_path / "again.toml"
    path.write_text(config.to_toml())
    assert BacktestConfig.from_toml(path) == config


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"strat": ["x"]}, "unknown setting\\(s\\) strat"),
        ({"start": "2018-01-01", "end": "2017-01-01"}, "is after end"),
        ({"start": "2008-01-01"}, "the fee table's transfer fees start then"),
        (
            {"rules": {"fill_at": "noon"}},
            "rules.fill_at = 'noon': input should be 'open' or 'close'",
        ),
    ],
)
def test_bad_configs_are_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        BacktestConfig.from_dict(values)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    code = main(
        [
            "backtest",
            "--start",
            "2014-01-01",
            "--end",
            "2014-06-30",
            "--strategies",
            "benchmark,momentum",
            "--strategy",
            "strategies.examples.low_volatility:LowVolatility",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_backtest_command_writes_the_whole_run_folder(run_dir):
    assert {p.name for p in run_dir.iterdir()} >= RUN_FILES
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temporary left
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert list(metrics["strategies"]) == ["benchmark", "momentum", "LowVolatility"]
    nav = pd.read_csv(run_dir / "nav.csv", index_col=0, parse_dates=True)
    for name, figures in metrics["strategies"].items():
        assert figures["annualized_return"] == pytest.approx(
            (nav[name].iloc[-1]) ** (365.25 / 181) - 1
        )
        for key in (
            "max_drawdown",
            "volatility",
            "sharpe",
            "calmar",
            "total_return",
            "turnover",
            "trades",
            "costs",
            "average_position_ratio",
            "refused_orders",
        ):
            assert key in figures
    trades = pd.read_parquet(run_dir / "trades.parquet")
    momentum = trades[trades["strategy"] == "momentum"]
    assert metrics["strategies"]["momentum"]["trades"] == len(momentum)
    assert metrics["strategies"]["momentum"]["costs"] == pytest.approx(momentum["costs"].sum())
    report = (run_dir / "report.md").read_text()
    assert re.search(r"^\| momentum +\|", report, re.M)
    assert "0.136 / 0.443" in report  # the paper's benchmark beside ours


def test_positions_are_the_non_zero_holdings_that_make_up_the_exposure(run_dir):
    positions = pd.read_parquet(run_dir / "positions.parquet")
    assert list(positions.columns) == [
        "date", "code", "shares", "close", "tradable", "strategy", "seed"
    ]  # fmt: skip
    runs = positions[["strategy", "seed", "code", "date"]].astype({"strategy": str, "code": str})
    assert runs.equals(runs.sort_values(list(runs.columns), ignore_index=True))  # by holding
    assert (positions["shares"] != 0).all() and len(positions) > 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    exposure = pd.read_csv(run_dir / "exposure.csv", index_col=0, parse_dates=True)
    last = exposure.index[-1]
    for name in ("momentum", "LowVolatility"):
        held = positions[(positions["strategy"] == name) & (positions["date"] == last)]
        invested = (held["shares"] * held["close"]).sum() / metrics["strategies"][name][
            "final_equity"
        ]
        assert invested == pytest.approx(exposure.loc[last, name], abs=1e-9)


def test_the_saved_config_repeats_the_run(run_dir, tmp_path):
    again = tmp_path / "again"
    assert main(["backtest", "--config", str(run_dir / "config.toml"), "--out", str(again)]) == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(run_dir / "nav.csv", index_col=0), pd.read_csv(again / "nav.csv", index_col=0)
    )


def test_plot_command_redraws_from_the_csvs(run_dir, capsys):
    for name in ("net_value.png", "drawdown.png", "position_ratio.png"):
        (run_dir / name).unlink()
    assert main(["plot", str(run_dir)]) == 0
    for name in ("net_value.png", "drawdown.png", "position_ratio.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(run_dir / "nowhere")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_data_without_amount_runs_end_to_end(tmp_path):
    bars = pd.read_parquet(ROOT / "quant/data/sample/stocks.parquet")
    codes = sorted(bars["code"].unique())[:40]
    bars[bars["code"].isin(codes)].drop(columns="amount").to_parquet(tmp_path / "no_amount.parquet")
    out = tmp_path / "run"
    args = [
        "backtest",
        "--data",
        str(tmp_path / "no_amount.parquet"),
        "--strategies",
        "benchmark,momentum,reversal",
    ]
    assert main([*args, "--start", "2015-01-01", "--end", "2015-06-30", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["strategies"]) == {"benchmark", "momentum", "reversal"}
    assert any("amount approximated" in note for note in metrics["notes"])
    assert "amount approximated" in (out / "report.md").read_text()


def test_the_readme_plug_in_example_runs(tmp_path):
    import re

    readme = (ROOT / "README.md").read_text()
    code = re.search(r"# my_strategies.py\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "my_strategies.py").write_text(code)
    out = tmp_path / "run"
    spec = f"{tmp_path / 'my_strategies.py'}:HoldTwo"
    assert (
        main(
            [
                "backtest",
                "--strategies",
                "benchmark",
                "--strategy",
                spec,
                "--start",
                "2016-01-01",
                "--end",
                "2016-03-31",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    trades = pd.read_parquet(out / "trades.parquet")
    assert sorted(trades.loc[trades["strategy"] == "HoldTwo", "code"]) == ["000858.SZ", "600519.SH"]


def test_the_command_table_matches_what_the_modules_register():
    import argparse
    import importlib

    from quant.cli import COMMANDS, area_modules

    for name in area_modules():
        commands = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"quant.cli.{name}").register(commands)
        for command in commands.choices:
            assert command in COMMANDS, f"add {command!r} (module {name!r}) to quant.cli.COMMANDS"
            assert COMMANDS[command].module == name
    assert {command.module for command in COMMANDS.values()} <= set(area_modules())


#: What printing help or refusing an argument must not import (each takes 0.3 s or more).
HEAVY = ("torch", "pandas", "numpy", "backtrader", "matplotlib", "pydantic", "ray")


@pytest.mark.parametrize(
    "command", [None, "backtest", "plot", "demo", "predict", "tune", "signals", "sweep"]
)
def test_help_and_argument_errors_import_no_heavy_library(command):
    """``quant --help`` lists the commands from quant.cli.COMMANDS alone, and a command's
    parser is built from its area module, whose libraries load only when it runs (the time
    it takes: benchmarks/cli_startup.py). ``data`` is left out: its options' defaults come
    from quant.data (pandas)."""
    code = (
        "import sys\n"
        "from quant.cli import build_parser\n"
        f"build_parser({command!r})\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_every_command_checks_its_settings_before_the_data_loads(tmp_path, capsys):
    """Each command's bad setting is refused while the data it names does not even exist:
    the error names the setting, not the data (a load takes from seconds to minutes)."""
    missing = str(tmp_path / "no-such-data")
    config = tmp_path / "run.toml"
    config.write_text('strategies = ["cnn_lstm"]\n[params.cnn_lstm]\ntop_fraction = 2.0\n')
    out = str(tmp_path / "out")
    cases = [
        (["backtest", "--data", missing, "--config", str(config)], "top_fraction = 2.0"),
        (
            ["backtest", "--data", missing, "--strategies", "cnn_lstm", "--train-end", "2016-01"],
            "strategy cnn_lstm: signals walk_forward: need train_start <= train_end < test_start",
        ),
        (
            [
                "predict",
                "--data",
                missing,
                "--codes",
                "000001.SZ",
                "--param",
                "lstm.dayz=20",
                "--out",
                out,
            ],
            "dayz",
        ),
        (["tune", "--data", missing, "--codes", "000001.SZ", "--step", "los"], "--step 'los'"),
        (["signals", "--data", missing, "--retrain-every", "0"], "retrain_every = 0"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        error = capsys.readouterr().err
        assert message in error and "no-such-data" not in error, (argv, error)
