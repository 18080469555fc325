"""The demo run's report.html in a real headless browser (Debian's Chromium driven by
Playwright: tests/browser.py): no console error, no request leaves the file, every figure
drawn with its data, the evidence first; the screenshot is kept under the test's tmp_path
(its path printed). The sweep's report.html is opened the same way in tests/test_sweep.py."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from quant.cli import main
from tests.browser import visit

#: The figures the demo's tear sheet draws (its rankings: momentum's and the CNN's).
DEMO_FIGURES = {
    "net-value-figure", "drawdown-figure", "monthly-figure", "yearly-figure", "rolling-figure",
    "exposure-figure", "turnover-figure", "distribution-figure", "refusals-figure",
    "edge-figure",
    *(f"{view}-{name}" for view in ("ic", "quantiles", "decay", "top-turnover")
      for name in ("momentum", "cnn-lstm")),
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    """``quant demo`` run in a folder of its own (its model cache too); the folder and what
    it printed."""
    folder = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.chdir(folder)
        assert main(["demo", "--out", "runs/demo"]) == 0
    return folder / "runs" / "demo", printed.getvalue()


def test_the_demo_prints_the_evidence_before_the_table(demo):
    _, printed = demo
    table = printed[printed.index("Backtest 2014-01-01") :].splitlines()[1:]
    assert table[0].startswith("benchmark: +0.138 a year after costs")
    assert table[2].startswith("cnn_lstm (signals walk_forward: ranker CNNRanker, timer LSTMTimer)")
    assert "ranking: rank IC" in table[2] and "timer LSTMTimer: accuracy" in table[2]
    assert any(line.startswith("strategy ") for line in table)
    assert f"report: {Path('runs/demo') / 'report.html'}" in printed


def test_the_demo_report_opens_in_a_browser_with_every_figure_drawn(demo, tmp_path):
    out, _ = demo
    seen = visit(out / "report.html", tmp_path / "demo_report.png")
    assert seen.errors == []
    assert seen.outside == []  # plotly.js and the data are inside the file
    figures = {f["id"]: f for f in seen.figures}
    assert set(figures) == DEMO_FIGURES
    for figure in figures.values():
        assert figure["traces"] > 0 and figure["points"] > 0, figure
        assert figure["drawn"] > 0, figure  # lines, bars, markers or heat-map images in the SVG
        assert figure["width"] > 600 and figure["height"] > 150, figure
    # three strategies over 792 sessions: every day of every net value is a point
    assert figures["net-value-figure"]["points"] >= 3 * 792
    assert seen.screenshot.stat().st_size > 100_000
    text = (out / "report.html").read_text()
    assert text.index("What the evidence supports") < text.index('id="net-value-figure"')
