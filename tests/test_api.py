"""The Python entry (quant.backtest, quant.api): in an unguarded script and with a strategy
class defined in ``__main__``, the same figures as the command line; the result's frames,
its notebook display and its run folder."""

from __future__ import annotations

import io
import json
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import quant
from quant import progress
from quant.cli import main
from quant.engine import BacktestConfig, ConfigError
from quant.engine.runner import portable
from quant.errors import UserError
from quant.report import render_table
from strategies.momentum import Momentum

ROOT = Path(__file__).resolve().parents[1]
#: A short window of the sample, run in two worker processes (spawned: the case where
#: Python's default would run the script again in each).
SMALL = """\
start = "2016-01-01"
end = "2016-06-30"
workers = 2
strategies = ["benchmark", "momentum"]
"""


def readme_notebook_code() -> str:
    """The code of README.md's "From a notebook" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### From a notebook") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_docstring_api_and_the_readme_in_an_unguarded_script_give_the_cli_figures(tmp_path):
    """One script without ``if __name__ == "__main__":``, run as a subprocess: the
    docstring's API (scripts/run_backtest.py) on a config in two spawned workers, then
    README's "From a notebook" code, whose strategy class, defined in the script's
    ``__main__``, is passed as an object. The command line runs the same strategies (the
    class from a file) with the same settings: the same figures."""
    docstring = (ROOT / "scripts/run_backtest.py").read_text(encoding="utf-8")
    code = textwrap.dedent(
        re.search(r"::\n\n(    import quant.*?)\"\"\"", docstring, re.S).group(1)
    )
    assert "if __name__" not in code and "quant.backtest(" in code
    code = code.replace("configs/paper.toml", "small.toml").replace("runs/paper", "api")
    (tmp_path / "small.toml").write_text(SMALL, encoding="utf-8")
    readme = readme_notebook_code()
    for setting in ('"600519.SH", "600036.SH"', 'start="2016-01-01"', 'end="2016-06-30"'):
        assert setting in readme, f"README's example changed: update {setting} here"
    script = tmp_path / "unguarded.py"
    script.write_text(f"print('the script runs')\n{code}\n{readme}", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("the script runs") == 1  # no worker ran the script again

    strategy = re.search(r"(class HoldTwo.*?)\n\n\nresult", readme, re.S).group(1)
    (tmp_path / "hold_two.py").write_text(f"from quant import AShareStrategy, Plan\n\n{strategy}")
    (tmp_path / "cli.toml").write_text(
        SMALL + '[params.HoldTwo]\ncodes = ["600519.SH", "600036.SH"]\n', encoding="utf-8"
    )
    args = ["backtest", "--config", str(tmp_path / "cli.toml"), "--out", str(tmp_path / "cli")]
    assert main([*args, "--strategy", f"{tmp_path / 'hold_two.py'}:HoldTwo"]) == 0
    cli_nav = pd.read_csv(tmp_path / "cli/nav.csv", index_col=0)
    cli = json.loads((tmp_path / "cli/metrics.json").read_text())["strategies"]
    runs = (("api", ["benchmark", "momentum"]), ("runs/mine", ["benchmark", "momentum", "HoldTwo"]))
    for out, names in runs:
        nav = pd.read_csv(tmp_path / out / "nav.csv", index_col=0)
        pd.testing.assert_frame_equal(nav, cli_nav[names])
        figures = json.loads((tmp_path / out / "metrics.json").read_text())["strategies"]
        for name in names:
            assert without_timings(figures[name]) == without_timings(cli[name]), name
    assert cli_nav.iloc[-1].nunique() == 3  # three runs that differ
    trades = pd.read_parquet(tmp_path / "runs/mine/trades.parquet")
    held = trades.loc[trades["strategy"] == "HoldTwo", "code"]
    assert sorted(held.unique()) == ["600036.SH", "600519.SH"]
    config = (tmp_path / "runs/mine/config.toml").read_text(encoding="utf-8")
    assert '"__main__:HoldTwo"' in config


def without_timings(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if not k.endswith("_seconds")}


# -- strategy classes in a config ------------------------------------------------------------
def test_a_strategy_class_is_held_as_the_spec_that_names_it():
    config = BacktestConfig(strategies=["benchmark", Momentum])
    assert config.strategies == ["benchmark", "strategies.momentum:Momentum"]
    assert "strategies.momentum:Momentum" in config.to_toml()

    def inside_a_function():
        class Local(Momentum):
            pass

        return Local

    with pytest.raises(ConfigError, match=r"cannot be named as .*inside_a_function.*Local"):
        BacktestConfig(strategies=[inside_a_function()])


def test_a_class_of_main_travels_by_value_and_any_other_by_its_spec():
    namespace = {"__name__": "__main__"}
    code = readme_notebook_code()
    exec(code[: code.index("\n\n\nresult")], namespace)  # a class of __main__, as in a notebook
    hold_two = namespace["HoldTwo"]
    assert portable("strategies.momentum:Momentum", Momentum) == "strategies.momentum:Momentum"
    payload = portable("__main__:HoldTwo", hold_two)
    assert isinstance(payload, bytes)
    del namespace  # unpickled without __main__ holding it: by value, methods and Params
    copy = pickle.loads(payload)
    assert copy.__name__ == "HoldTwo" and copy.Params().codes == ["600519.SH", "000858.SZ"]


# -- the result ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def result():
    return quant.backtest(
        strategies=["benchmark", "momentum"],
        start="2016-01-01",
        end="2016-03-31",
        workers=1,
        progress=False,
    )


def test_the_results_frames(result):
    assert list(result.nav.columns) == ["benchmark", "momentum"]
    assert result.nav.iloc[0].tolist() == [1.0, 1.0]
    assert list(result.metrics.index) == ["benchmark", "momentum"]
    row = result.metrics.loc["momentum"]
    final = result.nav["momentum"].iloc[-1]
    assert row["total_return"] == pytest.approx(final - 1)
    assert row["trades"] == (result.trades["strategy"] == "momentum").sum() > 0
    for frame in (result.trades, result.positions, result.refusals, result.events):
        assert {"strategy", "seed"} <= set(frame.columns)
    held = result.positions[result.positions["strategy"] == "momentum"]
    assert set(held["code"]) <= set(result.trades["code"])


def test_the_result_shows_a_table_and_the_plots_and_writes_the_command_lines_folder(
    result, tmp_path
):
    page = result._repr_html_()
    assert page.count("<table") == 1 and page.count('src="data:image/png;base64,') == 3
    assert "annualized return" in page and "momentum" in page
    assert "annualized return" in repr(result) and "Backtest 2016-01-04 .. 2016-03-31" in repr(
        result
    )
    folder = result.write(tmp_path / "run")
    assert {"config.toml", "metrics.json", "nav.csv", "report.md", "net_value.png"} <= {
        p.name for p in folder.iterdir()
    }
    assert render_table(folder).splitlines()[2].split()[0] == "benchmark"


def test_settings_override_the_config_and_bad_ones_are_one_line(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        'strategies = ["benchmark", "momentum"]\n[params.momentum]\ntop_fraction = 0.2\n'
    )
    with pytest.raises(ConfigError, match=r"unknown setting.*strategie \(did you mean strategies"):
        quant.backtest(config, strategie=["benchmark"])
    with pytest.raises(ConfigError, match="strategies = 'momentum': input should be a valid list"):
        quant.backtest(config, strategies="momentum")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("")
    with pytest.raises(UserError, match="taken"):  # before any data loads
        quant.backtest(config, data=str(tmp_path / "missing"), out=tmp_path / "taken")


def test_progress_shows_where_someone_watches_and_is_silenced_on_request():
    shown = io.StringIO()
    with progress.display(verbose=True, stream=shown):  # not a terminal: lines, when asked
        assert progress.active()
    with progress.display(verbose=False, stream=shown):  # not a terminal: nothing
        assert not progress.active()
    with progress.display(verbose=True, stream=shown, quiet=True):  # progress=False
        assert not progress.active()
    assert not progress.in_notebook()  # pytest is no Jupyter kernel (the notebook's test is)
