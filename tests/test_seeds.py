"""Strategies with randomness run once per seed, in parallel processes; the report holds
every seed's figures and their mean, standard deviation, min and max."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.engine import AShareStrategy, BacktestConfig, Context, Plan, run_backtest
from quant.engine.runner import BacktestResult, StrategyResult
from quant.engine.window import RunWindow
from quant.report import group_metrics, render_table, seed_summary, write_run


class SeededPick(AShareStrategy):
    """Buys one stock chosen by its seed on day 0 and holds it (a stand-in for a trained
    model: the seed changes the result)."""

    uses_seed = True

    @classmethod
    def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
        rng = np.random.default_rng(context.seed)
        code = str(rng.choice(list(context.panel.codes[:50])))
        return Plan(codes=[code], info={"picked": code})

    def next(self) -> None:
        if not self.holdings():
            self.order_target_weights({self.plan.codes[0]: 1.0})


def test_seed_summary_of_hand_made_figures():
    figures = [{"annualized_return": 0.1, "trades": 4}, {"annualized_return": 0.3, "trades": 6}]
    summary = seed_summary(figures)
    assert summary["annualized_return"] == pytest.approx(
        {"mean": 0.2, "std": np.sqrt(0.02), "min": 0.1, "max": 0.3}
    )
    assert summary["trades"] == {
        "mean": 5.0,
        "std": pytest.approx(np.sqrt(2)),
        "min": 4.0,
        "max": 6.0,
    }
    assert seed_summary([{"annualized_return": 0.1}])["annualized_return"]["std"] == 0.0


def fake_run(seed: int, final: float) -> StrategyResult:
    dates = pd.to_datetime(["2014-01-01", "2015-01-01"])
    equity = pd.Series([100.0, 100.0 * final], index=dates)
    empty = pd.DataFrame(
        columns=["date", "code", "side", "size", "price", "value", "costs", "note"]
    )
    return StrategyResult(
        name="model",
        nav=equity / 100,
        cash=equity * 0,
        equity=equity,
        fills=empty,
        refusals=pd.DataFrame(columns=["date", "code", "side", "size", "reason"]),
        events=pd.DataFrame(),
        positions=pd.DataFrame(columns=["date", "code", "shares", "value", "tradable"]),
        seed=seed,
        sessions_per_year=244.0,
    )


def test_group_metrics_keep_every_seed_and_the_means():
    entry = group_metrics([fake_run(0, 1.10), fake_run(1, 1.30)])
    assert set(entry["seeds"]) == {"0", "1"}
    assert entry["seeds"]["0"]["total_return"] == pytest.approx(0.10)
    assert entry["total_return"] == pytest.approx(0.20)  # the mean
    assert entry["summary"]["total_return"]["max"] == pytest.approx(0.30)


def test_a_figure_undefined_in_every_seed_reads_n_a(tmp_path):
    runs = [fake_run(0, 1.0), fake_run(1, 1.0)]  # flat: no volatility, so no Sharpe ratio
    config = BacktestConfig(start="2014-01-02", end="2015-01-01", seeds=[0, 1])
    dates = runs[0].nav.index
    window = RunWindow((config.start_date, config.end_date), dates, slice(0, len(dates)))
    out = write_run(BacktestResult(config, runs, window), tmp_path / "run")
    assert "sharpe" not in json.loads((out / "metrics.json").read_text())["strategies"]["model"]
    header, _, row = (re.split(r"\s{2,}", line.strip()) for line in render_table(out).splitlines())
    assert header[3] == "Sharpe" and row[0] == "model" and row[3] == "n/a"


def test_seeds_run_in_processes_and_are_reported(tmp_path):
    config = BacktestConfig(
        start="2015-01-01",
        end="2015-03-31",
        seeds=[0, 1, 2],
        workers=2,
        strategies=["benchmark", "tests.test_seeds:SeededPick"],
    )
    result = run_backtest(config)
    labels = [r.label for r in result.strategies]
    assert labels == ["benchmark", "SeededPick@seed0", "SeededPick@seed1", "SeededPick@seed2"]
    sequential = run_backtest(
        BacktestConfig(**{**config.to_dict(), "workers": 1, "strategies": config.strategies}),
    )
    for parallel_run, serial_run in zip(result.strategies, sequential.strategies, strict=True):
        pd.testing.assert_series_equal(parallel_run.nav, serial_run.nav)  # same numbers either way

    out = write_run(result, tmp_path / "run")
    metrics = json.loads((out / "metrics.json").read_text())
    entry = metrics["strategies"]["SeededPick"]
    returns = [entry["seeds"][s]["annualized_return"] for s in ("0", "1", "2")]
    assert entry["summary"]["annualized_return"]["mean"] == pytest.approx(np.mean(returns))
    assert entry["summary"]["annualized_return"]["std"] == pytest.approx(np.std(returns, ddof=1))
    assert "benchmark" in metrics["significance"]["SeededPick"]
    nav = pd.read_csv(out / "nav.csv", index_col=0)
    assert {"SeededPick@seed0", "SeededPick@seed2", "SeededPick"} <= set(nav.columns)
    np.testing.assert_allclose(
        nav["SeededPick"], nav[[f"SeededPick@seed{s}" for s in range(3)]].mean(axis=1)
    )
    assert " ± " in (out / "report.md").read_text()


def test_seeds_flag(tmp_path, capsys):
    assert main(["backtest", "--seeds", "1,x", "--out", str(tmp_path)]) == 2
    assert "--seeds takes whole numbers" in capsys.readouterr().err
