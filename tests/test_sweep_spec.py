"""Sweep files are checked whole before any work: every key names a setting (a misspelt one
gets the closest valid name), every value is checked as quant backtest checks a config,
lists are non-empty and distinct, windows carry a training span that ends before them;
the cells are every combination, each keyed by its config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quant.rundir import OutputError
from quant.sweep.run import check_folder
from quant.sweep.spec import SweepError, cell_key, read_sweep

BASE = """
data = "sample"
index_data = "sample"
strategies = ["benchmark", "cnn_lstm", "cnn_only", "momentum"]
[params.cnn_lstm]
preset = "sample"
[params.cnn_only]
preset = "sample"
"""
WINDOW = 'windows = [["2016-10-01", "2016-12-31", "2014-01", "2016-06"]]'


def write(tmp_path: Path, sweep: str, base: str = BASE) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f"{base}\n[sweep]\n{sweep}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        (
            '"params.cnn_lstm.hold_dys" = [1, 3]',
            "[sweep] params.cnn_lstm.hold_dys: unknown setting params.cnn_lstm.hold_dys "
            "(did you mean params.cnn_lstm.hold_days?)",
        ),
        (
            '"params.cnn_lstn.hold_days" = [1, 3]',
            "params.cnn_lstn is not a strategy of this run (did you mean cnn_lstm?); it runs "
            "benchmark, cnn_lstm, cnn_only, momentum",
        ),
        (
            '"rules.comission" = [0.0003]',
            "unknown setting rules.comission (did you mean rules.commission?)",
        ),
        ("cashh = [1e6]", "unknown setting 'cashh' (did you mean cash?)"),
        ('"params.cnn_lstm.hold_days.x" = [1]', "unknown setting params.cnn_lstm.hold_days.x"),
        ('data = ["sample"]', "data is not swept: a sweep runs on one data set"),
        ('start = ["2015-01-01"]', "start is not swept: sweep test windows"),
        ("seed = [1, 2]", "seed is not swept: sweep seeds with seeds = [...]"),
        (
            'top = {keys = ["params.cnn_lstm.top_fracton"], values = [0.01]}',
            "[sweep] top: unknown setting params.cnn_lstm.top_fracton (did you mean "
            "params.cnn_lstm.top_fraction?)",
        ),
    ],
)
def test_an_unknown_or_unsweepable_key_is_named(tmp_path, sweep, message):
    with pytest.raises(SweepError, match=re.escape(message)):
        read_sweep(write(tmp_path, sweep))


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        (
            '"params.cnn_lstm.hold_days" = [5, 0]',
            "[sweep] params.cnn_lstm.hold_days = 0: cnn_lstm: hold_days = 0: input should be "
            "greater than or equal to 1",
        ),
        ('"params.cnn_lstm.hold_days" = [2.5]', "hold_days = 2.5: input should be a valid integer"),
        ('"rules.commission" = [-0.1]', "rules.commission = -0.1"),
        ('"params.momentum.skip_months" = [-1]', "momentum: skip_months = -1"),
        ("cash = [0.0]", "cash = 0.0: config: cash = 0.0: input should be greater than 0"),
        (
            '"params.cnn_only.hold_days" = [3]',
            "params.cnn_only.hold_days = 3: cnn_only: hold_days does not apply",
        ),
        (
            '"params.cnn_only.top_fraction" = [0.05]',
            "params.cnn_only.top_fraction = 0.05: cnn_only trades other signals than cnn_lstm",
        ),
        ('"params.cnn_lstm.hold_days" = 5', "give a list of values, not 5"),
        ('"params.cnn_lstm.hold_days" = [3, 3]', "3 is listed twice"),
        ("seeds = [0, -1]", "a seed is a whole number >= 0, not -1"),
        ("seeds = [0, true]", "a seed is a whole number >= 0, not True"),
        (
            'windows = [["2016-10-01", "2016-12-31"]]',
            "each window is [start, end, train_start, train_end] (cnn_lstm, cnn_only train: "
            "give their training span)",
        ),
        (
            'windows = [["2016-10-01", "2016-12-31", "2014-01", "2016-10"]]',
            "window 2016-10-01..2016-12-31 trains on 2014-01..2016-10: the training span must "
            "run forwards and end before 2016-10",
        ),
        (
            'windows = [["2016-10-01", "2016-12-31", "2014-13", "2016-06"]]',
            "window 2016-10-01..2016-12-31:",
        ),
        (
            'windows = [["2016-12-31", "2016-10-01", "2014-01", "2016-06"]]',
            "start 2016-12-31 is after end 2016-10-01",
        ),
        ("x = {keys = [], values = [1]}", "[sweep] x: keys is empty"),
        ('seed = {keys = ["cash"], values = [1e6]}', "seed names a column of results.csv"),
        (
            '"params.cnn_lstm.hold_days" = [3]\nhold = {keys = ["params.cnn_lstm.hold_days"], values = [5]}',
            "params.cnn_lstm.hold_days is set by two entries, params.cnn_lstm.hold_days and hold",
        ),
        (
            f"{WINDOW}\nspan = {{keys = "
            '["params.cnn_lstm.train_end", "params.cnn_only.train_end"], values = ["2013-06"]}',
            "params.cnn_lstm.train_end is set by two entries, window and span",
        ),
        ('x = {keys = ["cash"]}', "a table sets several keys to each value"),
    ],
)
def test_a_bad_value_is_named_with_its_key(tmp_path, sweep, message):
    with pytest.raises(SweepError, match=re.escape(message)):
        read_sweep(write(tmp_path, sweep))


@pytest.mark.parametrize(
    "sweep",
    [
        '"params.cnn_lstm.hold_days" = []',
        "seeds = []",
        "windows = []",
        'x = {keys = ["cash"], values = []}',
    ],
)
def test_an_empty_list_is_refused(tmp_path, sweep):
    with pytest.raises(SweepError, match="the list is empty, which makes no cell"):
        read_sweep(write(tmp_path, sweep))


def test_a_file_without_a_sweep_table_or_with_a_bad_config_is_refused(tmp_path):
    path = tmp_path / "plain.toml"
    path.write_text(BASE, encoding="utf-8")
    with pytest.raises(SweepError, match=r"plain.toml: no \[sweep\] table"):
        read_sweep(path)
    with pytest.raises(SweepError, match="no such sweep file"):
        read_sweep(tmp_path / "missing.toml")
    bad = BASE.replace('strategies = ["benchmark"', 'strategies = ["benchmrk"')
    with pytest.raises(SweepError, match="unknown strategy 'benchmrk'"):
        read_sweep(write(tmp_path, "seeds = [0]", bad))


def test_seeds_need_a_strategy_that_uses_one(tmp_path):
    base = 'data = "sample"\nstrategies = ["benchmark", "momentum"]'
    with pytest.raises(SweepError, match="no strategy of this run uses a seed"):
        read_sweep(write(tmp_path, "seeds = [0, 1]", base))
    plain = read_sweep(write(tmp_path, 'windows = [["2015-01-01", "2015-06-30"]]', base))
    assert [c.config.start for c in plain.cells] == ["2015-01-01"]


def test_every_combination_is_a_cell_with_its_settings(tmp_path):
    sweep = read_sweep(
        write(
            tmp_path,
            "\n".join(
                [
                    'hold = {keys = ["params.cnn_lstm.hold_days", "rules.lot"], values = [3, 5]}',
                    "seeds = [0, 1, 2]",
                    'windows = [["2016-10-01", "2016-12-31", "2014-01", "2016-06"],'
                    ' ["2017-01-01", "2017-03-31", "2014-01", "2016-09"]]',
                ]
            ),
        )
    )
    assert len(sweep.cells) == 2 * 3 * 2
    assert sweep.columns == ["hold", "seed", "window", "train"]
    # the seeds vary fastest, then the windows: cells in a row train different models
    assert [c.values["seed"] for c in sweep.cells[:3]] == [0, 1, 2]
    assert sweep.cells[3].values["window"].start == "2017-01-01"
    last = sweep.cells[-1].config
    assert last.params["cnn_lstm"]["hold_days"] == 5 and last.rules.lot == 5
    assert (last.seed, last.seeds) == (2, [])
    assert (last.start, last.end) == ("2017-01-01", "2017-03-31")
    for name in ("cnn_lstm", "cnn_only"):  # every strategy that trains gets the span
        assert last.params[name]["train_start"] == "2014-01"
        assert last.params[name]["train_end"] == "2016-09"
    assert "train_end" not in last.params.get("momentum", {})
    assert sweep.cells[-1].labels(sweep.axes) == {
        "hold": 5,
        "seed": 2,
        "window": "2017-01-01..2017-03-31",
        "train": "2014-01..2016-09",
    }
    assert len({c.key for c in sweep.cells}) == len(sweep.cells)


def test_a_cells_key_is_its_config_less_what_changes_no_result(tmp_path):
    path = write(tmp_path, "seeds = [0, 1]")
    here, elsewhere = read_sweep(path), read_sweep(path, cache_dir=tmp_path / "models")
    assert [c.key for c in here.cells] == [c.key for c in elsewhere.cells]
    config = here.cells[0].config
    assert cell_key(config.replace({"workers": 3})) == here.cells[0].key
    assert cell_key(config.replace({"cash": 2e6})) != here.cells[0].key
    assert Path(config.cache_dir).is_absolute()  # every task caches its models in one place


def test_an_output_folder_that_is_no_sweep_is_refused(tmp_path):
    check_folder(tmp_path / "new")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match="is not a sweep folder"):
        check_folder(tmp_path)
