"""A 2 x 2 sweep on the built-in sample on a local Ray (the sample training preset, a
two-month window): results.csv holds what `quant backtest` gives for each cell run alone,
a second call skips every finished cell, a failing cell is reported while the others
finish, and report.html opens in a real browser. One Ray start serves the module."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import ray

from quant.cli import main
from quant.report.html import markdown_page
from quant.sweep import read_sweep, sweep
from quant.sweep.report import colour_range, heat_figure, heat_grids
from quant.sweep.run import cell_damage, cell_folder
from tests.browser import visit

HOLD = "params.cnn_lstm.hold_days"
SWEEP = """
data = "sample"
index_data = "sample"
strategies = ["benchmark", "cnn_lstm", "cnn_only"]
cache_dir = "{cache}"
[params.cnn_lstm]
preset = "sample"
[params.cnn_only]
preset = "sample"
[sweep]
"params.cnn_lstm.hold_days" = [3, 5]
seeds = [0, 1]
windows = [["2016-11-01", "2016-12-31", "2015-01", "2016-09"]]
"""
FAILING = """
data = "sample"
index_data = "sample"
strategies = ["tests.engine_helpers:Failing"]
[sweep]
"params.Failing.fail" = ["", "bug", "config"]
windows = [["2017-02-01", "2017-03-31"]]
"""
#: Figures compared with the cells run one by one (the timings differ).
FIGURES = [
    "annualized_return",
    "max_drawdown",
    "sharpe",
    "turnover",
    "trades",
    "costs",
    "final_equity",
]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    path = folder / "sweep.toml"
    path.write_text(SWEEP.format(cache=folder / "cache"), encoding="utf-8")
    plan = read_sweep(path)
    outcome, _ = sweep(plan, folder / "out")
    return plan, folder / "out", outcome


def test_the_sweep_runs_every_cell(swept):
    plan, out, outcome = swept
    assert len(outcome.ran) == 4 and not outcome.skipped and not outcome.failed
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns[:6]) == ["cell", HOLD, "seed", "window", "train", "strategy"]
    assert len(results) == 4 * 3 and (results["status"] == "ok").all()
    assert sorted(set(zip(results[HOLD], results["seed"]))) == [(3, 0), (3, 1), (5, 0), (5, 1)]
    for cell in plan.cells:
        assert (out / "cells" / cell.key / "metrics.json").is_file()


def test_results_are_those_of_each_cell_run_alone_by_quant_backtest(swept, tmp_path):
    """Each cell's config through the command line, its models read from the same cache
    (as any second run of a config reads them): the same figures, strategy by strategy."""
    plan, out, _ = swept
    results = pd.read_csv(out / "results.csv")
    for k, cell in enumerate(plan.cells):
        config = tmp_path / f"cell{k}.toml"
        config.write_text(cell.config.to_toml(), encoding="utf-8")
        assert main(["backtest", "--config", str(config), "--out", str(tmp_path / f"run{k}")]) == 0
        alone = json.loads((tmp_path / f"run{k}" / "metrics.json").read_text())["strategies"]
        mine = results[results["cell"] == cell.key].set_index("strategy")
        assert sorted(mine.index) == sorted(alone) == ["benchmark", "cnn_lstm", "cnn_only"]
        assert mine.loc["cnn_lstm", HOLD] == cell.config.params["cnn_lstm"]["hold_days"]
        assert mine.loc["cnn_lstm", "seed"] == cell.config.seed
        for name, figures in alone.items():
            for key in FIGURES:
                assert mine.loc[name, key] == pytest.approx(figures[key], rel=1e-9), (name, key)


def test_the_report_pairs_each_ablation_with_its_reference_cell_by_cell(swept):
    _, out, _ = swept
    results = pd.read_csv(out / "results.csv").set_index(["cell", "strategy"])["annualized_return"]
    difference = results.xs("cnn_lstm", level="strategy") - results.xs("cnn_only", level="strategy")
    report = (out / "report.md").read_text(encoding="utf-8")
    row = re.search(r"\| the timer's timing \| cnn_lstm - cnn_only \| 4 \| (\S+) ± ", report)
    assert row and float(row.group(1)) == pytest.approx(difference.mean(), abs=5e-4)
    assert (out / "lines_params_cnn_lstm_hold_days.png").stat().st_size > 0


def test_the_sweep_report_html_opens_in_a_browser(swept, tmp_path):
    """report.html of the sweep: its tables and its plot, drawn with plotly from inside
    the file (tests/browser.py: headless Chromium, every request intercepted)."""
    _, out, _ = swept
    seen = visit(out / "report.html", tmp_path / "sweep_report.png")
    assert seen.errors == [] and seen.outside == []
    (figure,) = seen.figures  # one swept key besides the seed: hold_days
    assert figure["traces"] == 3 * 3  # three strategies x (return, Sharpe, drawdown)
    assert figure["points"] == 9 * 2 and figure["drawn"] > 0  # two hold lengths each
    assert figure["width"] > 600 and figure["height"] > 300
    text = (out / "report.html").read_text(encoding="utf-8")
    for heading in ("Each strategy over the cells", "What each part adds", "The sweep file"):
        assert f">{heading}</h2>" in text
    assert "lines_params_cnn_lstm_hold_days.png" not in text  # the plot itself, not its PNG
    for cell in (out / "cells").iterdir():  # a cell's tear sheet only when asked for
        assert not (cell / "report.html").exists()


def test_quant_report_writes_a_cells_tear_sheet_and_keeps_it_whole(swept):
    """A cell's folder carries no report.html (6 MB each, most of it plotly's script);
    ``quant report CELL`` writes one and lists it in the cell's manifest, so the sweep
    still counts the cell whole."""
    plan, out, _ = swept
    cell = plan.cells[0]
    folder = cell_folder(out, cell)
    assert main(["report", str(folder)]) == 0
    assert (folder / "report.html").stat().st_size > 1_000_000
    assert cell_damage(out, cell) is None


def test_heat_maps_give_each_strategy_its_own_colour_scale(tmp_path):
    """A benchmark far above the others no longer washes them out: each panel's colours
    span its own values, in the PNG and in the page (opened in the browser)."""
    rows = [
        {"strategy": name, "a": a, "b": b, "annualized_return": base + 0.01 * a + 0.001 * b}
        for name, base in (("benchmark", 0.9), ("cnn_lstm", 0.0))
        for a in (1, 2) for b in (1, 2)
    ]  # fmt: skip
    ok = pd.DataFrame(rows)
    figure = heat_figure(ok, "a", "b", ["benchmark", "cnn_lstm"])
    scales = [(t.zmin, t.zmax) for t in figure.data]
    assert scales == [pytest.approx((0.911, 0.922)), pytest.approx((0.011, 0.022))]
    assert colour_range(heat_grids(ok, "a", "b", ["cnn_lstm"])["cnn_lstm"]) == pytest.approx(
        (0.011, 0.022)
    )
    page = tmp_path / "heat.html"
    page.write_text(
        markdown_page("Heat", ["# Heat", "## Map", "![heat](h.png)"], {"h.png": figure})
    )
    seen = visit(page, tmp_path / "heat.png")
    assert seen.errors == [] and seen.outside == []
    assert seen.figures[0]["traces"] == 2 and seen.figures[0]["drawn"] == 2


def test_a_second_call_skips_every_finished_cell(swept):
    plan, out, first = swept
    before = pd.read_csv(out / "results.csv")
    stamps = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*/metrics.json")}
    outcome, _ = sweep(read_sweep(plan.source), out)
    assert outcome.ran == [] and sorted(outcome.skipped) == sorted(first.ran)
    assert {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*/metrics.json")} == stamps
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), before)


def test_a_failing_cell_is_reported_and_the_others_finish(tmp_path):
    path = tmp_path / "failing.toml"
    path.write_text(FAILING, encoding="utf-8")
    plan = read_sweep(path)
    outcome, frame = sweep(plan, tmp_path / "out")
    good, bug, ours = plan.cells
    assert outcome.ran == [good.key] and sorted(outcome.failed) == sorted([bug.key, ours.key])
    failure = outcome.failed[bug.key]
    assert failure.error == "RuntimeError: this cell fails on purpose"
    assert "engine_helpers.py" in failure.details  # the user's code keeps its traceback
    assert outcome.failed[ours.key].error == "Failing: a setting this cell cannot use"
    assert outcome.failed[ours.key].details == ""  # one of ours: one line
    rows = frame.set_index("cell")
    assert rows.loc[good.key, "status"] == "ok" and rows.loc[bug.key, "status"] == "failed"
    assert rows.loc[bug.key, "error"] == failure.error
    assert not (tmp_path / "out" / "cells" / bug.key).exists()
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"`{bug.key}` (params.Failing.fail = bug, window = 2017-02-01..2017-03-31)" in report
    again, _ = sweep(plan, tmp_path / "out")  # the failed cells are tried again, alone
    assert again.skipped == [good.key] and sorted(again.failed) == sorted(outcome.failed)
