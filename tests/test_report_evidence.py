"""What a report says first: the ablation table by seed (checked against values computed by
hand from nav.csv), the headline's evidence and names, each strategy's own capital, model
tables shown once, the tear sheet's series (against empyrical-reloaded where the
definitions agree) and ``quant report`` / ``quant compare``."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.engine import BacktestConfig
from quant.engine.runner import BacktestResult, StrategyResult
from quant.engine.window import RunWindow
from quant.metrics.performance import (
    daily_returns,
    drawdown_periods,
    max_drawdown,
    monthly_table,
    period_returns,
    rolling_sharpe,
    rolling_volatility,
    sharpe,
    turnover_series,
    volatility,
)
from quant.report import render_table, write_run
from quant.report.figures import ablations
from quant.report.headline import headline, ranking_text
from quant.report.markdown import deduplicated
from quant.report.sections import report_evidence
from strategies.cnn_lstm_report import signals_evidence
from tests.test_report import DAYS, fake_run

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def ablated(tmp_path_factory) -> Path:
    """A run folder of cnn_lstm and its ablation cnn_only over three seeds (random walks:
    the figures are the files', whatever they are)."""
    runs = [fake_run("cnn_lstm", seed) for seed in SEEDS]
    runs += [apart(fake_run("cnn_only", seed), seed) for seed in SEEDS]
    config = BacktestConfig(
        start="2009-01-02",
        end="2018-12-31",
        workers=1,
        strategies=["cnn_lstm", "cnn_only"],
        seeds=SEEDS,
        baselines=[],
        params={"cnn_lstm": {"preset": "sample"}, "cnn_only": {"preset": "sample"}},
    )
    window = RunWindow((config.start_date, config.end_date), DAYS, slice(0, len(DAYS)))
    return write_run(BacktestResult(config, runs, window), tmp_path_factory.mktemp("a") / "run")


def apart(run: StrategyResult, seed: int) -> StrategyResult:
    """``run`` with its own noise on top (fake_run's walk depends on the name's length)."""
    rng = np.random.default_rng([7, seed])
    walk = np.cumprod(np.r_[1.0, 1 + rng.normal(0.0, 0.004, len(DAYS) - 1)])
    equity = run.equity * walk
    return replace(run, equity=equity, nav=equity / equity.iloc[0], cash=run.cash * walk)


def by_hand(nav: pd.Series) -> np.ndarray:
    """Monthly returns: day 0's value (2009-01-01, not a month's last day) and each month's
    last value, consecutive ratios."""
    assert nav.index[0] == pd.Timestamp("2009-01-01") and nav.index[1].month == 1
    ends = [nav.iloc[0]] + [group.iloc[-1] for _, group in nav.groupby(nav.index.to_period("M"))]
    return np.array(ends[1:]) / np.array(ends[:-1]) - 1


def annualised(monthly: np.ndarray) -> float:
    return float(np.prod(1 + monthly) ** (12 / len(monthly)) - 1)


def test_the_ablation_table_is_the_one_computed_by_hand_from_nav_csv(ablated):
    nav = pd.read_csv(ablated / "nav.csv", index_col=0, parse_dates=True)
    rows = json.loads((ablated / "metrics.json").read_text())["ablations"]
    assert [(r["reference"], r["ablation"], r["seed"]) for r in rows] == [
        ("cnn_lstm", "cnn_only", s) for s in ["0", "1", "2", "all"]
    ]
    differences = []
    for row in rows:
        suffix = "" if row["seed"] == "all" else f"@seed{row['seed']}"
        reference, ablation = by_hand(nav[f"cnn_lstm{suffix}"]), by_hand(nav[f"cnn_only{suffix}"])
        expected = annualised(reference) - annualised(ablation)
        assert row["difference"] == pytest.approx(expected, rel=1e-9)
        assert row["months"] == len(reference) == 120
        assert row["ci_low"] < row["difference"] < row["ci_high"]
        if row["seed"] != "all":
            differences.append(expected)
    assert rows[-1]["helped"] == sum(d > 0 for d in differences) and rows[-1]["seeds"] == 3
    table = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in (ablated / "report.md").read_text().splitlines()
        if line.startswith("| the timer's timing")
    ]
    assert [row[:5] for row in table] == [
        ["the timer's timing", "cnn_lstm - cnn_only", r["seed"], f"{r['difference']:+.3f}",
         f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"]
        for r in rows
    ]  # fmt: skip
    assert table[-1][-1] == f"{rows[-1]['helped']} of 3"


def test_an_ablation_equal_to_its_reference_adds_nothing_with_no_doubt():
    nav = pd.DataFrame({"a@seed0": np.linspace(1, 2, len(DAYS))}, index=DAYS)
    nav["b@seed0"], nav["a"], nav["b"] = nav["a@seed0"], nav["a@seed0"], nav["a@seed0"]
    rows = ablations(nav, [("a", "b", "the part")])
    for row in rows:
        assert (row["difference"], row["ci_low"], row["ci_high"]) == (0.0, 0.0, 0.0)
    assert rows[-1]["helped"] == 0


def test_model_tables_show_once_and_point_back():
    quality = ["### Model quality on the test span", "", "| a | b |", "| - | - |", "| 1 | 2 |", ""]
    sections = {
        "cnn_lstm": ["## cnn_lstm", "", "settings A", "", *quality],
        "cnn_only": ["## cnn_only", "", "settings B", "", *quality],
    }
    shown = deduplicated(sections)
    assert shown["cnn_lstm"] == sections["cnn_lstm"]
    assert "| 1 | 2 |" not in shown["cnn_only"] and "settings B" in shown["cnn_only"]
    assert "The same as in cnn_lstm's section above." in shown["cnn_only"]


def test_the_report_md_shows_the_model_tables_once(tmp_path):
    """cnn_lstm and cnn_only run the same models: their quality and training tables are
    written once, under cnn_lstm."""
    info = {
        "signals": "walk_forward",
        "models": {"ranker": "CNNRanker", "timer": "GRUTimer"},
        "quality": {"cnn": {"months": 3, "top_return": 0.01, "decile_return": 0.01,
                            "all_return": 0.0, "ic_mean": 0.05, "ic_t": 2.5},
                    "lstm": {"timing": _timer(0.6, 1000), "pooled": _timer(0.55, 2000)}},
        "training": [{"block": "2014-01",
                      "cnn": {"train": 10, "validation": 2, "epochs_run": 3, "best_epoch": 1, "seconds": 1.0},
                      "lstm": {"train": 10, "validation": 2, "epochs_run": 3, "best_epoch": 2, "seconds": 1.0}}],
    }  # fmt: skip
    runs = [fake_run(name, 0) for name in ("cnn_lstm", "cnn_only")]
    for run in runs:
        run.info = dict(info)
    config = BacktestConfig(
        start="2009-01-02", end="2018-12-31", workers=1, strategies=["cnn_lstm", "cnn_only"],
        seeds=[0], baselines=[],
        params={"cnn_lstm": {"preset": "sample"}, "cnn_only": {"preset": "sample"}},
    )  # fmt: skip
    window = RunWindow((config.start_date, config.end_date), DAYS, slice(0, len(DAYS)))
    out = write_run(BacktestResult(config, runs, window), tmp_path / "run")
    report = (out / "report.md").read_text()
    assert report.count("### Model quality on the test span") == 2
    assert report.count("accuracy [95 % CI]") == 1
    assert "The same as in cnn_lstm's section above." in report
    # names from what ran: the GRU timer is not an "LSTM timer"
    assert "Timer (GRUTimer)" in report and "LSTM timer" not in report
    metrics = json.loads((out / "metrics.json").read_text())
    lines = headline(metrics, config.cash, report_evidence(config, metrics["strategies"]))
    assert lines[0].startswith(
        "cnn_lstm (signals walk_forward: ranker CNNRanker, timer GRUTimer): "
    )
    assert lines[0].endswith(
        "; timer GRUTimer: accuracy 0.600 [0.569, 0.630] over 1,000 calls, always-up 0.520, always-down 0.480: above always-up"
    )
    assert "### Model quality" not in "\n".join(lines)


def _timer(accuracy: float, n: int) -> dict:
    return {
        "accuracy": accuracy, "n": n, "ci_low": 0.0, "ci_high": 1.0, "predicted_up_share": 0.5,
        "always_up": {"accuracy": 0.52, "n": n}, "always_down": {"accuracy": 0.48, "n": n},
    }  # fmt: skip


def test_the_headline_says_what_the_evidence_supports():
    factor = {"by_horizon": {"1": {"ic_mean": 0.1, "ic_t": 5.0, "dates": 30},
                             "20": {"ic_mean": 0.03, "ic_t": 1.39, "dates": 39}}}  # fmt: skip
    assert ranking_text(factor) == (
        "ranking: rank IC +0.030 over 20 sessions (t 1.39, 39 dates): "
        "not distinguishable from no ranking"
    )
    factor["by_horizon"]["20"]["ic_t"] = -2.5
    assert ranking_text(factor).endswith("it ranks backwards")
    below = {
        "0": {
            "signals": "mine.py:Mine",
            "quality": {"cnn": {}, "lstm": {"timing": _timer(0.50, 3504)}},
            "training": [],
        }
    }
    assert signals_evidence(below)[0] == "signals mine.py:Mine"
    assert signals_evidence(below)[1].endswith("below always-up: it does not time")
    assert signals_evidence({"0": {"signals": "mine.py:Mine"}}) == ["signals mine.py:Mine"]


def test_each_strategy_shows_its_own_capital():
    metrics = {
        "strategies": {
            "momentum": {"annualized_return": 0.1, "max_drawdown": 0.2,
                         "average_position_ratio": 0.97, "capital": 1e6},
            "ew_universe": {"annualized_return": 0.2, "max_drawdown": 0.3,
                            "average_position_ratio": 0.99, "capital": 1e9},
        },
        "notes": ["the stock data has no is_st column",
                  "ew_universe held 000981.SZ when its bars stopped on 2017-02-06; ...",
                  "momentum@seed1 kept the share count of 2 positions ..."],
    }  # fmt: skip
    lines = headline(metrics, 1e6)
    assert "capital" not in lines[0]
    assert "its own capital of 1,000,000,000 yuan (the run's is 1,000,000" in lines[1]
    assert lines[-2:] == [
        "data: the stock data has no is_st column",
        "data: 2 notes on the strategies' own holdings (see the notes)",
    ]


def test_a_strategy_run_per_seed_shows_its_capital_without_a_spread(ablated):
    rows = {
        line.split()[0]: re.split(r"\s{2,}", line.strip())
        for line in render_table(ablated).splitlines()
    }
    assert rows["strategy"][-1] == "capital (yuan)" and rows["cnn_lstm"][-1] == "1,000,000"


# -- the tear sheet's series ------------------------------------------------------------------
NAV = pd.Series(
    np.cumprod(np.r_[1.0, 1 + np.random.default_rng(3).normal(0.0004, 0.012, 499)]),
    index=pd.bdate_range("2014-01-01", periods=500),
)


def test_the_series_agree_with_empyrical_to_the_digit():
    returns = daily_returns(NAV)
    spy = 243.9
    assert max_drawdown(NAV) == pytest.approx(-empyrical.max_drawdown(returns), rel=1e-12)
    assert sharpe(NAV, spy) == pytest.approx(
        empyrical.sharpe_ratio(returns, annualization=spy), rel=1e-12
    )
    assert volatility(NAV, spy) == pytest.approx(
        empyrical.annual_volatility(returns, annualization=spy), rel=1e-12
    )
    ours = rolling_sharpe(NAV, 126, spy).dropna()
    theirs = empyrical.roll_sharpe_ratio(returns, window=126, annualization=spy)
    np.testing.assert_allclose(ours.to_numpy(), np.asarray(theirs)[-len(ours) :], rtol=1e-10)
    monthly = period_returns(NAV, "M")
    expected = empyrical.aggregate_returns(returns, "monthly").to_numpy()
    np.testing.assert_allclose(monthly.to_numpy(), expected, rtol=1e-12)
    yearly = period_returns(NAV, "Y")
    np.testing.assert_allclose(
        yearly.to_numpy(), empyrical.aggregate_returns(returns, "yearly").to_numpy(), rtol=1e-12
    )
    table = monthly_table(NAV)
    assert table.loc[2014, 1] == pytest.approx(monthly.iloc[0])
    assert rolling_volatility(NAV, 126, spy).dropna().iloc[0] == pytest.approx(
        returns.iloc[:126].std(ddof=1) * spy**0.5
    )


def test_worst_drawdowns_by_hand():
    days = pd.bdate_range("2015-01-05", periods=9)
    nav = pd.Series([1.0, 1.2, 0.9, 1.0, 1.25, 1.1, 1.25, 1.3, 1.2], index=days)
    table = drawdown_periods(nav)
    first = table.iloc[0]  # 1.2 -> 0.9: 25 %, back above 1.2 on day 4
    assert (first["peak"], first["trough"], first["recovery"]) == (days[1], days[2], days[4])
    assert first["depth"] == pytest.approx(0.25)
    assert (first["sessions_down"], first["sessions"]) == (1, 3)
    second = table.iloc[1]  # 1.25 -> 1.1, recovered on day 6 (1.25)
    assert (second["peak"], second["recovery"], second["sessions"]) == (days[4], days[6], 2)
    last = table.iloc[2]  # 1.3 -> 1.2 at the end: not recovered
    assert pd.isna(last["recovery"]) and last["sessions"] == 1


def test_monthly_turnover_by_hand():
    days = pd.bdate_range("2015-01-01", "2015-02-27")
    equity = pd.Series(1e6, index=days)
    traded = pd.Series([4e5, 2e5], index=pd.to_datetime(["2015-01-05", "2015-01-20"]))
    turnover = turnover_series(traded, equity)
    assert turnover.tolist() == pytest.approx([0.3, 0.0])  # (4e5 + 2e5) / 2 / 1e6


# -- quant report and quant compare -----------------------------------------------------------
def test_quant_report_rebuilds_the_reports_as_written(ablated, tmp_path, capsys):
    written = {name: (ablated / name).read_bytes() for name in ("report.md", "report.html")}
    for name in written:
        (ablated / name).unlink()
    assert main(["report", str(ablated)]) == 0
    for name, content in written.items():
        assert (ablated / name).read_bytes() == content, name
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("cnn_lstm")  # the headline first
    assert str(ablated / "report.html") in out


def test_quant_report_of_a_folder_that_is_no_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {tmp_path}: not a run folder of quant backtest (no metrics.json, config.toml, "
        "nav.csv, exposure.csv)"
    )


def test_quant_compare_sets_runs_side_by_side(ablated, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    for path in ablated.iterdir():
        (other / path.name).write_bytes(path.read_bytes())
    page = tmp_path / "compare.html"
    assert main(["compare", str(ablated), str(other), "--out", str(page)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if re.match(r"(run|other) +\d{4}-", line)]
    assert [(r[0], r[4]) for r in rows] == [
        ("run", "cnn_lstm"), ("run", "cnn_only"), ("other", "cnn_lstm"), ("other", "cnn_only")
    ]  # fmt: skip
    shown = page.read_text().replace("\\u002f", "/")  # plotly's JSON escapes the slash
    assert {
        f'"name":"{run}/{name}"' for run in ("run", "other") for name in ("cnn_lstm", "cnn_only")
    } <= set(re.findall(r'"name":"[\w/]+"', shown))
