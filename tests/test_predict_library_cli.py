"""The parameter combination library, the grid search and the `quant predict` / `quant tune`
commands end to end on a small synthetic market."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.models.predictors import BPPredictor, LSTM1DPredictor, LSTMPredictor
from quant.models.tasks import hidden_sizes
from quant.study.library import Library, parse_value
from quant.study.pipeline import Settings
from quant.study.tune import run_grid, select
from tests.conftest import make_bars
from tests.test_predict_pipeline import mean_reverting, random_walk, synthetic_series


def test_hidden_size_rule():
    # m = sqrt(n + l) + alpha: n = 6 inputs, l = 1 output -> sqrt(7) = 2.65
    assert hidden_sizes(6, 1, range(1, 11)) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert hidden_sizes(3, 1, [1, 4]) == [3, 6]  # sqrt(4) = 2


def test_grid_uses_the_rule_per_window_and_skips_invalid_shapes():
    grid = LSTM1DPredictor.grid({"L": [6, 8], "t": [2, 3]}, alphas=[1, 2])
    shapes = sorted({(p.L, p.t, p.mem) for p in grid})
    # L=6: t=2 (x_dim 3: sqrt(4)+a -> 3, 4), t=3 (x_dim 2: sqrt(3)+a -> 3, 4); L=8: t=2 only
    # (x_dim 4: sqrt(5)+a -> 3, 4); L=8, t=3 is not a valid cut
    assert shapes == [(6, 2, 3), (6, 2, 4), (6, 3, 3), (6, 3, 4), (8, 2, 3), (8, 2, 4)]
    bp = BPPredictor.grid({"lr": [0.01, 0.02]}, alphas=[1])
    assert [(p.hidden, p.lr) for p in bp] == [((4, 4), 0.01), ((4, 4), 0.02)]
    assert [p.mem for p in LSTMPredictor.grid({"mem": [7]}, alphas=[1, 5])] == [7, 7]  # t=10, 20


def test_library_round_trip_lookup_and_fallback(tmp_path):
    library = Library.empty()
    library.defaults["lstm"] = {"mem": 9}
    library.store("000538.SZ", LSTM1DPredictor(L=12, t=4, mem=5), {"val_accuracy": 0.6})
    path = library.save(tmp_path / "lib.toml", header="made by a test")
    loaded = Library.load(path)
    assert loaded.lookup("000538.SZ", LSTM1DPredictor) == (
        LSTM1DPredictor.of({"L": 12, "t": 4, "mem": 5}),
        "library",
    )
    assert loaded.lookup("600000.SH", LSTM1DPredictor) == (LSTM1DPredictor(), "defaults")
    assert loaded.lookup("600000.SH", LSTMPredictor)[0].mem == 9  # the file's defaults
    assert path.read_text().startswith("# made by a test")


def test_library_errors_name_the_file_and_the_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[codes."000538.SZ".lstm1d]\nmemory = 5\n')
    with pytest.raises(ValueError, match=r"bad.toml: 000538.SZ: unknown parameter\(s\) memory"):
        Library.load(path)
    with pytest.raises(ValueError, match="bad value 'x8' for hidden"):
        parse_value("hidden", "x8")
    assert parse_value("hidden", "8x6") == (8, 6) and parse_value("lr", "0.01") == 0.01


def test_grid_search_chooses_on_validation_and_runs_the_same_in_parallel():
    series = {"000001.SZ": synthetic_series(mean_reverting(500, -0.6, seed=1))}
    grid = {
        "lstm1d": [LSTM1DPredictor(L=4, t=4, mem=m, epochs=8, lr=1e-2, dropout=0.0) for m in (1, 4)]
    }
    settings = Settings(train_days=300, val_days=100, test_days=100)
    serial = run_grid(series, grid, settings, jobs=1)
    parallel = run_grid(series, grid, settings, jobs=2)
    for a, b in zip(serial, parallel):
        assert np.array_equal(a.result.val.predicted, b.result.val.predicted)
    best = select(serial, "accuracy")[("000001.SZ", "lstm1d")]
    accuracies = [row.val["direction"]["model"]["accuracy"] for row in serial]
    assert best.val["direction"]["model"]["accuracy"] == max(accuracies)
    by_mse = select(serial, "mse")[("000001.SZ", "lstm1d")]
    assert by_mse.val["log_mse"] == min(row.val["log_mse"] for row in serial)


@pytest.fixture(scope="module")
def market_csv(tmp_path_factory) -> str:
    frames = []
    for code, returns in (
        ("000538.SZ", mean_reverting(420, -0.6, 5)),
        ("600000.SH", random_walk(420, 6)),
    ):
        series = synthetic_series(returns, code)
        v = series.values
        bars = make_bars(
            code,
            series.dates,
            list(v[:, 2]),
            open=list(v[:, 0]),
            high=list(v[:, 1]),
            low=list(v[:, 3]),
            volume=list(np.round(v[:, 4])),
        )
        frames.append(bars)
    path = tmp_path_factory.mktemp("market") / "bars.csv"
    pd.concat(frames).to_csv(path, index=False)
    return str(path)


SMALL = "--train-days 250 --val-days 60 --test-days 100 --jobs 1"


def quant(command: str) -> int:
    return main(shlex.split(command))


def test_predict_writes_metrics_report_and_plots(market_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code = quant(
        f"predict --data {market_csv} --codes 000538.SZ,600000.SH --models bp,lstm1d {SMALL} "
        "--wavelet none,causal --wavelet-window 32 --param bp.epochs=2 --param lstm1d.epochs=2 "
        f"--param lstm1d.L=8 --param lstm1d.t=4 --out {out}"
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    runs = metrics["runs"]
    assert len(runs) == 2 * 2 * 2
    first = runs[0]
    assert first["test"]["direction"]["model"]["n"] <= 100
    assert set(first["test"]["direction"]) == {"model", "always_up", "yesterday", "majority"}
    assert first["test"]["thresholded"]["threshold"] == 0.01
    assert {r["params"].get("L") for r in runs if r["model"] == "lstm1d"} == {8}
    report = (out / "report.md").read_text()
    assert "--param lstm1d.L=8" in report and "wavelet=causal, step=adam" in report
    assert (out / "plot_000538.SZ_causal_adam.png").stat().st_size > 1000
    assert "000538.SZ lstm1d" in capsys.readouterr().out


def test_tune_writes_a_library_that_predict_then_uses(market_csv, tmp_path):
    library = tmp_path / "lib.toml"
    code = quant(
        f"tune --data {market_csv} --codes 000538.SZ --models lstm1d {SMALL} --grid lstm1d.L=4 "
        "--grid lstm1d.t=2,4 --grid lstm1d.epochs=2 --alphas 1,2 "
        f"--library {library} --show-test --out {tmp_path / 'grid'}"
    )
    assert code == 0
    params, source = Library.load(library).lookup("000538.SZ", LSTM1DPredictor)
    assert source == "library" and params.L == 4 and params.t in (2, 4)
    grid = json.loads((tmp_path / "grid" / "grid.json").read_text())
    assert len(grid["points"]) == 4 and sum(p["chosen"] for p in grid["points"]) == 1
    assert (
        "Chosen points (1): mean validation accuracy" in (tmp_path / "grid" / "grid.md").read_text()
    )
    out = tmp_path / "run"
    code = quant(
        f"predict --data {market_csv} --codes 000538.SZ --models lstm1d {SMALL} "
        f"--library {library} --out {out}"
    )
    assert code == 0
    run = json.loads((out / "metrics.json").read_text())["runs"][0]
    assert run["info"]["params_source"] == "library"
    chosen = next(p for p in grid["points"] if p["chosen"])
    assert run["val"]["direction"]["model"] == chosen["val"]["direction"]["model"]  # reproduced


def test_user_mistakes_are_one_line_errors(market_csv, tmp_path, capsys):
    base = f"predict --data {market_csv} --out {tmp_path}"
    assert quant(f"{base} --codes 000538.SZ --models cnn") == 2
    assert "unknown model cnn" in capsys.readouterr().err
    assert quant(f"{base} --codes 000538.SZ --models bp --train-days 1400") == 2
    assert "000538.SZ: 420 bars leave" in capsys.readouterr().err
    assert quant(f"{base} --codes 999999.SZ") == 2
    assert "999999.SZ not found" in capsys.readouterr().err


def test_library_parameters_chosen_inside_the_test_span_are_refused(tmp_path):
    from quant.study.library import chosen_before

    library = Library.empty()
    library.store(
        "000538.SZ", LSTM1DPredictor(L=12, t=4, mem=5), {"val_dates": ["2016-01-04", "2016-06-30"]}
    )
    chosen_before(library, "000538.SZ", "lstm1d", pd.Timestamp("2016-07-01"))  # fine
    with pytest.raises(ValueError, match="chosen on validation days up to 2016-06-30, inside"):
        chosen_before(library, "000538.SZ", "lstm1d", pd.Timestamp("2016-06-30"))
    chosen_before(library, "600000.SH", "lstm1d", pd.Timestamp("2010-01-04"))  # not in the library
