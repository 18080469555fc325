"""The example notebook (examples/from_a_notebook.ipynb) runs through a real Jupyter kernel
(nbclient, ipykernel) and shows what it says: the sample's summary, the paper's strategies
as a table with plots, a pyplot figure, a strategy defined in a cell run in two workers,
the run folder, and a misspelt parameter as one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "from_a_notebook.ipynb"
PNG = 'src="data:image/png;base64,'


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[nbformat.NotebookNode, Path]:
    """The notebook run in a fresh folder (its runs/ and model cache go there) by a kernel
    of this interpreter: a kernel spec of its own, first on JUPYTER_PATH."""
    folder = tmp_path_factory.mktemp("notebook")
    kernels = folder / "jupyter" / "kernels" / "quant-test"
    kernels.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "quant (tests)",
        "language": "python",
    }
    (kernels / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    work = folder / "work"
    work.mkdir()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(folder / "jupyter"))
        client = NotebookClient(
            notebook,
            timeout=600,
            kernel_name="quant-test",
            resources={"metadata": {"path": str(work)}},
        )
        client.execute()
    return notebook, work


def outputs(notebook: nbformat.NotebookNode, source: str) -> list[dict]:
    """The outputs of the one code cell whose source holds ``source``."""
    cells = [c for c in notebook.cells if c.cell_type == "code" and source in c.source]
    assert len(cells) == 1, source
    return cells[0].outputs


def result_of(notebook: nbformat.NotebookNode, source: str) -> dict:
    return next(o for o in outputs(notebook, source) if o.output_type == "execute_result").data


def test_the_notebook_has_no_stored_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def test_the_sample_is_loaded(executed):
    notebook, _ = executed
    assert "'codes': 500" in result_of(notebook, "panel.summary()")["text/plain"]


def test_the_papers_strategies_show_as_a_table_with_plots_and_progress_bars(executed):
    notebook, _ = executed
    shown = result_of(notebook, "paper = quant.backtest(")
    page = shown["text/html"]
    assert page.count("<table") == 1 and page.count(PNG) == 3
    for name in ("benchmark", "momentum", "cnn_lstm", "annualized return", "max drawdown"):
        assert name in page
    bars = [
        o
        for o in outputs(notebook, "paper = quant.backtest(")
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert any("cnn_lstm seed 0: backtest" in bar.data["text/plain"] for bar in bars)


def test_the_plot_cell_draws_a_figure_and_the_frames_are_tables(executed):
    notebook, _ = executed
    assert any("image/png" in o.get("data", {}) for o in outputs(notebook, "nav.plot("))
    metrics = result_of(notebook, "paper.metrics[")["text/html"]
    assert "<table" in metrics and "annualized_return" in metrics and "cnn_lstm" in metrics
    refusals = result_of(notebook, "paper.refusals.groupby(")["text/plain"]
    assert "reason" in refusals


def test_a_strategy_defined_in_a_cell_runs_in_workers_and_writes_the_run_folder(executed):
    notebook, work = executed
    page = result_of(notebook, "mine = quant.backtest(")["text/html"]
    assert "CalmStocks" in page and page.count(PNG) == 3
    assert "CalmStocks" in result_of(notebook, "mine.trades.head()")["text/plain"]
    assert "report.md" in result_of(notebook, 'mine.write("runs/notebook"')["text/plain"]
    folder = work / "runs" / "notebook"
    config = (folder / "config.toml").read_text(encoding="utf-8")
    assert '"__main__:CalmStocks"' in config and "count = 15" in config
    nav = (folder / "nav.csv").read_text(encoding="utf-8").splitlines()
    assert nav[0] == "date,benchmark,CalmStocks" and len(nav) > 700


def test_a_misspelt_parameter_is_one_line(executed):
    notebook, _ = executed
    (error,) = outputs(notebook, '"top_fracton": 0.5')
    assert error.output_type == "error" and error.ename == "ConfigError"
    assert error.traceback == [
        "ConfigError: unknown parameter(s) top_fracton (did you mean top_fraction?) for "
        "momentum; known: top_fraction, formation_months, skip_months"
    ]
