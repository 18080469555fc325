"""The report: mean ± std over seeds in report.md and on the terminal alike, no spread for
one seed, each strategy's own section (the report knows no strategy by name), baselines
and the paper's figures from the config, a position-ratio plot that stays readable over a
hundred months, and one colour per strategy in every plot."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from quant.engine import AShareStrategy, BacktestConfig, ConfigError, run_backtest
from quant.engine.plugins import builtins
from quant.engine.runner import BacktestResult, StrategyResult
from quant.engine.window import RunWindow
from quant.report import render_table, significance, write_run
from quant.report.plots import run_figures

ROOT = Path(__file__).resolve().parents[1]
#: Ten years of weekdays: 120 months.
DAYS = pd.bdate_range("2009-01-01", "2018-12-31")


def fake_run(name: str, seed: int | None, ratio: pd.Series | float = 0.5) -> StrategyResult:
    """A run whose net value follows a seeded random walk, holding ``ratio`` in stocks."""
    rng = np.random.default_rng([len(name), 99 if seed is None else seed])
    returns = np.r_[0.0, rng.normal(0.0003, 0.01, len(DAYS) - 1)]
    equity = pd.Series(1e6 * np.cumprod(1 + returns), index=DAYS)
    cash = equity * (1 - pd.Series(ratio, index=DAYS))
    cash.iloc[0] = equity.iloc[0]  # day 0: all cash
    empty_fills = pd.DataFrame(
        columns=["date", "code", "side", "size", "price", "value", "costs", "note"]
    )
    return StrategyResult(
        name=name,
        nav=equity / equity.iloc[0],
        cash=cash,
        equity=equity,
        fills=empty_fills,
        refusals=pd.DataFrame(columns=["date", "code", "side", "size", "reason"]),
        events=pd.DataFrame(),
        positions=pd.DataFrame(columns=["date", "code", "shares", "value", "tradable"]),
        info={"seed used": seed} if seed is not None else {},
        seed=seed,
        sessions_per_year=250.0,
    )


def written(tmp_path: Path, runs: list[StrategyResult], **config: Any) -> Path:
    settings = {"start": "2009-01-02", "end": "2018-12-31", "workers": 1, **config}
    config_ = BacktestConfig(**settings)
    window = RunWindow((config_.start_date, config_.end_date), DAYS, slice(0, len(DAYS)))
    return write_run(BacktestResult(config_, runs, window), tmp_path / "run")


def terminal_rows(out: Path) -> dict[str, list[str]]:
    """The terminal table's cells by strategy (columns are two or more spaces apart)."""
    lines = render_table(out).splitlines()
    return {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines)}


def test_mean_and_std_over_seeds_on_the_terminal_as_in_the_report(tmp_path):
    out = written(tmp_path, [fake_run("alpha", 0), fake_run("alpha", 1), fake_run("beta", None)])
    seeds = json.loads((out / "metrics.json").read_text())["strategies"]["alpha"]["seeds"]
    returns = [seeds[s]["annualized_return"] for s in ("0", "1")]
    expected = f"{np.mean(returns):.3f} ± {np.std(returns, ddof=1):.3f}"
    rows = terminal_rows(out)
    assert rows["strategy"][1] == "annualized return"
    assert rows["alpha"][1] == expected
    assert re.search(
        rf"^\| alpha +\| +{re.escape(expected)} \|", (out / "report.md").read_text(), re.M
    )
    assert "±" not in " ".join(rows["beta"])  # run once: no spread


def test_one_seed_shows_its_figures_without_a_spread(tmp_path):
    out = written(tmp_path, [fake_run("alpha", 0)])
    figures = json.loads((out / "metrics.json").read_text())["strategies"]["alpha"]
    report = (out / "report.md").read_text()
    assert "±" not in report and "±" not in render_table(out)
    assert terminal_rows(out)["alpha"][1] == f"{figures['annualized_return']:.3f}"
    assert "mean ± standard deviation" not in report


def test_position_ratio_has_one_panel_per_strategy_over_120_months(tmp_path):
    cnn_like = pd.Series(np.where(DAYS.day < 15, 0.9, 0.0), index=DAYS)  # flat half of each month
    runs = [
        fake_run("benchmark", None, 1.0),
        fake_run("alpha", 0, cnn_like),
        fake_run("beta", None),
    ]
    figure = run_figures(written(tmp_path, runs))["position_ratio.png"]
    assert [ax.get_ylabel() for ax in figure.axes] == ["benchmark", "alpha", "beta"]
    monthly = figure.axes[1].get_lines()[0].get_ydata()  # the monthly mean, day 0 left out
    assert len(np.unique(DAYS[1:].to_period("M"))) == 120
    assert set(np.round(monthly, 6)) == {round(v, 6) for v in _monthly_means(cnn_like)}


def _monthly_means(ratio: pd.Series) -> set[float]:
    return set(ratio.iloc[1:].groupby(ratio.index[1:].to_period("M")).mean())


def test_one_colour_per_strategy_in_every_plot(tmp_path):
    runs = [fake_run("benchmark", None, 1.0), fake_run("alpha", 0), fake_run("alpha", 1)]
    figures = run_figures(written(tmp_path, [*runs, fake_run("beta", None)]))
    colours: dict[str, set[str]] = {}
    for name in ("net_value.png", "drawdown.png"):
        for line in figures[name].axes[0].get_lines():
            if not line.get_label().startswith("_"):  # not the grey reference line
                colours.setdefault(line.get_label(), set()).add(to_hex(line.get_color()))
    for ax in figures["position_ratio.png"].axes:
        colours[ax.get_ylabel()].add(to_hex(ax.get_lines()[0].get_color()))
    assert set(colours) == {"benchmark", "alpha", "beta"}
    assert all(len(found) == 1 for found in colours.values())  # the same in each plot
    assert len({found.pop() for found in colours.values()}) == 3  # and told apart


class Sectioned(AShareStrategy):
    """A strategy that writes its own report section."""

    @classmethod
    def report_section(cls, name: str, infos: Mapping[str, Mapping[str, Any]]) -> list[str]:
        seeds = ", ".join(f"{s}: {i['seed used']}" for s, i in infos.items())
        return [f"## {name}: my own section", "", f"seeds seen: {seeds}", ""]


def test_each_strategy_writes_its_own_section(tmp_path):
    runs = [fake_run("Sectioned", 0), fake_run("Sectioned", 1), fake_run("other", 3)]
    out = written(tmp_path, runs, strategies=["benchmark", "tests.test_report:Sectioned"])
    report = (out / "report.md").read_text()
    assert "## Sectioned: my own section\n\nseeds seen: 0: 0, 1: 1" in report
    # a strategy without a section of its own: its info as JSON
    assert '## other\n\n```json\n{\n  "seed 3": {\n    "seed used": 3\n  }\n}\n```' in report


def test_the_report_knows_no_strategy_by_name():
    words = [*builtins(), "quality", "training"]
    found = [
        f"{path.name}:{number}: {word}"
        for path in sorted((ROOT / "quant/report").glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for word in words
        if re.search(rf"\b{word}\b", line)
    ]
    assert found == []


def test_baselines_come_from_the_config(tmp_path):
    runs = [fake_run("benchmark", None, 1.0), fake_run("alpha", None), fake_run("beta", None)]
    out = written(tmp_path, runs, strategies=["benchmark", "momentum"], baselines=["beta"])
    table = json.loads((out / "metrics.json").read_text())["significance"]
    assert {name: list(against) for name, against in table.items()} == {
        "benchmark": ["beta"],
        "alpha": ["beta"],
    }
    nav = pd.DataFrame({r.name: r.nav for r in runs})
    against = significance(nav, list(nav), ["benchmark", "reversal"])  # reversal: not run
    assert {name: list(table) for name, table in against.items()} == {
        "alpha": ["benchmark"],
        "beta": ["benchmark"],
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"baselines": ["momentun"]},
         "baselines: no strategy 'momentun' (did you mean momentum?); name one this run "
         "includes (benchmark, momentum) or a built-in one"),
        ({"paper": {"figures": {"cnn_lsmt": {"annualized_return": 0.3, "max_drawdown": 0.2}}}},
         "paper.figures: no strategy 'cnn_lsmt' (did you mean cnn_lstm?)"),
    ],
)  # fmt: skip
def test_a_misspelt_baseline_or_paper_strategy_fails_before_the_data_is_read(
    tmp_path, config, message
):
    missing = str(tmp_path / "nowhere.parquet")
    with pytest.raises(ConfigError) as caught:
        run_backtest(BacktestConfig(data=missing, strategies=["benchmark", "momentum"], **config))
    assert message in str(caught.value) and "nowhere" not in str(caught.value)


def test_the_papers_figures_come_from_the_config(tmp_path):
    runs = [fake_run("alpha", None), fake_run("beta", None)]
    paper = {
        "source": "Doe 2020, Table 1",
        "data": "US stocks",
        "figures": {"alpha": {"annualized_return": 0.25, "max_drawdown": 0.5}},
    }
    report = (written(tmp_path, runs, paper=paper) / "report.md").read_text()
    assert re.search(r"^\| alpha .*\| 0\.250 / 0\.500 +\|$", report, re.M)
    assert re.search(r"^\| beta .*\| - +\|$", report, re.M)
    assert "The paper's figures (Doe 2020, Table 1) come from US stocks" in report
    none = (written(tmp_path / "b", runs, paper={"figures": {}}) / "report.md").read_text()
    assert "paper:" not in none and "The paper's figures" not in none
    default = BacktestConfig().paper.figures["cnn_lstm"]  # Liu, Zhang, Ma 2017, Table 2
    assert (default.annualized_return, default.max_drawdown) == (0.309, 0.241)


def test_a_bad_paper_figure_is_a_one_line_error():
    bad = {"figures": {"momentum": {"annualized_return": -0.1, "max_drawdown": 1.5}}}
    with pytest.raises(ConfigError) as caught:
        BacktestConfig.from_dict({"paper": bad})
    assert str(caught.value) == (
        "config: paper.figures.momentum.max_drawdown = 1.5: input should be less than or equal to 1"
    )
